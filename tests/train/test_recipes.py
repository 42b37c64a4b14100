"""The improved recipes' parts: DiffAugment, R1 and gradient penalties, spectral norm, EMA."""

import pytest
import torch

from sneakergan.config import load_preset
from sneakergan.errors import ConfigError
from sneakergan.inference.checkpoint import load_checkpoint
from sneakergan.train import augment
from sneakergan.train.ema import EMA
from sneakergan.train.gan_model import UnconditionalGAN, gradient_penalty
from tests.train.test_loop import _config, _images, _train

CPU = torch.device("cpu")


def _recipe(**changes):
    return load_preset("sngan-diffaug").replace(**{"g_width": 8, "d_width": 8, "device": "cpu", **changes})


def test_augmentations_keep_shape_and_let_gradients_through():
    torch.manual_seed(0)
    x = (torch.rand(6, 3, 28, 28) * 2 - 1).requires_grad_(True)
    for name in augment.AUGMENTATIONS:
        out = augment.diff_augment(x, (name,))
        assert out.shape == x.shape and not torch.equal(out, x)
        (grad,) = torch.autograd.grad(out.sum(), x)
        assert grad.abs().sum() > 0  # differentiable: G learns through D's augmented view


def test_translation_moves_images_by_whole_pixels_and_fills_zeros():
    torch.manual_seed(1)
    x = torch.arange(1, 6 * 28 * 28 + 1, dtype=torch.float32).view(6, 1, 28, 28)
    out = augment._translation(x)
    for image, moved in zip(x, out):
        shift = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                 if torch.equal(torch.roll(image, (dy, dx), (1, 2))[:, 4:-4, 4:-4], moved[:, 4:-4, 4:-4])]
        assert len(shift) == 1  # the centre is the original, shifted by at most 1/8 of the side
        dy, dx = shift[0]
        assert (moved == 0).sum() == 28 * 28 - (28 - abs(dy)) * (28 - abs(dx))


def test_cutout_zeroes_one_square_of_at_most_half_the_side():
    torch.manual_seed(2)
    out = augment._cutout(torch.ones(50, 3, 28, 28))
    zeroed = (out[:, 0] == 0).sum(dim=(1, 2))
    assert (zeroed > 0).all() and (zeroed <= 14 * 14).all() and (zeroed == 14 * 14).any()


def test_unknown_augmentation_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown augmentation 'rotate'; known: color, translation, cutout"):
        _recipe(augment="color,rotate")
    with pytest.raises(ConfigError, match="stage 1 only; use r1_gamma for stage 2"):
        load_preset("seed-srgan").replace(gp_weight=10.0)


def test_augmentations_never_reach_the_samples(monkeypatch):
    torch.manual_seed(0)
    model = UnconditionalGAN(_recipe(ema_decay=0.0), CPU)
    z = torch.randn(16, 32)
    expected = model.generate(z)
    calls = []
    monkeypatch.setattr("sneakergan.train.recipe_model.diff_augment",
                        lambda x, names, *share: calls.append(names) or augment.diff_augment(x, names, *share))
    assert torch.equal(model.generate(z), expected) and calls == []  # sampling does not augment
    model.train_step(torch.rand(8, 3, 28, 28) * 2 - 1, torch.Generator().manual_seed(0))
    assert calls and all(names == ("color", "translation", "cutout") for names in calls)  # training does


class _Linear(torch.nn.Module):
    """D(x) = sum(w * x): its input gradient is w everywhere, so the penalties have closed forms."""

    def __init__(self, scale):
        super().__init__()
        self.w = torch.nn.Parameter(torch.full((3, 28, 28), scale))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalty_closed_form():
    real, fake = torch.rand(4, 3, 28, 28), torch.rand(4, 3, 28, 28)
    norm = (3 * 28 * 28) ** 0.5  # |w| for w = 1 everywhere
    assert gradient_penalty(_Linear(1 / norm), real, fake).item() == pytest.approx(0.0, abs=1e-6)
    assert gradient_penalty(_Linear(2 / norm), real, fake).item() == pytest.approx(1.0, rel=1e-5)


