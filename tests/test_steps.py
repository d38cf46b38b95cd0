"""lindiff.steps against dense matrix propagation, the actual sampler (Monte Carlo) and closed forms."""

import math
import warnings

import numpy as np
import pytest

from lindiff import memorization, onestep, steps
from lindiff.gaussian import Gaussian, kl_divergence, wasserstein2
from lindiff.steps import _statistics_eigen_reference

T0, L0 = 2.0, math.exp(-4.0)  # the book's defaults


def data(rng, n, d, mu=10.0, sigma=1.0):
    return mu + sigma * rng.standard_normal((n, d))


def coefficients(t, s, ell):
    """Plain-exp coefficients of one ancestral step from t to s (written out independently)."""
    a_t, a_s = math.exp(-t), math.exp(-s)
    h_t, h_s = ell * (1 - math.exp(-2 * t)), ell * (1 - math.exp(-2 * s))
    alpha = math.exp(-(t - s))
    beta = ell * (1 - alpha**2)
    return a_t, h_t, a_s * beta / h_t, alpha * h_s / h_t, h_s * beta / h_t


def dense_denoiser(X, t, ell):
    """W = a S (a² S + h I)⁻¹, b = (I − a W) x̄ with explicit inverses (no eigenbasis)."""
    n, d = X.shape
    a, h = math.exp(-t), ell * (1 - math.exp(-2 * t))
    xbar = X.mean(0)
    S = (X - xbar).T @ (X - xbar) / n
    W = a * S @ np.linalg.inv(a * a * S + h * np.eye(d))
    return W, (np.eye(d) - a * W) @ xbar


def dense_k_step(X, T, ell, K):
    """Mean and covariance pushed through the K affine Gaussian steps as d × d matrices."""
    n, d = X.shape
    v = math.exp(-2 * T) * np.mean(np.var(X, axis=0, ddof=1)) + ell * (1 - math.exp(-2 * T))
    mean, C = math.exp(-T) * X.mean(0), v * np.eye(d)
    for k in range(K, 0, -1):
        t, s = k * T / K, (k - 1) * T / K
        _, _, A, B, q = coefficients(t, s, ell)
        W, b = dense_denoiser(X, t, ell)
        M = A * W + B * np.eye(d)
        mean = A * (W @ mean + b) + B * mean
        C = M @ C @ M.T + q * np.eye(d)
    return mean, C


def run_sampler(X, T, ell, K, m, rng):
    """The actual K-step sampler on m chains, with the denoisers of lindiff.onestep."""
    n, d = X.shape
    a, _ = onestep.forward_coefficients(T, ell)
    v = onestep.generator_variance(X, T, ell)
    x = a * X.mean(0) + math.sqrt(v) * rng.standard_normal((m, d))
    for k in range(K, 0, -1):
        t, s = k * T / K, (k - 1) * T / K
        _, _, A, B, q = coefficients(t, s, ell)
        W, b = onestep.fit_denoiser(X, t, ell)
        x = A * (x @ W.T + b) + B * x + math.sqrt(q) * rng.standard_normal((m, d))
    return x


# --------------------------------------------------------------------------- the sampler
@pytest.mark.parametrize("n, d", [(3, 6), (6, 6), (7, 6), (40, 6), (3000, 6)])
def test_one_step_equals_the_one_step_model(n, d):
    rng = np.random.default_rng(n + 10 * d)
    X = data(rng, n, d, mu=rng.normal(), sigma=rng.uniform(0.5, 2.0))
    T, ell = rng.uniform(0.2, 3.0), rng.uniform(0.05, 2.0)
    p1 = steps.generated_distribution(X, T, ell, 1)
    p0 = onestep.generated_distribution(X, T, ell, method="averaged")
    np.testing.assert_allclose(p1.mean, p0.mean, atol=1e-12)
    np.testing.assert_allclose(p1.cov, p0.cov, atol=1e-12 * np.max(np.abs(p0.cov)))
    lam = onestep.empirical_spectrum(X)
    v = onestep.generator_variance(X, T, ell)
    np.testing.assert_allclose(steps.generated_spectrum(lam, T, ell, v, 1),
                               onestep.generated_spectrum(lam, T, ell, v), rtol=1e-12, atol=1e-300)
    assert steps.kl_to_target(X, T, ell, 1, 0.0, 1.0) == pytest.approx(
        onestep.kl_to_target(X, T, ell, 0.0, 1.0), rel=1e-10)


