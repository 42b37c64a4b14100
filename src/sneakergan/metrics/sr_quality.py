"""Super-resolution fidelity: PSNR and SSIM on the luma (Y) channel, and the bicubic floor.

As the SR literature reports them (BasicSR's `calculate_psnr/ssim(..., test_y_channel=True)`):
Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255 with R, G, B in [0, 255] (ITU-R BT.601;
equivalently 16 + 65.481 R + ... with RGB in [0, 1]), kept as float (not rounded), on images
with `crop` pixels removed at every border (the scale factor, 4, by convention).

PSNR = 10 log10(255^2 / MSE) per image; identical images give +inf (no cap), so a mean over
images is inf only when some image is reproduced exactly.
LR-consistency: PSNR-Y between downscale(SR) and the LR input, with the data pipeline's own
antialiased bicubic downscale and a 1-pixel LR border crop (the 4 HR pixels of the HR convention).
It needs no ground truth, so it also scores stage 2 on generated inputs.
SSIM per Wang et al. 2004: 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03, data range
255, population (not sample) statistics, averaged over the positions where the window fits.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

_Y_WEIGHTS = np.array([65.481, 128.553, 24.966]) / 255.0
DATA_RANGE = 255.0


def _check_pair(sr: np.ndarray, hr: np.ndarray) -> None:
    for name, images in (("sr", sr), ("hr", hr)):
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"{name} must be uint8 NHWC RGB, got {images.dtype} {images.shape}")
    if sr.shape != hr.shape:
        raise ValueError(f"sr {sr.shape} and hr {hr.shape} differ in shape")


def y_channel(images: np.ndarray, crop: int = 0) -> np.ndarray:
    """uint8 NHWC RGB -> float64 [N, H - 2 crop, W - 2 crop] luma in [16, 235]."""
    if crop:
        images = images[:, crop:-crop, crop:-crop]
    return 16.0 + images.astype(np.float64) @ _Y_WEIGHTS


def psnr_y(sr: np.ndarray, hr: np.ndarray, crop: int = 4) -> np.ndarray:
    """PSNR in dB of each SR image against its HR image, on Y with a `crop`-pixel border removed."""
    _check_pair(sr, hr)
    mse = ((y_channel(sr, crop) - y_channel(hr, crop)) ** 2).mean(axis=(1, 2))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(DATA_RANGE ** 2 / mse)


def gaussian_taps(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """The normalised 1-D Gaussian; the 2-D window is its outer product (separable)."""
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    taps = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    return taps / taps.sum()


def ssim_y(sr: np.ndarray, hr: np.ndarray, crop: int = 4, batch: int = 256) -> np.ndarray:
    """SSIM of each SR image against its HR image, on Y with a `crop`-pixel border removed."""
    _check_pair(sr, hr)
    taps = gaussian_taps()
    rows, columns = taps.view(1, 1, -1, 1).repeat(5, 1, 1, 1), taps.view(1, 1, 1, -1).repeat(5, 1, 1, 1)
    c1, c2 = (0.01 * DATA_RANGE) ** 2, (0.03 * DATA_RANGE) ** 2
    scores = []
    for start in range(0, len(sr), batch):
        x = torch.from_numpy(y_channel(sr[start:start + batch], crop))
        y = torch.from_numpy(y_channel(hr[start:start + batch], crop))
        # The five local moments at once, float64 (variances are differences of large numbers);
        # "valid" separable filtering: only positions where the whole 11x11 window fits.
        moments = torch.stack([x, y, x * x, y * y, x * y], dim=1)
        moments = F.conv2d(F.conv2d(moments, rows, groups=5), columns, groups=5)
        mu_x, mu_y, xx, yy, xy = moments.unbind(dim=1)
        var_x, var_y, cov = xx - mu_x ** 2, yy - mu_y ** 2, xy - mu_x * mu_y
        ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
        scores.append(ssim_map.mean(dim=(1, 2)).numpy())
    return np.concatenate(scores) if scores else np.empty(0)


def _resize_each(images: np.ndarray, width: int, height: int) -> np.ndarray:
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 NHWC images, got {images.dtype} {images.shape}")
    return np.stack([np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC))
                     for image in images])


def bicubic_upscale(lr: np.ndarray, factor: int = 4) -> np.ndarray:
    """uint8 NHWC enlarged `factor` times with PIL's bicubic filter: the floor SR must beat."""
    return _resize_each(lr, lr.shape[2] * factor, lr.shape[1] * factor)


def bicubic_downscale(images: np.ndarray, factor: int = 4) -> np.ndarray:
    """uint8 NHWC shrunk `factor` times as the data pipeline makes LR from HR (PIL bicubic, antialiased)."""
    return _resize_each(images, images.shape[2] // factor, images.shape[1] // factor)


def lr_consistency(sr: np.ndarray, lr: np.ndarray, crop: int = 1) -> np.ndarray:
    """PSNR-Y (dB) of each downscaled SR image against the LR image it was made from."""
    return psnr_y(bicubic_downscale(sr, sr.shape[1] // lr.shape[1]), lr, crop)