def test_lazy_r1_runs_every_r1_every_steps_with_the_closed_form_value():
    model = UnconditionalGAN(_recipe(augment="", r1_gamma=2.0, r1_every=4, ema_decay=0.0), CPU)
    model.discriminator = _Linear(0.5)
    model.opt_d = torch.optim.SGD(model.discriminator.parameters(), lr=0.0)
    penalties = []
    for _ in range(8):
        metrics = model.d_step(torch.rand(4, 3, 28, 28), torch.rand(4, 3, 28, 28))  # counts d_updates
        penalties.append(metrics.get("r1_penalty"))
    due = [p is not None for p in penalties]
    assert due == [True, False, False, False] * 2
    # gamma/2 * r1_every * |grad|^2, grad = w = 0.5 everywhere: 1 * 4 * 0.25 * 2352
    assert penalties[0].item() == pytest.approx(4 * 0.25 * 3 * 28 * 28)


def test_spectral_norm_bounds_every_discriminator_weight():
    torch.manual_seed(0)
    model = UnconditionalGAN(_recipe(), CPU)
    with torch.no_grad():
        for _ in range(30):  # power iterations run once per training-mode forward pass
            model.discriminator(torch.rand(4, 3, 28, 28))
    layers = [m for m in model.discriminator.modules() if hasattr(m, "parametrizations")]
    assert len(layers) == 6
    for layer in layers:
        sigma = torch.linalg.matrix_norm(layer.weight.flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)


def test_ema_follows_the_ramped_decay_and_copies_buffers():
    model = torch.nn.BatchNorm1d(2)
    ema = EMA(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(3.0)
        model.running_mean.fill_(5.0)
    ema.update(model)  # first decay: min(0.999, 1/10) = 0.1 -> 0.1 * 1 + 0.9 * 3
    assert torch.allclose(ema.model.weight, torch.full((2,), 2.8))
    assert torch.equal(ema.model.running_mean, model.running_mean)


def test_recipe_run_resumes_exactly_with_its_ema_and_r1_schedule(tmp_path):
    images = _images()
    cfg = _config("sngan-diffaug", epochs=2, r1_gamma=0.1, r1_every=3, eval_every=0, precision="fp32")
    straight = _train(tmp_path, "straight", cfg, images)
    _train(tmp_path, "split", cfg.replace(epochs=1), images)
    resumed = _train(tmp_path, "split", cfg, images, resume=True)
    state = load_checkpoint(tmp_path / "split" / "checkpoint.safetensors")["model"]
    assert state["generator_ema"]["updates"] == state["d_updates"] == resumed.step == 10
    for a, b in zip(straight.model.ema.model.parameters(), resumed.model.ema.model.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(straight.model.discriminator.parameters(), resumed.model.discriminator.parameters()):
        assert torch.equal(a, b)


def test_generate_from_a_run_samples_with_the_ema_weights(tmp_path):
    from sneakergan.inference.pipeline import load_stage1

    trainer = _train(tmp_path, "ema", _config("sngan-diffaug", epochs=1, eval_every=0), _images())
    generator, _ = load_stage1(tmp_path / "ema", CPU)
    for loaded, average in zip(generator.parameters(), trainer.model.ema.model.parameters()):
        assert torch.equal(loaded, average)
    assert any(not torch.equal(a, b) for a, b in zip(generator.parameters(), trainer.model.generator.parameters()))


def test_augmentation_keeps_the_memory_layout():
    x = torch.rand(4, 3, 28, 28)
    names = tuple(augment.AUGMENTATIONS)
    assert augment.diff_augment(x, names).is_contiguous()
    channels_last = x.contiguous(memory_format=torch.channels_last)
    assert augment.diff_augment(channels_last, names).is_contiguous(memory_format=torch.channels_last)