@pytest.mark.parametrize("n, d", [(4, 6), (6, 6), (7, 6), (300, 6)])
@pytest.mark.parametrize("K", [1, 2, 3, 7, 25])
def test_recursion_matches_dense_matrix_propagation(n, d, K):
    rng = np.random.default_rng(1000 * K + n)
    X = data(rng, n, d, mu=rng.normal(), sigma=rng.uniform(0.5, 2.0))
    T, ell = rng.uniform(0.3, 3.0), rng.uniform(0.05, 2.0)
    mean, C = dense_k_step(X, T, ell, K)
    p = steps.generated_distribution(X, T, ell, K)
    np.testing.assert_allclose(p.mean, mean, atol=1e-9 * (1 + np.max(np.abs(mean))))
    np.testing.assert_allclose(p.mean, X.mean(0), atol=1e-12 * (1 + np.max(np.abs(mean))))  # exactly x̄
    np.testing.assert_allclose(p.cov, C, atol=1e-9 * np.max(np.abs(C)))
    assert p.rank == min(n - 1, d)


@pytest.mark.parametrize("n, K", [(30, 1), (30, 4), (3, 4), (200, 12)])
def test_distribution_matches_monte_carlo_of_the_sampler(n, K):
    rng = np.random.default_rng(7 * n + K)
    d, T, ell, m = 4, 1.5, 0.4, 200_000
    X = data(rng, n, d)
    p = steps.generated_distribution(X, T, ell, K)
    x = run_sampler(X, T, ell, K, m, rng)
    se = np.sqrt(np.diag(p.cov) / m)
    assert np.all(np.abs(x.mean(0) - p.mean) <= 5 * se + 1e-12)
    # covariance entries: sd of the sample covariance is sqrt((C_ii C_jj + C_ij²)/m)
    C = np.cov(x.T)
    sd = np.sqrt((np.outer(np.diag(p.cov), np.diag(p.cov)) + p.cov**2) / m)
    assert np.all(np.abs(C - p.cov) <= 5 * sd + 1e-12)


@pytest.mark.parametrize("K", [1, 2, 10, 100])
def test_support_on_the_affine_hull_for_n_at_most_d(K):
    rng = np.random.default_rng(K)
    for n, d in [(3, 5), (5, 5), (6, 12)]:
        X = data(rng, n, d)
        p = steps.generated_distribution(X, T0, L0, K)
        assert p.rank == n - 1 and p.is_degenerate
        assert np.count_nonzero(p.eigvals == 0.0) >= d - n + 1  # exact zeros, not rounding
        B = np.linalg.qr((X - X.mean(0)).T)[0][:, : n - 1]  # basis of span{x_i − x̄}
        for x in (p.sample(500, rng), run_sampler(X, T0, L0, min(K, 10), 500, rng)):
            r = (x - X.mean(0)) - (x - X.mean(0)) @ B @ B.T
            assert np.max(np.abs(r)) < 1e-9 * np.max(np.abs(x))
        assert steps.kl_to_target(X, T0, L0, K, 10.0, 1.0) == math.inf
        assert kl_divergence(p, Gaussian(np.full(d, 10.0), np.eye(d))) == math.inf
    assert np.all(np.isinf(steps.kl_to_target(X, T0, L0, [1, 5, math.inf], 10.0, 1.0)))
    assert steps.limit_distribution(X, T0, L0).rank == X.shape[0] - 1


