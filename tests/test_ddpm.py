"""lindiff.ddpm against independent computations.

The closed forms of the library work in the eigenbasis of the empirical
covariance. The references here do not: they build the dense d x d matrices
of every step (np.linalg.solve, scipy.linalg.expm), propagate mean and
covariance of the reverse chain through all T steps, run explicit matrix
gradient descent, fit least squares on sampled noise, run the actual reverse
chain by Monte Carlo and simulate Wishart refits.
"""

import math

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import ortho_group

from lindiff import Gaussian, kl_divergence
from lindiff import ddpm


# --------------------------------------------------------------------------- dense references


def loop_schedule(T, beta_min=1e-4, beta_max=1e-2):
    """The schedule by an explicit loop over t = 1..T (reference for the vectorized one)."""
    betas, abars, prod = [], [], 1.0
    for t in range(1, T + 1):
        b = beta_min + (beta_max - beta_min) * t / T
        prod *= 1.0 - b
        betas.append(b)
        abars.append(prod)
    return np.array(betas), np.array(abars)


def dense_moments(X, center):
    N = X.shape[0]
    m = X.mean(axis=0) if center else np.zeros(X.shape[1])
    C = (X - m).T @ (X - m) / N
    return m, C


def dense_weights(C, abar, ridge, tau):
    """W_t(tau) = W* (I - exp(-2 H tau)) with H = abar C + (1 - abar + ridge) I: dense expm/solve."""
    d = C.shape[0]
    H = abar * C + (1.0 - abar + ridge) * np.eye(d)
    Wstar = math.sqrt(1.0 - abar) * np.linalg.solve(H, np.eye(d))
    if math.isinf(tau):
        return Wstar
    return Wstar @ (np.eye(d) - expm(-2.0 * tau * H))


def dense_reverse_chain(X, T, ridge=0.0, tau=math.inf, center=True, sigma2=None):
    """Mean and covariance of u_0 by propagating d x d matrices through every step t = T..1."""
    betas, abars = loop_schedule(T)
    sigma2 = betas if sigma2 is None else sigma2
    xbar, C = dense_moments(X, center)
    d = X.shape[1]
    m, S = np.zeros(d), np.eye(d)
    for t in range(T, 0, -1):
        b, ab = betas[t - 1], abars[t - 1]
        W = dense_weights(C, ab, ridge, tau)
        bias = -math.sqrt(ab) * W @ xbar
        A = (np.eye(d) - b / math.sqrt(1 - ab) * W) / math.sqrt(1 - b)
        c = -b / (math.sqrt(1 - ab) * math.sqrt(1 - b)) * bias
        m = A @ m + c
        S = A @ S @ A.T + sigma2[t - 1] * np.eye(d)
    return m, S


def noise_averaged_loss(W, b, X, abar):
    """(1/N) sum_mu E_eps ||eps - W(sqrt(abar) x + sqrt(1 - abar) eps) - b||^2, exact in eps."""
    d = W.shape[0]
    resid = math.sqrt(abar) * X @ W.T + b
    return np.sum((np.eye(d) - math.sqrt(1 - abar) * W) ** 2) + np.mean(np.sum(resid**2, axis=1))


