"""lindiff.memorization against quadrature, Monte Carlo and explicit double sums."""

import math
import time

from unittest import mock

import numpy as np
import pytest
from scipy import integrate
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

from lindiff import memorization as M
from lindiff import onestep
from lindiff.gaussian import Gaussian, kl_divergence


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
    t = time.process_time()  # CPU time: a busy machine slows the wall clock, not this
    stat = M.memorization_statistic(p, X, ref, 1.0)
    assert time.process_time() - t < 1.0
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


# --------------------------------------------------------------------------- self-overlap excess
def pair_loop_excess(P, eps):
    """ln((1/n) Σ_{j≠k} exp(−|x_j − x_k|²/(4ε²))) by a plain double loop over pairs."""
    n = len(P)
    tot = 0.0
    for j in range(n):
        for k in range(n):
            if j != k:
                tot += math.exp(-float(np.sum((P[j] - P[k]) ** 2)) / (4 * eps**2))
    return math.log(tot / n) if tot > 0 else -math.inf


@pytest.mark.parametrize("n, d, mu, chunk", [(2, 1, 0.0, 1024), (17, 3, 0.0, 4), (40, 100, 10.0, 7), (60, 20, 5.0, 1024)])
def test_log_self_overlap_excess_matches_pair_loop(n, d, mu, chunk):
    rng = np.random.default_rng(n + d)
    P = mu + 1.3 * rng.normal(size=(n, d))
    eps = M.kernel_bandwidth(n, d, 1.3)
    got = M.log_self_overlap_excess(P, 1.3, chunk=chunk)
    assert got == pytest.approx(pair_loop_excess(P, eps), rel=1e-11, abs=1e-11)


def test_log_self_overlap_excess_is_the_excess_over_kappa_by_quadrature():
    rng = np.random.default_rng(7)
    sigma = 1.3
    pts = rng.normal(scale=sigma, size=5)
    eps = M.kernel_bandwidth(5, 1, sigma)
    q = kde(pts, eps)
    self_overlap = integrate.quad(lambda x: q(x) ** 2, -15, 15, limit=200)[0]
    kappa = (4 * math.pi * sigma**2) ** -0.5
    assert math.exp(M.log_self_overlap_excess(pts[:, None], sigma)) == pytest.approx(self_overlap / kappa - 1, rel=1e-8)


def test_log_self_overlap_excess_degenerate_cases():
    assert M.log_self_overlap_excess(np.ones((1, 4)), 1.0) == -math.inf  # one point: no pairs
    far = np.array([[0.0], [1e6]])  # the pair term e^(-1e12) underflows, its log does not
    assert M.log_self_overlap_excess(far, 1.0) == pytest.approx(-1e12 / (4 * 0.5**2), rel=1e-12)
    # duplicated points: each pair term is exactly 1
    dup = np.zeros((3, 5))
    assert M.log_self_overlap_excess(dup, 1.0) == pytest.approx(math.log(2.0), rel=1e-14)


def test_log_self_overlap_consistent_with_excess_and_chunking():
    rng = np.random.default_rng(8)
    P = rng.normal(size=(300, 6))
    eps = M.kernel_bandwidth(300, 6, 1.0)
    a = M.log_self_overlap(P, eps, chunk=13)
    b = M.log_self_overlap(P, eps, chunk=4096)
    log_kappa = -3 * math.log(4 * math.pi)
    assert a == pytest.approx(b, rel=1e-13)
    assert a - log_kappa == pytest.approx(math.log1p(math.exp(M.log_self_overlap_excess(P, 1.0))), rel=1e-10)