# --------------------------------------------------------------------------- closed forms
def deficit_sum(lam, v, T, ell, K):
    """c_K = λ + (a_T λ/p_T)² (v − p_T) − Σ_k (a_{t_{k−1}} λ/p_{t_{k−1}})² δ_k (theorem thm-steps-deficit)."""
    p = lambda t: math.exp(-2 * t) * lam + ell * (1 - math.exp(-2 * t))
    out = lam + (math.exp(-T) * lam / p(T)) ** 2 * (v - p(T))
    for k in range(1, K + 1):
        t, s = k * T / K, (k - 1) * T / K
        a_t, h_t, A, _, _ = coefficients(t, s, ell)
        post_var = lam * h_t / p(t)  # Var(x_0 | x_t) for data variance λ
        out = out - (math.exp(-s) * lam / p(s)) ** 2 * A**2 * post_var
    return out


@pytest.mark.parametrize("K", [1, 2, 5, 40])
def test_recursion_equals_the_deficit_decomposition(K):
    rng = np.random.default_rng(K)
    for _ in range(5):
        lam = rng.uniform(0.05, 4.0, size=7)
        T, ell, v = rng.uniform(0.3, 3.0), rng.uniform(0.05, 2.0), rng.uniform(0.2, 3.0)
        c = steps.generated_spectrum(lam, T, ell, v, K)
        np.testing.assert_allclose(c, deficit_sum(lam, v, T, ell, K), rtol=1e-10)
        assert np.all(c <= steps.limit_spectrum(lam, T, ell, v) * (1 + 1e-12))  # every step loses variance


def test_limit_of_many_steps():
    rng = np.random.default_rng(3)
    lam = np.concatenate([[0.0], rng.uniform(0.1, 3.0, size=5)])
    T, ell, v = 1.3, 0.7, 0.9
    lim = steps.limit_spectrum(lam, T, ell, v)
    errs = [np.max(np.abs(steps.generated_spectrum(lam, T, ell, v, K) - lim)) for K in (100, 1000, 10000)]
    # the error is O(ln K / K): about 2 ℓ T ln K / K, shrinking 7–10 times per decade of K
    assert errs[-1] < 2 * ell * T * (math.log(1e4) + 2) / 1e4
    assert 6 < errs[0] / errs[1] < 10 and 6 < errs[1] / errs[2] < 10
    assert lim[0] == 0.0
    # with the exact marginal as the start the limit is the empirical Gaussian itself
    a, h = onestep.forward_coefficients(T, ell)
    np.testing.assert_allclose(steps.limit_spectrum(lam[1:], T, ell, a * a * lam[1:] + h), lam[1:], rtol=1e-13)
    # K = ∞ in the vectorized functions is this limit
    X = data(rng, 40, 5)
    kl = steps.kl_to_target(X, T, ell, [5, math.inf], 10.0, 1.0)
    assert kl[1] == pytest.approx(kl_divergence(steps.limit_distribution(X, T, ell),
                                                Gaussian(np.full(5, 10.0), np.eye(5))), rel=1e-9)


def test_population_kl_matches_theory_and_falls_like_k_to_the_minus_two():
    targets = {1: 9.43e-2, 2: 5.98e-2, 5: 1.87e-2, 10: 6.18e-3, 20: 1.84e-3, 50: 3.41e-4, 100: 9.22e-5}
    got = {K: steps.kl_per_dim_infinite_data(K, T0, L0, 1.0) for K in targets}
    for K in targets:
        assert got[K] == pytest.approx(targets[K], rel=6e-3), K
    assert got[1] == pytest.approx(onestep.kl_infinite_data(1, T0, L0, 1.0), rel=1e-12)
    Ks = sorted(got)
    assert all(got[a] > got[b] for a, b in zip(Ks, Ks[1:]))
    slope = math.log(got[100] / got[10]) / math.log(10)
    assert -2.0 < slope < -1.7
    # the log factor: K (1 − c_K/σ²) grows by 2 ℓ T ln 10 / σ² per decade of K
    for T, ell, sigma in [(T0, L0, 1.0), (1.0, 1.0, 1.0), (1.0, 0.5, 2.0)]:
        def deficit(K):
            kl = steps.kl_per_dim_infinite_data(K, T, ell, sigma)
            # invert ½ f(c) for c < 1 by bisection-free Newton on f(1 − e) = −e − ln(1 − e)
            e = math.sqrt(4 * kl)
            for _ in range(50):
                e -= (-e - math.log1p(-e) - 2 * kl) / (-1 + 1 / (1 - e))
            return K * e
        assert deficit(10_000) - deficit(1000) == pytest.approx(2 * ell * T * math.log(10) / sigma**2, rel=0.05)


