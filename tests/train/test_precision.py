import pytest
import torch

from sneakergan.errors import ConfigError
from sneakergan.inference.device import autocast, has_fast_bf16, resolve_precision
from tests.train.test_loop import _config, _images, _train

CPU = torch.device("cpu")


def test_resolve_precision():
    assert resolve_precision("fp32", CPU) is None
    assert resolve_precision("bf16", CPU) is torch.bfloat16
    assert resolve_precision("fp16", CPU) is torch.float16
    assert resolve_precision("auto", CPU) is (torch.bfloat16 if has_fast_bf16(CPU) else None)
    with pytest.raises(ValueError, match="fp8"):
        resolve_precision("fp8", CPU)
    with pytest.raises(ConfigError, match="precision"):
        _config(precision="fp8")


def test_autocast_runs_convolutions_in_bf16_only_when_asked():
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(1, 3, 8, 8)
    with autocast(CPU, None):
        assert conv(x).dtype is torch.float32
    with autocast(CPU, torch.bfloat16):
        assert conv(x).dtype is torch.bfloat16


def test_bf16_training_keeps_fp32_weights_and_optimiser_and_differs_from_fp32(tmp_path):
    images = _images()
    fp32 = _train(tmp_path, "fp32", _config("seed-dcgan", epochs=1), images)
    bf16 = _train(tmp_path, "bf16", _config("seed-dcgan", epochs=1, precision="bf16"), images)
    for module in (bf16.model.generator, bf16.model.discriminator):
        assert all(p.dtype is torch.float32 and torch.isfinite(p).all() for p in module.parameters())
    moments = [t for state in bf16.model.opt_g.state_dict()["state"].values() for t in state.values()]
    assert moments and all(t.dtype is torch.float32 for t in moments)
    # Autocast was really on: the same seed and data give different (rounded) weights.
    assert any(not torch.equal(a, b) for a, b in zip(fp32.model.generator.parameters(),
                                                      bf16.model.generator.parameters()))


def test_bf16_resume_continues_exactly(tmp_path):
    images = _images()
    straight = _train(tmp_path, "straight", _config("seed-dcgan", epochs=2, precision="bf16"), images)
    _train(tmp_path, "split", _config("seed-dcgan", epochs=1, precision="bf16"), images)
    resumed = _train(tmp_path, "split", _config("seed-dcgan", epochs=2, precision="bf16"), images, resume=True)
    for a, b in zip(straight.model.generator.parameters(), resumed.model.generator.parameters()):
        assert torch.equal(a, b)


def test_fp16_scales_the_loss_keeps_fp32_weights_and_resumes_with_the_scale(tmp_path):
    images = _images()
    fp16 = _train(tmp_path, "fp16", _config("seed-dcgan", epochs=1, precision="fp16"), images)
    model = fp16.model
    assert set(model.scalers) == {model.opt_g, model.opt_d}
    for module in (model.generator, model.discriminator):
        assert all(p.dtype is torch.float32 and torch.isfinite(p).all() for p in module.parameters())
    # The scalers ran: an initial scale of 2**16 overflows at first and is halved at least once.
    state = model.state_dict()
    assert 0 < state["scaler_d"]["scale"] < 2.0**16 or state["scaler_d"]["_growth_tracker"] > 0
    resumed = _train(tmp_path, "fp16", _config("seed-dcgan", epochs=1, precision="fp16"), images, resume=True)
    for name in ("scaler_g", "scaler_d"):
        assert resumed.model.state_dict()[name] == state[name]


def test_fp16_overflow_is_the_scalers_business_not_a_bad_step():
    from sneakergan.train.adversarial import AdversarialModel

    generator, discriminator = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    model = AdversarialModel(_config(precision="fp16"), CPU, generator, discriminator)
    before = [p.detach().clone() for p in discriminator.parameters()]
    huge = discriminator(torch.full((1, 2), 1e36)).sum()  # finite loss; x 2**16 overflows fp32
    assert model.update(model.opt_d, discriminator, huge).item() == 0.0  # not reported as bad
    assert all(torch.equal(a, b) for a, b in zip(before, discriminator.parameters()))  # and not applied
    assert model.scalers[model.opt_d].get_scale() == 2.0**15  # the scale backed off instead
    nan = discriminator(torch.full((1, 2), float("nan"))).sum()
    assert model.update(model.opt_d, discriminator, nan).item() == 1.0  # a non-finite loss is bad
