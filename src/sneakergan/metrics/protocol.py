"""Where the images of an evaluation come from: the reference set, a run, or a folder."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from sneakergan.data import PreprocessSettings, list_image_sources, load_dataset
from sneakergan.errors import ConfigError

RESOLUTIONS = (28, 112)
STANDARD_SAMPLES = 10_000


def check_resolution(resolution: int) -> None:
    if resolution not in RESOLUTIONS:
        raise ConfigError(f"--res must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}")


def pipeline_images(lr_run: str | None, sr_run: str | None, upscale: str, resolution: int, count: int, seed: int,
                    device: str, label: str | None = None, class_probs: np.ndarray | None = None, ema: bool = True
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """(images at `resolution`, stage 1's 28x28 images they come from): stage 1 alone at 28; at 112
    stage 1 then stage 2 (or bicubic, the baseline that shows what stage 2 adds). A run left out is
    the bundled model. A single-stage generator (more than 28 pixels) has no stage 1 images (None);
    at 28 its images are downscaled as the data pipeline makes the reference's 28x28 images.
    `label`, `class_probs`, `ema`: as for `generate_images`."""
    from sneakergan.generate import generate_images
    from sneakergan.metrics.sr_quality import bicubic_downscale, bicubic_upscale
    from sneakergan.pipeline import apply_stage2

    lr = generate_images(lr_run, count, seed, device, label=label, class_probs=class_probs, ema=ema)
    if lr.shape[1] > RESOLUTIONS[0]:
        if upscale != "sr" or sr_run is not None:
            raise ConfigError(f"--sr-run and --upscale apply to two-stage models; {lr_run} makes "
                              f"{lr.shape[1]}x{lr.shape[2]} images in one stage")
        return (bicubic_downscale(lr, lr.shape[1] // resolution) if lr.shape[1] > resolution else lr), None
    if resolution == lr.shape[1]:
        return lr, lr
    factor = resolution // lr.shape[1]
    return (bicubic_upscale(lr, factor) if upscale == "bicubic" else apply_stage2(sr_run, lr, device)), lr


def folder_images(path: str, resolution: int, workers: int | None = None) -> np.ndarray:
    """Any folder of images at `resolution`. When every image already has that size they are used
    exactly as they are; otherwise all go through the same pipeline as the reference set. Duplicate
    files are kept: for generated images they are a finding, not noise."""
    if _all_sized(path, resolution):
        settings = PreprocessSettings(hr_size=resolution, lr_size=resolution, min_size=resolution)
        return load_dataset(path, settings, cache_dir=False, workers=workers, drop_duplicates=False).hr
    return load_dataset(path, cache_dir=False, workers=workers, drop_duplicates=False).images_at(resolution)


def _all_sized(path: str, resolution: int) -> bool:
    for source in list_image_sources(path):
        try:
            with Image.open(io.BytesIO(source.read_bytes())) as image:  # reads the header only
                if image.size != (resolution, resolution):
                    return False
        except (OSError, ValueError):
            continue  # load_dataset reports unusable files
    return True
