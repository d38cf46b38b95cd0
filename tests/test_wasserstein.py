"""W₂ between Gaussians against independent computations.

The closed form of :func:`lindiff.gaussian.wasserstein2` is checked against
(i) the dense textbook formula with ``scipy.linalg.sqrtm``, (ii) the explicit
optimal transport map between two Gaussians, applied to Monte-Carlo samples,
(iii) the quantile coupling in one dimension, and (iv) exact degenerate cases.
"""

import math

import numpy as np
import pytest
from scipy.linalg import sqrtm
from scipy.stats import ortho_group

from lindiff.gaussian import Gaussian, wasserstein2


def random_gaussian(rng, d, rank=None):
    rank = d if rank is None else rank
    B = rng.normal(size=(d, rank))
    return Gaussian(rng.normal(size=d), B @ B.T / d + (0.0 if rank < d else 0.1) * np.eye(d))


def dense_w2(p, q):
    rq = np.real(sqrtm(q.cov))
    cross = np.real(sqrtm(rq @ p.cov @ rq))
    diff = p.mean - q.mean
    return math.sqrt(max(diff @ diff + np.trace(p.cov) + np.trace(q.cov) - 2 * np.trace(cross), 0.0))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("d", [1, 3, 10])
def test_matches_dense_formula(seed, d):
    rng = np.random.default_rng(seed)
    p, q = random_gaussian(rng, d), random_gaussian(rng, d)
    np.testing.assert_allclose(wasserstein2(p, q), dense_w2(p, q), rtol=1e-8)
    # a metric: symmetric, zero on the diagonal
    np.testing.assert_allclose(wasserstein2(p, q), wasserstein2(q, p), rtol=1e-10)
    assert wasserstein2(p, p) < 1e-6 * math.sqrt(np.trace(p.cov))


def test_triangle_inequality():
    rng = np.random.default_rng(7)
    for _ in range(20):
        a, b, c = (random_gaussian(rng, 4) for _ in range(3))
        assert wasserstein2(a, c) <= wasserstein2(a, b) + wasserstein2(b, c) + 1e-10


def test_monte_carlo_with_the_optimal_map():
    # T(x) = m_q + A (x - m_p), A = C_p^{-1/2} (C_p^{1/2} C_q C_p^{1/2})^{1/2} C_p^{-1/2},
    # pushes p onto q; E||x - T x||^2 = W2^2. Independent of the nuclear-norm form.
    rng = np.random.default_rng(3)
    d = 5
    p, q = random_gaussian(rng, d), random_gaussian(rng, d)
    rp = np.real(sqrtm(p.cov))
    rp_inv = np.linalg.inv(rp)
    A = rp_inv @ np.real(sqrtm(rp @ q.cov @ rp)) @ rp_inv
    x = p.sample(200_000, rng)
    y = q.mean + (x - p.mean) @ A.T
    np.testing.assert_allclose(np.cov(y.T), q.cov, atol=0.02)  # T really pushes p to q
    cost = np.sum((x - y) ** 2, axis=1)
    se = cost.std() / math.sqrt(cost.size)
    assert abs(cost.mean() - wasserstein2(p, q) ** 2) < 4 * se


def test_one_dimension_quantile_coupling():
    rng = np.random.default_rng(11)
    p = Gaussian(np.array([1.0]), np.array([[4.0]]))
    q = Gaussian(np.array([-0.5]), np.array([[0.25]]))
    exact = math.sqrt(1.5**2 + (2.0 - 0.5) ** 2)
    np.testing.assert_allclose(wasserstein2(p, q), exact, rtol=1e-12)
    xs = np.sort(p.sample(100_000, rng)[:, 0])
    ys = np.sort(q.sample(100_000, rng)[:, 0])
    np.testing.assert_allclose(np.mean((xs - ys) ** 2), exact**2, rtol=0.02)


def test_commuting_covariances_sum_of_square_root_differences():
    rng = np.random.default_rng(5)
    d = 6
    V = ortho_group.rvs(d, random_state=1)
    a, b = rng.uniform(0.1, 3, d), rng.uniform(0.1, 3, d)
    p = Gaussian(np.zeros(d), (V * a) @ V.T)
    q = Gaussian(np.zeros(d), (V * b) @ V.T)
    np.testing.assert_allclose(wasserstein2(p, q) ** 2, np.sum((np.sqrt(a) - np.sqrt(b)) ** 2), rtol=1e-10)


def test_degenerate_laws_are_finite_and_exact():
    d, n = 8, 3
    rng = np.random.default_rng(2)
    V = ortho_group.rvs(d, random_state=4)
    w = np.zeros(d)
    w[-n:] = rng.uniform(0.5, 2, n)
    collapsed = Gaussian.from_eigh(np.zeros(d), w, V)
    target = Gaussian(np.zeros(d), np.eye(d))
    # shared eigenbasis: the missing directions each cost their full unit variance
    expected = math.sqrt(np.sum((np.sqrt(w) - 1.0) ** 2))
    np.testing.assert_allclose(wasserstein2(collapsed, target), expected, rtol=1e-10)
    np.testing.assert_allclose(wasserstein2(collapsed, target), dense_w2(collapsed, target), rtol=1e-7)
    # two point masses: the distance of their means
    a = Gaussian(np.ones(d), np.zeros((d, d)))
    b = Gaussian(np.zeros(d), np.zeros((d, d)))
    np.testing.assert_allclose(wasserstein2(a, b), math.sqrt(d), rtol=1e-12)
    # random low-rank pairs against the dense formula
    for seed in range(5):
        r = np.random.default_rng(seed)
        p, q = random_gaussian(r, 6, rank=2), random_gaussian(r, 6, rank=4)
        np.testing.assert_allclose(wasserstein2(p, q), dense_w2(p, q), rtol=1e-6)


def test_bad_input():
    g = Gaussian(np.zeros(2), np.eye(2))
    with pytest.raises(TypeError, match="q must be"):
        wasserstein2(g, np.eye(2))
    with pytest.raises(ValueError, match="same dimension"):
        wasserstein2(g, Gaussian(np.zeros(3), np.eye(3)))
