"""lindiff.measures against dense projectors, brute-force neighbor searches and Monte Carlo."""

import math

import numpy as np
import pytest

from lindiff import measures, onestep, steps
from lindiff.gaussian import Gaussian, wasserstein2

T0, L0 = 2.0, math.exp(-4.0)


def isotropic(d, mean=10.0, std=1.0):
    return Gaussian(np.full(d, mean), std**2 * np.eye(d))


def power_law(d, k=1.0, seed=0):
    """A rotated anisotropic target with spectrum ∝ ν^(−k), trace d."""
    lam = np.arange(1, d + 1, dtype=float) ** -k
    lam *= d / lam.sum()
    Q = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))[0]
    return Gaussian(np.zeros(d), (Q * lam) @ Q.T)


def null_projector(X):
    """Projector onto the orthogonal complement of span{x_i − x̄}, from an SVD (independent of Gaussian)."""
    Xc = X - X.mean(axis=0)
    _, s, Vt = np.linalg.svd(Xc, full_matrices=True)
    r = int(np.sum(s > 1e-10 * s[0]))
    V0 = Vt[r:].T
    return V0 @ V0.T


# --------------------------------------------------------------------------- variance outside the support
@pytest.mark.parametrize("n, d", [(5, 12), (12, 12), (13, 12), (40, 12)])
def test_variance_outside_support_of_the_one_step_model(n, d):
    rng = np.random.default_rng(n)
    X = 10.0 + rng.standard_normal((n, d))
    p = onestep.generated_distribution(X, T0, L0)
    # isotropic target: the share of lost dimensions, exactly
    assert measures.variance_outside_support(p, isotropic(d)) == pytest.approx(max(d - n + 1, 0) / d, abs=1e-12)
    # anisotropic target: against the dense projector onto the null space of S
    target = power_law(d)
    P0 = null_projector(X)
    expected = np.trace(P0 @ target.cov) / np.trace(target.cov)
    assert measures.variance_outside_support(p, target) == pytest.approx(expected, abs=1e-12)
    # the K-step sampler has the same support (theorem thm-steps-hull)
    pk = steps.generated_distribution(X, T0, L0, 7)
    assert measures.variance_outside_support(pk, target) == pytest.approx(expected, abs=1e-12)


def test_expected_variance_outside_the_span_is_d_minus_n_plus_1_over_d_for_any_weighting():
    # rotation invariance: E Π_⊥ = (d − N + 1)/d · I, whatever the (anisotropic) target weighting
    d, n, reps = 10, 4, 4000
    target = power_law(d, k=2.0, seed=3)
    rng = np.random.default_rng(1)
    vals = []
    for _ in range(reps):
        X = rng.standard_normal((n, d))
        P0 = null_projector(X)
        vals.append(np.trace(P0 @ target.cov) / np.trace(target.cov))
    vals = np.array(vals)
    assert abs(vals.mean() - (d - n + 1) / d) < 4 * vals.std() / math.sqrt(reps)
    assert vals.std() > 0.01                    # not constant for an anisotropic weighting


def test_w2_is_bounded_below_by_the_variance_outside_the_support():
    # prop-mem-w2-span: W2²(p_G, p) >= tr(Π_⊥ Σ) + |Π_⊥(μ_p − x̄)|² for p_G on x̄ + range S
    rng = np.random.default_rng(2)
    for n, d in [(4, 9), (9, 9), (15, 9)]:
        X = rng.standard_normal((n, d)) @ np.diag(np.linspace(0.5, 2.0, d))
        p = onestep.generated_distribution(X, T0, L0)
        target = power_law(d, seed=n)
        target = Gaussian(rng.standard_normal(d), target.cov)
        P0 = null_projector(X)
        off = P0 @ (target.mean - X.mean(axis=0))
        bound = np.trace(P0 @ target.cov) + off @ off
        assert wasserstein2(p, target) ** 2 >= bound - 1e-10
        if n > d:
            assert bound == pytest.approx(0.0, abs=1e-10)