# --------------------------------------------------------------------------- relative distance, exactly
def brute_relative_distance(p, train, ref, std):
    """Δ/κ from per-point loops: scipy log densities for the cross terms, pair loops for the self terms."""
    d = p.dim
    log_kappa = -0.5 * d * math.log(4 * math.pi * std**2)

    def cross(points):
        eps = M.kernel_bandwidth(len(points), d, std)
        C = p.cov + eps**2 * np.eye(d)
        logs = [multivariate_normal(p.mean, C).logpdf(x) for x in points]
        return math.exp(logsumexp(logs) - math.log(len(points)) - log_kappa)

    ex_tr = math.exp(pair_loop_excess(train, M.kernel_bandwidth(len(train), d, std)))
    ex_ref = math.exp(pair_loop_excess(ref, M.kernel_bandwidth(len(ref), d, std)))
    return ex_tr - ex_ref - 2 * (cross(train) - cross(ref))


@pytest.mark.parametrize("spread", [0.3, 1.0, 6.0])
def test_relative_distance_matches_per_point_loops_in_high_dimension(spread):
    # d = 50: self-overlap excesses are ~1e-10 and, for the wide p, the cross terms are smaller still,
    # far below the rounding error of ln ∫q² itself
    rng = np.random.default_rng(9)
    d = 50
    train, ref = 3 + rng.normal(size=(20, d)), 3 + rng.normal(size=(150, d))
    p = Gaussian(np.full(d, 3.0), spread * np.eye(d))
    got, terms = M.relative_distance(p, train, ref, 1.0, return_terms=True)
    want = brute_relative_distance(p, train, ref, 1.0)
    assert got == pytest.approx(want, rel=1e-8)
    # the identity Δ/κ = e^{x_tr} − e^{x_ref} − 2 e^{c_ref}(e^{stat} − 1)
    stat = M.memorization_statistic(p, train, ref, 1.0)
    ident = (math.exp(terms["excess_train"]) - math.exp(terms["excess_ref"])
             - 2 * math.exp(terms["cross_ref"]) * math.expm1(stat))
    assert got == pytest.approx(ident, rel=1e-8)
    # precomputed reference excess gives the same result
    x_ref = M.log_self_overlap_excess(ref, 1.0)
    assert M.relative_distance(p, train, ref, 1.0, reference_excess=x_ref) == got


def test_relative_distance_and_statistic_disagree_for_a_very_wide_p():
    # a p spread so widely that its overlaps with both kernel densities fall below the
    # self-overlap excess of the reference sample: Δ then has the sign of e^{x_tr} − e^{x_ref}
    rng = np.random.default_rng(10)
    d = 100
    train, ref = 10 + rng.normal(size=(50, d)), 10 + rng.normal(size=(2000, d))
    narrow = Gaussian(np.full(d, 10.0), 0.5 * np.eye(d))
    wide = Gaussian(np.full(d, 10.0), 10.0 * np.eye(d))
    for p in (narrow, wide):
        delta, terms = M.relative_distance(p, train, ref, 1.0, return_terms=True)
        stat = terms["cross_train"] - terms["cross_ref"]
        cross_small = max(terms["cross_train"], terms["cross_ref"]) + math.log(2) < max(
            terms["excess_train"], terms["excess_ref"]) - 3
        if p is narrow:
            assert not cross_small and np.sign(delta) == -np.sign(stat)
        else:
            assert cross_small
            assert np.sign(delta) == np.sign(math.exp(terms["excess_train"]) - math.exp(terms["excess_ref"]))
            assert stat < 0 and delta < 0  # the statistic says generalizing, Δ says memorizing


def test_relative_distance_bad_reference_excess():
    p = Gaussian(np.zeros(2), np.eye(2))
    X = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(TypeError, match="reference_excess must be a float"):
        M.relative_distance(p, X, X, 1.0, reference_excess="a")
    with pytest.raises(ValueError, match="reference_excess must be in"):
        M.relative_distance(p, X, X, 1.0, reference_excess=math.nan)


