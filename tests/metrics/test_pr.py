import numpy as np
import pytest

from sneakergan.metrics.pr import density_coverage, knn_radii, precision_recall


def _brute_force(real, fake, k_pr=3, k_dc=5):
    """Direct translation of the papers' definitions with full float64 distance matrices."""
    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    d_rr, d_ff, d_rf = dist(real, real), dist(fake, fake), dist(real, fake)
    r_real = np.sort(d_rr, axis=1)[:, k_pr]
    r_fake = np.sort(d_ff, axis=1)[:, k_pr]
    precision = np.mean([any(d_rf[i, j] <= r_real[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(d_rf[i, j] <= r_fake[j] for j in range(len(fake))) for i in range(len(real))])
    r5 = np.sort(d_rr, axis=1)[:, k_dc]
    density = (d_rf < r5[:, None]).sum() / (k_dc * len(fake))
    coverage = np.mean(d_rf.min(axis=1) < r5)
    return precision, recall, density, coverage


def test_matches_brute_force_with_small_chunks():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((70, 6))
    fake = 1.3 * rng.standard_normal((55, 6)) + 0.4
    p, r, d, c = _brute_force(real, fake)
    assert precision_recall(real, fake, chunk_size=16) == pytest.approx((p, r))
    assert density_coverage(real, fake, chunk_size=16) == pytest.approx((d, c))


def test_knn_radii_exclude_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(knn_radii(points, 1), [1.0, 1.0, 2.0, 4.0], atol=1e-5)
    np.testing.assert_allclose(knn_radii(points, 2), [3.0, 2.0, 3.0, 6.0], atol=1e-5)


def test_identical_sets():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((300, 16)).astype(np.float32)
    assert precision_recall(real, real.copy()) == (1.0, 1.0)
    density, coverage = density_coverage(real, real.copy())
    assert coverage == 1.0
    assert density == pytest.approx(1.0, abs=0.02)


def test_far_away_fake_set():
    rng = np.random.default_rng(2)
    real = rng.standard_normal((200, 8))
    fake = rng.standard_normal((200, 8)) + 100.0
    assert precision_recall(real, fake) == (0.0, 0.0)
    assert density_coverage(real, fake) == (0.0, 0.0)


def test_collapsed_fake_set_has_precision_without_recall():
    rng = np.random.default_rng(3)
    real = rng.standard_normal((300, 8))
    fake = real[:1] + 1e-3 * rng.standard_normal((300, 8))  # mode collapse onto one real sample
    precision, recall = precision_recall(real, fake)
    density, coverage = density_coverage(real, fake)
    assert precision == 1.0
    assert recall < 0.05
    assert coverage < 0.05


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        precision_recall(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(ValueError):
        precision_recall(np.zeros((3, 2)), np.zeros((3, 2)), k=3)
