"""Images between the networks and files: the one conversion between G's [-1, 1] floats and uint8
pixels (both directions), sample grids and PNGs (numpy + PIL; no torchvision)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from sneakergan.io import atomic_path


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Generator output in [-1, 1], NCHW -> uint8 NHWC.

    Uses (g * 127.5 + 128) clamped and truncated, the convention of the FID protocol, so what we
    save is exactly what the metrics see.
    """
    return _pixels(images).permute(0, 2, 3, 1).cpu().numpy()


def _pixels(images: torch.Tensor) -> torch.Tensor:
    return (images.detach().float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)


def to_unit_range(images: torch.Tensor | np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """uint8 pixels -> float NCHW in [-1, 1] (the networks' input convention), on `device`: a uint8 NCHW
    tensor, or a uint8 NHWC numpy array (as images are saved and loaded)."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    return images.to(device).float().div_(127.5).sub_(1.0)


def quantise(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats as they come back after saving as uint8 and loading (to_uint8, to_unit_range)."""
    return _pixels(images).float().div_(127.5).sub_(1.0)


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2, fill: int = 255) -> np.ndarray:
    """Tile uint8 NHWC images into one HxWx3 image, `nrow` images per row (default: square)."""
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 NHWC images, got {images.dtype} {images.shape}")
    count, height, width, channels = images.shape
    per_row = nrow or math.ceil(math.sqrt(count))
    grid = np.full((*grid_shape(count, height, width, nrow, padding), channels), fill, dtype=np.uint8)
    for index, image in enumerate(images):
        top = padding + (index // per_row) * (height + padding)
        left = padding + (index % per_row) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def grid_shape(count: int, height: int, width: int, nrow: int | None = None, padding: int = 2) -> tuple[int, int]:
    """(height, width) in pixels of make_grid's result, without making it."""
    per_row = nrow or math.ceil(math.sqrt(count))
    rows = math.ceil(count / per_row)
    return rows * (height + padding) + padding, per_row * (width + padding) + padding


# What an image is saved as, by the file's extension: lossless unless the user asks for JPEG.
IMAGE_FORMATS = {".png": ("PNG", {}), ".jpg": ("JPEG", {"quality": 95}), ".jpeg": ("JPEG", {"quality": 95}),
                 ".webp": ("WEBP", {"lossless": True})}


def save_png(image: np.ndarray, path: str | Path, scale: int = 1) -> None:
    """Write an HxWx3 uint8 array atomically in the format its extension names (PNG, JPEG or WebP; PNG for
    any other), optionally enlarged (nearest) for viewing."""
    picture = Image.fromarray(image)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    suffix = Path(path).suffix.lower()
    image_format, options = IMAGE_FORMATS.get(suffix, IMAGE_FORMATS[".png"])
    with atomic_path(path, suffix=suffix or ".png") as tmp:
        picture.save(tmp, format=image_format, **options)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 1) -> None:
    save_png(make_grid(to_uint8(images), nrow=nrow), path, scale=scale)


def nearest_upscale(images: np.ndarray, factor: int) -> np.ndarray:
    """uint8 NHWC enlarged by pixel repetition: how a low-resolution input looks at full size."""
    return images.repeat(factor, axis=1).repeat(factor, axis=2)


def comparison_grid(columns: list[np.ndarray], padding: int = 2) -> np.ndarray:
    """One row per image, one column per version (e.g. LR | bicubic | SR | HR), all the same size."""
    rows = np.stack(columns, axis=1)  # [N, columns, H, W, 3]
    return make_grid(rows.reshape(-1, *rows.shape[2:]), nrow=len(columns), padding=padding)
