"""lindiff.onestep against dense matrices, explicit least squares, Monte Carlo and quadrature."""

import math

import numpy as np
import pytest
from scipy import integrate

from lindiff import onestep
from lindiff.gaussian import Gaussian, kl_divergence

T0, L0 = 2.0, math.exp(-4.0)  # the book's defaults


def data(rng, n, d, mu=10.0, sigma=1.0):
    return mu + sigma * rng.standard_normal((n, d))


def dense_averaged(X, T, ell):
    """Textbook closed form with explicit inverses (independent of the eigenbasis code)."""
    n, d = X.shape
    a, h = math.exp(-T), ell * (1 - math.exp(-2 * T))
    xbar = X.mean(0)
    S = (X - xbar).T @ (X - xbar) / n
    W = a * S @ np.linalg.inv(a * a * S + h * np.eye(d))
    b = (np.eye(d) - a * W) @ xbar
    v = a * a * np.mean(np.var(X, axis=0, ddof=1)) + h
    return W, b, a * W @ xbar + b, v * W @ W.T


@pytest.mark.parametrize("n, d", [(5, 8), (8, 8), (9, 8), (40, 8), (300, 8)])
def test_averaged_fit_and_generated_distribution_match_dense(n, d):
    rng = np.random.default_rng(n * 100 + d)
    X = data(rng, n, d, mu=rng.normal(), sigma=rng.uniform(0.5, 2))
    T, ell = rng.uniform(0.2, 3), rng.uniform(0.05, 2)
    W, b, mean, cov = dense_averaged(X, T, ell)
    W2, b2 = onestep.fit_denoiser(X, T, ell)
    np.testing.assert_allclose(W2, W, atol=1e-10)
    np.testing.assert_allclose(b2, b, atol=1e-9)
    p = onestep.generated_distribution(X, T, ell)
    np.testing.assert_allclose(p.mean, mean, atol=1e-9)
    np.testing.assert_allclose(p.mean, X.mean(0), atol=1e-12)  # mean is exactly x̄
    np.testing.assert_allclose(p.cov, cov, atol=1e-10)
    assert np.linalg.matrix_rank(W, tol=1e-9) == min(n - 1, d)
    assert p.rank == min(n - 1, d)


def test_averaged_fit_is_the_limit_of_least_squares_with_many_noise_draws():
    rng = np.random.default_rng(1)
    n, d, T, ell = 40, 20, 1.0, 0.5
    X = data(rng, n, d)
    W, b = onestep.fit_denoiser(X, T, ell)
    a, h = onestep.forward_coefficients(T, ell)
    errors = []
    for R in (10, 100, 1000):
        Xr = np.repeat(X, R, axis=0)
        Y = a * Xr + math.sqrt(h) * rng.standard_normal(Xr.shape)
        A = np.hstack([Y, np.ones((len(Y), 1))])
        coef = np.linalg.lstsq(A, Xr, rcond=None)[0]
        errors.append(np.linalg.norm(coef[:-1].T - W) / np.linalg.norm(W))
    assert errors[2] < 0.05
    # relative error falls like R^(-1/2): about sqrt(10) per decade
    assert 2.0 < errors[0] / errors[1] < 5.0 and 2.0 < errors[1] / errors[2] < 5.0


@pytest.mark.parametrize("n, d", [(4, 6), (6, 6), (7, 6), (50, 6)])
def test_single_draw_matches_explicit_ols(n, d):
    rng = np.random.default_rng(7 + n)
    X = data(rng, n, d)
    T, ell = 1.5, 0.3
    a, h = onestep.forward_coefficients(T, ell)
    W, b = onestep.fit_denoiser(X, T, ell, method="single_draw", rng=np.random.default_rng(5))
    # the same noise, fitted independently: W = X_cᵀ (Y_c Y_cᵀ)⁺ Y_c (minimum norm, with intercept)
    Y = a * X + math.sqrt(h) * np.random.default_rng(5).standard_normal(X.shape)
    Yc, Xc = Y - Y.mean(0), X - X.mean(0)
    W_ref = Xc.T @ np.linalg.pinv(Yc @ Yc.T) @ Yc
    np.testing.assert_allclose(W, W_ref, atol=1e-8)
    np.testing.assert_allclose(b, X.mean(0) - W_ref @ Y.mean(0), atol=1e-7)
    p = onestep.generated_distribution(X, T, ell, method="single_draw", rng=np.random.default_rng(5))
    v = onestep.generator_variance(X, T, ell)
    np.testing.assert_allclose(p.cov, v * W_ref @ W_ref.T, atol=1e-8)
    np.testing.assert_allclose(p.mean, a * W_ref @ X.mean(0) + X.mean(0) - W_ref @ Y.mean(0), atol=1e-7)
    assert p.rank == min(n - 1, d)