# --------------------------------------------------------------------------- the script's Gaussian
def test_code_faithful_distribution_is_the_scripts_gaussian():
    d, T, ell = 8, 2.0, math.exp(-4)
    a = math.exp(-T)
    for n in (4, 8, 9, 40):
        X = 10 + np.random.default_rng(n).normal(size=(n, d))
        p = M.code_faithful_distribution(X, T, ell, np.random.default_rng(5))
        # the script: sigma = β₁ sqrt(v), covariance sigma.T @ sigma, mean β₀ + β₁ a x̄
        beta1, beta0 = onestep.fit_denoiser(X, T, ell, method="single_draw", rng=np.random.default_rng(5))
        v = a * a * np.mean(np.var(X, axis=0, ddof=1)) + ell * (1 - math.exp(-2 * T))
        sigma = beta1 * math.sqrt(v)
        np.testing.assert_allclose(p.cov, sigma.T @ sigma, atol=1e-10 * np.abs(sigma.T @ sigma).max())
        np.testing.assert_allclose(p.mean, beta0 + beta1 @ (a * X.mean(0)), rtol=1e-12)
        # same spectrum as the law of D(y) (covariance v W Wᵀ), hence the same KL to an isotropic target
        q = onestep.generated_distribution(X, T, ell, method="single_draw", rng=np.random.default_rng(5))
        np.testing.assert_allclose(p.eigvals, q.eigvals, atol=1e-10 * q.eigvals.max())
        assert p.rank == min(n - 1, d)


def test_code_faithful_fit_agrees_with_explicit_least_squares_with_intercept():
    # N > d: ordinary least squares with an explicit intercept column has a unique solution
    d, n, T, ell = 5, 30, 1.0, 0.5
    X = np.random.default_rng(3).normal(size=(n, d))
    rng = np.random.default_rng(4)
    a, h = math.exp(-T), ell * (1 - math.exp(-2 * T))
    Y = a * X + math.sqrt(h) * np.random.default_rng(4).standard_normal(X.shape)
    coef = np.linalg.lstsq(np.hstack([Y, np.ones((n, 1))]), X, rcond=None)[0]
    W, b = coef[:d].T, coef[d]
    p = M.code_faithful_distribution(X, T, ell, rng)
    v = onestep.generator_variance(X, T, ell)
    np.testing.assert_allclose(p.cov, v * W.T @ W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p.mean, W @ (a * X.mean(0)) + b, rtol=1e-10)


def test_transposed_covariance_leaves_the_affine_hull():
    n, d = 6, 12
    X = np.random.default_rng(2).normal(size=(n, d))
    B = np.linalg.qr((X - X.mean(0)).T)[0][:, : n - 1]  # basis of span{x_i − x̄}
    out = {}
    for variant in ("single_draw", "code"):
        p = M.generated_variant(X, 2.0, math.exp(-4), variant, np.random.default_rng(0))
        R = p.cov - B @ (B.T @ p.cov)  # part of the covariance outside the span
        out[variant] = np.linalg.norm(R) / np.linalg.norm(p.cov)
    assert out["single_draw"] < 1e-10
    assert out["code"] > 0.3


def test_generated_variant_dispatch_and_errors():
    X = np.random.default_rng(0).normal(size=(10, 3))
    p = M.generated_variant(X, 1.0, 0.5)
    q = onestep.generated_distribution(X, 1.0, 0.5)
    np.testing.assert_array_equal(p.cov, q.cov)
    with pytest.raises(ValueError, match="variant must be one of"):
        M.generated_variant(X, 1.0, 0.5, "sklearn")
    with pytest.raises(ValueError, match="pass rng"):
        M.generated_variant(X, 1.0, 0.5, "code")


# --------------------------------------------------------------------------- repeated training sets
def brute_statistic(p, train, ref, std):
    """The memorization statistic by a per-point loop of scipy log densities."""
    d = p.dim

    def lo(points):
        eps = M.kernel_bandwidth(len(points), d, std)
        C = p.cov + eps**2 * np.eye(d)
        return logsumexp([multivariate_normal(p.mean, C).logpdf(x) for x in points]) - math.log(len(points))

    return lo(train) - lo(ref)