def test_population_kl_against_a_huge_training_set():
    rng = np.random.default_rng(5)
    d, n, sigma = 3, 2_000_000, 1.5
    X = data(rng, n, d, mu=0.0, sigma=sigma)
    for K in (1, 4, 20):
        kl_n = steps.kl_to_target(X, T0, L0, K, 0.0, sigma) / d
        # the finite-N excess is O(d/N) and the sampling error of KL is O(sqrt(d)/N)
        assert kl_n == pytest.approx(steps.kl_per_dim_infinite_data(K, T0, L0, sigma), abs=2e-5, rel=2e-3)


def test_kl_to_target_matches_dense_kl_and_falls_with_k_at_finite_n():
    rng = np.random.default_rng(9)
    d = 8
    X = data(rng, 40, d, mu=2.0, sigma=1.5)
    q = Gaussian(np.full(d, 2.0), 1.5**2 * np.eye(d))
    Ks = [1, 2, 3, 5, 10, 20, 50, 200]
    kls = steps.kl_to_target(X, 1.2, 0.7, Ks, 2.0, 1.5)
    for K, kl in zip(Ks, kls):
        assert kl == pytest.approx(kl_divergence(steps.generated_distribution(X, 1.2, 0.7, K), q), rel=1e-9)
    assert np.all(np.diff(kls) < 0)
    assert kls[-1] > steps.kl_to_target(X, 1.2, 0.7, math.inf, 2.0, 1.5)
    assert isinstance(steps.kl_to_target(X, 1.2, 0.7, 3, 2.0, 1.5), float)


# --------------------------------------------------------------------------- memorization
def test_memorization_statistics_equal_the_memorization_module():
    rng = np.random.default_rng(11)
    d = 10
    for n in (6, 30):
        X = data(rng, n, d)
        R = data(rng, 500, d)
        Ks = [1, 3, 20, math.inf]
        got = steps.memorization_statistics(X, T0, L0, Ks, R, 1.0)
        for K, g in zip(Ks, got):
            p = steps.limit_distribution(X, T0, L0) if K == math.inf else steps.generated_distribution(X, T0, L0, K)
            assert g == pytest.approx(memorization.memorization_statistic(p, X, R, 1.0), abs=1e-9)
        assert isinstance(steps.memorization_statistics(X, T0, L0, 2, R, 1.0), float)


def test_eigenbasis_reference_is_the_rotated_reference():
    rng = np.random.default_rng(12)
    d = 10
    X, Z = data(rng, 25, d), rng.standard_normal((400, d))
    U = onestep.empirical_spectrum(X, return_vectors=True)[1]
    R = 10.0 + 1.0 * Z @ U.T  # the reference the shortcut stands for
    Ks = [1, 4, math.inf]
    kl, stat = _statistics_eigen_reference(X, T0, L0, Ks, 10.0, 1.0, Z)
    np.testing.assert_allclose(stat, steps.memorization_statistics(X, T0, L0, Ks, R, 1.0), atol=1e-9)
    np.testing.assert_allclose(kl, steps.kl_to_target(X, T0, L0, Ks, 10.0, 1.0), rtol=1e-12)