@pytest.mark.parametrize("method", ["averaged", "single_draw"])
def test_generated_distribution_matches_monte_carlo_push_forward(method):
    rng = np.random.default_rng(3)
    n, d, T, ell = 30, 4, 1.0, 0.5
    X = data(rng, n, d)
    W, b = onestep.fit_denoiser(X, T, ell, method, rng=np.random.default_rng(9))
    p = onestep.generated_distribution(X, T, ell, method, rng=np.random.default_rng(9))
    a, _ = onestep.forward_coefficients(T, ell)
    v = onestep.generator_variance(X, T, ell)
    m = 200_000
    y = a * X.mean(0) + math.sqrt(v) * rng.standard_normal((m, d))
    out = y @ W.T + b
    se = np.sqrt(np.diag(p.cov) / m)
    assert np.all(np.abs(out.mean(0) - p.mean) < 5 * se)
    C = np.cov(out.T)
    assert np.linalg.norm(C - p.cov) / np.linalg.norm(p.cov) < 6 * math.sqrt(2 * d / m) * 2


@pytest.mark.parametrize("n, d", [(3, 5), (5, 5), (6, 5), (12, 5), (500, 5)])
@pytest.mark.parametrize("method", ["averaged", "single_draw"])
def test_kl_both_directions_match_dense_kl(n, d, method):
    rng = np.random.default_rng(11 * n + d)
    X = data(rng, n, d, mu=2.0, sigma=1.5)
    # the same noise draw in every call (single_draw): a fresh generator, same seed
    kw = lambda: dict(method=method, rng=np.random.default_rng(1) if method == "single_draw" else None)
    p = onestep.generated_distribution(X, 1.2, 0.7, **kw())
    q = Gaussian(np.full(d, 2.0), 1.5**2 * np.eye(d))
    fwd = onestep.kl_to_target(X, 1.2, 0.7, 2.0, 1.5, **kw())
    rev = onestep.kl_from_target(X, 1.2, 0.7, 2.0, 1.5, **kw())
    if n <= d:
        assert fwd == math.inf and rev == math.inf
        assert kl_divergence(p, q) == math.inf
    else:
        assert fwd == pytest.approx(kl_divergence(p, q), rel=1e-8)
        assert rev == pytest.approx(kl_divergence(q, p), rel=1e-8)
        # and against the explicit-inverse textbook formula
        C = p.cov
        dm = q.mean - p.mean
        dense = 0.5 * (np.trace(np.linalg.solve(q.cov, C)) - d + dm @ np.linalg.solve(q.cov, dm)
                       + np.linalg.slogdet(q.cov)[1] - np.linalg.slogdet(C)[1])
        assert fwd == pytest.approx(dense, rel=1e-7)


def test_memorization_geometry_support_on_affine_hull():
    rng = np.random.default_rng(2)
    n, d = 6, 10
    X = data(rng, n, d)
    for method in ("averaged", "single_draw"):
        p = onestep.generated_distribution(X, T0, L0, method, rng=np.random.default_rng(0))
        samples = p.sample(100, rng)
        # residual after projecting samples - x̄ on span{x_i - x̄}
        B = np.linalg.qr((X - X.mean(0)).T)[0][:, : n - 1]
        R = (samples - X.mean(0)) - (samples - X.mean(0)) @ B @ B.T
        assert np.max(np.abs(R)) < 1e-8 * np.max(np.abs(samples))


