"""lindiff.gaussian against the dense textbook formulas and Monte Carlo."""

import math

import numpy as np
import pytest
from scipy.stats import multivariate_normal, ortho_group

from lindiff.gaussian import Gaussian, hellinger2, kl_divergence


def random_spd(rng, d, cond=10.0):
    """A random SPD matrix with condition number ``cond``."""
    U = ortho_group.rvs(d, random_state=rng)
    lam = np.geomspace(1.0, cond, d) * rng.uniform(0.5, 2.0)
    return (U * lam) @ U.T


def random_gaussian(rng, d, cond=10.0):
    return Gaussian(rng.normal(size=d), random_spd(rng, d, cond))


def dense_kl(p, q):
    """Textbook formula with explicit inverse and slogdet."""
    Qi = np.linalg.inv(q.cov)
    dm = q.mean - p.mean
    return 0.5 * (
        np.trace(Qi @ p.cov) - p.dim + dm @ Qi @ dm
        + np.linalg.slogdet(q.cov)[1] - np.linalg.slogdet(p.cov)[1]
    )


def dense_hellinger2(p, q):
    Sb = 0.5 * (p.cov + q.cov)
    dm = p.mean - q.mean
    logbc = (0.25 * np.linalg.slogdet(p.cov)[1] + 0.25 * np.linalg.slogdet(q.cov)[1]
             - 0.5 * np.linalg.slogdet(Sb)[1] - 0.125 * dm @ np.linalg.solve(Sb, dm))
    return 1.0 - math.exp(logbc)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("d", [1, 3, 20])
def test_kl_and_hellinger_match_dense_formula(seed, d):
    rng = np.random.default_rng(seed)
    p, q = random_gaussian(rng, d), random_gaussian(rng, d)
    assert kl_divergence(p, q) == pytest.approx(dense_kl(p, q), rel=1e-10)
    assert kl_divergence(q, p) == pytest.approx(dense_kl(q, p), rel=1e-10)
    assert hellinger2(p, q) == pytest.approx(dense_hellinger2(p, q), rel=1e-10, abs=1e-14)
    assert hellinger2(p, q) == pytest.approx(hellinger2(q, p), rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_kl_and_hellinger_match_monte_carlo(seed):
    rng = np.random.default_rng(100 + seed)
    d, n = 3, 200_000
    p = random_gaussian(rng, d, cond=3.0)
    q = Gaussian(p.mean + 0.3 * rng.normal(size=d), random_spd(rng, d, cond=3.0))
    x = p.sample(n, rng)
    logp = multivariate_normal(p.mean, p.cov).logpdf(x)
    logq = multivariate_normal(q.mean, q.cov).logpdf(x)
    r = logp - logq
    se = r.std() / math.sqrt(n)
    assert abs(kl_divergence(p, q) - r.mean()) < 4 * se
    # H^2 = 1 - E_p sqrt(q/p)
    s = np.exp(-0.5 * r)
    assert abs(hellinger2(p, q) - (1 - s.mean())) < 4 * s.std() / math.sqrt(n)


def test_logpdf_and_sample_match_scipy():
    rng = np.random.default_rng(7)
    p = random_gaussian(rng, 4)
    x = rng.normal(size=(10, 4))
    np.testing.assert_allclose(p.logpdf(x), multivariate_normal(p.mean, p.cov).logpdf(x), rtol=1e-12)
    xs = p.sample(100_000, rng)
    np.testing.assert_allclose(np.cov(xs.T), p.cov, atol=0.05 * np.abs(p.cov).max())


def test_ill_conditioned_exact_in_common_eigenbasis():
    # both covariances diagonal in the same random basis, condition number 1e12:
    # KL and H^2 are then known exactly per direction
    rng = np.random.default_rng(3)
    d = 30
    U = ortho_group.rvs(d, random_state=rng)
    lam = np.geomspace(1e-6, 1e6, d)
    ratio = rng.uniform(0.2, 5.0, d)
    shift = rng.normal(size=d)
    q = Gaussian.from_eigh(np.zeros(d), lam, U)
    p = Gaussian.from_eigh(U @ (shift * np.sqrt(lam)), lam * ratio, U)
    exact = 0.5 * np.sum(ratio - 1 - np.log(ratio) + shift**2)
    assert kl_divergence(p, q) == pytest.approx(exact, rel=1e-8)
    exact_h = 1 - np.exp(np.sum(0.25 * np.log(ratio) - 0.5 * np.log((1 + ratio) / 2)
                                - 0.25 * shift**2 / (1 + ratio)))
    assert hellinger2(p, q) == pytest.approx(exact_h, rel=1e-8)


def test_identical_distributions():
    rng = np.random.default_rng(1)
    p = random_gaussian(rng, 6, cond=1e6)
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-9)
    assert hellinger2(p, p) == pytest.approx(0.0, abs=1e-9)


