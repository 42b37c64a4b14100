"""Kernel Inception Distance (Bińkowski et al. 2018) on precomputed feature arrays.

KID is the squared maximum mean discrepancy (MMD^2) between real and generated features under
the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, estimated without bias and averaged over
random subsets. Unlike FID, its estimator is unbiased, so it is comparable across sample sizes.
"""

from __future__ import annotations

import numpy as np


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3 for all pairs of rows: [n, d] x [m, d] -> [n, m]."""
    dim = x.shape[1]
    return (x @ y.T / dim + 1.0) ** 3


def unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between samples x [m, d] and y [n, d] under the polynomial kernel.

    Within-set sums leave out the diagonal (k(x_i, x_i)), which is what removes the bias.
    """
    m, n = x.shape[0], y.shape[0]
    if m < 2 or n < 2:
        raise ValueError("unbiased MMD^2 needs at least 2 samples in each set")
    k_xx = polynomial_kernel(x, x)
    k_yy = polynomial_kernel(y, y)
    k_xy = polynomial_kernel(x, y)
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float(sum_xx / (m * (m - 1)) + sum_yy / (n * (n - 1)) - 2.0 * k_xy.mean())


def kernel_inception_distance(
    real: np.ndarray,
    fake: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD^2 over `num_subsets` random subsets.

    Each subset draws min(n_real, n_fake, subset_size) rows from each set without replacement,
    using numpy's Generator(seed), so the result is deterministic for a seed. The std is the
    population std (ddof=0) over subsets, as torchmetrics reports it; it measures the spread of the
    subset estimates, not the standard error of the mean. Computed in float64.
    """
    real = np.asarray(real)
    fake = np.asarray(fake)
    if real.ndim != 2 or fake.ndim != 2:
        raise ValueError(f"features must be 2-d [N, D], got {real.shape} and {fake.shape}")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature dimensions differ: {real.shape[1]} vs {fake.shape[1]}")
    if num_subsets < 1 or subset_size < 2:
        raise ValueError("num_subsets must be >= 1 and subset_size >= 2")
    size = min(real.shape[0], fake.shape[0], subset_size)
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")

    rng = np.random.default_rng(seed)
    scores = np.empty(num_subsets, dtype=np.float64)
    for index in range(num_subsets):
        # Cast per subset: float64 throughout, without a float64 copy of the full arrays.
        real_subset = real[rng.choice(real.shape[0], size, replace=False)].astype(np.float64)
        fake_subset = fake[rng.choice(fake.shape[0], size, replace=False)].astype(np.float64)
        scores[index] = unbiased_mmd2(real_subset, fake_subset)
    return float(scores.mean()), float(scores.std())
