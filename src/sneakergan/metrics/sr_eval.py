"""`sneakergan eval-sr`: a stage-2 run against bicubic upscaling on real held-out images.

LR is the data pipeline's 28x28 of each image (the antialiased bicubic downscale of its 112x112),
HR its 112x112: exactly the pairs stage 2 trains on, from a split it did not train on.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from sneakergan.data import load_dataset
from sneakergan.images import comparison_grid, nearest_upscale, save_png
from sneakergan.inference.device import resolve_device
from sneakergan.inference.pipeline import load_sr_generator, super_resolve_images
from sneakergan.io import atomic_write_text
from sneakergan.metrics.sr_quality import bicubic_upscale, lr_consistency, psnr_y, ssim_y

log = logging.getLogger("sneakergan.metrics")
CROP = 4  # border pixels ignored, the scale factor by convention
REALISATIONS, DIVERSITY_IMAGES = 8, 64  # detail diversity: this many --sr-seed realisations of the first images


def _summary(values: np.ndarray) -> float:
    return float(np.mean(values))


def evaluate_sr(sr_run: str | Path, data: str | Path, out: Path, device: str = "auto", rows: int = 8,
                cache_dir: Path | None = None, workers: int | None = None) -> dict:
    """Score SR and bicubic against HR; write the report JSON at `out` and a figure beside it."""
    started = time.perf_counter()
    target = resolve_device(device)
    generator = load_sr_generator(sr_run, target)  # first: a bad run fails before any decoding
    dataset = load_dataset(data, cache_dir=cache_dir, workers=workers)
    factor = dataset.hr.shape[1] // dataset.lr.shape[1]
    sr = super_resolve_images(generator, dataset.lr, target)
    bicubic = bicubic_upscale(dataset.lr, factor)
    scores = {name: (psnr_y(images, dataset.hr, CROP), ssim_y(images, dataset.hr, CROP),
                     lr_consistency(images, dataset.lr))
              for name, images in (("sr", sr), ("bicubic", bicubic))}
    figure = out.with_suffix(".png")
    shown = np.random.default_rng(0).choice(len(dataset), size=min(rows, len(dataset)), replace=False)
    lr = dataset.lr[shown]
    save_png(comparison_grid([nearest_upscale(lr, factor), bicubic[shown], sr[shown], dataset.hr[shown]]), figure)
    report = {
        "sr_run": str(Path(sr_run).resolve()),
        "data": str(Path(data).resolve()),
        "images": len(dataset),
        "metric": f"Y channel (BT.601), {CROP}-pixel border crop, mean over images",
        "psnr_y": {name: _summary(values[0]) for name, values in scores.items()},
        "ssim_y": {name: _summary(values[1]) for name, values in scores.items()},
        "lr_consistency_psnr_y": {name: _summary(values[2]) for name, values in scores.items()},
        "sr_beats_bicubic_psnr": float(np.mean(scores["sr"][0] > scores["bicubic"][0])),
        "detail_std": detail_diversity(generator, dataset.lr[:DIVERSITY_IMAGES], target),
        "figure": str(figure),
        "figure_columns": ["LR (nearest)", "bicubic", "SR", "original"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_text(out, json.dumps(report, indent=2) + "\n")
    return report


def detail_diversity(generator, lr: np.ndarray, device) -> float:
    """Mean per-pixel standard deviation (uint8 steps) over REALISATIONS seeds of stage 2's details, on
    `lr`: 0 for a stage 2 without noise inputs, or one that learned to ignore them."""
    realisations = np.stack([super_resolve_images(generator, lr, device, seed=seed) for seed in range(REALISATIONS)])
    return float(realisations.astype(np.float32).std(axis=0).mean())
