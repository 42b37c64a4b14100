"""Where the images of an evaluation come from: the reference set, a run, or a folder."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from sneakergan.data import PreprocessSettings, list_image_sources, load_dataset
from sneakergan.errors import ConfigError
from sneakergan.inference.pipeline import Pipeline
from sneakergan.metrics.sr_quality import bicubic_downscale, bicubic_upscale

RESOLUTIONS = (28, 112)
STANDARD_SAMPLES = 10_000


def check_resolution(resolution: int) -> None:
    if resolution not in RESOLUTIONS:
        raise ConfigError(f"--res must be one of {', '.join(map(str, RESOLUTIONS))}, got {resolution}")


class PipelineSampler:
    """Images for an evaluation at `resolution`: stage 1 alone at 28; at 112 stage 1 then stage 2 (or
    bicubic, the baseline that shows what stage 2 adds), from one Pipeline loaded once (a conditional
    evaluation samples once per class as well), in fp32 (the standard protocol). A run left out is the
    bundled model. A single-stage generator (full size) has no stage 1 images; at 28 its images are
    downscaled as the data pipeline makes the reference's 28x28 images. `ema`: as for Pipeline.load."""

    def __init__(self, lr_run: str | None, sr_run: str | None, upscale: str, resolution: int, device: str,
                 ema: bool = True):
        super_resolves = upscale == "sr" and resolution > min(RESOLUTIONS)
        self.pipeline = Pipeline.load(lr_run, sr_run, device=device, precision="fp32", ema=ema, stage2=super_resolves,
                                      stage2_parameters={"upscale": upscale != "sr"})
        self.resolution = resolution

    def __call__(self, count: int, seed: int, label: str | None = None, class_probs: np.ndarray | None = None
                 ) -> tuple[np.ndarray, np.ndarray | None]:
        """(images at the resolution, stage 1's 28x28 images they come from, None for a single stage);
        `label`, `class_probs`: as for `generate.sample_images`."""
        lr = self.pipeline.sample_lr(count, seed, label=label, class_probs=class_probs)
        size = lr.shape[1]
        if self.pipeline.single_stage:
            return (bicubic_downscale(lr, size // self.resolution) if size > self.resolution else lr), None
        if self.resolution == size:
            return lr, lr
        if self.pipeline.stage2 is None:
            return bicubic_upscale(lr, self.resolution // size), lr
        return self.pipeline.upscale(lr), lr


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
