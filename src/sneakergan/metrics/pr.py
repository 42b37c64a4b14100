"""k-NN manifold metrics on feature arrays: improved precision/recall and density/coverage.

* Improved precision and recall (Kynkäänniemi et al. 2019, k=3): each point gets a ball whose
  radius is the distance to its k-th nearest neighbour in its own set; the union of balls
  approximates that set's manifold. Precision = share of fake points inside the real manifold
  (fidelity), recall = share of real points inside the fake manifold (diversity).
* Density and coverage (Naeem et al. 2020, k=5): density counts how many real balls contain each
  fake point (divided by k, so ~1 when fake matches real; > 1 where fakes crowd dense regions),
  coverage is the share of real balls that contain at least one fake point. Both use only real
  balls, so they are less sensitive to fake outliers than precision and recall.

Both papers used VGG16 features; here the metrics run on whatever features they are given (in
this package, the Inception pool3 features also used for FID), so the numbers are not comparable
with the papers' tables.

Distances are computed in float32 blocks of `chunk_size` rows, so 10,000 x 10,000 pairs need
~40 MB at a time rather than 400 MB.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

CHUNK_SIZE = 1000


def _prepare(real: np.ndarray, fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    real = np.asarray(real)
    fake = np.asarray(fake)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"features must be [N, D] with equal D, got {real.shape} and {fake.shape}")
    # Distances are translation-invariant; centring on the joint mean shrinks the norms in
    # |x|^2 + |y|^2 - 2 x.y and so the float32 cancellation error (features are often all positive).
    center = (real.astype(np.float64).sum(0) + fake.astype(np.float64).sum(0)) / (len(real) + len(fake))
    return (real - center).astype(np.float32), (fake - center).astype(np.float32)


def _distance_chunks(a: np.ndarray, b: np.ndarray, chunk_size: int = CHUNK_SIZE) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield (rows, distances[rows of a, all of b]) in float32 blocks of `chunk_size` rows of a."""
    b_sq = np.einsum("ij,ij->i", b, b)
    for start in range(0, len(a), chunk_size):
        rows = slice(start, min(start + chunk_size, len(a)))
        block = a[rows]
        sq = np.einsum("ij,ij->i", block, block)[:, None] + b_sq[None, :] - 2.0 * (block @ b.T)
        yield rows, np.sqrt(np.maximum(sq, 0.0, out=sq), out=sq)


def knn_radii(features: np.ndarray, k: int, chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """Distance from each point to its k-th nearest neighbour in the same set, itself excluded."""
    if not 1 <= k < len(features):
        raise ValueError(f"k must be in [1, {len(features) - 1}] for {len(features)} points, got {k}")
    radii = np.empty(len(features), dtype=np.float32)
    for rows, dist in _distance_chunks(features, features, chunk_size):
        # Sorted position 0 is the point itself (distance ~0), so position k is the k-th neighbour.
        radii[rows] = np.partition(dist, k, axis=1)[:, k]
    return radii


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3,
                     chunk_size: int = CHUNK_SIZE) -> tuple[float, float]:
    """Improved (precision, recall) of `fake` against `real` with k-NN balls (Kynkäänniemi 2019).

    A point is inside a ball when its distance is <= the radius (as in the authors' code).
    """
    real, fake = _prepare(real, fake)
    real_radii = knn_radii(real, k, chunk_size)
    fake_radii = knn_radii(fake, k, chunk_size)
    fake_in_real = np.zeros(len(fake), dtype=bool)
    real_in_fake = np.zeros(len(real), dtype=bool)
    # One pass over real-vs-fake distances serves both directions.
    for rows, dist in _distance_chunks(real, fake, chunk_size):
        fake_in_real |= (dist <= real_radii[rows, None]).any(axis=0)
        real_in_fake[rows] = (dist <= fake_radii[None, :]).any(axis=1)
    return float(fake_in_real.mean()), float(real_in_fake.mean())


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5,
                     chunk_size: int = CHUNK_SIZE) -> tuple[float, float]:
    """(density, coverage) of `fake` against `real` with real k-NN balls (Naeem et al. 2020).

    density = 1/(k M) sum_fake sum_real 1[d(fake, real) < r_real]
    coverage = 1/N sum_real 1[min_fake d(real, fake) < r_real]
    The strict "<" follows the authors' reference code (clovaai/generative-evaluation-prdc): with it
    each real ball holds exactly k real points (itself and k-1 neighbours), so density is 1 for
    fake == real; "<=" would give (k+1)/k there.
    """
    real, fake = _prepare(real, fake)
    real_radii = knn_radii(real, k, chunk_size)
    ball_hits = np.zeros(len(fake), dtype=np.int64)
    covered = np.zeros(len(real), dtype=bool)
    for rows, dist in _distance_chunks(real, fake, chunk_size):
        inside = dist < real_radii[rows, None]
        ball_hits += inside.sum(axis=0)
        covered[rows] = inside.any(axis=1)  # same as min distance < radius
    density = float(ball_hits.sum() / (k * len(fake)))
    return density, float(covered.mean())
