"""lindiff.memorization against quadrature, Monte Carlo and explicit double sums."""

import math
import time

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import multivariate_normal, norm

from lindiff import memorization as M
from lindiff import onestep
from lindiff.gaussian import Gaussian


def kde(points, eps):
    return lambda x: np.mean(norm.pdf(x, loc=points, scale=eps))


def test_kernel_bandwidth():
    assert M.kernel_bandwidth(100, 2, 3.0) == pytest.approx(0.3)
    assert M.kernel_bandwidth(1, 7, 2.0) == 2.0


def test_log_overlap_matches_quadrature_in_one_dimension():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=7)
    p = Gaussian(np.array([0.3]), np.array([[0.5]]))
    eps = 0.4
    q = kde(pts, eps)
    ref = integrate.quad(lambda x: norm.pdf(x, 0.3, math.sqrt(0.5)) * q(x), -12, 12, limit=200)[0]
    assert M.log_overlap(p, pts[:, None], eps) == pytest.approx(math.log(ref), rel=1e-9)


def test_log_overlap_matches_monte_carlo_in_two_dimensions_including_degenerate_p():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(5, 2))
    eps = 0.7
    for cov in (np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([[1.0, 1.0], [1.0, 1.0]])):  # second is degenerate
        p = Gaussian(np.array([0.2, -0.1]), cov)
        x = p.sample(400_000, rng)
        vals = np.mean([multivariate_normal(pt, eps**2 * np.eye(2)).pdf(x) for pt in pts], axis=0)
        est, se = vals.mean(), vals.std() / math.sqrt(len(vals))
        assert abs(math.exp(M.log_overlap(p, pts, eps)) - est) < 4 * se


def test_log_self_overlap_matches_quadrature_and_double_sum():
    rng = np.random.default_rng(2)
    pts = rng.normal(size=6)
    eps = 0.5
    q = kde(pts, eps)
    ref = integrate.quad(lambda x: q(x) ** 2, -12, 12, limit=200)[0]
    assert M.log_self_overlap(pts[:, None], eps) == pytest.approx(math.log(ref), rel=1e-9)
    P = rng.normal(size=(40, 3))
    dsum = np.mean([[multivariate_normal(a, 2 * eps**2 * np.eye(3)).pdf(b) for b in P] for a in P])
    assert M.log_self_overlap(P, eps, chunk=7) == pytest.approx(math.log(dsum), rel=1e-10)


def test_self_overlap_is_nearly_independent_of_n_with_the_book_bandwidth():
    rng = np.random.default_rng(3)
    d, sigma = 50, 1.0
    log_kappa = -0.5 * d * math.log(4 * math.pi * sigma**2)
    for n in (20, 500, 3000):
        pts = rng.normal(size=(n, d))
        val = M.log_self_overlap(pts, M.kernel_bandwidth(n, d, sigma))
        assert abs(val - log_kappa) < 1e-4  # off-diagonal pairs add ~1e-6 here


def test_relative_distance_matches_quadrature_in_one_dimension():
    rng = np.random.default_rng(4)
    train, refs = rng.normal(size=4), rng.normal(size=30)
    p = Gaussian(np.array([0.1]), np.array([[0.8]]))
    et, er = M.kernel_bandwidth(4, 1, 1.0), M.kernel_bandwidth(30, 1, 1.0)
    pd = lambda x: norm.pdf(x, 0.1, math.sqrt(0.8))
    qt, qr = kde(train, et), kde(refs, er)
    l2 = lambda q: integrate.quad(lambda x: (pd(x) - q(x)) ** 2, -15, 15, limit=400)[0]
    ref = (l2(qt) - l2(qr)) / (4 * math.pi) ** -0.5
    assert M.relative_distance(p, train[:, None], refs[:, None], 1.0) == pytest.approx(ref, rel=1e-7)


def test_sign_of_distance_is_opposite_to_statistic_when_self_overlaps_cancel():
    rng = np.random.default_rng(5)
    d = 40
    ref = rng.normal(size=(2000, d))
    for n in (10, 40, 400):
        X = rng.normal(size=(n, d))
        p = onestep.generated_distribution(X, 2.0, math.exp(-4))
        delta, terms = M.relative_distance(p, X, ref, 1.0, return_terms=True)
        assert abs(terms["self_train"]) < 1e-4 and abs(terms["self_ref"]) < 1e-4
        stat = M.memorization_statistic(p, X, ref, 1.0)
        assert stat == pytest.approx(terms["cross_train"] - terms["cross_ref"], abs=1e-9)
        assert np.sign(delta) == -np.sign(stat)


def test_high_dimension_is_fast_and_finite():
    rng = np.random.default_rng(6)
    d = 100
    ref = 10 + rng.normal(size=(10_000, d))
    X = 10 + rng.normal(size=(50, d))
    p = onestep.generated_distribution(X, 2.0, math.exp(-4))
    t = time.perf_counter()
    stat = M.memorization_statistic(p, X, ref, 1.0)
    assert time.perf_counter() - t < 0.5
    assert math.isfinite(stat) and stat > 0  # N < d: memorizing
    # overlaps are astronomically small in linear scale, but not in log space
    lo = M.log_overlap(p, ref, M.kernel_bandwidth(len(ref), d, 1.0))
    assert math.isfinite(lo) and lo < -100


@pytest.mark.parametrize("call, exc, match", [
    (lambda p, X: M.log_overlap(p, X, 0.0), ValueError, "bandwidth must be in"),
    (lambda p, X: M.log_overlap(p, X[:, :2], 1.0), ValueError, "points must have d = 3"),
    (lambda p, X: M.log_overlap(p, X[:0], 1.0), ValueError, "at least one point"),
    (lambda p, X: M.log_overlap(np.eye(3), X, 1.0), TypeError, "p must be"),
    (lambda p, X: M.memorization_statistic(p, X, X, -1.0), ValueError, "std must be in"),
    (lambda p, X: M.memorization_statistic(p, X, X[:, :1], 1.0), ValueError, "reference must have"),
    (lambda p, X: M.memorization_statistic(p, X * np.nan, X, 1.0), ValueError, "train must contain only finite"),
    (lambda p, X: M.kernel_bandwidth(0, 3, 1.0), ValueError, "n must be an integer >= 1"),
    (lambda p, X: M.kernel_bandwidth(3, 2.5, 1.0), TypeError, "d must be an integer"),
    (lambda p, X: M.relative_distance(p, X, X, 0.0), ValueError, "std must be in"),
])
def test_bad_input(call, exc, match):
    p = Gaussian(np.zeros(3), np.eye(3))
    X = np.random.default_rng(0).normal(size=(4, 3))
    with pytest.raises(exc, match=match):
        call(p, X)
