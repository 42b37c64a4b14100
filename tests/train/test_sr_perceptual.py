"""The perception-first stage-2 parts (issue 22): LR consistency, optional pixel loss, noise inputs, a D
that sees the LR, the stage-1 recipe parts on stage 2, LR inputs from a frozen stage 1, the bundled
stage 2 as a starting point, and the combinations refused when the config is made."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sneakergan.config import load_preset
from sneakergan.errors import ConfigError
from sneakergan.inference.pipeline import super_resolve_images
from sneakergan.models.build import build_sr_generator
from sneakergan.train.initial_state import initial_model_state
from sneakergan.train.sr_model import SuperResolutionGAN

CPU = torch.device("cpu")
TINY = {"g_width": 8, "d_width": 8, "sr_blocks": 1, "device": "cpu", "init_from": "", "stage1_run": "",
        "stage1_share": 0.0, "precision": "fp32"}


def _cfg(**changes):
    return load_preset("sr-perceptual").replace(**{**TINY, **changes})


def _model(**changes):
    torch.manual_seed(0)
    return SuperResolutionGAN(_cfg(**changes), CPU)


def _batch(count=4):
    generator = torch.Generator().manual_seed(1)
    return {"lr": torch.rand(count, 3, 28, 28, generator=generator) * 2 - 1,
            "hr": torch.rand(count, 3, 112, 112, generator=generator) * 2 - 1}


def test_the_generator_loss_is_the_weighted_sum_of_its_terms(monkeypatch):
    model = _model(pixel_weight=0.5, consistency_weight=10.0, adv_weight=0.1, feature_weight=0.0, augment="")
    batch = _batch()
    sr = model.generator(batch["lr"])
    losses = {}
    original = model.update_generator
    monkeypatch.setattr(model, "update_generator", lambda loss: losses.setdefault("total", loss.detach()) is None
                        or original(loss))
    metrics = model.g_step(batch["hr"], sr, batch["lr"])
    consistency = F.l1_loss(model.downscale(sr), batch["lr"])
    logits = model.discriminator(model.d_view(sr.detach(), batch["lr"]))
    assert metrics["consistency_loss"].item() == pytest.approx(consistency.item(), rel=1e-5)
    assert metrics["pixel_loss"].item() == pytest.approx(F.l1_loss(sr, batch["hr"]).item(), rel=1e-5)
    assert metrics["adv_loss"].item() == pytest.approx((-logits).mean().item(), rel=1e-4)  # hinge's G loss
    expected = 0.5 * metrics["pixel_loss"] + 10.0 * metrics["consistency_loss"] + 0.1 * metrics["adv_loss"]
    assert losses["total"].item() == pytest.approx(expected.item(), rel=1e-5)


def test_with_no_pixel_weight_the_output_is_pulled_toward_lr_consistency_not_the_target():
    model = _model(pixel_weight=0.0, consistency_weight=1.0, adv_weight=0.0, feature_weight=0.0, pretrain_epochs=5,
                   lr_g=1e-2)
    batch = _batch()
    before = F.l1_loss(model.downscale(model.generator(batch["lr"])), batch["lr"]).item()
    for _ in range(30):
        model.train_step(batch, torch.Generator().manual_seed(0), epoch=0)
    after = F.l1_loss(model.downscale(model.generator(batch["lr"])), batch["lr"]).item()
    assert after < 0.7 * before


def test_a_d_that_sees_the_lr_gets_it_upsampled_beside_the_image():
    model = _model(augment="")
    assert model.discriminator.convs[0][0].in_channels == 6
    batch = _batch()
    view = model.d_view(batch["hr"], batch["lr"])
    assert view.shape == (4, 6, 112, 112) and torch.equal(view[:, :3], batch["hr"])
    upsampled = F.interpolate(batch["lr"], scale_factor=4, mode="bicubic", align_corners=False)
    assert torch.allclose(view[:, 3:], upsampled)
    assert _model(d_sees_lr=False).discriminator.convs[0][0].in_channels == 3
    # spectral norm replaces batch norm in D
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())


def test_noise_inputs_give_many_realisations_of_one_input_reproducibly():
    generator = build_sr_generator(_cfg()).eval()
    with torch.no_grad():
        for inject in generator.noise:
            inject.scale.fill_(0.5)  # trained scales; they start at 0
    lr = (np.random.default_rng(0).integers(0, 256, (2, 28, 28, 3))).astype(np.uint8)
    first = super_resolve_images(generator, lr, CPU, seed=0)
    again = super_resolve_images(generator, lr, CPU, seed=0)
    other = super_resolve_images(generator, lr, CPU, seed=1)
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    # image i's details do not depend on the batch it is made in
    assert np.array_equal(super_resolve_images(generator, lr[1:], CPU, seed=0, first=1), first[1:])


def test_the_diversity_term_rewards_realisations_that_differ_and_makes_g_use_its_noise():
    model = _model(pixel_weight=1.0, consistency_weight=0.0, adv_weight=0.0, diversity_weight=1.0, pretrain_epochs=5,
                   lr_g=1e-2, ema_decay=0.0)
    batch = _batch(8)
    first = model.train_step(batch, torch.Generator().manual_seed(0), epoch=0)
    assert first["diversity"] == 0  # the noise scales start at 0: both realisations are the same
    for step in range(20):
        metrics = model.train_step(batch, torch.Generator().manual_seed(step), epoch=0)
    assert metrics["diversity"] > 0.01 and any(torch.count_nonzero(i.scale) for i in model.generator.noise)
    # without the term, the same steps leave the noise unused (a pixel loss gains nothing from it)
    plain = _model(pixel_weight=1.0, consistency_weight=0.0, adv_weight=0.0, pretrain_epochs=5, lr_g=1e-2,
                   ema_decay=0.0)
    for step in range(20):
        plain.train_step(batch, torch.Generator().manual_seed(step), epoch=0)
    lr = batch["lr"][:2]
    with torch.no_grad():
        spread = (plain.generator(lr, noise=torch.Generator().manual_seed(0))
                  - plain.generator(lr, noise=torch.Generator().manual_seed(1))).abs().mean()
    assert spread < metrics["diversity"] / 4


def test_the_diversity_realisations_share_batch_statistics():
    """The twins come from the same forward pass, so without noise scales they equal their rows exactly
    (in separate passes, batch norm's batch statistics alone would make them differ)."""
    model = _model(diversity_weight=1.0)
    lr = _batch(8)["lr"]
    sr, twins = model.realisations(lr, torch.Generator().manual_seed(0))
    assert sr.shape == (8, 3, 112, 112) and twins.shape == (2, 3, 112, 112)
    assert torch.allclose(sr[:2], twins, atol=1e-6)


def test_a_noise_free_generator_ignores_the_noise_argument_and_loads_bundled_weights():
    cfg = load_preset("sr-perceptual")
    state = initial_model_state(cfg)  # init_from = "bundled": the bundled stage 2's G
    assert set(state) == {"generator"}
    model = SuperResolutionGAN(cfg.replace(stage1_share=0.0, stage1_run="", precision="fp32"), CPU)
    model.load_weights(state)  # the noise scales are missing and stay 0
    assert all(torch.count_nonzero(inject.scale) == 0 for inject in model.generator.noise)
    lr = torch.rand(1, 3, 28, 28) * 2 - 1
    plain = load_preset("seed-srgan")
    reference = build_sr_generator(plain).eval()
    reference.load_state_dict(state["generator"])
    with torch.no_grad():
        # (channels_last in the training model: other convolution kernels, equal to float rounding)
        assert torch.allclose(model.generator.eval()(lr, noise=torch.Generator().manual_seed(3)), reference(lr),
                              atol=1e-4)


def test_stage1_samples_replace_a_share_of_the_inputs_and_have_no_pixel_target():
    model = SuperResolutionGAN(_cfg(stage1_run="bundled", stage1_share=0.25), CPU)
    generator, stage1_cfg = model.stage1
    assert not any(p.requires_grad for p in generator.parameters())
    samples = model.stage1_samples(4, torch.Generator().manual_seed(0))
    assert samples.shape == (4, 3, 28, 28)
    levels = (samples + 1) * 127.5  # quantised as stage 2 sees stage 1's saved uint8 images
    assert torch.allclose(levels, levels.round(), atol=1e-4) and samples.min() >= -1 and samples.max() <= 1
    metrics = model.train_step(_batch(8), torch.Generator().manual_seed(0), epoch=0)
    assert not metrics["skipped"] and {"consistency_loss", "adv_loss", "d_loss"} <= set(metrics)


def test_the_stage1_recipe_parts_work_on_stage_2_and_resume_state():
    model = _model(r1_gamma=1.0, r1_every=2, ema_decay=0.9, loss="ragan")  # ragan's G loss reads D(real)
    noise = torch.Generator().manual_seed(0)
    metrics = [model.train_step(_batch(), noise, epoch=0) for _ in range(3)]
    assert "r1_penalty" in metrics[0] and "r1_penalty" not in metrics[1] and not any(m["skipped"] for m in metrics)
    state = model.state_dict()
    assert state["d_updates"] == 3 and "generator_ema" in state
    assert not torch.equal(next(model.ema.model.parameters()), next(model.generator.parameters()))


@pytest.mark.parametrize("changes, message", [
    ({"gp_weight": 10.0}, "gp_weight (WGAN-GP) applies to stage 1 only"),
    ({"stage1_share": 0.5, "stage1_run": ""}, "stage1_run and stage1_share go together"),
    ({"stage1_share": 1.0, "stage1_run": "bundled"}, "stage1_share must be in [0, 1)"),
    ({"pixel_weight": 0.0, "consistency_weight": 0.0}, "nothing would tie the output to its input"),
    ({"diversity_weight": 1.0, "sr_noise": False}, "diversity_weight needs sr_noise"),
])
def test_combinations_that_cannot_work_are_refused_when_the_config_is_made(changes, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        _cfg(**changes)


def test_stage2_fields_are_refused_on_stage1():
    with pytest.raises(ConfigError, match="consistency_weight, sr_noise apply to stage 2"):
        load_preset("seed-mlp").replace(consistency_weight=1.0, sr_noise=True)
