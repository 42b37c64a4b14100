import pytest
import torch

from sneakergan.config import load_preset
from sneakergan.train.degrade import degrade
from sneakergan.train.sr_model import SuperResolutionGAN


def _model(**changes):
    torch.manual_seed(0)
    cfg = load_preset("seed-srgan").replace(g_width=8, d_width=8, sr_blocks=1, device="cpu", **changes)
    return SuperResolutionGAN(cfg, torch.device("cpu"))


def _batch(count=4):
    generator = torch.Generator().manual_seed(1)
    return {"lr": torch.rand(count, 3, 28, 28, generator=generator) * 2 - 1,
            "hr": torch.rand(count, 3, 112, 112, generator=generator) * 2 - 1}


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_one_d_step_and_one_g_step_change_their_own_parameters():
    model = _model()
    batch = _batch()
    sr = model.generator(batch["lr"])
    g_before, d_before = _params(model.generator), _params(model.discriminator)
    d_metrics = model.d_step(batch["hr"], sr)
    assert _changed(d_before, model.discriminator) and not _changed(g_before, model.generator)

    d_before = _params(model.discriminator)
    g_metrics = model.g_step(batch["hr"], sr, batch["lr"])
    assert _changed(g_before, model.generator) and not _changed(d_before, model.discriminator)
    assert all(p.requires_grad for p in model.discriminator.parameters())  # unfrozen again
    assert set(g_metrics) == {"pixel_loss", "feature_loss", "adv_loss", "g_loss", "g_skipped"}
    assert all(torch.isfinite(v) for v in {**d_metrics, **g_metrics}.values())


def test_pretraining_updates_only_the_generator():
    model = _model(pretrain_epochs=2)
    g_before, d_before = _params(model.generator), _params(model.discriminator)
    d_buffers = [b.clone() for b in model.discriminator.buffers()]
    metrics = model.train_step(_batch(), torch.Generator().manual_seed(0), epoch=1)
    assert set(metrics) == {"pixel_loss", "g_loss", "skipped"} and metrics["g_loss"] == metrics["pixel_loss"]
    assert _changed(g_before, model.generator) and not _changed(d_before, model.discriminator)
    assert all(torch.equal(a, b) for a, b in zip(d_buffers, model.discriminator.buffers()))  # D not even run
    metrics = model.train_step(_batch(), torch.Generator().manual_seed(0), epoch=2)  # adversarial phase
    assert {"d_loss", "d_real", "d_fake", "adv_loss"} <= set(metrics)
    assert _changed(d_before, model.discriminator)


def test_a_nan_input_skips_the_update_and_keeps_the_bn_statistics():
    model = _model(pretrain_epochs=1)
    batch = _batch()
    batch["lr"][0, 0, 0, 0] = float("nan")  # through G's BN layers: their running statistics would turn NaN
    before = _params(model.generator)
    buffers = [b.clone() for b in model.generator.buffers()]
    metrics = model.train_step(batch, torch.Generator().manual_seed(0), epoch=0)
    assert metrics["skipped"] is True and not torch.isfinite(metrics["g_loss"])
    assert not _changed(before, model.generator) and not model.opt_g.state  # no Adam step either
    assert all(torch.equal(a, b) for a, b in zip(buffers, model.generator.buffers()))
    assert model.train_step(_batch(), torch.Generator().manual_seed(0), epoch=0)["skipped"] is False


def test_degradations_are_deterministic_mild_and_keep_shape_and_range():
    lr = _batch(8)["lr"]
    first = degrade(lr, torch.Generator().manual_seed(5))
    again = degrade(lr, torch.Generator().manual_seed(5))
    other = degrade(lr, torch.Generator().manual_seed(6))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert first.shape == lr.shape and first.min() >= -1 and first.max() <= 1
    assert 0 < (first - lr).abs().mean() < 0.2  # changed, but mildly


def test_degradation_consumes_a_fixed_amount_of_randomness():
    # The trainer's noise generator is checkpointed: its state must not depend on the data.
    a, b = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    degrade(torch.zeros(4, 3, 28, 28), a)
    degrade(torch.ones(4, 3, 28, 28), b)
    assert torch.equal(a.get_state(), b.get_state())


def test_degrade_flag_uses_the_noise_generator():
    model = _model(degrade=True)
    noise = torch.Generator().manual_seed(0)
    before = noise.get_state()
    model.train_step(_batch(), noise, epoch=0)
    assert not torch.equal(before, noise.get_state())


@pytest.mark.parametrize("count", [1, 3])
def test_super_resolve_is_eval_mode_and_keeps_training_mode(count):
    model = _model()
    out = model.super_resolve(_batch(count)["lr"])
    assert out.shape == (count, 3, 112, 112) and model.generator.training