@pytest.mark.parametrize("variant", ["averaged", "code"])
@pytest.mark.parametrize("fresh", [True, False])
def test_transition_experiment_matches_per_point_loops(variant, fresh):
    d, ns, reps, m_ref, T, ell, mu, sd, seed = 4, [3, 9], 3, 60, 1.5, 0.3, 2.0, 1.5, 11
    res = M.transition_experiment(d, ns, reps, reference_size=m_ref, T=T, noise_scale=ell, mean=mu, std=sd,
                                  variant=variant, seed=seed, fresh_reference=fresh, with_kl=True,
                                  with_distance=True)
    assert res.statistics.shape == (2, 3)
    target = Gaussian(np.full(d, mu), sd**2 * np.eye(d))
    for i, n in enumerate(ns):
        for r in range(reps):
            # the documented seeding rule, rebuilt here independently
            rng = np.random.default_rng([seed, 1, n, r])
            X = mu + sd * rng.standard_normal((n, d))
            key = [seed, 2, r] if fresh else [seed, 0]
            ref = mu + sd * np.random.default_rng(key).standard_normal((m_ref, d))
            if variant == "averaged":
                p = onestep.generated_distribution(X, T, ell)
                kl = onestep.kl_to_target(X, T, ell, mu, sd)
            else:
                p = M.code_faithful_distribution(X, T, ell, rng)
                kl = kl_divergence(p, target)
            assert res.statistics[i, r] == pytest.approx(brute_statistic(p, X, ref, sd), rel=1e-9, abs=1e-9)
            assert res.delta[i, r] == pytest.approx(brute_relative_distance(p, X, ref, sd), rel=1e-8)
            if n <= d:
                assert res.kl[i, r] == math.inf
            else:
                assert res.kl[i, r] == pytest.approx(kl, rel=1e-8)
    np.testing.assert_array_equal(res.p_generalizing, np.mean(res.statistics < 0, axis=1))
    p_hat = res.p_generalizing
    np.testing.assert_allclose(res.std_error, np.sqrt(p_hat * (1 - p_hat) / reps))


def test_transition_experiment_is_reproducible_and_sizes_are_independent():
    a = M.transition_experiment(6, [4, 12], 4, reference_size=100, seed=3)
    b = M.transition_experiment(6, [12], 4, reference_size=100, seed=3)
    np.testing.assert_array_equal(a.statistics[1], b.statistics[0])
    c = M.transition_experiment(6, [4, 12], 4, reference_size=100, seed=4)
    assert not np.array_equal(a.statistics, c.statistics)
    with pytest.raises(ValueError, match="with_distance=True"):
        a.p_delta_positive


def test_kl_just_above_n_equals_d_is_finite_as_in_onestep():
    # N = d + 1: the smallest generated eigenvalue is tiny but positive; KL is large and finite
    d = 40
    res = M.transition_experiment(d, [d + 1], 3, reference_size=50, with_kl=True)
    for r in range(3):
        X, _ = M.training_set(d, d + 1, r)
        assert res.kl[0, r] == pytest.approx(onestep.kl_to_target(X, 2.0, math.exp(-4), 10.0, 1.0), rel=1e-8)
    assert np.all(np.isfinite(res.kl))


def test_transition_in_high_dimension_memorizes_for_n_at_most_d():
    # d = 60: p_G lives on the affine hull of the training set for N ≤ d, and the
    # statistic is positive in every repetition (the structural fact of the chapter)
    res = M.transition_experiment(60, [15, 30, 60], 4, reference_size=3000, with_kl=True)
    assert np.all(res.statistics > 0)
    assert np.all(res.p_generalizing == 0)
    assert np.all(np.isinf(res.kl))
    assert np.all(np.diff(res.mean_statistic) < 0)  # memorization degrades as N grows


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(n_values=[1, 5]), ValueError, "n_values entries must be an integer >= 2"),
    (dict(n_values=5), TypeError, "n_values must be a sequence"),
    (dict(n_values=[]), ValueError, "at least one training-set size"),
    (dict(repetitions=0), ValueError, "repetitions must be an integer >= 1"),
    (dict(reference_size=0), ValueError, "reference_size must be an integer >= 1"),
    (dict(variant="torch"), ValueError, "variant must be one of"),
    (dict(seed=-1), ValueError, "seed must be an integer >= 0"),
    (dict(std=0.0), ValueError, "std must be in"),
    (dict(T=-1.0), ValueError, "T must be in"),
    (dict(noise_scale=0.0), ValueError, "noise_scale must be in"),
    (dict(with_kl="yes"), TypeError, "with_kl must be True or False"),
    (dict(mean=math.inf), ValueError, "mean must contain only finite"),
])
def test_transition_experiment_bad_input(kwargs, exc, match):
    base = dict(d=3, n_values=[4], repetitions=2, reference_size=10)
    base.update(kwargs)
    d, n_values, reps = base.pop("d"), base.pop("n_values"), base.pop("repetitions")
    with pytest.raises(exc, match=match):
        M.transition_experiment(d, n_values, reps, **base)


