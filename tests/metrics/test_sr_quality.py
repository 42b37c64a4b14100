import math

import numpy as np
import pytest

from sneakergan.data import PreprocessSettings
from sneakergan.data.preprocess import preprocess
from sneakergan.metrics.sr_quality import bicubic_downscale, bicubic_upscale, lr_consistency, psnr_y, ssim_y, y_channel


def _images(count=3, size=32, seed=0):
    return np.random.default_rng(seed).integers(20, 236, size=(count, size, size, 3), dtype=np.uint8)


def test_psnr_of_identical_images_is_inf():
    hr = _images()
    assert np.all(np.isinf(psnr_y(hr, hr)))


def test_psnr_of_a_constant_offset_has_the_known_value():
    hr = _images()
    sr = hr + np.uint8(5)  # no overflow: values stay below 241
    # Y moves by 5 * (65.481 + 128.553 + 24.966) / 255 = 5 * 219 / 255 on every pixel
    expected = 20 * math.log10(255 / (5 * 219 / 255))
    assert psnr_y(sr, hr) == pytest.approx(np.full(3, expected), abs=1e-9)


def test_y_channel_spans_the_bt601_studio_range():
    black, white = np.zeros((1, 1, 1, 3), np.uint8), np.full((1, 1, 1, 3), 255, np.uint8)
    assert y_channel(black)[0, 0, 0] == pytest.approx(16.0)
    assert y_channel(white)[0, 0, 0] == pytest.approx(235.0)


def test_border_crop_is_applied():
    hr = _images(size=24)
    sr = hr.copy()
    sr[:, :4] = 0  # damage only the 4-pixel border
    sr[:, :, -4:] = 255
    assert np.all(np.isinf(psnr_y(sr, hr, crop=4))) and np.allclose(ssim_y(sr, hr, crop=4), 1.0)
    assert np.all(np.isfinite(psnr_y(sr, hr, crop=0))) and np.all(ssim_y(sr, hr, crop=0) < 1.0)


def test_ssim_of_identical_images_is_one_and_drops_with_noise():
    hr = _images()
    assert ssim_y(hr, hr) == pytest.approx(np.ones(3), abs=1e-12)
    noisy = np.clip(hr.astype(int) + np.random.default_rng(1).integers(-30, 31, hr.shape), 0, 255).astype(np.uint8)
    scores = ssim_y(noisy, hr)
    assert np.all((scores > 0) & (scores < 0.99))


def _reference_ssim(x, y):
    """Wang et al. 2004 written out directly: every 11x11 window position, Gaussian weights."""
    offsets = np.arange(11) - 5
    taps = np.exp(-offsets ** 2 / (2 * 1.5 ** 2))
    weights = np.outer(taps, taps) / np.outer(taps, taps).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            a, b = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            mx, my = (weights * a).sum(), (weights * b).sum()
            vx, vy = (weights * (a - mx) ** 2).sum(), (weights * (b - my) ** 2).sum()
            cov = (weights * (a - mx) * (b - my)).sum()
            values.append((2 * mx * my + c1) * (2 * cov + c2) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2)))
    return np.mean(values)


def test_ssim_matches_the_definition_written_out():
    hr = _images(count=2, size=24)
    sr = np.clip(hr.astype(int) + np.random.default_rng(2).integers(-40, 41, hr.shape), 0, 255).astype(np.uint8)
    expected = [_reference_ssim(y_channel(sr[k:k + 1], 4)[0], y_channel(hr[k:k + 1], 4)[0]) for k in range(2)]
    assert ssim_y(sr, hr) == pytest.approx(np.array(expected), abs=1e-10)


def test_ssim_matches_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    hr = _images(count=2, size=40)
    sr = np.clip(hr.astype(int) + np.random.default_rng(3).integers(-25, 26, hr.shape), 0, 255).astype(np.uint8)
    expected = [metrics.structural_similarity(y_channel(sr[k:k + 1], 4)[0], y_channel(hr[k:k + 1], 4)[0],
                                              gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                              data_range=255) for k in range(2)]
    assert ssim_y(sr, hr) == pytest.approx(np.array(expected), abs=1e-6)


def test_bicubic_upscale_shape_and_flat_images():
    lr = np.full((2, 7, 7, 3), 100, np.uint8)
    up = bicubic_upscale(lr, 4)
    assert up.shape == (2, 28, 28, 3) and up.dtype == np.uint8 and np.all(up == 100)


def test_bicubic_downscale_is_the_data_pipelines_lr():
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(_images(1, 112)[0]).save(buffer, format="PNG")
    hr, lr = preprocess(buffer.getvalue(), PreprocessSettings())
    assert np.array_equal(bicubic_downscale(hr[None], 4)[0], lr)


def test_lr_consistency_rewards_outputs_that_shrink_back_to_their_input():
    hr = _images(4, 112)
    lr = bicubic_downscale(hr, 4)
    exact = lr_consistency(hr, lr)  # HR downscales to LR exactly
    assert np.all(np.isinf(exact))
    noisy = np.clip(hr.astype(int) + np.random.default_rng(1).integers(-40, 41, hr.shape), 0, 255).astype(np.uint8)
    flipped = hr[:, :, ::-1].copy()
    assert np.all(lr_consistency(noisy, lr) > lr_consistency(flipped, lr))