def test_simulate_is_seeded_nested_and_unbiased():
    kw = dict(d=8, T=T0, noise_scale=L0, steps=[1, 5, math.inf], target_mean=10.0, target_std=1.0,
              reference_size=300)
    a = steps.simulate([12, 30], repetitions=3, rng=np.random.default_rng(0), **kw)
    b = steps.simulate(30, repetitions=3, rng=np.random.default_rng(0), **kw)
    assert a.kl.shape == (3, 2, 3) and b.kl.shape == (3, 1, 3) and a.steps == (1, 5, math.inf)
    np.testing.assert_array_equal(a.statistic[:, 1], b.statistic[:, 0])  # same pools and references
    assert np.all(np.diff(a.kl, axis=2) < 0)
    # the law of one repetition equals that of a fresh reference in data coordinates (many small runs)
    reps = 400
    sim = steps.simulate(12, repetitions=reps, rng=np.random.default_rng(1), **kw)
    rng = np.random.default_rng(2)
    fresh = np.array([steps.memorization_statistics(data(rng, 12, 8), T0, L0, [1, 5, math.inf],
                                                    data(rng, 300, 8), 1.0) for _ in range(reps)])
    diff = sim.statistic[:, 0].mean(0) - fresh.mean(0)
    se = np.sqrt(sim.statistic[:, 0].var(0) / reps + fresh.var(0) / reps)
    assert np.all(np.abs(diff) < 4 * se)
    np.testing.assert_allclose(sim.statistic[:, 0].std(0), fresh.std(0), rtol=0.2)


def test_statistic_rises_with_k_at_fixed_n():
    # d = 100 as in the book, a few paired repetitions (the rise is large against its noise)
    sim = steps.simulate(200, 100, T0, L0, [1, 10, 50], 10.0, 1.0, 12, np.random.default_rng(4))
    rise = sim.statistic[:, 0, 2] - sim.statistic[:, 0, 0]
    assert rise.mean() > 3 * rise.std(ddof=1) / math.sqrt(len(rise))
    assert np.all(np.diff(sim.statistic[:, 0].mean(0)) > 0)


def test_largest_generalizing_steps():
    f = steps.largest_generalizing_steps
    assert f([1, 2, 5, 10], [-1.0, -0.5, 0.1, -0.2]) == 2  # stops at the first crossing
    assert f([1, 2, 5], [0.3, 0.5, 0.7]) is None           # no admissible K: every K memorizes
    assert f([1, 2, math.inf], [-0.3, -0.2, -0.1]) == math.inf
    assert f([1, 2, 5], [-0.3, 0.2, 0.4], threshold=0.5) == 5
    with pytest.raises(ValueError, match="increasing"):
        f([1, 5, 2], [0, 0, 0])
    with pytest.raises(ValueError, match="statistic"):
        f([1, 2], [0.0])


# --------------------------------------------------------------------------- Wasserstein
@pytest.mark.parametrize("n, d", [(4, 7), (7, 7), (9, 7), (60, 7)])
def test_wasserstein_distances_match_the_general_formula(n, d):
    rng = np.random.default_rng(n)
    X = data(rng, n, d)
    Ks = [1, 3, 20, math.inf]
    target = Gaussian(np.full(d, 10.0), np.eye(d))
    Xc = X - X.mean(0)
    emp = Gaussian(X.mean(0), Xc.T @ Xc / n)
    laws = [steps.limit_distribution(X, T0, L0) if K == math.inf else steps.generated_distribution(X, T0, L0, K)
            for K in Ks]
    np.testing.assert_allclose(steps.wasserstein_to_target(X, T0, L0, Ks, 10.0, 1.0),
                               [wasserstein2(p, target) for p in laws], rtol=1e-8)
    np.testing.assert_allclose(steps.wasserstein_to_empirical(X, T0, L0, Ks),
                               [wasserstein2(p, emp) for p in laws], rtol=1e-6, atol=1e-8)
    assert isinstance(steps.wasserstein_to_target(X, T0, L0, 2, 10.0, 1.0), float)
    # more steps bring the law closer to the empirical Gaussian
    assert np.all(np.diff(steps.wasserstein_to_empirical(X, T0, L0, Ks)) < 0)