def rel_fro(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


def data(N, d, seed, k=1.0, shift=0.0, rotate=False):
    rng = np.random.default_rng(seed)
    lam = ddpm.power_law_spectrum(d, k)
    U = ortho_group.rvs(d, random_state=rng) if (rotate and d > 1) else np.eye(d)
    mean = shift * rng.normal(size=d)
    target = Gaussian.from_eigh(mean, lam, U)
    return target.sample(N, rng), target


# --------------------------------------------------------------------------- schedule and spectra


def test_schedule_facts_and_loop():
    betas, abars = ddpm.linear_schedule()
    np.testing.assert_allclose(betas[0], 1.099e-4, rtol=1e-4)
    np.testing.assert_allclose(betas.sum(), 5.05495, rtol=1e-4)
    np.testing.assert_allclose(abars[-1], 6.2705e-3, rtol=1e-4)
    for T in (1, 7, 1000):
        lb, la = loop_schedule(T, 2e-4, 3e-2)
        b, a = ddpm.linear_schedule(T, 2e-4, 3e-2)
        np.testing.assert_allclose(b, lb, rtol=1e-14)
        np.testing.assert_allclose(a, la, rtol=1e-12)
        assert b.shape == a.shape == (T,)


def test_power_law_spectrum():
    for k in (0.0, 0.5, 1.0, 2.0):
        lam = ddpm.power_law_spectrum(100, k)
        np.testing.assert_allclose(lam.sum(), 100.0, rtol=1e-12)
        nu = np.arange(1, 101)
        np.testing.assert_allclose(lam / lam[0], nu ** (-k), rtol=1e-12)
    lam1 = [ddpm.power_law_spectrum(100, k)[0] for k in (0, 0.5, 1, 1.5, 2)]
    np.testing.assert_allclose(lam1, [1.0, 5.379, 19.28, 41.44, 61.16], rtol=1e-3)
    target = ddpm.power_law_target(5, 1.0)
    np.testing.assert_allclose(target.cov, np.diag(ddpm.power_law_spectrum(5, 1.0)), atol=1e-15)
    X, t2 = ddpm.power_law_training_set(4000, 5, 1.0, np.random.default_rng(3))
    assert X.shape == (4000, 5)
    np.testing.assert_allclose(np.cov(X.T), t2.cov, atol=4 * math.sqrt(2 / 4000) * t2.eigvals.max())
    # the same seed gives the same standard-normal draws for every k
    X0, _ = ddpm.power_law_training_set(7, 5, 0.0, np.random.default_rng(9))
    X2, t_2 = ddpm.power_law_training_set(7, 5, 2.0, np.random.default_rng(9))
    np.testing.assert_allclose(X2, X0 * np.sqrt(np.diag(t_2.cov)), rtol=1e-14)


@pytest.mark.parametrize("N,d", [(3, 6), (6, 6), (7, 6), (60, 6)])
@pytest.mark.parametrize("center", [True, False])
def test_empirical_spectrum_reconstructs_covariance_with_exact_null_space(N, d, center):
    X, _ = data(N, d, seed=N, shift=2.0)
    fit = ddpm.empirical_spectrum(X, center=center)
    m, C = dense_moments(X, center)
    np.testing.assert_allclose((fit.eigvecs * fit.eigvals) @ fit.eigvecs.T, C, atol=1e-12 * np.abs(C).max())
    np.testing.assert_allclose(fit.eigvecs.T @ fit.eigvecs, np.eye(d), atol=1e-12)
    np.testing.assert_allclose(fit.mean, m, atol=1e-14)
    assert np.all(np.diff(fit.eigvals) <= 0)
    assert fit.rank == min(N - 1 if center else N, d)
    assert np.count_nonzero(fit.eigvals == 0.0) == d - fit.rank


# --------------------------------------------------------------------------- loss, minimizer, training


def test_noise_averaged_loss_matches_monte_carlo():
    rng = np.random.default_rng(1)
    X, _ = data(5, 3, seed=1, shift=1.0)
    W, b, abar = rng.normal(size=(3, 3)), rng.normal(size=3), 0.3
    M = 200_000
    eps = rng.standard_normal((M, 3))
    x = X[rng.integers(0, 5, M)]
    r = eps - (math.sqrt(abar) * x + math.sqrt(1 - abar) * eps) @ W.T - b
    vals = np.sum(r**2, axis=1)
    assert abs(vals.mean() - noise_averaged_loss(W, b, X, abar)) < 4 * vals.std() / math.sqrt(M)


@pytest.mark.parametrize("center", [True, False])
def test_gradient_and_minimizer_match_dense(center):
    """Finite-difference gradient of the loss (bias tied to W) and the dense minimizer."""
    X, _ = data(4, 3, seed=2, shift=1.5)
    xbar, C = dense_moments(X, center)
    abar, ridge = 0.4, 0.2

    def loss(W):
        return noise_averaged_loss(W, -math.sqrt(abar) * W @ xbar, X, abar) + ridge * np.sum(W**2)

    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 3))
    H = abar * C + (1 - abar + ridge) * np.eye(3)
    grad = 2 * W @ H - 2 * math.sqrt(1 - abar) * np.eye(3)
    h, fd = 1e-6, np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            E = np.zeros((3, 3))
            E[i, j] = h
            fd[i, j] = (loss(W + E) - loss(W - E)) / (2 * h)
    np.testing.assert_allclose(fd, grad, rtol=1e-6, atol=1e-6)
    # the library's minimizer, rebuilt as a matrix, is the dense solution and a stationary point
    fit = ddpm.empirical_spectrum(X, center=center)
    w = ddpm.minimizer_weights(fit.eigvals, np.array([abar]), ridge)[0]
    Wlib = (fit.eigvecs * w) @ fit.eigvecs.T
    np.testing.assert_allclose(Wlib, dense_weights(C, abar, ridge, math.inf), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(2 * Wlib @ H - 2 * math.sqrt(1 - abar) * np.eye(3), 0, atol=1e-12)


@pytest.mark.parametrize("N,d", [(3, 5), (30, 5)])
def test_matrix_gradient_descent_matches_gd_and_flow_weights(N, d):
    X, _ = data(N, d, seed=4)
    fit = ddpm.empirical_spectrum(X, center=True)
    _, C = dense_moments(X, True)
    _, abars = ddpm.linear_schedule()
    sel = abars[[0, 9, 99, 999]]
    ridge, lr, K = 0.05, 0.05, 300
    gd = ddpm.gd_weights(fit.eigvals, sel, ridge, lr, K)
    for row, ab in zip(gd, sel):
        H = ab * C + (1 - ab + ridge) * np.eye(d)
        W = np.zeros((d, d))
        for _ in range(K):
            W = W - lr * (2 * W @ H - 2 * math.sqrt(1 - ab) * np.eye(d))
        np.testing.assert_allclose(W, (fit.eigvecs * row) @ fit.eigvecs.T, rtol=1e-10, atol=1e-12)
    # the flow is the small-step limit of gradient descent at equal tau = lr K
    flow = ddpm.flow_weights(fit.eigvals, sel, ridge, lr * K)
    fine = ddpm.gd_weights(fit.eigvals, sel, ridge, lr / 100, K * 100)
    err_coarse = np.abs(gd - flow).max()
    err_fine = np.abs(fine - flow).max()
    assert err_fine < err_coarse / 30
    np.testing.assert_allclose(fine, flow, atol=2e-3 * np.abs(flow).max())
    # flow against the dense matrix exponential
    for row, ab in zip(flow, sel):
        np.testing.assert_allclose((fit.eigvecs * row) @ fit.eigvecs.T, dense_weights(C, ab, ridge, lr * K),
                                   rtol=1e-10, atol=1e-12)


def test_flow_limits():
    c = np.array([0.0, 0.5, 20.0])
    _, abars = ddpm.linear_schedule()
    np.testing.assert_array_equal(ddpm.flow_weights(c, abars, 0.1, 0.0), 0.0)
    np.testing.assert_allclose(ddpm.flow_weights(c, abars, 0.1, 1e9), ddpm.minimizer_weights(c, abars, 0.1), rtol=1e-14)
    r = ddpm.relaxation_rates(c, abars, 0.1)
    np.testing.assert_allclose(r, abars[:, None] * c + 1 - abars[:, None] + 0.1)
    # the null direction at t = 1 is the slowest mode of all
    assert r.argmin() == 0 and r[0, 0] == pytest.approx(1.099e-4 + 0.1)
    # converged null-direction weight 1/sqrt(1 - abar_1), about 95
    assert ddpm.minimizer_weights(c, abars)[0, 0] == pytest.approx(1 / math.sqrt(1.099e-4), rel=1e-8)


@pytest.mark.parametrize("center", [True, False])
def test_least_squares_on_sampled_noise_converges_to_minimizer(center):
    """OLS of eps on x_t over M noise draws per point approaches the closed form as M^-1/2."""
    rng = np.random.default_rng(5)
    X, _ = data(10, 4, seed=5, shift=1.0)
    fit = ddpm.empirical_spectrum(X, center=center)
    _, abars = ddpm.linear_schedule()
    M = 2000
    for t in (100, 1000):
        ab = abars[t - 1]
        eps = rng.standard_normal((10, M, 4))
        xt = (math.sqrt(ab) * X[:, None, :] + math.sqrt(1 - ab) * eps).reshape(-1, 4)
        design = np.hstack([xt, np.ones((xt.shape[0], 1))]) if center else xt
        coef, *_ = np.linalg.lstsq(design, eps.reshape(-1, 4), rcond=None)
        W_ols = coef[:4].T
        w = ddpm.minimizer_weights(fit.eigvals, np.array([ab]))[0]
        W_star = (fit.eigvecs * w) @ fit.eigvecs.T
        assert rel_fro(W_ols, W_star) < 3 / math.sqrt(M)
        if center:
            b_star = -math.sqrt(ab) * W_star @ fit.mean
            assert np.linalg.norm(coef[4] - b_star) < 3 / math.sqrt(M) * (1 + np.linalg.norm(b_star))


# --------------------------------------------------------------------------- sampling distribution


CASES = [
    # (N, d, T, center, ridge, tau): N < d, N = d, N = d + 1, N >> d; ridge; finite training time
    (3, 6, 40, True, 0.0, math.inf),
    (6, 6, 40, True, 0.0, math.inf),
    (7, 6, 40, False, 0.0, math.inf),
    (60, 6, 40, True, 0.3, math.inf),
    (4, 6, 40, False, 0.1, 2.0),
    (40, 6, 40, True, 0.0, 0.5),
    (3, 4, 1000, True, 0.0, math.inf),
    (5, 4, 1000, True, 0.0, math.inf),
    (30, 4, 1000, False, 0.05, 3.0),
]


@pytest.mark.parametrize("N,d,T,center,ridge,tau", CASES)
def test_sampling_distribution_matches_dense_propagation(N, d, T, center, ridge, tau):
    X, _ = data(N, d, seed=10 * N + d, shift=2.0, rotate=True)
    q = ddpm.sampling_distribution(X, T=T, ridge=ridge, train_time=tau, center=center)
    m, S = dense_reverse_chain(X, T, ridge, tau, center)
    np.testing.assert_allclose(q.cov, S, rtol=1e-10, atol=1e-11 * np.abs(S).max())
    np.testing.assert_allclose(q.mean, m, rtol=1e-10, atol=1e-11 * (1 + np.abs(m).max()))
    # the same numbers through the public lower-level functions
    fit = ddpm.empirical_spectrum(X, center=center)
    betas, abars = ddpm.linear_schedule(T)
    s, p = ddpm.sampler_variances(ddpm.flow_weights(fit.eigvals, abars, ridge, tau), betas, abars)
    np.testing.assert_allclose(np.sort(s), q.eigvals, rtol=1e-10)


def test_converged_mean_closed_form():
    X, _ = data(8, 5, seed=12, shift=3.0, rotate=True)
    q = ddpm.sampling_distribution(X)
    _, abars = ddpm.linear_schedule()
    a = abars[-1]
    xbar, C = dense_moments(X, True)
    expected = (1 - a) * np.linalg.solve(a * C + (1 - a) * np.eye(5), xbar)
    np.testing.assert_allclose(q.mean, expected, atol=1e-10)
    assert np.all(ddpm.sampling_distribution(X, center=False).mean == 0.0)


def test_monte_carlo_of_the_reverse_chain():
    """Run u_{t-1} = (u_t - beta_t/sqrt(1 - abar_t) eps(u_t, t))/sqrt(1 - beta_t) + sqrt(beta_t) z_t."""
    rng = np.random.default_rng(20)
    X, _ = data(3, 3, seed=21, shift=2.0, rotate=True)  # N = d: one null direction (centered)
    T, n, d = 1000, 20_000, 3
    betas, abars = loop_schedule(T)
    xbar, C = dense_moments(X, True)
    u = rng.standard_normal((n, d))
    for t in range(T, 0, -1):
        b, ab = betas[t - 1], abars[t - 1]
        W = dense_weights(C, ab, 0.0, math.inf)
        eps_hat = u @ W.T - math.sqrt(ab) * W @ xbar
        u = (u - b / math.sqrt(1 - ab) * eps_hat) / math.sqrt(1 - b) + math.sqrt(b) * rng.standard_normal((n, d))
    q = ddpm.sampling_distribution(X, T=T)
    emp_cov = np.cov(u.T)
    assert rel_fro(emp_cov, q.cov) < 3 * math.sqrt(2 * d / n)
    se = np.sqrt(np.diag(q.cov) / n)
    assert np.all(np.abs(u.mean(axis=0) - q.mean) < 4 * se)
    # the null direction of the data has sampled variance sigma_1^2 = beta_1
    v0 = q.eigvecs[:, 0]
    assert q.eigvals[0] == pytest.approx(betas[0], rel=1e-10)
    assert np.var(u @ v0) == pytest.approx(betas[0], rel=4 * math.sqrt(2 / n))


def test_transfer_function_facts_and_product_formula():
    c = np.array([0.0, 0.01, 0.1, 1.0, 5.0, 20.0, 60.0])
    g = ddpm.transfer_function(c)
    betas, abars = ddpm.linear_schedule()
    s, _ = ddpm.sampler_variances(ddpm.minimizer_weights(c, abars), betas, abars)
    np.testing.assert_allclose(g, s, rtol=1e-12)
    # reverse recursion s_{t-1} = a_t^2 s_t + beta_t from s_T = 1, one direction at a time
    for ci, gi in zip(c, g):
        s_rec = 1.0
        for t in range(1000, 0, -1):
            v_t, v_prev = abars[t - 1] * ci + 1 - abars[t - 1], (abars[t - 2] * ci + 1 - abars[t - 2]) if t > 1 else ci
            a = math.sqrt(1 - betas[t - 1]) * v_prev / v_t
            s_rec = a * a * s_rec + betas[t - 1]
        assert gi == pytest.approx(s_rec, rel=1e-10, abs=1e-15)
    assert g[0] == pytest.approx(betas[0], rel=1e-12)
    for T in (10, 100, 1000):
        assert ddpm.transfer_function(np.array(1.0), T) == pytest.approx(1.0, abs=1e-12)
    assert abs(g[5] - 19.70) < 0.01 and abs(g[6] - 55.34) < 0.01 and abs(g[2] - 0.10048) < 1e-5
    assert ddpm.transfer_function(np.array(20.0), T=100) == pytest.approx(2.2, abs=0.05)


def test_continuum_limit_of_the_transfer_function():
    c = np.array([0.01, 0.3, 1.0, 5.0, 60.0])
    T = 100_000
    g = ddpm.transfer_function(c, T, 1e-4 * 1000 / T, 1e-2 * 1000 / T)
    _, abars = ddpm.linear_schedule(T, 1e-4 * 1000 / T, 1e-2 * 1000 / T)
    gc = ddpm.continuum_transfer(c, abars[-1])
    np.testing.assert_allclose(g, gc, rtol=2e-3)
    assert ddpm.continuum_transfer(np.array(1.0), 0.3) == pytest.approx(1.0)


def test_null_space_variance_and_infinite_kl_without_last_step_noise():
    X, target = data(20, 50, seed=30)
    fit = ddpm.empirical_spectrum(X, center=True)
    s, _ = ddpm.sampling_moments(fit)
    null = fit.eigvals == 0
    assert null.sum() == 31
    np.testing.assert_allclose(s[null], 1.099e-4, rtol=1e-10)
    ts, st = ddpm.sampling_kl(fit, target)
    assert ts > 100 and 1 < st < 10
    s0, _ = ddpm.sampling_moments(fit, last_step_noise=False)
    assert np.all(s0[null] == 0.0) and np.all(s0[~null] > 0)
    with np.errstate(all="raise"):
        assert ddpm.sampling_kl(fit, target, last_step_noise=False) == (math.inf, math.inf)
    q0 = Gaussian.from_eigh(np.zeros(50), s0, fit.eigvecs)
    assert kl_divergence(target, q0) == math.inf and kl_divergence(q0, target) == math.inf
    # with a ridge the null directions keep a finite variance even without last-step noise
    s_r, _ = ddpm.sampling_moments(fit, ridge=0.1, last_step_noise=False)
    assert np.all(s_r > 1e-3)


@pytest.mark.parametrize("N,center,ridge,tau", [(10, True, 0.0, math.inf), (10, False, 0.2, math.inf),
                                                (40, True, 0.0, 1.0), (200, False, 0.0, math.inf)])
def test_sampling_kl_matches_generic_kl(N, center, ridge, tau):
    X, target = data(N, 30, seed=N, shift=0.5, rotate=True)
    fit = ddpm.empirical_spectrum(X, center=center)
    q = Gaussian.from_eigh(*reversed(ddpm.sampling_moments(fit, ridge=ridge, train_time=tau)), fit.eigvecs)
    ref = ddpm.kl_per_dimension(q, target)
    got = ddpm.sampling_kl(fit, target, ridge=ridge, train_time=tau)
    np.testing.assert_allclose(got, ref, rtol=1e-8)
    if center:
        ref2 = ddpm.kl_per_dimension(ddpm.sampling_distribution(X, ridge=ridge, train_time=tau), target)
        np.testing.assert_allclose(got, ref2, rtol=1e-8)


def test_population_kl_facts():
    vals = [ddpm.population_kl(ddpm.power_law_spectrum(100, k)) for k in (0, 1, 2)]
    assert vals[0][0] < 1e-12 and vals[0][1] < 1e-12
    np.testing.assert_allclose(vals[1][0], 1.44e-6, rtol=1e-2)
    np.testing.assert_allclose(vals[2][0], 6.35e-5, rtol=1e-2)
    np.testing.assert_allclose(vals[2][1], vals[2][0], rtol=1e-2)
    # the same number through the product formula with C = Sigma
    lam = ddpm.power_law_spectrum(100, 2)
    fit = ddpm.EmpiricalSpectrum(lam, np.eye(100), np.zeros(100), 10**9, False)
    np.testing.assert_allclose(ddpm.sampling_kl(fit, ddpm.power_law_target(100, 2)), vals[2], rtol=1e-8)


# --------------------------------------------------------------------------- losses


@pytest.mark.parametrize("center", [True, False])
def test_train_and_test_loss_match_dense_traces(center):
    X, target = data(8, 5, seed=40, shift=1.0, rotate=True)
    fit = ddpm.empirical_spectrum(X, center=center)
    _, abars = ddpm.linear_schedule()
    sel = abars[[0, 49, 499]]
    w = ddpm.flow_weights(fit.eigvals, sel, 0.1, 3.0)
    train, test = ddpm.train_loss(fit, w, sel), ddpm.test_loss(fit, target, w, sel)
    xbar, _ = dense_moments(X, center)
    for i, ab in enumerate(sel):
        W = (fit.eigvecs * w[i]) @ fit.eigvecs.T
        b = -math.sqrt(ab) * W @ xbar
        assert train[i] == pytest.approx(noise_averaged_loss(W, b, X, ab), rel=1e-10)
        dense_test = (np.sum((np.eye(5) - math.sqrt(1 - ab) * W) ** 2) + ab * np.trace(W @ target.cov @ W.T)
                      + np.sum((math.sqrt(ab) * W @ target.mean + b) ** 2))
        assert test[i] == pytest.approx(dense_test, rel=1e-10)
    # Monte Carlo over fresh data at one step
    rng = np.random.default_rng(41)
    x = target.sample(200_000, rng)
    W = (fit.eigvecs * w[1]) @ fit.eigvecs.T
    b = -math.sqrt(sel[1]) * W @ xbar
    per = np.sum((math.sqrt(sel[1]) * x @ W.T + b) ** 2, axis=1) + np.sum((np.eye(5) - math.sqrt(1 - sel[1]) * W) ** 2)
    assert abs(per.mean() - test[1]) < 4 * per.std() / math.sqrt(x.shape[0])


def test_converged_losses_closed_forms_and_gap():
    X, target = data(50, 100, seed=3)
    fit = ddpm.empirical_spectrum(X, center=False)
    _, abars = ddpm.linear_schedule()
    w = ddpm.minimizer_weights(fit.eigvals, abars)
    train = ddpm.train_loss(fit, w, abars)
    x = abars[:, None] * fit.eigvals
    np.testing.assert_allclose(train, np.sum(x / (x + 1 - abars[:, None]), axis=1), rtol=1e-10)
    assert train[0] / 100 == pytest.approx(0.4999, abs=1e-4)
    test = ddpm.test_loss(fit, target, w, abars)
    # null directions: each adds abar/(1-abar) v^T Sigma v at small t
    null = fit.eigvecs[:, fit.eigvals == 0]
    perp = np.trace(null.T @ target.cov @ null)
    approx = fit.rank + abars[0] / (1 - abars[0]) * perp
    assert test[0] == pytest.approx(approx, rel=1e-3)
    assert test[0] / 100 > 1000 and train[0] / 100 < 0.5
    np.testing.assert_allclose(ddpm.optimal_loss(np.array([1.0, 2.0]), abars[:1]),
                               abars[0] / (abars[0] + 1 - abars[0]) + 2 * abars[0] / (2 * abars[0] + 1 - abars[0]))


def test_deterministic_equivalents_match_simulation_and_facts():
    lam = ddpm.power_law_spectrum(100, 1)
    _, abars = ddpm.linear_schedule()
    sel = abars[[0, 9, 99, 299, 999]]
    tr, te = ddpm.deterministic_equivalent_losses(lam, 50, sel)
    assert te[0] / 100 == pytest.approx(2168.2, rel=1e-4)
    assert tr[2] / 100 == pytest.approx(0.44886, rel=1e-4)
    for N, ridge in ((50, 0.0), (200, 0.0), (50, 0.3)):
        tr, te = ddpm.deterministic_equivalent_losses(lam, N, sel, ridge)
        sims = []
        for seed in range(6):
            X, target = ddpm.power_law_training_set(N, 100, 1.0, np.random.default_rng(seed))
            fit = ddpm.empirical_spectrum(X, center=False)
            w = ddpm.minimizer_weights(fit.eigvals, sel, ridge)
            sims.append((ddpm.train_loss(fit, w, sel), ddpm.test_loss(fit, target, w, sel)))
        sims = np.mean(sims, axis=0)
        np.testing.assert_allclose(tr, sims[0], rtol=0.02)
        np.testing.assert_allclose(te, sims[1], rtol=0.02)
    # an array of N gives one row per N, equal to the scalar calls
    tr_arr, te_arr = ddpm.deterministic_equivalent_losses(lam, np.array([20, 50, 400]), sel)
    assert tr_arr.shape == te_arr.shape == (3, 5)
    for i, N in enumerate((20, 50, 400)):
        np.testing.assert_allclose(np.array(ddpm.deterministic_equivalent_losses(lam, N, sel)),
                                   [tr_arr[i], te_arr[i]], rtol=1e-12)
    # N -> inf: the optimum
    tr, te = ddpm.deterministic_equivalent_losses(lam, 10**9, sel)
    np.testing.assert_allclose(te, ddpm.optimal_loss(lam, sel), rtol=1e-6)
    np.testing.assert_allclose(tr, ddpm.optimal_loss(lam, sel), rtol=1e-6)


# --------------------------------------------------------------------------- the d/N law


@pytest.mark.parametrize("center", [False, True])
def test_wishart_expectation_matches_simulation(center):
    rng = np.random.default_rng(50)
    d, N, reps = 4, 14, 3000
    ts_ref, st_ref = ddpm.wishart_kl_expectation(d, N, center=center)
    p = Gaussian(np.zeros(d), np.eye(d))
    ts, st = [], []
    for _ in range(reps):
        X = rng.standard_normal((N, d))
        m = X.mean(axis=0) if center else np.zeros(d)
        qhat = Gaussian(m, (X - m).T @ (X - m) / N)
        ts.append(kl_divergence(p, qhat) / d)
        st.append(kl_divergence(qhat, p) / d)
    for sim, ref in ((ts, ts_ref), (st, st_ref)):
        sim = np.asarray(sim)
        assert abs(sim.mean() - ref) < 4 * sim.std() / math.sqrt(reps)


def test_wishart_facts_limits_and_infinities():
    np.testing.assert_allclose(ddpm.wishart_kl_expectation(100, 400), (0.09970, 0.06920), rtol=1e-4)
    # leading term d(d+1)/(4N) in total, both directions
    d, N = 20, 10**6
    ts, st = ddpm.wishart_kl_expectation(d, N)
    np.testing.assert_allclose(np.array([ts, st]) * d, d * (d + 1) / (4 * N), rtol=1e-3)
    # proportional limit
    np.testing.assert_allclose(ddpm.proportional_kl_limit(0.25), (0.098190, 0.068477), rtol=1e-4)
    np.testing.assert_allclose(ddpm.proportional_kl_limit(0.1), (0.029678, 0.025878), rtol=1e-4)
    np.testing.assert_allclose(ddpm.wishart_kl_expectation(2000, 8000), ddpm.proportional_kl_limit(0.25), rtol=2e-3)
    q = np.array([0.0, 1e-6, 1e-3, 0.5, 1.0, 2.0])
    ts, st = ddpm.proportional_kl_limit(q)
    assert ts[0] == st[0] == 0.0 and np.isinf(ts[4:]).all() and np.isinf(st[4:]).all()
    np.testing.assert_allclose(ts[1:3], q[1:3] / 4 + 5 * q[1:3] ** 2 / 12, rtol=1e-5)
    np.testing.assert_allclose(st[1:3], q[1:3] / 4 + q[1:3] ** 2 / 12, rtol=1e-5)
    # infinite expectations: t||s needs n > d + 1, s||t needs n >= d
    assert ddpm.wishart_kl_expectation(10, 11)[0] == math.inf and math.isfinite(ddpm.wishart_kl_expectation(10, 11)[1])
    assert ddpm.wishart_kl_expectation(10, 10, center=True) == (math.inf, math.inf)
    assert math.isfinite(ddpm.wishart_kl_expectation(10, 12)[0])


def test_model_follows_the_d_over_N_law():
    """Mean excess KL per dimension at d = 100, N = 400 within 3% of the exact Wishart value."""
    d, N = 100, 400
    ref = np.array(ddpm.wishart_kl_expectation(d, N))
    for k in (0.0, 1.0):
        kl_inf = np.array(ddpm.population_kl(ddpm.power_law_spectrum(d, k)))
        excess = []
        for seed in range(20):
            X, target = ddpm.power_law_training_set(N, d, k, np.random.default_rng(seed))
            excess.append(np.array(ddpm.sampling_kl(ddpm.empirical_spectrum(X, center=False), target)) - kl_inf)
        np.testing.assert_allclose(np.mean(excess, axis=0), ref, rtol=0.03)


def test_ridge_and_early_stopping_have_interior_optima():
    d, N, k = 100, 50, 1.0
    ridges = np.array([0.01, 0.03, 0.1, 0.3, 1.0, 3.0])
    taus = np.array([0.1, 0.3, 1.0, 3.0, 10.0, 100.0])
    kr, kt, k0 = [], [], []
    for seed in range(3):
        X, target = ddpm.power_law_training_set(N, d, k, np.random.default_rng(seed))
        fit = ddpm.empirical_spectrum(X, center=False)
        k0.append(ddpm.sampling_kl(fit, target)[0])
        kr.append([ddpm.sampling_kl(fit, target, ridge=r)[0] for r in ridges])
        kt.append([ddpm.sampling_kl(fit, target, train_time=t)[0] for t in taus])
    kr, kt = np.mean(kr, axis=0), np.mean(kt, axis=0)
    assert np.mean(k0) > 500
    assert 0.1 <= ridges[kr.argmin()] <= 1.0 and kr.min() < 0.3
    assert 0.5 <= taus[kt.argmin()] <= 3.0 and kt.min() < 0.3


# --------------------------------------------------------------------------- performance and hygiene


def test_sampling_distribution_is_fast_at_d400_T1000():
    import time

    X, _ = ddpm.power_law_training_set(800, 400, 1.0, np.random.default_rng(0))
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        ddpm.sampling_distribution(X, T=1000)
        times.append(time.perf_counter() - t0)
    assert min(times) < 1.0  # typically 0.05-0.15 s; generous for a loaded CI machine


def test_no_warnings_in_degenerate_valid_cases():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        X = np.zeros((3, 4))
        X[0, 0] = 1.0  # rank-one data
        fit = ddpm.empirical_spectrum(X)
        s, m = ddpm.sampling_moments(fit, train_time=0.0)
        assert np.all(np.isfinite(s)) and np.all(s > 0)
        ddpm.sampling_distribution(X, ridge=0.0, train_time=math.inf)
        ddpm.sampling_distribution(np.ones((2, 1)) * [[1.0], [2.0]], T=1)
        ddpm.transfer_function(np.array([0.0, 1e-300, 1e300]))
        ddpm.proportional_kl_limit(np.array([0.0, 1.0, 5.0]))
        ddpm.flow_weights(np.array([0.0]), np.array([0.5]), 0.0, math.inf)
        ddpm.deterministic_equivalent_losses(np.ones(10), 2, np.array([0.999999, 1e-6]))


# --------------------------------------------------------------------------- bad input

GOOD_X = np.random.default_rng(0).normal(size=(5, 3))
AB = np.array([0.5, 0.9])
FIT = ddpm.empirical_spectrum(GOOD_X)
TARGET = ddpm.power_law_target(3, 1.0)
W2 = np.zeros((2, 3))


@pytest.mark.parametrize(
    "call,exc,name",
    [
        (lambda: ddpm.linear_schedule(T=0), ValueError, "T"),
        (lambda: ddpm.linear_schedule(T=10.0), TypeError, "T"),
        (lambda: ddpm.linear_schedule(beta_min=0.0), ValueError, "beta_min"),
        (lambda: ddpm.linear_schedule(beta_max=1.0), ValueError, "beta_max"),
        (lambda: ddpm.linear_schedule(beta_max=float("nan")), ValueError, "beta_max"),
        (lambda: ddpm.power_law_spectrum(0, 1.0), ValueError, "d"),
        (lambda: ddpm.power_law_spectrum(5, -1.0), ValueError, "k"),
        (lambda: ddpm.power_law_spectrum(5, "1"), TypeError, "k"),
        (lambda: ddpm.power_law_target(3, 1.0, mean=np.zeros(2)), ValueError, "mean"),
        (lambda: ddpm.power_law_training_set(1, 3, 1.0, np.random.default_rng(0)), ValueError, "N"),
        (lambda: ddpm.power_law_training_set(5, 3, 1.0, 0), TypeError, "rng"),
        (lambda: ddpm.empirical_spectrum(np.ones(5)), ValueError, "X"),
        (lambda: ddpm.empirical_spectrum(np.ones((1, 3))), ValueError, "X"),
        (lambda: ddpm.empirical_spectrum(GOOD_X, center=1), TypeError, "center"),
        (lambda: ddpm.EmpiricalSpectrum(np.ones(3), 2 * np.eye(3), np.zeros(3), 5, True), ValueError, "eigvecs"),
        (lambda: ddpm.EmpiricalSpectrum(-np.ones(3), np.eye(3), np.zeros(3), 5, True), ValueError, "eigvals"),
        (lambda: ddpm.EmpiricalSpectrum(np.ones(3), np.eye(3), np.zeros(2), 5, True), ValueError, "mean"),
        (lambda: ddpm.EmpiricalSpectrum(np.ones(3), np.eye(3), np.zeros(3), 0, True), ValueError, "n_samples"),
        (lambda: ddpm.sampling_distribution(np.full((4, 2), np.nan)), ValueError, "X"),
        (lambda: ddpm.sampling_distribution(GOOD_X[:1]), ValueError, "X"),
        (lambda: ddpm.sampling_distribution(GOOD_X, T=0), ValueError, "T"),
        (lambda: ddpm.sampling_distribution(GOOD_X, ridge=-0.1), ValueError, "ridge"),
        (lambda: ddpm.sampling_distribution(GOOD_X, train_time=-1.0), ValueError, "train_time"),
        (lambda: ddpm.sampling_distribution(GOOD_X, beta_min=1.5), ValueError, "beta_min"),
        (lambda: ddpm.sampling_distribution(GOOD_X, beta_max=-0.01), ValueError, "beta_max"),
        (lambda: ddpm.sampling_distribution(GOOD_X, center="yes"), TypeError, "center"),
        (lambda: ddpm.minimizer_weights(np.array([-1.0]), AB), ValueError, "eigvals"),
        (lambda: ddpm.minimizer_weights(np.array([1.0]), np.array([1.0])), ValueError, "alpha_bars"),
        (lambda: ddpm.minimizer_weights(np.array([1.0]), AB, ridge=-1), ValueError, "ridge"),
        (lambda: ddpm.relaxation_rates(np.ones((2, 2)), AB), ValueError, "eigvals"),
        (lambda: ddpm.flow_weights(np.ones(3), AB, train_time=float("nan")), ValueError, "train_time"),
        (lambda: ddpm.gd_weights(np.ones(3), AB, lr=10.0), ValueError, "lr"),
        (lambda: ddpm.gd_weights(np.ones(3), AB, steps=-1), ValueError, "steps"),
        (lambda: ddpm.sampler_variances(np.zeros((3, 3)), np.array([0.1, 0.1]), AB), ValueError, "weights"),
        (lambda: ddpm.sampler_variances(W2, np.array([0.1, 1.1]), AB), ValueError, "betas"),
        (lambda: ddpm.sampler_variances(W2, np.array([0.1, 0.1]), AB, sigma2=[-1, 0]), ValueError, "sigma2"),
        (lambda: ddpm.sampling_moments(GOOD_X), TypeError, "fit"),
        (lambda: ddpm.sampling_moments(FIT, last_step_noise=0), TypeError, "last_step_noise"),
        (lambda: ddpm.sampling_moments(FIT, T=-3), ValueError, "T"),
        (lambda: ddpm.transfer_function(np.array([-1.0])), ValueError, "c"),
        (lambda: ddpm.transfer_function(np.array([1.0]), T=0), ValueError, "T"),
        (lambda: ddpm.continuum_transfer(np.array([1.0]), 1.0), ValueError, "alpha_bar_T"),
        (lambda: ddpm.continuum_transfer(np.array([-1.0]), 0.5), ValueError, "c"),
        (lambda: ddpm.train_loss(GOOD_X, W2, AB), TypeError, "fit"),
        (lambda: ddpm.train_loss(FIT, np.zeros((2, 4)), AB), ValueError, "weights"),
        (lambda: ddpm.test_loss(FIT, "target", W2, AB), TypeError, "target"),
        (lambda: ddpm.test_loss(FIT, ddpm.power_law_target(4, 1.0), W2, AB), ValueError, "target"),
        (lambda: ddpm.test_loss(FIT, TARGET, W2, np.array([0.5, 0.0])), ValueError, "alpha_bars"),
        (lambda: ddpm.optimal_loss(np.array([np.inf]), AB), ValueError, "spectrum"),
        (lambda: ddpm.deterministic_equivalent_losses(np.array([1.0, 0.0]), 5, AB), ValueError, "spectrum"),
        (lambda: ddpm.deterministic_equivalent_losses(np.ones(3), 0, AB), ValueError, "N"),
        (lambda: ddpm.deterministic_equivalent_losses(np.ones(3), 5, AB, ridge=-1.0), ValueError, "ridge"),
        (lambda: ddpm.sampling_kl(FIT, Gaussian(np.zeros(3), np.diag([1.0, 1.0, 0.0]))), ValueError, "target"),
        (lambda: ddpm.sampling_kl(FIT, TARGET, train_time=-2.0), ValueError, "train_time"),
        (lambda: ddpm.kl_per_dimension(FIT, TARGET), TypeError, "samples"),
        (lambda: ddpm.kl_per_dimension(TARGET, np.eye(3)), TypeError, "target"),
        (lambda: ddpm.population_kl(np.array([1.0, 0.0])), ValueError, "spectrum"),
        (lambda: ddpm.population_kl(np.ones(3), T=0), ValueError, "T"),
        (lambda: ddpm.wishart_kl_expectation(0, 5), ValueError, "d"),
        (lambda: ddpm.wishart_kl_expectation(3, 1), ValueError, "N"),
        (lambda: ddpm.wishart_kl_expectation(3, 5, center=None), TypeError, "center"),
        (lambda: ddpm.proportional_kl_limit(-0.5), ValueError, "ratio"),
        (lambda: ddpm.proportional_kl_limit(float("nan")), ValueError, "ratio"),
    ],
)
def test_bad_input_names_the_parameter(call, exc, name):
    with pytest.raises(exc, match=rf"\b{name}\b"):
        call()


def test_kl_scan_matches_sampling_kl_and_is_independent_of_k_for_the_refit():
    out = ddpm.kl_scan(20, 1.0, 30, seeds=[0, 1], ridges=[0.0, 0.2], train_times=[1.0, math.inf])
    assert out.shape == (2, 2, 2, 2)
    X, target = ddpm.power_law_training_set(30, 20, 1.0, np.random.default_rng(1))
    fit = ddpm.empirical_spectrum(X, center=False)
    np.testing.assert_allclose(out[1, 1, 0], ddpm.sampling_kl(fit, target, ridge=0.2, train_time=1.0), rtol=1e-12)
    # same seeds, different k: the whitened data coincide, so the refitted Gaussian has the same KL
    refit = []
    for k in (0.0, 2.0):
        X, target = ddpm.power_law_training_set(30, 20, k, np.random.default_rng(1))
        refit.append(kl_divergence(target, Gaussian(np.zeros(20), X.T @ X / 30)))
    assert refit[0] == pytest.approx(refit[1], rel=1e-9)
    with pytest.raises(ValueError, match="ridges"):
        ddpm.kl_scan(5, 1.0, 10, seeds=[0], ridges=[-1.0])
    with pytest.raises(TypeError, match="seeds"):
        ddpm.kl_scan(5, 1.0, 10, seeds=[0.5])
    with pytest.raises(ValueError, match="train_times"):
        ddpm.kl_scan(5, 1.0, 10, seeds=[0], train_times=[-1.0])


# --------------------------------------------------------------------------- grids and generalization maps


@pytest.mark.parametrize("center", [False, True])
def test_kl_grid_matches_dense_propagation_and_generic_kl(center):
    """Every grid point against d x d propagation (expm weights) and lindiff.kl_divergence."""
    X, target = data(4, 6, seed=3, shift=0.7 if center else 0.0, rotate=True)
    fit = ddpm.empirical_spectrum(X, center=center)
    ridges, taus = [0.0, 0.2], [0.5, 5.0, math.inf]
    grid = ddpm.kl_grid(fit, target, ridges, taus, T=60)
    assert grid.shape == (2, 3, 2)
    d = X.shape[1]
    for i, r in enumerate(ridges):
        for j, tau in enumerate(taus):
            m, S = dense_reverse_chain(X, 60, ridge=r, tau=tau, center=center)
            q = Gaussian(m, S)
            ref = (kl_divergence(target, q) / d, kl_divergence(q, target) / d)
            np.testing.assert_allclose(grid[i, j], ref, rtol=1e-8)


def test_kl_grid_matches_dense_matrix_gradient_descent():
    """Gradient descent on the dense d x d loss at every step, then the dense reverse chain:
    the KL tends to the flow's, kl_grid at tau = lr n, with an error of first order in lr."""
    T, d, N = 40, 4, 3
    X, target = data(N, d, seed=5, rotate=True)
    betas, abars = loop_schedule(T)
    _, M = dense_moments(X, False)
    tau = 2.0
    errs = []
    for lr in (0.02, 0.01):
        n = int(round(tau / lr))
        m, S = np.zeros(d), np.eye(d)
        for t in range(T, 0, -1):
            b, ab = betas[t - 1], abars[t - 1]
            H = ab * M + (1 - ab) * np.eye(d)
            W = np.zeros((d, d))
            for _ in range(n):  # explicit matrix gradient descent on L_t, from W = 0
                W -= lr * (2 * W @ H - 2 * math.sqrt(1 - ab) * np.eye(d))
            A = (np.eye(d) - b / math.sqrt(1 - ab) * W) / math.sqrt(1 - b)
            S = A @ S @ A.T + b * np.eye(d)
        q = Gaussian(m, S)
        gd = np.array([kl_divergence(target, q), kl_divergence(q, target)]) / d
        flow = ddpm.kl_grid(ddpm.empirical_spectrum(X, center=False), target, [0.0], [tau], T=T)[0, 0]
        errs.append(np.max(np.abs(gd / flow - 1)))
    assert errs[0] < 0.05 and errs[1] < 0.6 * errs[0]  # first order in lr: halving lr halves the error


def test_kl_scan_and_generalization_scan_agree_with_sampling_kl():
    ratios = np.array([0.5, 1.5])
    out = ddpm.generalization_scan(10, 1.0, ratios, seeds=[0, 2], ridges=[0.0, 0.1], train_times=[0.7, math.inf])
    assert out.shape == (2, 2, 2, 2, 2)
    for i, r in enumerate(ratios):
        X, target = ddpm.power_law_training_set(int(round(10 * r)), 10, 1.0, np.random.default_rng(2))
        fit = ddpm.empirical_spectrum(X, center=False)
        for a, ridge in enumerate((0.0, 0.1)):
            for b, tau in enumerate((0.7, math.inf)):
                np.testing.assert_allclose(out[i, 1, a, b], ddpm.sampling_kl(fit, target, ridge=ridge, train_time=tau),
                                           rtol=1e-12)
    with pytest.raises(ValueError, match="ratios"):
        ddpm.generalization_scan(10, 1.0, [0.1], seeds=[0])       # N = 1 training point
    with pytest.raises(ValueError, match="ridges"):
        ddpm.kl_grid(fit, target, ridges=[-0.1])
    with pytest.raises(ValueError, match="train_times"):
        ddpm.kl_grid(fit, target, train_times=[])
    with pytest.raises(TypeError, match="fit"):
        ddpm.kl_grid(X, target)


def test_kl_grid_large_grid_is_chunked_and_identical():
    X, target = ddpm.power_law_training_set(30, 20, 1.0, np.random.default_rng(0))
    fit = ddpm.empirical_spectrum(X, center=False)
    ridges, taus = np.geomspace(1e-3, 1.0, 5), np.geomspace(0.1, 100.0, 7)
    whole = ddpm._kl_on_grid(fit, target, 200, list(ridges), list(taus), 1e-4, 1e-2)
    chunked = ddpm._kl_on_grid(fit, target, 200, list(ridges), list(taus), 1e-4, 1e-2, max_elements=1)
    np.testing.assert_array_equal(whole, chunked)


def test_grid_minimum_is_exact_for_a_log_parabola_and_keeps_edges():
    x = np.geomspace(1e-2, 1e2, 13)
    x0, y0 = 0.37, 0.05
    y = y0 * np.exp(0.8 * (np.log(x) - math.log(x0)) ** 2)
    xm, ym = ddpm.grid_minimum(x, y)
    assert xm == pytest.approx(x0, rel=1e-10) and ym == pytest.approx(y0, rel=1e-10)
    rows = np.stack([y, x, 1 / x])                   # interior, left edge, right edge
    xs, ys = ddpm.grid_minimum(x, rows)
    np.testing.assert_allclose(xs, [x0, x[0], x[-1]], rtol=1e-10)
    np.testing.assert_allclose(ys, [y0, x[0], 1 / x[-1]], rtol=1e-10)
    with pytest.raises(ValueError, match="x must"):
        ddpm.grid_minimum([1.0, 0.5, 2.0], [1.0, 0.5, 2.0])
    with pytest.raises(ValueError, match="y must"):
        ddpm.grid_minimum(x, -y)


def test_generalization_optima_move_smoothly_with_N_over_d():
    """The facts the chapter states about the optima across N/d (d = 40: same trends, cheaper)."""
    ratios = np.array([0.25, 0.5, 2.0, 4.0])
    taus, ridges = np.geomspace(0.05, 200, 15), np.geomspace(1e-3, 10, 15)
    kt = ddpm.generalization_scan(40, 1.0, ratios, range(3), train_times=np.r_[taus, math.inf]).mean(axis=1)[:, 0, :, 0]
    kr = ddpm.generalization_scan(40, 1.0, ratios, range(3), ridges=ridges).mean(axis=1)[:, :, 0, 0]
    tau_opt, kl_tau = ddpm.grid_minimum(taus, kt[:, :-1])
    ridge_opt, kl_ridge = ddpm.grid_minimum(ridges, kr)
    assert np.all((tau_opt > taus[0]) & (tau_opt < taus[-1]))    # interior at every N/d, also N > d
    assert np.all(np.diff(tau_opt) > 0) and np.all(np.diff(ridge_opt) < 0)
    assert np.all(kl_tau < kt[:, -1])                            # early stopping beats convergence
    assert np.all(np.diff(kl_tau) < 0) and np.all(np.diff(kl_ridge) < 0)


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: ddpm.grid_minimum([1.0, 2.0, 3.0], [1.0, math.nan, 2.0]), ValueError, "y"),
        (lambda: ddpm.grid_minimum([1.0, math.nan, 3.0], [1.0, 0.5, 2.0]), ValueError, "x"),
        (lambda: ddpm.generalization_scan(10, 1.0, [math.nan], seeds=[0]), ValueError, "ratios"),
        (lambda: ddpm.generalization_scan(10, 1.0, [1.0], seeds=[0.5]), TypeError, "seeds"),
        (lambda: ddpm.generalization_scan(10.5, 1.0, [1.0], seeds=[0]), TypeError, "d"),
        (lambda: ddpm.kl_grid(*_small_fit(), T=2.5), TypeError, "T"),
        (lambda: ddpm.kl_grid(*_small_fit(), beta_max=1.5), ValueError, "beta_max"),
    ],
)
def test_new_scans_reject_bad_input_by_name(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


def _small_fit():
    X, target = ddpm.power_law_training_set(6, 4, 1.0, np.random.default_rng(0))
    return ddpm.empirical_spectrum(X, center=False), target
