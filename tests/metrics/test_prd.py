"""Reference behaviour of prd_score.py (Sajjadi et al. 2018), from /work/shared/fixtures/README.md."""

import numpy as np
import pytest

from sneakergan.metrics.prd import (
    _cluster_into_bins,
    compute_prd,
    compute_prd_from_embedding,
    f_beta_score,
    prd_to_max_f_beta_pair,
)


def test_disjoint_histograms_give_zero_curves():
    precision, recall = compute_prd(np.array([0.0, 1.0]), np.array([1.0, 0.0]), num_angles=11)
    np.testing.assert_allclose(precision, 0.0)
    np.testing.assert_allclose(recall, 0.0)


def test_identical_histograms_reach_one_at_45_degrees():
    precision, recall = compute_prd(np.array([1.0, 0.0]), np.array([1.0, 0.0]), num_angles=11)
    assert precision[5] == pytest.approx(1.0)
    assert recall[5] == pytest.approx(1.0)


def test_eval_spread_over_ref_mode():
    precision, recall = compute_prd(np.array([0.5, 0.5]), np.array([1.0, 0.0]), num_angles=11)
    assert precision[5] == pytest.approx(0.5)
    assert recall[5] == pytest.approx(0.5)
    assert precision[10] == pytest.approx(0.5)
    assert recall[1] == pytest.approx(1.0)


def test_eval_collapsed_onto_one_ref_mode():
    precision, recall = compute_prd(np.array([1.0, 0.0]), np.array([0.5, 0.5]), num_angles=11)
    assert precision[5] == pytest.approx(0.5)
    assert recall[5] == pytest.approx(0.5)
    assert recall[1] == pytest.approx(0.5)
    assert precision[10] == pytest.approx(1.0)


def test_swapping_arguments_swaps_precision_and_recall():
    rng = np.random.default_rng(0)
    a, b = rng.dirichlet(np.ones(7)), rng.dirichlet(np.ones(7))
    p_ab, r_ab = compute_prd(a, b, num_angles=101)
    p_ba, r_ba = compute_prd(b, a, num_angles=101)
    # The angle grid is symmetric around 45 degrees, so swapping reverses the curve.
    np.testing.assert_allclose(p_ab, r_ba[::-1], atol=1e-9)
    np.testing.assert_allclose(r_ab, p_ba[::-1], atol=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_angles": 2}, "num_angles"),
        ({"num_angles": 2_000_000}, "num_angles"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": 0.2}, "epsilon"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compute_prd(np.array([0.5, 0.5]), np.array([0.5, 0.5]), **kwargs)


@pytest.mark.parametrize(("eval_dist", "ref_dist"), [([0.5, 0.6], [0.5, 0.5]), ([1.5, -0.5], [0.5, 0.5])])
def test_rejects_non_distributions(eval_dist, ref_dist):
    with pytest.raises(ValueError):
        compute_prd(np.array(eval_dist), np.array(ref_dist))


P = np.array([1, 1, 0, 0, 0.5, 1, 0.5])
R = np.array([1, 0, 1, 0, 0.5, 0.5, 1])


@pytest.mark.parametrize(
    ("beta", "expected"),
    [
        (1, [1, 0, 0, 0, 0.5, 2 / 3, 2 / 3]),
        (2, [1, 0, 0, 0, 0.5, 5 / 9, 5 / 6]),
        (1 / 2, [1, 0, 0, 0, 0.5, 5 / 6, 5 / 9]),
    ],
)
def test_f_beta_table(beta, expected):
    np.testing.assert_allclose(f_beta_score(P, R, beta), expected, atol=1e-8)


def test_f_beta_rejects_out_of_range_inputs():
    with pytest.raises(ValueError):
        f_beta_score(np.array([1.5]), np.array([0.5]))
    with pytest.raises(ValueError):
        f_beta_score(np.array([0.5]), np.array([0.5]), beta=0)


def _blobs(rng, centers, per_center, dim=8, spread=0.05):
    return np.concatenate([c + spread * rng.standard_normal((per_center, dim)) for c in centers])


def test_identical_embeddings_score_near_one():
    rng = np.random.default_rng(1)
    data = rng.standard_normal((200, 8))
    precision, recall = compute_prd_from_embedding(data, data.copy(), num_runs=2)
    f8, f1_8 = prd_to_max_f_beta_pair(precision, recall)
    assert f8 > 0.99 and f1_8 > 0.99


def test_disjoint_clusters_score_near_zero():
    rng = np.random.default_rng(2)
    centers = 10.0 * np.eye(8)
    eval_data = _blobs(rng, centers[:4], 50)
    ref_data = _blobs(rng, centers[4:], 50)
    precision, recall = compute_prd_from_embedding(eval_data, ref_data, num_clusters=8, num_runs=2)
    f8, f1_8 = prd_to_max_f_beta_pair(precision, recall)
    assert f8 < 0.01 and f1_8 < 0.01


def test_mode_dropping_lowers_recall_not_precision():
    rng = np.random.default_rng(3)
    centers = 10.0 * np.eye(8)
    ref_data = _blobs(rng, centers, 25)          # 8 modes
    eval_data = _blobs(rng, centers[:2], 100)    # 2 of them
    precision, recall = compute_prd_from_embedding(eval_data, ref_data, num_clusters=8, num_runs=2)
    f8, f1_8 = prd_to_max_f_beta_pair(precision, recall)
    assert f1_8 > 0.9 and f8 < 0.4
    # Swapping eval and ref swaps precision and recall (up to the symmetric angle grid).
    p_swap, r_swap = compute_prd_from_embedding(ref_data, eval_data, num_clusters=8, num_runs=2)
    assert prd_to_max_f_beta_pair(p_swap, r_swap) == pytest.approx((f1_8, f8), abs=1e-6)


def test_cluster_histograms_are_normalised_and_seeded():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((60, 4)), rng.standard_normal((60, 4))
    eval_bins, ref_bins = _cluster_into_bins(a, b, 5, seed=3)
    assert eval_bins.shape == ref_bins.shape == (5,)
    assert eval_bins.sum() == pytest.approx(1.0) and ref_bins.sum() == pytest.approx(1.0)
    again = _cluster_into_bins(a, b, 5, seed=3)
    np.testing.assert_array_equal(eval_bins, again[0])


def test_unequal_sizes_are_subsampled_deterministically():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((300, 4)), rng.standard_normal((120, 4))
    first = compute_prd_from_embedding(a, b, num_runs=1, num_angles=51, seed=1)
    second = compute_prd_from_embedding(a, b, num_runs=1, num_angles=51, seed=1)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