def test_wasserstein_to_target_counts_the_lost_directions():
    # N <= d: each of the d − N + 1 directions without variance adds σ² to W2², whatever K
    rng = np.random.default_rng(7)
    d, n, sigma = 20, 8, 1.5
    X = data(rng, n, d, sigma=sigma)
    for K in (1, 5, math.inf):
        w2 = steps.wasserstein_to_target(X, T0, L0, K, 10.0, sigma) ** 2
        assert w2 > (d - n + 1) * sigma**2


def test_simulate_records_the_wasserstein_distances():
    sim = steps.simulate([6, 15], 5, T0, L0, [1, 4, math.inf], 10.0, 1.0, 2, np.random.default_rng(3),
                         reference_size=50)
    rng = np.random.default_rng(3)
    for r, g in enumerate(rng.spawn(2)):
        pool = 10.0 + g.spawn(2)[0].standard_normal((15, 5))
        for i, n in enumerate((6, 15)):
            np.testing.assert_allclose(sim.w2_target[r, i],
                                       steps.wasserstein_to_target(pool[:n], T0, L0, [1, 4, math.inf], 10.0, 1.0),
                                       rtol=1e-12)
            np.testing.assert_allclose(sim.w2_empirical[r, i],
                                       steps.wasserstein_to_empirical(pool[:n], T0, L0, [1, 4, math.inf]),
                                       rtol=1e-12)


# --------------------------------------------------------------------------- inputs
def test_bad_steps_raise_naming_steps():
    rng = np.random.default_rng(0)
    X = data(rng, 10, 3)
    for bad, exc in [(0, ValueError), (-2, ValueError), (2.5, TypeError), (2.0, TypeError), ("3", TypeError),
                     (True, TypeError), (None, TypeError), (math.inf, TypeError)]:
        with pytest.raises(exc, match="steps"):
            steps.generated_distribution(X, T0, L0, bad)
        with pytest.raises(exc, match="steps"):
            steps.generated_spectrum([1.0], T0, L0, 1.0, bad)
        with pytest.raises(exc, match="steps"):
            steps.kl_per_dim_infinite_data(bad, T0, L0, 1.0)
    for bad in ([], [1, 0], [1, 2.5], "12"):
        with pytest.raises((ValueError, TypeError), match="steps"):
            steps.kl_to_target(X, T0, L0, bad, 10.0, 1.0)
        with pytest.raises((ValueError, TypeError), match="steps"):
            steps.memorization_statistics(X, T0, L0, bad, X, 1.0)


