import numpy as np
import pytest

from sneakergan.metrics.kid import kernel_inception_distance


def _naive_unbiased_mmd2(x, y):
    """Textbook double loops: k(a, b) = (a.b / d + 1)^3, diagonal left out within sets."""
    m, n, d = len(x), len(y), x.shape[1]

    def k(a, b):
        return (float(np.dot(a, b)) / d + 1.0) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_matches_naive_double_loop():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((12, 5))
    fake = rng.standard_normal((12, 5)) + 0.3
    # One subset of all samples: a permutation, under which MMD^2 is invariant.
    mean, std = kernel_inception_distance(real, fake, num_subsets=1, subset_size=100)
    assert mean == pytest.approx(_naive_unbiased_mmd2(real, fake), abs=1e-10)
    assert std == 0.0


def test_same_distribution_is_near_zero_and_mean_shift_grows():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((600, 32))
    other = rng.standard_normal((600, 32))
    same, _ = kernel_inception_distance(real, other, num_subsets=20, subset_size=300)
    shifted = [kernel_inception_distance(real, other + s, num_subsets=20, subset_size=300)[0] for s in (0.1, 0.3, 1.0)]
    assert abs(same) < 5e-3
    assert same < shifted[0] < shifted[1] < shifted[2]


def test_deterministic_for_a_seed():
    rng = np.random.default_rng(2)
    real, fake = rng.standard_normal((200, 8)), rng.standard_normal((300, 8)) + 0.2
    first = kernel_inception_distance(real, fake, num_subsets=10, subset_size=50, seed=7)
    assert kernel_inception_distance(real, fake, num_subsets=10, subset_size=50, seed=7) == first
    assert kernel_inception_distance(real, fake, num_subsets=10, subset_size=50, seed=8) != first


def test_float32_input_is_computed_in_float64():
    rng = np.random.default_rng(3)
    real, fake = rng.standard_normal((40, 6)), rng.standard_normal((40, 6))
    a = kernel_inception_distance(real.astype(np.float32), fake.astype(np.float32), num_subsets=3, subset_size=20)
    b = kernel_inception_distance(real.astype(np.float32).astype(np.float64),
                                  fake.astype(np.float32).astype(np.float64), num_subsets=3, subset_size=20)
    assert a == b


def test_rejects_bad_shapes():
    with pytest.raises(ValueError):
        kernel_inception_distance(np.zeros((10, 3)), np.zeros((10, 4)))
