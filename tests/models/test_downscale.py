"""The differentiable downscale is the data pipeline's own (PIL's antialiased bicubic 112 -> 28)."""

import numpy as np
import pytest
import torch
from PIL import Image

from sneakergan.data import PreprocessSettings
from sneakergan.models.downscale import PILDownscale, pil_bicubic_matrix


def _pil_downscale(image: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC)).astype(np.float64)


def _ours(image: np.ndarray, size: int) -> np.ndarray:
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None].double()
    return PILDownscale(image.shape[0], size, value_range=(0, 255)).double()(tensor)[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize("kind", ["noise", "gradient", "sneaker-like"])
def test_it_equals_the_pipelines_downscale_to_within_one_uint8_step(kind):
    settings = PreprocessSettings()
    rng = np.random.default_rng(0)
    if kind == "noise":
        image = rng.integers(0, 256, (settings.hr_size, settings.hr_size, 3), dtype=np.uint8)
    else:
        x = np.linspace(0, 6, settings.hr_size)
        wave = np.sin(x[:, None] + 1.3 * x[None, :])[..., None] * np.array([1.0, 0.5, -0.7])
        image = np.clip(127 + 120 * wave, 0, 255).astype(np.uint8)
        if kind == "sneaker-like":  # a white studio background around a dark, sharp-edged shape
            image[:] = 255
            image[40:80, 10:100] = (20, 30, 200)
    pil, ours = _pil_downscale(image, settings.lr_size), _ours(image, settings.lr_size)
    # PIL rounds to uint8 after each of its two passes: the float operator lies within one step of it
    assert np.abs(ours - pil).max() < 1.0
    assert np.abs(np.clip(np.rint(ours), 0, 255) - pil).mean() < 0.2


def test_the_weights_are_normalised_rows_of_16_taps_and_gradients_flow():
    weights = pil_bicubic_matrix(112, 28)
    assert weights.shape == (28, 112) and weights.dtype == torch.float64
    assert torch.allclose(weights.sum(1), torch.ones(28, dtype=torch.float64))
    assert ((weights != 0).sum(1) <= 16).all() and ((weights != 0).sum(1) >= 10).all()  # edges: truncated
    x = torch.rand(2, 3, 112, 112, requires_grad=True)
    PILDownscale(112, 28)(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_a_constant_image_stays_constant():
    flat = torch.full((1, 3, 112, 112), 0.25)
    assert torch.allclose(PILDownscale(112, 28)(flat), torch.full((1, 3, 28, 28), 0.25), atol=1e-6)