def test_other_bad_inputs():
    rng = np.random.default_rng(0)
    X = data(rng, 10, 3)
    cases = [
        (lambda: steps.generated_distribution(X, 0.0, L0, 2), ValueError, "T"),
        (lambda: steps.generated_distribution(X, T0, -1.0, 2), ValueError, "noise_scale"),
        (lambda: steps.generated_distribution(X[:1], T0, L0, 2), ValueError, "X"),
        (lambda: steps.generated_distribution(np.full((4, 2), np.nan), T0, L0, 2), ValueError, "X"),
        (lambda: steps.generated_distribution([1.0, 2.0], T0, L0, 2), ValueError, "X"),
        (lambda: steps.generated_spectrum([-1.0], T0, L0, 1.0, 2), ValueError, "lam"),
        (lambda: steps.generated_spectrum([1.0], T0, L0, 0.0, 2), ValueError, "v"),
        (lambda: steps.limit_spectrum([1.0], T0, L0, -1.0), ValueError, "v"),
        (lambda: steps.limit_spectrum([1.0], -1.0, L0, 1.0), ValueError, "T"),
        (lambda: steps.kl_to_target(X, T0, L0, 2, [1.0, 2.0], 1.0), ValueError, "target_mean"),
        (lambda: steps.kl_to_target(X, T0, L0, 2, 0.0, 0.0), ValueError, "target_std"),
        (lambda: steps.memorization_statistics(X, T0, L0, 2, X[:, :2], 1.0), ValueError, "reference"),
        (lambda: steps.simulate(1, 3, T0, L0, 2, 0.0, 1.0, 2, rng), ValueError, "n"),
        (lambda: steps.simulate(5, 3, T0, L0, 2, 0.0, 1.0, 0, rng), ValueError, "repetitions"),
        (lambda: steps.simulate(5, 3, T0, L0, 2, 0.0, 1.0, 2, 0), TypeError, "rng"),
        (lambda: steps.simulate(5, 3, T0, L0, 2, 0.0, 1.0, 2, rng, reference_size=0), ValueError, "reference_size"),
    ]
    for call, exc, name in cases:
        with pytest.raises(exc, match=name):
            call()


def test_extreme_but_valid_parameters_give_no_warnings_and_no_nan():
    rng = np.random.default_rng(1)
    X = data(rng, 30, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for T, ell, K in [(300.0, 1.0, 1000), (1e-4, 1.0, 3), (2.0, 1e-12, 50), (2.0, 1e6, 7), (5.0, 1.0, 100_000)]:
            p = steps.generated_distribution(X, T, ell, K)
            assert np.all(np.isfinite(p.cov))
            kl = steps.kl_to_target(X, T, ell, [K, math.inf], 10.0, 1.0)
            assert not np.any(np.isnan(kl))
            assert not math.isnan(steps.kl_per_dim_infinite_data(K, T, ell, 1.0))


def test_figures_draw_and_reject_impossible_widget_values():
    from matplotlib.figure import Figure

    from lindiff.plotting import steps as figs

    Ks = [1, 3, math.inf]
    sim = steps.simulate([4, 12], 6, T0, L0, Ks, 10.0, 1.0, 3, np.random.default_rng(0), reference_size=40)
    assert isinstance(figs.wasserstein_figure([4, 12], Ks, sim.w2_target, sim.w2_empirical, 6), Figure)
    assert isinstance(figs.optimal_steps_figure(sim, k_show=(1, math.inf)), Figure)   # "none" levels drawn
    fig = figs.steps_explorer(steps_marked=10, ratio=0.5, T=2.0, d=20, repetitions=3)
    assert isinstance(fig, Figure) and "K* =" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="steps_marked"):
        figs.steps_explorer(steps_marked=7, d=20)
    with pytest.raises(ValueError, match="training points"):
        figs.steps_explorer(ratio=0.01, d=20)


def test_simulate_seeded_equals_simulate_up_to_the_single_precision_reference():
    # same training sets and reference draws as simulate with default_rng(seed); KL and W2 do not use the
    # reference and agree to rounding, the statistic to the single-precision reference products
    Ks = [1, 3, 20, math.inf]
    for n, T in (([4, 12], 1.0), (9, 2.0), (9, 3.0)):
        want = steps.simulate(n, 6, T, L0, Ks, 10.0, 1.0, 3, np.random.default_rng(5), reference_size=300)
        got = steps.simulate_seeded(n, 6, T, L0, Ks, 10.0, 1.0, 3, 5, reference_size=300)
        np.testing.assert_array_equal(got.n, want.n)
        assert got.steps == want.steps
        for a, b in ((got.kl, want.kl), (got.w2_target, want.w2_target), (got.w2_empirical, want.w2_empirical)):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(got.statistic, want.statistic, rtol=0, atol=1e-4)
    with pytest.raises(ValueError, match="seed"):
        steps.simulate_seeded(9, 6, 1.0, L0, Ks, 10.0, 1.0, 3, -1)