def test_w2_of_a_degenerate_gaussian_to_an_isotropic_target():
    # the exercise of the chapter: W2² = |x̄ − μ1|² + Σ_ν (sqrt(g_ν) − σ)², g_ν = 0 off the span
    rng = np.random.default_rng(3)
    d, sigma = 30, 1.5
    for n in (5, 30, 60):
        X = 2.0 + sigma * rng.standard_normal((n, d))
        p = onestep.generated_distribution(X, T0, L0)
        target = isotropic(d, 2.0, sigma)
        g = p.eigvals
        closed = np.sum((X.mean(axis=0) - 2.0) ** 2) + np.sum((np.sqrt(g) - sigma) ** 2)
        assert wasserstein2(p, target) ** 2 == pytest.approx(closed, rel=1e-10)
        lost = np.sum(g == 0)
        assert lost == max(d - n + 1, 0)


# --------------------------------------------------------------------------- neighbors
def test_neighbor_distances_match_a_brute_force_search():
    rng = np.random.default_rng(4)
    P, R = 50.0 + rng.standard_normal((17, 6)), 50.0 + rng.standard_normal((23, 6))
    got = measures.neighbor_distances(P, R, n_neighbors=3)
    brute = np.array([sorted(np.linalg.norm(R - x, axis=1))[:3] for x in P])
    np.testing.assert_allclose(got, brute, rtol=1e-10)
    np.testing.assert_allclose(measures.neighbor_distances(P, R, n_neighbors=23), np.sort(
        np.linalg.norm(P[:, None] - R[None], axis=2), axis=1), rtol=1e-10)
    # a copied reference point is at distance 0 (no negative rounding)
    assert measures.neighbor_distances(R[:4], R, n_neighbors=1).max() == pytest.approx(0.0, abs=1e-6)


def test_distance_ratio():
    rng = np.random.default_rng(5)
    d, n = 40, 50
    X = rng.standard_normal((n, d))
    fresh = rng.standard_normal((400, d))
    # a generator that samples the target itself: ratio close to 1
    assert measures.distance_ratio(rng.standard_normal((400, d)), X, fresh) == pytest.approx(1.0, abs=0.05)
    # copies of training points plus small noise: ratio near 0
    copies = X[rng.integers(0, n, 400)] + 0.01 * rng.standard_normal((400, d))
    assert measures.distance_ratio(copies, X, fresh) < 0.02
    # the definition, by brute force
    Y = 0.5 * rng.standard_normal((30, d))
    near = [np.linalg.norm(X - y, axis=1).min() for y in Y]
    base = [np.linalg.norm(X - z, axis=1).min() for z in fresh]
    assert measures.distance_ratio(Y, X, fresh) == pytest.approx(np.median(near) / np.median(base), rel=1e-10)


def test_linear_samples_do_not_copy_training_points():
    # the nearest training point is not much closer than the second nearest (copy ratio near 1)
    rng = np.random.default_rng(6)
    d, n = 100, 50
    X = 10.0 + rng.standard_normal((n, d))
    Y = onestep.generated_distribution(X, T0, L0).sample(300, rng)
    nd = measures.neighbor_distances(Y, X, n_neighbors=2)
    assert np.median(nd[:, 0] / nd[:, 1]) > 0.9


# --------------------------------------------------------------------------- inputs
def test_bad_inputs_raise_naming_the_parameter():
    p = isotropic(3)
    with pytest.raises(TypeError, match="p"):
        measures.variance_outside_support(np.eye(3), p)
    with pytest.raises(TypeError, match="target"):
        measures.variance_outside_support(p, "target")
    with pytest.raises(ValueError, match="target"):
        measures.variance_outside_support(p, isotropic(4))
    with pytest.raises(ValueError, match="target"):
        measures.variance_outside_support(p, Gaussian(np.zeros(3), np.zeros((3, 3))))
    X = np.ones((4, 3)) + np.eye(4, 3)
    with pytest.raises(ValueError, match="n_neighbors"):
        measures.neighbor_distances(X, X, n_neighbors=5)
    with pytest.raises(ValueError, match="n_neighbors"):
        measures.neighbor_distances(X, X, n_neighbors=0)
    with pytest.raises(ValueError, match="reference"):
        measures.neighbor_distances(X, np.ones((4, 2)))
    with pytest.raises(ValueError, match="points"):
        measures.neighbor_distances(np.ones((0, 3)), X)
    with pytest.raises(ValueError, match="samples"):
        measures.distance_ratio(np.ones((2, 2)), X, X + 1)
    with pytest.raises(ValueError, match="fresh"):
        measures.distance_ratio(X, X, X)                   # fresh on the training points: scale 0
    with pytest.raises(ValueError, match="fresh"):
        measures.distance_ratio(X, X, [[np.nan, 0.0, 0.0]])
