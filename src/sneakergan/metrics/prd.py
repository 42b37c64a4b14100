"""Precision and recall for distributions, PRD (Sajjadi et al. 2018).

A re-implementation of the reference `prd_score.py` (msmsajjadi/precision-recall-distributions):
both embeddings are clustered together with k-means, each set becomes a histogram over the
clusters, and the PRD curve is traced over slopes lambda = tan(angle):

    precision(lambda) = sum_bins min(lambda * ref, eval),   recall(lambda) = precision / lambda

Argument order is (eval, ref) as in the reference: swapping it swaps precision and recall.
The usual summary is (max F_8, max F_1/8): F_8 weighs recall, F_1/8 weighs precision.
"""

from __future__ import annotations

import math

import numpy as np

# Distributions must sum to 1 within this tolerance (float32 histograms are not exact).
_SUM_TOLERANCE = 1e-6


def _validate_distribution(dist: np.ndarray, name: str) -> np.ndarray:
    dist = np.asarray(dist, dtype=np.float64)
    if dist.ndim != 1:
        raise ValueError(f"{name} must be a 1-d histogram, got shape {dist.shape}")
    if np.any(dist < 0) or not np.all(np.isfinite(dist)):
        raise ValueError(f"{name} must be finite and non-negative")
    if abs(dist.sum() - 1.0) > _SUM_TOLERANCE:
        raise ValueError(f"{name} must sum to 1, sums to {dist.sum()}")
    return dist


def compute_prd(
    eval_dist: np.ndarray, ref_dist: np.ndarray, num_angles: int = 1001, epsilon: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """PRD curve of two histograms over the same bins: (precision, recall), each [num_angles]."""
    if not 0 < epsilon <= 0.1:
        raise ValueError(f"epsilon must be in (0, 0.1], got {epsilon}")
    if not 3 <= num_angles <= 1e6:
        raise ValueError(f"num_angles must be in [3, 1e6], got {num_angles}")
    eval_dist = _validate_distribution(eval_dist, "eval_dist")
    ref_dist = _validate_distribution(ref_dist, "ref_dist")
    if eval_dist.shape != ref_dist.shape:
        raise ValueError(f"histograms differ in length: {eval_dist.shape} vs {ref_dist.shape}")

    # Angles in (0, pi/2) exclusive of the ends, so slopes stay finite and positive.
    angles = np.linspace(epsilon, math.pi / 2 - epsilon, num=num_angles)
    slopes = np.tan(angles)
    slopes_2d = slopes[:, None]  # [angles, 1] against the bins axis
    precision = np.minimum(ref_dist[None, :] * slopes_2d, eval_dist[None, :]).sum(axis=1)
    recall = precision / slopes

    # Values just above 1 are rounding; anything clearly above means a bug upstream.
    if max(precision.max(), recall.max()) > 1.001:
        raise ValueError("PRD produced a value > 1.001; this should not happen")
    return np.clip(precision, 0, 1), np.clip(recall, 0, 1)


def _cluster_into_bins(
    eval_data: np.ndarray, ref_data: np.ndarray, num_clusters: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the union of both embeddings; return each set's normalised cluster histogram."""
    from sklearn.cluster import MiniBatchKMeans  # optional dependency, needed only for PRD

    cluster_data = np.concatenate([eval_data, ref_data], axis=0)
    kmeans = MiniBatchKMeans(n_clusters=num_clusters, n_init=10, random_state=seed)
    labels = kmeans.fit(cluster_data).labels_
    eval_labels = labels[: len(eval_data)]
    ref_labels = labels[len(eval_data):]
    eval_bins = np.bincount(eval_labels, minlength=num_clusters) / len(eval_labels)
    ref_bins = np.bincount(ref_labels, minlength=num_clusters) / len(ref_labels)
    return eval_bins, ref_bins


def compute_prd_from_embedding(
    eval_data: np.ndarray,
    ref_data: np.ndarray,
    num_clusters: int = 20,
    num_angles: int = 1001,
    num_runs: int = 10,
    enforce_balance: bool = True,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """PRD curve of two embeddings [N, D] and [M, D], averaged over `num_runs` clusterings.

    Run r clusters with random_state `seed + r`, so the result is deterministic for a seed.
    enforce_balance: unequal set sizes skew the histograms' clustering towards the larger set. The
    reference raises a ValueError then; here the larger set is instead subsampled (without
    replacement, numpy Generator(seed)) to the size of the smaller one.
    """
    eval_data = np.asarray(eval_data)
    ref_data = np.asarray(ref_data)
    if eval_data.ndim != 2 or ref_data.ndim != 2 or eval_data.shape[1] != ref_data.shape[1]:
        raise ValueError(f"embeddings must be [N, D] with equal D, got {eval_data.shape} and {ref_data.shape}")
    if min(len(eval_data), len(ref_data)) < num_clusters:
        raise ValueError(f"need at least num_clusters={num_clusters} samples in each set")
    if enforce_balance and len(eval_data) != len(ref_data):
        rng = np.random.default_rng(seed)
        size = min(len(eval_data), len(ref_data))
        if len(eval_data) > size:
            eval_data = eval_data[np.sort(rng.choice(len(eval_data), size, replace=False))]
        else:
            ref_data = ref_data[np.sort(rng.choice(len(ref_data), size, replace=False))]

    # float64 as in the reference. It is also the faster path: for float32 input, sklearn's k-means++
    # upcasts distance blocks to float64 (measured 2x slower on 13,584 x 2048 features).
    eval_data = eval_data.astype(np.float64, copy=False)
    ref_data = ref_data.astype(np.float64, copy=False)

    precisions, recalls = [], []
    for run in range(num_runs):
        eval_dist, ref_dist = _cluster_into_bins(eval_data, ref_data, num_clusters, seed=seed + run)
        precision, recall = compute_prd(eval_dist, ref_dist, num_angles)
        precisions.append(precision)
        recalls.append(recall)
    return np.mean(precisions, axis=0), np.mean(recalls, axis=0)


def f_beta_score(
    precision: np.ndarray, recall: np.ndarray, beta: float = 8, epsilon: float = 1e-10
) -> np.ndarray:
    """F_beta = (1 + b^2) p r / (b^2 p + r + epsilon); beta > 1 weighs recall more than precision."""
    precision = np.asarray(precision, dtype=np.float64)
    recall = np.asarray(recall, dtype=np.float64)
    if np.any((precision < 0) | (precision > 1)):
        raise ValueError("all values in precision must be in [0, 1]")
    if np.any((recall < 0) | (recall > 1)):
        raise ValueError("all values in recall must be in [0, 1]")
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    return (1 + beta**2) * (precision * recall) / (beta**2 * precision + recall + epsilon)


def prd_to_max_f_beta_pair(precision: np.ndarray, recall: np.ndarray, beta: float = 8) -> tuple[float, float]:
    """(max F_beta, max F_1/beta) over the curve: a recall-like and a precision-like summary."""
    f_beta = float(np.max(f_beta_score(precision, recall, beta)))
    f_beta_inv = float(np.max(f_beta_score(precision, recall, 1 / beta)))
    return f_beta, f_beta_inv