def test_samples_follow_the_documented_seeds():
    X, rng = M.training_set(3, 5, 2, mean=1.0, std=2.0, seed=7)
    np.testing.assert_array_equal(X, 1.0 + 2.0 * np.random.default_rng([7, 1, 5, 2]).standard_normal((5, 3)))
    big, small = M.reference_sample(3, 50, seed=1), M.reference_sample(3, 20, seed=1)
    np.testing.assert_array_equal(big[:20], small)  # nested
    fresh = M.reference_sample(3, 20, seed=1, repetition=0)
    assert not np.array_equal(fresh, small)


# --------------------------------------------------------------------------- the M → ∞ limit and the size of M
def test_log_overlap_gaussian_against_quadrature_single_kernel_and_monte_carlo():
    p = Gaussian(np.array([0.4]), np.array([[0.7]]))
    q = Gaussian(np.array([-0.2]), np.array([[1.9]]))
    ref = integrate.quad(lambda x: norm.pdf(x, 0.4, math.sqrt(0.7)) * norm.pdf(x, -0.2, math.sqrt(1.9)), -15, 15)[0]
    assert M.log_overlap_gaussian(p, q) == pytest.approx(math.log(ref), rel=1e-10)
    # a kernel density of one point is the Gaussian N(x, ε² I)
    rng = np.random.default_rng(12)
    x, eps = rng.normal(size=(1, 4)), 0.6
    B = rng.normal(size=(4, 4))
    p4 = Gaussian(rng.normal(size=4), B @ B.T)
    assert M.log_overlap_gaussian(p4, Gaussian(x[0], eps**2 * np.eye(4))) == pytest.approx(
        M.log_overlap(p4, x, eps), rel=1e-12)
    # degenerate p against a full q, by Monte Carlo over p
    pd = Gaussian(np.array([0.3, -0.2]), np.array([[1.0, 1.0], [1.0, 1.0]]))
    q2 = Gaussian(np.zeros(2), np.diag([0.5, 2.0]))
    s = pd.sample(400_000, rng)
    vals = multivariate_normal(q2.mean, q2.cov).pdf(s)
    assert abs(math.exp(M.log_overlap_gaussian(pd, q2)) - vals.mean()) < 4 * vals.std() / math.sqrt(len(vals))
    with pytest.raises(ValueError, match="positive definite"):
        M.log_overlap_gaussian(pd, Gaussian(np.zeros(2), np.array([[1.0, 1.0], [1.0, 1.0]])))
    with pytest.raises(ValueError, match="dimension"):
        M.log_overlap_gaussian(pd, q)


