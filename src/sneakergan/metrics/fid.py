"""Fréchet Inception Distance (Heusel et al. 2017) on precomputed feature arrays.

FID is the Fréchet (2-Wasserstein) distance between two Gaussians fitted to the features:

    FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))

Feature extraction lives elsewhere; everything here takes `np.ndarray [N, D]`.
"""

from __future__ import annotations

import warnings

import numpy as np

# Below this many images per set the covariance of 2048-d features is rank-deficient and FID is
# noticeably biased upwards; the original FID paper recommends at least 2,048 (better 10,000+).
MIN_RECOMMENDED_SAMPLES = 2048


def _as_feature_matrix(features: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(features)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array [N, D], got shape {array.shape}")
    if array.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples for a covariance, got {array.shape[0]}")
    return array


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and unbiased covariance [D, D] of `features` [N, D], both float64."""
    array = _as_feature_matrix(features, "features").astype(np.float64, copy=False)
    mu = array.mean(axis=0)
    # atleast_2d: np.cov returns a 0-d array for D == 1.
    sigma = np.atleast_2d(np.cov(array, rowvar=False, ddof=1))
    return mu, sigma


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr(sqrt(S1 S2)) from the eigenvalues of S1 S2, without forming the matrix square root.

    S1 S2 is similar to S1^1/2 S2 S1^1/2 (PSD), so its eigenvalues are real and >= 0 in exact
    arithmetic and tr(sqrt(S1 S2)) = sum(sqrt(eigenvalues)). Rounding can give tiny negative or
    complex eigenvalues; the complex square root followed by the real part sends those to ~0
    instead of NaN. This avoids scipy.linalg.sqrtm (slow, and its API changed in scipy 1.13).
    """
    eigenvalues = np.linalg.eigvals(sigma1 @ sigma2)
    return float(np.sqrt(eigenvalues.astype(np.complex128)).real.sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    if mu1.shape != mu2.shape:
        raise ValueError(f"mean vectors differ in shape: {mu1.shape} vs {mu2.shape}")
    dim = mu1.shape[0]
    if sigma1.shape != (dim, dim) or sigma2.shape != (dim, dim):
        raise ValueError(f"covariances must be [{dim}, {dim}], got {sigma1.shape} and {sigma2.shape}")
    if not (np.all(np.isfinite(mu1)) and np.all(np.isfinite(mu2))
            and np.all(np.isfinite(sigma1)) and np.all(np.isfinite(sigma2))):
        raise ValueError("statistics contain NaN or infinity")

    diff = mu1 - mu2
    mean_term = float(diff @ diff)
    trace_term = float(np.trace(sigma1) + np.trace(sigma2)) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return mean_term + trace_term


def fid_from_features(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """FID between two feature sets [N, D] and [M, D]; warns when either set is small."""
    a = _as_feature_matrix(features_a, "features_a")
    b = _as_feature_matrix(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature dimensions differ: {a.shape[1]} vs {b.shape[1]}")
    for name, array in (("features_a", a), ("features_b", b)):
        if array.shape[0] < MIN_RECOMMENDED_SAMPLES:
            warnings.warn(
                f"FID on {array.shape[0]} images in {name} (< {MIN_RECOMMENDED_SAMPLES}): the estimate is "
                f"biased upwards and the covariance is rank-deficient when N <= D; compare only FIDs "
                f"computed on the same number of images",
                UserWarning,
                stacklevel=2,
            )
    mu_a, sigma_a = feature_statistics(a)
    mu_b, sigma_b = feature_statistics(b)
    return frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