def test_population_limit_is_posterior_mean_with_shrunk_variance():
    rng = np.random.default_rng(4)
    d, sigma, T, ell = 3, 1.3, 0.8, 0.6
    X = data(rng, 400_000, d, mu=1.0, sigma=sigma)
    s, r = onestep.signal_to_noise(T, ell, sigma)
    a, h = onestep.forward_coefficients(T, ell)
    W, _ = onestep.fit_denoiser(X, T, ell)
    np.testing.assert_allclose(W, a * sigma**2 / (a * a * sigma**2 + h) * np.eye(d), atol=5e-3)
    p = onestep.generated_distribution(X, T, ell)
    np.testing.assert_allclose(p.cov, r * sigma**2 * np.eye(d), atol=1e-2)
    q = Gaussian(np.ones(d), sigma**2 * np.eye(d))
    assert onestep.kl_infinite_data(d, T, ell, sigma) == pytest.approx(
        kl_divergence(Gaussian(np.ones(d), r * sigma**2 * np.eye(d)), q), rel=1e-12)
    assert onestep.kl_infinite_data_reverse(d, T, ell, sigma) == pytest.approx(
        kl_divergence(q, Gaussian(np.ones(d), r * sigma**2 * np.eye(d))), rel=1e-12)


def test_defaults_of_the_book():
    s, r = onestep.signal_to_noise(T0, L0, 1.0)
    assert s == pytest.approx(1 / (1 - math.exp(-4)), rel=1e-12)
    assert r == pytest.approx(0.504621, abs=1e-6)
    assert onestep.kl_infinite_data(100, T0, L0, 1.0) == pytest.approx(9.4284, abs=1e-4)
    assert onestep.kl_infinite_data_reverse(100, T0, L0, 1.0) == pytest.approx(14.887, abs=1e-3)


def mp_expectation(func, gamma, sigma=1.0):
    """E func(u) for u ~ Marchenko–Pastur(gamma) (gamma < 1), by quadrature."""
    lo, hi = (1 - math.sqrt(gamma)) ** 2, (1 + math.sqrt(gamma)) ** 2
    dens = lambda u: math.sqrt(max((hi - u) * (u - lo), 0.0)) / (2 * math.pi * gamma * u)
    return integrate.quad(lambda u: func(u) * dens(u), lo, hi, limit=200, epsabs=1e-12, epsrel=1e-10)[0]