def test_population_reference_is_the_large_m_limit():
    # d = 2: a reference sample of 2·10⁵ points already has a kernel density close to p_S
    d, ns, T, ell = 2, [3, 6], 1.0, 0.5
    big = M.transition_experiment(d, ns, 3, reference_size=200_000, T=T, noise_scale=ell, mean=1.0,
                                  fresh_reference=False, with_distance=False)
    lim = M.transition_experiment(d, ns, 3, reference_size=None, T=T, noise_scale=ell, mean=1.0,
                                  with_distance=True)
    # they differ by the Monte Carlo error of the reference overlap (a mean of M kernel terms)
    m_ref = 200_000
    ref = 1.0 + np.random.default_rng([0, 0]).standard_normal((m_ref, d))
    eps = M.kernel_bandwidth(m_ref, d, 1.0)
    for i, n in enumerate(ns):
        for r in range(3):
            X, _ = M.training_set(d, n, r, mean=1.0)
            p = onestep.generated_distribution(X, T, ell)
            t = multivariate_normal(p.mean, p.cov + eps**2 * np.eye(d)).pdf(ref)
            rel_se = t.std() / (t.mean() * math.sqrt(m_ref))
            assert abs(big.statistics[i, r] - lim.statistics[i, r]) < 4 * rel_se + 1e-3
    # the population statistic itself, rebuilt: ln ∫p q_train − ln N(x̄; μ1, Σ_G + σ² I)
    X, _ = M.training_set(d, 6, 1, mean=1.0)
    p = onestep.generated_distribution(X, T, ell)
    pop = multivariate_normal(np.ones(d), p.cov + np.eye(d)).logpdf(p.mean)
    assert lim.statistics[1, 1] == pytest.approx(M.log_overlap(p, X, M.kernel_bandwidth(6, d, 1.0)) - pop, rel=1e-10)
    # Δ with p_S in place of q_ref: ∫p_S² = κ exactly, so only the training excess remains
    ex = math.exp(M.log_self_overlap_excess(X, 1.0))
    log_kappa = -0.5 * d * math.log(4 * math.pi)
    c_tr = M.log_overlap(p, X, M.kernel_bandwidth(6, d, 1.0)) - log_kappa
    assert lim.delta[1, 1] == pytest.approx(ex - 2 * (math.exp(c_tr) - math.exp(pop - log_kappa)), rel=1e-9)


@pytest.mark.parametrize("d, var, eps", [(1, 0.5, 0.3), (3, 0.2, 0.8), (6, 1.0, 0.5)])
def test_kernel_sum_relative_variance_by_monte_carlo(d, var, eps):
    rng = np.random.default_rng(d)
    sigma = 1.2
    x = sigma * rng.standard_normal((2_000_000, d))
    a = var + eps**2
    t = np.exp(-0.5 * np.sum(x * x, axis=1) / a)  # the constant factor cancels in the ratio
    est = t.var() / t.mean() ** 2
    got = M.kernel_sum_relative_variance(d, var, eps, sigma)
    assert got == pytest.approx(est, rel=0.03)
    assert M.kernel_sum_relative_variance(5000, 0.1, 0.1, 1.0) == math.inf


def test_script_self_term_rounding_is_single_precision_sized():
    for n in (25, 50, 75, 100, 10_000):
        err = M.script_self_term_rounding(n, 100)
        assert 0 < abs(err) < (100 + 8) * 2.0**-24
    # an exactly representable bandwidth (n = 2^d gives ε = 1/2) leaves only a few roundings
    assert abs(M.script_self_term_rounding(2**3, 3)) < 4 * 2.0**-24
    # the same relative error in double precision would be ~1e-16: it is the float32 bandwidth
    assert abs(M.script_self_term_rounding(75, 100) - M.script_self_term_rounding(10_000, 100)) > 1e-7


def test_transition_result_select_and_cross_terms():
    res = M.transition_experiment(5, [3, 6, 9], 3, reference_size=40, with_kl=True)
    sub = res.select([9, 3])
    np.testing.assert_array_equal(sub.n_values, [9, 3])
    np.testing.assert_array_equal(sub.statistics, res.statistics[[2, 0]])
    np.testing.assert_array_equal(sub.kl, res.kl[[2, 0]])
    with pytest.raises(ValueError, match="not among the sizes"):
        res.select([4])
    # cross_reference is ln(∫p q_ref/κ) of the same training set and reference sample
    X, _ = M.training_set(5, 6, 1)
    p = onestep.generated_distribution(X, 2.0, math.exp(-4))
    ref = M.reference_sample(5, 40, repetition=1)
    want = M.log_overlap(p, ref, M.kernel_bandwidth(40, 5, 1.0)) + 2.5 * math.log(4 * math.pi)
    assert res.cross_reference[1, 1] == pytest.approx(want, rel=1e-12)


