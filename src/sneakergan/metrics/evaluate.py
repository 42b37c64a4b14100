"""The project's evaluation protocol: every metric on one set of generated images vs a reference.

Standard protocol for reported numbers: reference = the train split preprocessed by the project's
pipeline at the evaluated resolution; 10,000 generated samples; Inception pool3 features (TF
2015-12-05 network, TF1 legacy bilinear resize to 299); FID, KID, PRD (F_8, F_1/8), improved
precision/recall (k=3), density/coverage (k=5), and a nearest-neighbour memorisation check.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sneakergan import __version__
from sneakergan.errors import ConfigError
from sneakergan.io import atomic_write_text
from sneakergan.metrics.features import RESIZE_MODE
from sneakergan.metrics.fid import MIN_RECOMMENDED_SAMPLES, feature_statistics, frechet_distance
from sneakergan.metrics.kid import kernel_inception_distance
from sneakergan.metrics.memorization import copy_statistics, save_nearest_panel
from sneakergan.metrics.pr import density_coverage, precision_recall
from sneakergan.metrics.prd import compute_prd_from_embedding, prd_to_max_f_beta_pair
from sneakergan.metrics.reference import ReferenceStats
from sneakergan.viz.prd_plot import plot_prd_curves

log = logging.getLogger("sneakergan.metrics")


@dataclass(frozen=True)
class MetricSettings:
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    prd_clusters: int = 20
    prd_angles: int = 1001
    prd_runs: int = 10
    pr_k: int = 3
    dc_k: int = 5
    seed: int = 0


def fid_only(fake_features: np.ndarray, reference: ReferenceStats) -> float:
    mu, sigma = feature_statistics(fake_features)
    return frechet_distance(mu, sigma, reference.mu, reference.sigma)


def warn_small_samples(generated: int, reference: int, kid_subset_size: int) -> None:
    """Say which numbers a small evaluation cannot give, before it prints them."""
    if generated < MIN_RECOMMENDED_SAMPLES:
        log.warning("FID on %d generated images (< %d) is biased upwards: compare it only with FIDs on the same "
                    "number of images (the standard protocol uses 10,000)", generated, MIN_RECOMMENDED_SAMPLES)
    if generated == reference <= kid_subset_size:
        log.warning("KID's std will be 0: both sets have %d images (<= the subset size %d), so every subset holds "
                    "all of them and the subsets do not vary", generated, kid_subset_size)


def score_features(fake: np.ndarray, reference: ReferenceStats, settings: MetricSettings = MetricSettings()
                   ) -> dict[str, Any]:
    """All metrics from features; PRD curves included so several models can share a plot later."""
    real = reference.features
    timings: dict[str, float] = {}

    def timed(name, fn, *args, **kwargs):
        started = time.perf_counter()
        result = fn(*args, **kwargs)
        timings[name] = round(time.perf_counter() - started, 2)
        return result

    warn_small_samples(len(fake), len(real), settings.kid_subset_size)
    fid = timed("fid", fid_only, fake, reference)
    kid_mean, kid_std = timed("kid", kernel_inception_distance, real, fake, num_subsets=settings.kid_subsets,
                              subset_size=settings.kid_subset_size, seed=settings.seed)
    precision_curve, recall_curve = timed(
        "prd", compute_prd_from_embedding, fake, real, num_clusters=settings.prd_clusters,
        num_angles=settings.prd_angles, num_runs=settings.prd_runs, seed=settings.seed)
    f8, f1_8 = prd_to_max_f_beta_pair(precision_curve, recall_curve, beta=8)
    precision, recall = timed("precision_recall", precision_recall, real, fake, k=settings.pr_k)
    density, coverage = timed("density_coverage", density_coverage, real, fake, k=settings.dc_k)
    return {
        "fid": float(fid), "kid_mean": float(kid_mean), "kid_std": float(kid_std),
        "prd_f8": float(f8), "prd_f1_8": float(f1_8),
        "precision": float(precision), "recall": float(recall),
        "density": float(density), "coverage": float(coverage),
        "memorization": copy_statistics(fake, real),
        "prd_curve": {"precision": np.round(precision_curve, 6).tolist(), "recall": np.round(recall_curve, 6).tolist()},
        "metric_seconds": timings,
    }


def check_counts(fake_count: int | None, reference_count: int | None,
                 settings: MetricSettings = MetricSettings()) -> None:
    """Enough images on each side (None: not known yet), checked before any feature is computed."""
    for side, count in (("images to score", fake_count), ("reference images", reference_count)):
        if count is not None and count < settings.prd_clusters:  # PRD clusters both sets into this many
            raise ConfigError(f"the standard metrics need at least {settings.prd_clusters} {side} "
                              f"(PRD's clusters); got {count}")


def evaluate_images(fake_images: np.ndarray, reference: ReferenceStats, extractor, out_json: Path,
                    label: str, provenance: dict[str, Any], settings: MetricSettings = MetricSettings()
                    ) -> dict[str, Any]:
    """Score uint8 NHWC images; write the JSON report, the PRD plot and the nearest-neighbour panel."""
    if fake_images.shape[1:] != reference.images.shape[1:]:
        raise ValueError(f"generated images {fake_images.shape[1:]} and reference {reference.images.shape[1:]} differ")
    check_counts(len(fake_images), len(reference.features), settings)
    started = time.perf_counter()
    fake_features = extractor(fake_images)
    feature_seconds = time.perf_counter() - started
    scores = score_features(fake_features, reference, settings)
    prd_png, nearest_png = plot_paths(out_json)
    plot_prd_curves([(label, np.array(scores["prd_curve"]["precision"]), np.array(scores["prd_curve"]["recall"]))],
                    prd_png)
    scores["memorization"]["panel"] = save_nearest_panel(fake_images, fake_features, reference.images,
                                                         reference.features, nearest_png)
    report = {
        "label": label,
        "sneakergan_version": __version__,
        "resolution": int(fake_images.shape[1]),
        "n_generated": int(len(fake_images)),
        "n_reference": int(len(reference.features)),
        "feature_network": {"name": "inception-v3-tf-2015-12-05 pool3", "sha256": extractor.sha256,
                            "resize": RESIZE_MODE, "mode": extractor.mode},
        "settings": asdict(settings),
        **provenance,
        **scores,
        "feature_seconds": round(feature_seconds, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "plots": {"prd": prd_png.name, "nearest": nearest_png.name},
    }
    atomic_write_text(out_json, json.dumps(report, indent=1) + "\n")
    return report


def plot_paths(out_json: Path) -> tuple[Path, Path]:
    """The PRD curve and the nearest-neighbour panel written beside a report."""
    stem = out_json.with_suffix("")
    return Path(f"{stem}_prd.png"), Path(f"{stem}_nearest.png")


SUMMARY_KEYS = ("fid", "kid_mean", "kid_std", "prd_f8", "prd_f1_8", "precision", "recall", "density", "coverage")


def summary_line(report: dict[str, Any]) -> str:
    values = "  ".join(f"{key} {report[key]:.4f}" if key.startswith("kid") else f"{key} {report[key]:.3f}"
                       for key in SUMMARY_KEYS)
    return f"{report['label']} @ {report['resolution']}px, n={report['n_generated']}: {values}"
