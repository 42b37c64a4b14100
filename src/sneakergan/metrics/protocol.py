"""Where the images of an evaluation come from: the reference set, a run, or a folder."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from sneakergan.data import PreprocessSettings, list_image_sources, load_dataset
from sneakergan.errors import ConfigError
from sneakergan.metrics.reference import ReferenceStats, reference_stats

RESOLUTIONS = (28, 112)
STANDARD_SAMPLES = 10_000


def check_resolution(resolution: int) -> None:
    if resolution not in RESOLUTIONS:
        raise ConfigError(f"--res must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}")


def pipeline_images(lr_run: str | None, sr_run: str | None, upscale: str, resolution: int, count: int, seed: int,
                    device: str) -> tuple[np.ndarray, np.ndarray]:
    """(images at `resolution`, stage 1's 28x28 images they come from): stage 1 alone at 28; at 112
    stage 1 then stage 2 (or bicubic, the baseline that shows what stage 2 adds). A run left out is
    the bundled model."""
    from sneakergan.generate import generate_images
    from sneakergan.metrics.sr_quality import bicubic_upscale
    from sneakergan.pipeline import apply_stage2

    lr = generate_images(lr_run, count, seed, device)
    if resolution == lr.shape[1]:
        return lr, lr
    factor = resolution // lr.shape[1]
    return (bicubic_upscale(lr, factor) if upscale == "bicubic" else apply_stage2(sr_run, lr, device)), lr


def reference_images(data: str, resolution: int, cache_dir=None, workers: int | None = None) -> np.ndarray:
    """The reference set as the training pipeline sees it: 112 = HR, 28 = its antialiased downscale."""
    return load_dataset(data, cache_dir=cache_dir, workers=workers).images_at(resolution)


def load_reference(data: str, resolution: int, extractor, cache_dir=None, workers: int | None = None
                   ) -> ReferenceStats:
    return reference_stats(reference_images(data, resolution, cache_dir, workers), extractor, cache_dir)


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