def degenerate_pair(rng, d=6, r=3):
    """Two Gaussians on the same r-dimensional affine subspace of R^d."""
    U = ortho_group.rvs(d, random_state=rng)[:, :r]
    base = rng.normal(size=d)
    A = rng.normal(size=(r, r))
    B = rng.normal(size=(r, r))
    Cp, Cq = A @ A.T + 0.1 * np.eye(r), B @ B.T + 0.1 * np.eye(r)
    mp, mq = rng.normal(size=r), rng.normal(size=r)
    p = Gaussian(base + U @ mp, U @ Cp @ U.T)
    q = Gaussian(base + U @ mq, U @ Cq @ U.T)
    p_r, q_r = Gaussian(mp, Cp), Gaussian(mq, Cq)
    return p, q, p_r, q_r, U


def test_degenerate_cases_are_exact():
    rng = np.random.default_rng(5)
    d = 6
    full = random_gaussian(rng, d)
    p, q, p_r, q_r, U = degenerate_pair(rng, d)
    assert p.is_degenerate and p.rank == 3
    # singular p against a positive definite q, and the reverse
    assert kl_divergence(p, full) == math.inf
    assert kl_divergence(full, p) == math.inf
    assert hellinger2(p, full) == 1.0
    assert hellinger2(full, p) == 1.0
    assert p.logdet() == -math.inf
    # both on the same affine subspace: computed there
    assert kl_divergence(p, q) == pytest.approx(dense_kl(p_r, q_r), rel=1e-9)
    assert hellinger2(p, q) == pytest.approx(dense_hellinger2(p_r, q_r), rel=1e-9)
    # same linear subspace, parallel but distinct affine subspaces: mutually singular
    offset = np.linalg.svd(U, full_matrices=True)[0][:, -1]
    p_shift = Gaussian(p.mean + 0.5 * offset, p.cov)
    assert kl_divergence(p_shift, q) == math.inf
    assert hellinger2(p_shift, q) == 1.0
    # p on a proper subspace of q's support
    v = U[:, :1]
    p_line = Gaussian(q.mean, v @ v.T)
    assert kl_divergence(p_line, q) == math.inf
    assert kl_divergence(q, p_line) == math.inf
    # point masses
    point = Gaussian(np.ones(d), np.zeros((d, d)))
    assert kl_divergence(point, point) == 0.0
    assert kl_divergence(point, Gaussian(np.zeros(d), np.zeros((d, d)))) == math.inf
    assert hellinger2(point, full) == 1.0


def test_kl_nonnegative_and_finite_on_random_cases():
    rng = np.random.default_rng(11)
    for _ in range(50):
        d = int(rng.integers(1, 8))
        p = random_gaussian(rng, d, cond=10 ** rng.uniform(0, 8))
        q = random_gaussian(rng, d, cond=10 ** rng.uniform(0, 8))
        kl = kl_divergence(p, q)
        h = hellinger2(p, q)
        assert math.isfinite(kl) and kl >= 0
        assert 0.0 <= h <= 1.0


def test_from_eigh_equals_dense_construction():
    rng = np.random.default_rng(2)
    C = random_spd(rng, 5)
    w, V = np.linalg.eigh(C)
    a, b = Gaussian(np.zeros(5), C), Gaussian.from_eigh(np.zeros(5), w, V)
    np.testing.assert_allclose(a.cov, b.cov, atol=1e-12)
    np.testing.assert_allclose(a.eigvals, b.eigvals, rtol=1e-12)
    assert a.dim == 5
    with pytest.raises(ValueError):
        a.cov[0, 0] = 1.0  # stored arrays are read-only


