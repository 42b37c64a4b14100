"""Reference statistics of a dataset, cached per (image content, resolution, feature pipeline).

The key hashes the preprocessed uint8 images themselves plus the feature network's sha256, the
resize mode and the precision mode, so a second evaluation against the same data at the same
resolution loads features, mean and covariance from disk instead of running Inception again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sneakergan.data.cache import cache_root
from sneakergan.metrics.features import RESIZE_MODE
from sneakergan.metrics.fid import feature_statistics

log = logging.getLogger("sneakergan.metrics")

FORMAT = 1


@dataclass(frozen=True)
class ReferenceStats:
    features: np.ndarray  # float32 [N, 2048]
    mu: np.ndarray  # float64 [2048]
    sigma: np.ndarray  # float64 [2048, 2048]
    images: np.ndarray  # uint8 NHWC, the reference images themselves (nearest-neighbour panel)
    key: str


def reference_key(images: np.ndarray, extractor) -> str:
    digest = hashlib.blake2b(digest_size=32)
    digest.update(json.dumps({"format": FORMAT, "shape": images.shape, "sha256": extractor.sha256,
                              "resize": RESIZE_MODE, "mode": extractor.mode}).encode())
    digest.update(np.ascontiguousarray(images).data)
    return digest.hexdigest()


def reference_stats(images: np.ndarray, extractor, cache_dir=None) -> ReferenceStats:
    """Features and FID statistics of `images` (uint8 NHWC), from the cache when possible."""
    key = reference_key(images, extractor)
    root = cache_root(cache_dir)
    entry = root / "reference" / key[:16] if root is not None else None
    if entry is not None:
        try:
            meta = json.loads((entry / "meta.json").read_text())
            if meta["key"] == key:
                arrays = {name: np.load(entry / f"{name}.npy", allow_pickle=False)
                          for name in ("features", "mu", "sigma")}
                log.info("reference statistics from cache %s", entry)
                return ReferenceStats(images=images, key=key, **arrays)
        except (OSError, ValueError, KeyError):
            pass  # missing or damaged entry: recompute
    started = time.perf_counter()
    features = extractor(images)
    mu, sigma = feature_statistics(features)
    log.info("reference features of %d images in %.0f s", len(images), time.perf_counter() - started)
    if entry is not None:
        _write_entry(entry, key, {"features": features, "mu": mu, "sigma": sigma})
    return ReferenceStats(features=features, mu=mu, sigma=sigma, images=images, key=key)


def _write_entry(entry: Path, key: str, arrays: dict[str, np.ndarray]) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-", dir=entry.parent))
        try:
            for name, array in arrays.items():
                np.save(tmp / f"{name}.npy", array, allow_pickle=False)
            (tmp / "meta.json").write_text(json.dumps({"key": key}))
            if entry.exists():
                shutil.rmtree(entry)
            os.rename(tmp, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        log.warning("could not cache reference statistics in %s: %s", entry, exc)
