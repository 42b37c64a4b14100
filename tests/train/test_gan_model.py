import pytest
import torch

from sneakergan.config import load_preset
from sneakergan.train.gan_model import UnconditionalGAN


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


@pytest.mark.parametrize("preset, loss", [("seed-mlp", "bce"), ("seed-dcgan", "lsgan"), ("sngan-diffaug", "hinge"),
                                          ("sngan-diffaug", "ragan"), ("sngan-diffaug", "wgan")])
def test_one_d_step_and_one_g_step_change_their_own_parameters(preset, loss):
    torch.manual_seed(0)
    penalties = {"gp_weight": 10.0 if loss == "wgan" else 0.0, "r1_gamma": 1.0 if loss == "ragan" else 0.0}
    cfg = load_preset(preset).replace(g_width=16, d_width=16, loss=loss, device="cpu", **penalties)
    model = UnconditionalGAN(cfg, torch.device("cpu"))
    real = torch.rand(8, 3, 28, 28) * 2 - 1
    fake = model.generator(torch.randn(8, 32))

    g_before, d_before = _params(model.generator), _params(model.discriminator)
    d_metrics = model.d_step(real, fake)
    assert _changed(d_before, model.discriminator)
    assert not _changed(g_before, model.generator)  # D's step leaves G alone

    d_before = _params(model.discriminator)
    g_metrics = model.g_step(fake, real)
    assert _changed(g_before, model.generator)
    assert not _changed(d_before, model.discriminator)  # G's step leaves D alone
    for value in {**d_metrics, **g_metrics}.values():
        assert torch.isfinite(value)


def test_train_step_reports_the_design_quantities():
    torch.manual_seed(0)
    model = UnconditionalGAN(load_preset("seed-mlp").replace(g_width=16, d_width=16), torch.device("cpu"))
    metrics = model.train_step(torch.zeros(4, 3, 28, 28), torch.Generator().manual_seed(0))
    assert set(metrics) == {"d_loss", "g_loss", "d_real", "d_fake", "skipped"} and metrics["skipped"] is False
    assert 0 <= metrics["d_real"] <= 1 and 0 <= metrics["d_fake"] <= 1  # probabilities for BCE


def _adam_state(optimizer):
    return [t.clone() for values in optimizer.state.values() for t in values.values()]


def test_a_nan_batch_skips_the_d_update_and_g_still_trains():
    torch.manual_seed(0)
    model = UnconditionalGAN(load_preset("seed-mlp").replace(g_width=16, d_width=16), torch.device("cpu"))
    model.train_step(torch.zeros(4, 3, 28, 28), torch.Generator().manual_seed(0))  # Adam state exists
    g_before, d_before, d_adam = _params(model.generator), _params(model.discriminator), _adam_state(model.opt_d)
    real = torch.zeros(4, 3, 28, 28)
    real[1, 2, 3, 4] = float("nan")
    metrics = model.train_step(real, torch.Generator().manual_seed(1))
    assert metrics["skipped"] is True and not torch.isfinite(metrics["d_loss"]) and torch.isfinite(metrics["g_loss"])
    assert not _changed(d_before, model.discriminator)  # D's update skipped: parameters and Adam moments
    assert all(torch.equal(a, b) for a, b in zip(d_adam, _adam_state(model.opt_d)))
    assert _changed(g_before, model.generator)  # G's loss went through the unchanged D and was finite


def test_a_nan_gradient_under_a_finite_loss_skips_the_update():
    torch.manual_seed(0)
    model = UnconditionalGAN(load_preset("seed-mlp").replace(g_width=16, d_width=16), torch.device("cpu"))
    fake = model.generator(torch.randn(8, 32))
    first = next(model.generator.parameters())
    hook = first.register_hook(lambda grad: grad * float("nan"))  # one gradient turns NaN, the loss stays finite
    before = _params(model.generator)
    metrics = model.g_step(fake)
    assert torch.isfinite(metrics["g_loss"]) and metrics["g_skipped"] == 1
    assert not _changed(before, model.generator) and not model.opt_g.state
    hook.remove()
    assert model.g_step(model.generator(torch.randn(8, 32)))["g_skipped"] == 0 and _changed(before, model.generator)


def test_a_skipped_step_restores_the_bn_running_statistics():
    torch.manual_seed(0)
    model = UnconditionalGAN(load_preset("seed-dcgan").replace(g_width=8, d_width=8), torch.device("cpu"))
    buffers = [b.clone() for m in (model.generator, model.discriminator) for b in m.buffers()]
    real = torch.zeros(4, 3, 28, 28)
    real[0, 0, 0, 0] = float("inf")
    assert model.train_step(real, torch.Generator().manual_seed(0))["skipped"] is True
    after = [b for m in (model.generator, model.discriminator) for b in m.buffers()]
    assert all(torch.equal(a, b) for a, b in zip(buffers, after))  # D's would hold NaN, G's this step's batch
