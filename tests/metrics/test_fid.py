import warnings

import numpy as np
import pytest

from sneakergan.metrics.fid import (
    feature_statistics,
    fid_from_features,
    frechet_distance,
    trace_sqrt_product,
)


def _random_spd(rng, dim):
    a = rng.standard_normal((dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


@pytest.mark.parametrize("dim", [2, 16, 64])
def test_trace_sqrt_matches_scipy_sqrtm(dim):
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(dim)
    s1, s2 = _random_spd(rng, dim), _random_spd(rng, dim)
    expected = np.trace(linalg.sqrtm(s1 @ s2)).real  # scipy>=1.13: no `disp` argument
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-8)


def test_trace_sqrt_of_rank_deficient_covariances_is_finite():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 20))  # 5 samples in 20-d: rank-4 covariance
    _, sigma = feature_statistics(x)
    value = trace_sqrt_product(sigma, sigma)
    assert np.isfinite(value)
    assert value == pytest.approx(np.trace(sigma), rel=1e-6)


def test_feature_statistics_are_float64_mean_and_unbiased_covariance():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 3)).astype(np.float32)
    mu, sigma = feature_statistics(x)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(mu, x.astype(np.float64).mean(0))
    centred = x.astype(np.float64) - mu
    np.testing.assert_allclose(sigma, centred.T @ centred / 49)


def test_fid_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3000, 8))
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-8)


def test_equal_covariances_give_squared_mean_distance():
    rng = np.random.default_rng(3)
    sigma = _random_spd(rng, 10)
    mu1, mu2 = rng.standard_normal(10), rng.standard_normal(10)
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-8)


def test_diagonal_covariances_closed_form():
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0.1, 3.0, 6), rng.uniform(0.1, 3.0, 6)
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_small_sets_warn_and_large_sets_do_not():
    rng = np.random.default_rng(5)
    small, large = rng.standard_normal((100, 4)), rng.standard_normal((2048, 4))
    with pytest.warns(UserWarning, match="2048"):
        fid_from_features(small, large)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fid_from_features(large, large + 1.0)


def test_shape_errors():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError):
        feature_statistics(np.zeros(5))