@pytest.mark.parametrize(
    "mean, cov, match",
    [
        (np.zeros(2), np.eye(3), "cov must have shape"),
        (np.zeros((2, 1)), np.eye(2), "mean must be a 1-D"),
        (np.array([0.0, np.nan]), np.eye(2), "mean must contain only finite"),
        (np.zeros(2), np.array([[1.0, np.inf], [0.0, 1.0]]), "cov must contain only finite"),
        (np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), "cov must be symmetric"),
        (np.zeros(2), np.diag([1.0, -1.0]), "cov must be positive semidefinite"),
        (np.zeros(0), np.zeros((0, 0)), "at least one entry"),
    ],
)
def test_bad_gaussian_input(mean, cov, match):
    with pytest.raises(ValueError, match=match):
        Gaussian(mean, cov)


def test_bad_pairs_and_eigh_input():
    g2, g3 = Gaussian(np.zeros(2), np.eye(2)), Gaussian(np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="same dimension"):
        kl_divergence(g2, g3)
    with pytest.raises(ValueError, match="same dimension"):
        hellinger2(g2, g3)
    with pytest.raises(TypeError, match="q must be"):
        kl_divergence(g2, np.eye(2))
    with pytest.raises(ValueError, match="eigvals must be >= 0"):
        Gaussian.from_eigh(np.zeros(2), [1.0, -1.0], np.eye(2))
    with pytest.raises(ValueError, match="orthogonal"):
        Gaussian.from_eigh(np.zeros(2), [1.0, 1.0], [[1.0, 1.0], [0.0, 1.0]])
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        g2.sample(3, rng=0)
    with pytest.raises(ValueError, match="singular"):
        Gaussian(np.zeros(2), np.diag([1.0, 0.0])).logpdf(np.zeros(2))


def test_tiny_but_positive_variance_gives_finite_kl():
    # an eigenvalue ratio below machine epsilon is still absolutely continuous:
    # KL = ½ f(m) with f(m) ≈ −1 − ln m, finite (a naive log1p(m − 1) gives inf)
    for m in (1e-10, 1e-17, 1e-30):
        p = Gaussian(np.zeros(2), np.diag([1.0, 1.0]))
        q = Gaussian(np.zeros(2), np.diag([1.0, 1.0 / m]))
        kl = kl_divergence(p, q)
        assert math.isfinite(kl)
        assert kl == pytest.approx(0.5 * (m - 1 - math.log(m)), rel=1e-12)


def test_tiny_positive_eigenvalue_of_a_model_is_kept_not_rounded_to_zero():
    # from_eigh: eigenvalues 1e-17 of the largest are known exactly by the model;
    # KL must be the finite exact value, not inf (a dense Gaussian rounds them away)
    rng = np.random.default_rng(21)
    d = 6
    U = ortho_group.rvs(d, random_state=rng)
    g = np.array([3e-17, 1e-3, 0.2, 0.5, 1.0, 3.0])
    p = Gaussian.from_eigh(rng.normal(size=d), g, U)
    Cq = random_spd(rng, d, cond=5.0)
    q = Gaussian(rng.normal(size=d), Cq)
    Qi = np.linalg.inv(Cq)
    dm = q.mean - p.mean
    exact = 0.5 * (np.trace(Qi @ p.cov) - d + dm @ Qi @ dm + np.linalg.slogdet(Cq)[1] - np.sum(np.log(g)))
    assert p.rank == d
    assert kl_divergence(p, q) == pytest.approx(exact, rel=1e-9)
    # squared Hellinger: tiny but in [0, 1]
    assert 0.0 <= hellinger2(p, q) <= 1.0 and hellinger2(p, q) > 0.99
    # the same covariance passed densely has no such information: degenerate
    dense = Gaussian(p.mean, p.cov)
    assert dense.rank == d - 1 and kl_divergence(dense, q) == math.inf
