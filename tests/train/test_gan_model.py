import pytest
import torch

from sneakergan.config import load_preset
from sneakergan.train.gan_model import UnconditionalGAN


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _changed(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


@pytest.mark.parametrize("preset", ["seed-mlp", "seed-dcgan"])
def test_one_d_step_and_one_g_step_change_their_own_parameters(preset):
    torch.manual_seed(0)
    model = UnconditionalGAN(load_preset(preset).replace(g_width=16, d_width=16), torch.device("cpu"))
    real = torch.rand(8, 3, 28, 28) * 2 - 1
    fake = model.generator(torch.randn(8, 32))

    g_before, d_before = _params(model.generator), _params(model.discriminator)
    d_metrics = model.d_step(real, fake)
    assert _changed(d_before, model.discriminator)
    assert not _changed(g_before, model.generator)  # D's step leaves G alone

    d_before = _params(model.discriminator)
    g_metrics = model.g_step(fake)
    assert _changed(g_before, model.generator)
    assert not _changed(d_before, model.discriminator)  # G's step leaves D alone
    for value in {**d_metrics, **g_metrics}.values():
        assert torch.isfinite(value)


def test_train_step_reports_the_design_quantities():
    torch.manual_seed(0)
    model = UnconditionalGAN(load_preset("seed-mlp").replace(g_width=16, d_width=16), torch.device("cpu"))
    metrics = model.train_step(torch.zeros(4, 3, 28, 28), torch.Generator().manual_seed(0))
    assert set(metrics) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert 0 <= metrics["d_real"] <= 1 and 0 <= metrics["d_fake"] <= 1  # probabilities for BCE