def test_reference_excess_is_cached_and_equals_the_direct_computation():
    a = M.reference_excess(7, 300, seed=5)
    assert a == M.log_self_overlap_excess(M.reference_sample(7, 300, seed=5), 1.0)
    # cached: a second call must not recompute (a timing bound fails on a loaded machine)
    with mock.patch.object(M, "log_self_overlap_excess", side_effect=AssertionError("recomputed")):
        assert M.reference_excess(7, 300, seed=5) == a
    with pytest.raises(AssertionError, match="recomputed"), \
            mock.patch.object(M, "log_self_overlap_excess", side_effect=AssertionError("recomputed")):
        M.reference_excess(7, 301, seed=5)  # a new key is computed: the patch is effective


@pytest.mark.parametrize("n", [3, 30, 60])
def test_log_overlap_degenerate_shortcut_matches_full_projection(n):
    # for N ≤ d/2 log_overlap projects on the range of Σ_p only; compare with the full formula
    rng = np.random.default_rng(n)
    d = 60
    X = 10 + rng.normal(size=(n, d))
    p = onestep.generated_distribution(X, 2.0, math.exp(-4))
    pts = 10 + rng.normal(size=(500, d))
    eps = 0.9
    C = p.cov + eps**2 * np.eye(d)
    want = logsumexp(multivariate_normal(p.mean, C).logpdf(pts)) - math.log(500)
    assert M.log_overlap(p, pts, eps) == pytest.approx(want, rel=1e-11)


def test_figures_draw_and_reject_impossible_widget_values():
    from matplotlib.figure import Figure

    from lindiff.plotting import memorization as figs

    fig = figs.statistic_histogram(n_over_d=2.0, reference_size=50, d=5, repetitions=6)
    assert isinstance(fig, Figure) and "P(generalizing)" in fig.axes[0].get_title()
    # the histogram shows exactly the statistics of transition_experiment (cached reference samples)
    want = M.transition_experiment(5, [10], 6, reference_size=50, T=1.5, noise_scale=0.1).p_generalizing[0]
    fig = figs.statistic_histogram(n_over_d=2.0, T=1.5, noise_scale=0.1, reference_size=50, d=5, repetitions=6)
    assert f"P(generalizing) = {want:.2f}" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="N >= 2"):
        figs.statistic_histogram(n_over_d=0.1, d=5)
    res = M.transition_experiment(5, [3, 6], 3, reference_size=30, with_kl=True)
    assert isinstance(figs.transition_figure(res, 1.0), Figure)
    with pytest.raises(ValueError, match="with_kl=True"):
        figs.transition_figure(M.transition_experiment(5, [3], 2, reference_size=30), 1.0)
    assert isinstance(figs.kernel_density_figure(), Figure)
    k = np.array([0.5, 1.0, 2.0])
    vals = np.tile([[0.5, 0.6], [0.3, 0.2], [0.1, 0.1]], 1)
    assert isinstance(figs.measures_figure(k, vals + 0.1, vals, vals + 0.5, vals + 0.7), Figure)


def test_fresh_reference_statistics_equal_the_transition_experiment():
    # the cached eigen-geometry path of the explorable figure against the experiment's own loop
    for d, n, T, ell, m, reps in [(5, 10, 1.5, 0.1, 50, 6), (8, 4, 0.5, 1.0, 40, 3), (6, 30, 4.0, math.exp(-6), 200, 2)]:
        want = M.transition_experiment(d, [n], reps, reference_size=m, T=T, noise_scale=ell).statistics[0]
        got = M.fresh_reference_statistics(d, n, T, ell, m, reps)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    # a second T on the cached geometry is still the experiment's value
    want = M.transition_experiment(5, [10], 6, reference_size=50, T=3.0, noise_scale=0.1).statistics[0]
    np.testing.assert_allclose(M.fresh_reference_statistics(5, 10, 3.0, 0.1, 50, 6), want, rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="n"):
        M.fresh_reference_statistics(5, 1, 1.0, 0.1, 50, 2)