@pytest.mark.parametrize("gamma", [0.05, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("T, ell", [(T0, L0), (1.0, 1.0), (0.3, 2.0)])
def test_proportional_limit_matches_quadrature(gamma, T, ell):
    s, _ = onestep.signal_to_noise(T, ell, 1.0)
    c = s * (1 + s)
    f = lambda G: G - 1 - math.log(G)
    ref = 0.5 * mp_expectation(lambda u: f(c * u * u / (1 + s * u) ** 2), gamma)
    assert onestep.kl_proportional_limit(gamma, T, ell, 1.0) == pytest.approx(ref, rel=1e-6)


def test_proportional_limit_edges_and_simulation():
    F = lambda g: onestep.kl_proportional_limit(g, T0, L0, 1.0)
    _, r = onestep.signal_to_noise(T0, L0, 1.0)
    assert F(0.0) == pytest.approx(0.5 * (r - 1 - math.log(r)), rel=1e-12)
    assert F(1e-9) == pytest.approx(F(0.0), rel=1e-6)  # no cancellation near 0
    s, _ = onestep.signal_to_noise(T0, L0, 1.0)
    slope = (F(1e-5) - F(0.0)) / 1e-5
    assert slope == pytest.approx((1 + 4 * s) / (2 * (1 + s) ** 3), rel=1e-3)
    assert F(1 - 1e-12) == pytest.approx(0.93929, abs=1e-5)
    assert F(1.0) == math.inf and F(2.0) == math.inf
    assert all(F(a) < F(b) for a, b in [(0.1, 0.2), (0.5, 0.6), (0.9, 0.95)])
    # simulation at d = 400, gamma = 0.5
    rng = np.random.default_rng(0)
    ks = [onestep.kl_to_target(data(rng, 800, 400, mu=0.0), T0, L0, 0.0, 1.0) / 400 for _ in range(2)]
    assert np.mean(ks) == pytest.approx(F(0.5), rel=0.02)


def test_expected_kl_falls_from_n_equal_d_plus_one_and_stays_above_kl_infinity():
    rng = np.random.default_rng(6)
    d, reps = 10, 300
    kl_inf = onestep.kl_infinite_data(d, T0, L0, 1.0)
    means = []
    for n in (11, 13, 20, 50, 200, 2000):
        ks = [onestep.kl_to_target(data(rng, n, d), T0, L0, 10.0, 1.0) for _ in range(reps)]
        means.append(np.mean(ks))
    assert all(a > b for a, b in zip(means, means[1:])), means
    assert min(means) > kl_inf
    # large-N expansion within a few percent at N = 200 d
    assert means[-1] == pytest.approx(onestep.kl_large_n(d, 2000, T0, L0, 1.0), rel=0.03)
    for n in (5, 10):
        assert onestep.kl_to_target(data(rng, n, d), T0, L0, 10.0, 1.0) == math.inf


def test_small_noise_limit():
    rng = np.random.default_rng(8)
    X = data(rng, 150, 20)
    lim = onestep.kl_small_noise_limit(X, 10.0, 1.0)
    assert onestep.kl_to_target(X, T0, 1e-10, 10.0, 1.0) == pytest.approx(lim, rel=1e-4)
    assert onestep.kl_small_noise_limit(X[:20], 10.0, 1.0) == math.inf
    assert onestep.kl_to_target(X[:20], T0, 1e-10, 10.0, 1.0) == math.inf


def test_amgm_lower_bound_holds_and_is_tight_for_isotropic():
    rng = np.random.default_rng(10)
    for _ in range(100):
        d = int(rng.integers(1, 10))
        A = rng.normal(size=(d, d)) * rng.uniform(0.1, 3)
        p = Gaussian(rng.normal(size=d), A @ A.T + 1e-3 * np.eye(d))
        mu, sig = rng.normal(), rng.uniform(0.5, 2)
        bound = onestep.kl_amgm_lower_bound(p, mu, sig)
        assert bound <= kl_divergence(p, Gaussian(np.full(d, mu), sig**2 * np.eye(d))) + 1e-10
    p = Gaussian(np.zeros(3), 0.4 * np.eye(3))
    assert onestep.kl_amgm_lower_bound(p, 0.0, 1.0) == pytest.approx(
        kl_divergence(p, Gaussian(np.zeros(3), np.eye(3))), rel=1e-12)


def test_spectrum_helpers_agree_with_generated_distribution():
    rng = np.random.default_rng(12)
    X = data(rng, 30, 12)
    lam = onestep.empirical_spectrum(X)
    v = onestep.generator_variance(X, T0, L0)
    g = onestep.generated_spectrum(lam, T0, L0, v)
    np.testing.assert_allclose(np.sort(g), onestep.generated_distribution(X, T0, L0).eigvals, atol=1e-12)
    assert np.all(onestep.empirical_spectrum(X[:5])[:8] == 0.0)  # exact zeros for N <= d


BAD = [
    (dict(X=np.ones((1, 3))), ValueError, "N >= 2"),
    (dict(X=np.ones(3)), ValueError, "X must be a 2-D"),
    (dict(X=np.array([[0.0, np.nan], [1.0, 2.0]])), ValueError, "X must contain only finite"),
    (dict(T=0.0), ValueError, "T must be in"),
    (dict(T=-1.0), ValueError, "T must be in"),
    (dict(T=math.inf), ValueError, "T must be in"),
    (dict(noise_scale=0.0), ValueError, "noise_scale must be in"),
    (dict(noise_scale=-1.0), ValueError, "noise_scale must be in"),
    (dict(method="ols"), ValueError, "method must be one of"),
    (dict(method="single_draw"), ValueError, "rng"),
    (dict(method="single_draw", rng=3), TypeError, "rng must be a numpy.random.Generator"),
    (dict(T="2"), TypeError, "T must be a real number"),
]


@pytest.mark.parametrize("kwargs, exc, match", BAD)
def test_bad_input(kwargs, exc, match):
    base = dict(X=np.random.default_rng(0).normal(size=(5, 3)), T=1.0, noise_scale=0.5)
    base.update(kwargs)
    with pytest.raises(exc, match=match):
        onestep.generated_distribution(**base)
    with pytest.raises(exc, match=match):
        onestep.kl_to_target(target_mean=0.0, target_std=1.0, **base)


def test_bad_input_limits():
    with pytest.raises(ValueError, match="target_std must be in"):
        onestep.kl_infinite_data(10, 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="gamma must be in"):
        onestep.kl_proportional_limit(-0.1, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="d must be an integer >= 1"):
        onestep.kl_infinite_data(0, 1.0, 1.0, 1.0)
    with pytest.raises(TypeError, match="d must be an integer"):
        onestep.kl_infinite_data(10.5, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="target_mean must be a scalar"):
        onestep.kl_to_target(np.ones((5, 3)) + np.eye(5, 3), 1.0, 1.0, np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="target_std must be in"):
        onestep.kl_to_target(np.ones((5, 3)) + np.eye(5, 3), 1.0, 1.0, 0.0, -1.0)


def test_generated_eigenvalue_below_machine_epsilon_keeps_kl_finite():
    # g ∝ λ² can fall below 1e-16 just above N = d; f(g) = g − 1 − ln g is still finite
    lam = np.array([1e-10, 0.5, 1.0])
    g = onestep.generated_spectrum(lam, T0, L0, 1.0)
    assert g[0] < 1e-16
    vals = np.array([g[0], 1.0 + 1e-12, 3.0])
    expected = vals - 1 - np.log(vals)
    np.testing.assert_allclose(onestep._f(vals), expected, rtol=1e-9)
    assert onestep._f(np.array([0.0]))[0] == math.inf


# --------------------------------------------------------------------------- kl_samples
@pytest.mark.parametrize("method", ["averaged", "single_draw"])
@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("d, n", [(4, 5), (4, 6), (4, 9), (3, 40)])
def test_kl_samples_has_the_law_of_the_kl_of_explicit_training_sets(method, direction, d, n):
    """Sufficient-statistic sampler vs kl_to_target / kl_from_target on drawn data (two-sample KS)."""
    from scipy import stats

    rng = np.random.default_rng(1000 * d + n + 7 * len(method) + len(direction))
    T, ell, mu, sigma, reps = 1.1, 0.4, 3.0, 1.7, 800
    fast = onestep.kl_samples(d, [n], T, ell, sigma, reps, rng, method, direction)[0]
    f = onestep.kl_to_target if direction == "forward" else onestep.kl_from_target
    slow = np.array([f(data(rng, n, d, mu, sigma), T, ell, mu, sigma, method=method,
                       rng=rng if method == "single_draw" else None) for _ in range(reps)])
    assert np.all(np.isfinite(fast)) and np.all(np.isfinite(slow))
    assert stats.ks_2samp(fast, slow).pvalue > 1e-3


def test_kl_samples_shapes_infinities_and_seeding():
    ns = [3, 5, 6, 50]
    for method in ("averaged", "single_draw"):
        out = onestep.kl_samples(5, ns, T0, L0, 1.0, 7, np.random.default_rng(3), method)
        assert out.shape == (4, 7)
        assert np.all(np.isinf(out[:2])) and np.all(np.isfinite(out[2:]))  # inf exactly for N <= d
        again = onestep.kl_samples(5, ns, T0, L0, 1.0, 7, np.random.default_rng(3), method)
        np.testing.assert_array_equal(out, again)
    assert onestep.kl_samples(5, 40, T0, L0, 1.0, 2, np.random.default_rng(0)).shape == (1, 2)


def test_kl_samples_reproduce_the_simulated_targets_at_d_100():
    """Targets from an independent simulation with explicit data (20 training sets, run once outside the test suite)."""
    kl = onestep.kl_samples(100, [101, 200, 1000], T0, L0, 1.0, 20, np.random.default_rng(2024))
    means = kl.mean(axis=1)
    assert abs(means[0] - 97.0) < 5 and abs(means[1] - 32.6) < 1.5 and abs(means[2] - 12.78) < 0.3
    # and against explicit data at N = 200 (same law, independent draws)
    rng = np.random.default_rng(5)
    explicit = [onestep.kl_to_target(data(rng, 200, 100), T0, L0, 10.0, 1.0) for _ in range(20)]
    se = math.hypot(np.std(explicit) / math.sqrt(20), kl[1].std() / math.sqrt(20))
    assert abs(np.mean(explicit) - means[1]) < 4 * se


def test_single_draw_expected_kl_explodes_just_above_d():
    """E tr(W Wᵀ) = ∞ for N ≤ d + 2: sample means grow without bound; finite and close to NA for N ≫ d."""
    d = 20
    kl_sd = onestep.kl_samples(d, [d + 1, d + 10, 10 * d], T0, L0, 1.0, 400, np.random.default_rng(8),
                               "single_draw")
    kl_na = onestep.kl_samples(d, [d + 1, d + 10, 10 * d], T0, L0, 1.0, 400, np.random.default_rng(9))
    assert np.median(kl_sd[0]) > 3 * np.median(kl_na[0])
    assert kl_sd[0].max() > 100 * np.median(kl_sd[0])  # heavy tail at N = d + 1
    assert np.mean(kl_sd[2]) == pytest.approx(np.mean(kl_na[2]), rel=0.1)


# --------------------------------------------------------------------------- lower bound on E KL
def _f_np(x):
    return x - 1 - np.log(x)


def test_per_realization_step_of_the_floor_theorem():
    """KL_N ≥ KL_∞ − (d/2s)(H − r) + ‖x̄ − μ1‖²/(2σ²) for every training set (proof of thm-kl-floor)."""
    rng = np.random.default_rng(13)
    for _ in range(300):
        d = int(rng.integers(1, 9))
        n = d + int(rng.integers(1, 40))
        T, ell, sig, mu = rng.uniform(0.1, 3), rng.uniform(0.01, 3), rng.uniform(0.3, 3), rng.normal()
        s, r = onestep.signal_to_noise(T, ell, sig)
        X = data(rng, n, d, mu, sig)
        xbar = X.mean(0)
        ubar = np.sum((X - xbar) ** 2) / (n * d * sig**2)  # tr S/(d σ²)
        m = (n - 1) / n
        H = s * ubar**2 * (1 + s * ubar / m) / (1 + s * ubar) ** 2
        low = onestep.kl_infinite_data(d, T, ell, sig) - d / (2 * s) * (H - r) \
            + np.sum((xbar - mu) ** 2) / (2 * sig**2)
        assert onestep.kl_to_target(X, T, ell, mu, sig) >= low - 1e-9 * max(1.0, abs(low))


@pytest.mark.parametrize("d, n, s", [(1, 2, 0.01), (2, 3, 5.0), (4, 5, 0.1), (4, 5, 100.0), (100, 101, 1.02),
                                     (10, 30, 2.0), (100, 10_000, 0.01)])
def test_expectation_step_of_the_floor_theorem_by_quadrature(d, n, s):
    """E H − r ≤ s m (2/k + 12/k² + 48/k³), k = d(N−1), with ū = m χ²_k / k (quadrature over χ²)."""
    from scipy import stats

    m, k = (n - 1) / n, d * (n - 1)
    H = lambda x: s * (m * x / k) ** 2 * (1 + s * x / k) / (1 + s * m * x / k) ** 2
    lo, hi = max(0.0, k - 40 * math.sqrt(2 * k)), k + 40 * math.sqrt(2 * k) + 60
    EH = integrate.quad(lambda x: H(x) * stats.chi2.pdf(x, k), lo, hi, points=[k], limit=400)[0]
    assert EH - s / (1 + s) <= s * m * (2 / k + 12 / k**2 + 48 / k**3)


def test_expected_kl_lower_bound_against_simulation():
    for d, ns in [(4, [5, 6, 10, 40, 400]), (100, [101, 150, 1000])]:
        kl = onestep.kl_samples(d, ns, T0, L0, 1.0, 400 if d == 4 else 20, np.random.default_rng(d))
        kl_inf = onestep.kl_infinite_data(d, T0, L0, 1.0)
        for n, row in zip(ns, kl):
            bound = onestep.kl_expected_lower_bound(d, n, T0, L0, 1.0)
            assert bound > kl_inf  # strictly above KL_∞ for d >= 4
            assert row.mean() - 3 * row.std() / math.sqrt(row.size) > bound
    assert onestep.kl_expected_lower_bound(10, 10, T0, L0, 1.0) == math.inf
    # for d ≥ 4 the bracket is positive at every N > d
    for d in (4, 5, 10):
        for n in (d + 1, d + 2, 10 * d):
            assert onestep.kl_expected_lower_bound(d, n, 1.0, 1.0, 1.0) > onestep.kl_infinite_data(d, 1.0, 1.0, 1.0)


def test_bad_input_of_the_sweep_functions():
    g = np.random.default_rng(0)
    ok = dict(d=5, ns=[10], T=1.0, noise_scale=1.0, target_std=1.0, reps=2, rng=g)
    for key, val, exc, match in [
        ("d", 0, ValueError, "d must be an integer >= 1"),
        ("ns", [1], ValueError, "ns must be an integer >= 2"),
        ("ns", [2.5], TypeError, "ns must be an integer"),
        ("ns", [], ValueError, "ns must be an integer or a 1-D sequence"),
        ("reps", 0, ValueError, "reps must be an integer >= 1"),
        ("rng", 0, TypeError, "rng must be a numpy.random.Generator"),
        ("T", -1.0, ValueError, "T must be in"),
        ("noise_scale", 0.0, ValueError, "noise_scale must be in"),
        ("target_std", 0.0, ValueError, "target_std must be in"),
        ("method", "ols", ValueError, "method must be one of"),
        ("direction", "both", ValueError, "direction must be one of"),
    ]:
        kw = dict(ok, **{key: val})
        with pytest.raises(exc, match=match):
            onestep.kl_samples(**kw)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        onestep.kl_expected_lower_bound(5, 1, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="noise_scale must be in"):
        onestep.kl_expected_lower_bound(5, 10, 1.0, -1.0, 1.0)


def test_kl_noise_sweep_matches_the_eigenbasis_computation():
    rng = np.random.default_rng(21)
    for n, d in [(4, 6), (6, 6), (7, 6), (40, 6), (300, 10)]:
        X = data(rng, n, d, mu=1.5, sigma=0.7)
        ells = np.geomspace(1e-9, 10, 7)
        sweep = onestep.kl_noise_sweep(X, 1.3, ells, 1.5, 0.7)
        assert sweep.shape == (7,)
        for ell, val in zip(ells, sweep):
            # independent: the generated Gaussian and the generic Gaussian KL
            ref = kl_divergence(onestep.generated_distribution(X, 1.3, ell),
                                Gaussian(np.full(d, 1.5), 0.49 * np.eye(d)))
            if n <= d:
                assert val == math.inf and ref == math.inf
            else:
                assert val == pytest.approx(ref, rel=1e-8)
    with pytest.raises(ValueError, match="noise_scales must be"):
        onestep.kl_noise_sweep(X, 1.0, [0.0, 1.0], 0.0, 1.0)
    with pytest.raises(ValueError, match="T must be in"):
        onestep.kl_noise_sweep(X, 0.0, [1.0], 0.0, 1.0)


def test_large_n_sd_against_simulation_and_explicit_data():
    # sufficient-statistics sampler: 8000 training sets, sd estimated to about 1 %
    for d, n in ((10, 10_000), (100, 10_000)):
        ks = onestep.kl_samples(d, [n], T0, L0, 1.0, 8000 if d == 10 else 2000, np.random.default_rng(d))[0]
        assert np.std(ks, ddof=1) == pytest.approx(onestep.kl_large_n_sd(d, n, T0, L0, 1.0), rel=0.04)
    # explicit training sets (no sampler), another T, noise scale and sigma
    rng = np.random.default_rng(3)
    d, n, T, ell, sigma = 4, 3000, 1.0, 0.3, 2.0
    ks = [onestep.kl_to_target(data(rng, n, d, mu=1.0, sigma=sigma), T, ell, 1.0, sigma) for _ in range(1200)]
    sd = onestep.kl_large_n_sd(d, n, T, ell, sigma)
    assert np.std(ks, ddof=1) == pytest.approx(sd, rel=0.08)
    # leading order: sqrt(2) (2 + s) / (2 (1 + s)^2) sqrt(d / N); without the sigma-hat term it would be
    # sqrt(2) / (1 + s)^2 sqrt(d / N), 35 % smaller at the defaults
    s, _ = onestep.signal_to_noise(T0, L0, 1.0)
    lead = math.sqrt(2) * (2 + s) / (2 * (1 + s) ** 2) * math.sqrt(100 / 10**6)
    assert onestep.kl_large_n_sd(100, 10**6, T0, L0, 1.0) == pytest.approx(lead, rel=1e-3)


def test_fraction_of_training_sets_below_the_infinite_data_kl():
    # a Gaussian with the large-N mean and sd predicts P(KL_N < KL_inf) to about 1.5 points
    from scipy.stats import norm

    for d, n in ((5, 200), (10, 400), (20, 1000)):
        ks = onestep.kl_samples(d, [n], T0, L0, 1.0, 10_000, np.random.default_rng(n))[0]
        kl_inf = onestep.kl_infinite_data(d, T0, L0, 1.0)
        excess = onestep.kl_large_n(d, n, T0, L0, 1.0) - kl_inf
        predicted = norm.cdf(-excess / onestep.kl_large_n_sd(d, n, T0, L0, 1.0))
        assert np.mean(ks < kl_inf) == pytest.approx(predicted, abs=0.015)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        onestep.kl_large_n_sd(10, 1, T0, L0, 1.0)


# --------------------------------------------------------------------------- figures of the two chapters
def test_figures_of_the_onestep_chapters_draw_and_reject_bad_input():
    from lindiff.plotting import onestep as figs

    kl = onestep.kl_samples(10, [11, 20, 200], T0, L0, 1.0, 3, np.random.default_rng(0))
    drawn = [
        figs.spectra_figure(d=10, ns=(5, 20, 100)),
        figs.hull_figure(ns=(2, 3, 10)),
        figs.denoiser_explorer(d=10, n=5),
        figs.denoiser_explorer(d=10, n=50, T=0.5, noise_scale=1.0),
        figs.kl_vs_n_figure([11, 20, 200], kl, d=10, ns_single=[11, 20, 200], kl_single=kl),
        figs.proportional_limit_figure(sim={10: ([0.5], [0.3])}),
        figs.time_noise_figure(d=10, ns=(15, 100)),
        figs.single_draw_figure([11, 20, 200], kl, kl, d=10),
        figs.kl_explorer(n_over_d=2.0, d=10),
    ]
    assert [len(f.axes) for f in drawn] == [2, 3, 2, 2, 1, 1, 2, 1, 2]
    with pytest.raises(ValueError, match="N/d must be > 1"):
        figs.kl_explorer(n_over_d=1.0)
    with pytest.raises(ValueError, match="N must be >= 2"):
        figs.denoiser_explorer(d=10, n=1)
    with pytest.raises(ValueError, match="ns must be training-set sizes >= 2"):
        figs.hull_figure(ns=(1, 5))


def test_explorer_axes_stay_put_under_neighboring_slider_moves():
    # rounded limits let a live widget reuse the drawn axes (lindiff.widgets): a move of T or the
    # noise scale keeps both panels of the denoiser explorer, a move of N/d the left one of the KL explorer
    from lindiff.plotting import onestep as figs

    limits = lambda fig: [(ax.get_xlim(), ax.get_ylim()) for ax in fig.axes]
    base = limits(figs.denoiser_explorer(d=100, n=50, T=2.0, noise_scale=L0))
    for kw in (dict(T=1.5), dict(T=3.0), dict(noise_scale=0.1), dict(noise_scale=1e-3)):
        assert limits(figs.denoiser_explorer(**dict(dict(d=100, n=50, T=2.0, noise_scale=L0), **kw))) == base, kw
    left = limits(figs.kl_explorer(n_over_d=2.0))[0]
    for x in (1.5, 3.0, 5.0):
        assert limits(figs.kl_explorer(n_over_d=x))[0] == left, x
    for x in (0.07, 0.1, 0.14, 1.08, 4.56, 22.1, 7.0):
        y = figs._nice_ceil(x)
        assert x <= y <= 1.5 * x
