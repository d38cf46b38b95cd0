"""lindiff.score against dense conditioning, Monte Carlo, finite differences and scipy's ODE solver."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.special import logsumexp

from lindiff import ddpm, empirical, onestep, score, steps
from lindiff.gaussian import Gaussian

ELL, T0 = math.exp(-4.0), 2.0


def random_gaussian(rng, d, rank=None, shift=1.0):
    """A Gaussian with a random mean and a random (possibly singular) covariance."""
    rank = d if rank is None else rank
    B = rng.normal(size=(d, rank))
    return Gaussian(shift * rng.normal(size=d), B @ B.T / rank + (0.3 * np.eye(d) if rank == d else 0.0))


def ou(t, ell):
    return math.exp(-t), ell * (1 - math.exp(-2 * t))


# --------------------------------------------------------------------------- the Gaussians
def test_empirical_gaussian_has_the_moments_of_the_data():
    rng = np.random.default_rng(0)
    for n, d in ((30, 5), (4, 6), (6, 6)):
        X = 2.0 + rng.normal(size=(n, d))
        p = score.empirical_gaussian(X)
        np.testing.assert_allclose(p.mean, X.mean(0), atol=1e-12)
        np.testing.assert_allclose(p.cov, np.cov(X.T, bias=True), atol=1e-12)
        assert p.rank == min(n - 1, d)
        q = score.empirical_gaussian(X, center=False)
        np.testing.assert_allclose(q.mean, 0.0)
        np.testing.assert_allclose(q.cov, X.T @ X / n, atol=1e-12)
        assert q.rank == min(n, d)


def test_noised_gaussian_is_the_law_of_the_forward_jump():
    rng = np.random.default_rng(1)
    p = random_gaussian(rng, 4, rank=2)
    a, h = 0.7, 0.2
    q = score.noised_gaussian(p, a, h)
    np.testing.assert_allclose(q.mean, a * p.mean)
    np.testing.assert_allclose(q.cov, a * a * p.cov + h * np.eye(4), atol=1e-12)
    assert not q.is_degenerate
    # Monte Carlo: a x_0 + sqrt(h) eps
    m = 200_000
    x = a * p.sample(m, rng) + math.sqrt(h) * rng.standard_normal((m, 4))
    assert np.linalg.norm(np.cov(x.T) - q.cov) / np.linalg.norm(q.cov) < 4 * math.sqrt(2 * 4 / m)


def test_score_is_the_gradient_of_the_log_density():
    rng = np.random.default_rng(2)
    p = random_gaussian(rng, 3, rank=1)            # degenerate clean law, smooth noised law
    a, h = 0.8, 0.05
    q = score.noised_gaussian(p, a, h)
    x = rng.normal(size=(5, 3))
    step = 1e-6
    fd = np.stack([(q.logpdf(x + step * e) - q.logpdf(x - step * e)) / (2 * step) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(score.gaussian_score(x, p, a, h), fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(score.gaussian_score(x[0], p, a, h), score.gaussian_score(x, p, a, h)[0])


def test_denoiser_and_posterior_cov_equal_gaussian_conditioning():
    """Schur complement of the joint law of (x_0, x), with explicit inverses."""
    rng = np.random.default_rng(3)
    for rank in (4, 2):
        p = random_gaussian(rng, 4, rank=rank)
        a, h = 0.6, 0.3
        C, m = p.cov, p.mean
        S12, S22 = a * C, a * a * C + h * np.eye(4)
        K = S12 @ np.linalg.inv(S22)
        W, b = score.gaussian_denoiser(p, a, h)
        np.testing.assert_allclose(W, K, atol=1e-12)
        np.testing.assert_allclose(b, m - K @ (a * m), atol=1e-12)
        np.testing.assert_allclose(score.gaussian_posterior_cov(p, a, h), C - K @ S12.T, atol=1e-12)
        # the noise: Cov(eps, x) = sqrt(h) I
        We, be = score.gaussian_noise_predictor(p, a, h)
        np.testing.assert_allclose(We, math.sqrt(h) * np.linalg.inv(S22), atol=1e-12)
        np.testing.assert_allclose(be, -math.sqrt(h) * np.linalg.inv(S22) @ (a * m), atol=1e-12)


def test_tweedie_identities_for_a_gaussian():
    rng = np.random.default_rng(4)
    p = random_gaussian(rng, 3)
    a, h = 0.5, 0.4
    x = rng.normal(size=(6, 3))
    s = score.gaussian_score(x, p, a, h)
    W, b = score.gaussian_denoiser(p, a, h)
    We, be = score.gaussian_noise_predictor(p, a, h)
    np.testing.assert_allclose(x @ W.T + b, (x + h * s) / a, atol=1e-12)
    np.testing.assert_allclose(x @ We.T + be, -math.sqrt(h) * s, atol=1e-12)


def test_tweedie_posterior_mean_by_monte_carlo():
    """Self-normalized importance sampling of E[x_0 | x = y] from prior draws (no conjugacy used)."""
    rng = np.random.default_rng(5)
    p = random_gaussian(rng, 2)
    a, h = 0.8, 0.5
    y = np.array([0.3, -0.4])
    m = 400_000
    x0 = p.sample(m, rng)
    logw = -0.5 * np.sum((y - a * x0) ** 2, axis=1) / h
    w = np.exp(logw - logsumexp(logw))
    est = w @ x0
    se = np.sqrt(w**2 @ (x0 - est) ** 2)             # delta-method standard error
    W, b = score.gaussian_denoiser(p, a, h)
    assert np.all(np.abs(est - (W @ y + b)) < 5 * se), (est, W @ y + b, se)


def test_tweedie_for_the_empirical_mixture_matches_the_exact_empirical_denoiser():
    """Finite differences of ln p_t for p_emp, against lindiff.empirical (the copying denoiser)."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(5, 3))
    ab = 0.7
    a, h = math.sqrt(ab), 1 - ab

    def log_mixture(x):
        sq = np.sum((x[None, :] - a * X) ** 2, axis=1)
        return logsumexp(-0.5 * sq / h) - math.log(len(X)) - 1.5 * math.log(2 * math.pi * h)

    y = rng.normal(size=3)
    step = 1e-6
    grad = np.array([(log_mixture(y + step * e) - log_mixture(y - step * e)) / (2 * step) for e in np.eye(3)])
    np.testing.assert_allclose((y + h * grad) / a, empirical.empirical_denoiser(y, X, ab), atol=1e-7)
    np.testing.assert_allclose(-math.sqrt(h) * grad, empirical.empirical_noise_prediction(y, X, ab), atol=1e-7)


# --------------------------------------------------------------------------- the theorem
def test_onestep_noise_averaged_fit_is_the_empirical_gaussian_denoiser():
    rng = np.random.default_rng(7)
    for n, d in ((40, 6), (4, 6)):
        X = 10.0 + rng.normal(size=(n, d))
        for t in (0.3, T0):
            a, h = onestep.forward_coefficients(t, ELL)
            W, b = onestep.fit_denoiser(X, t, ELL)
            We, be = score.gaussian_denoiser(score.empirical_gaussian(X), a, h)
            np.testing.assert_allclose(We, W, atol=1e-10)
            np.testing.assert_allclose(be, b, atol=1e-9)


def test_ddpm_minimizer_is_the_empirical_gaussian_noise_predictor():
    """Tied bias (S), no bias (S_nc), and ridge = the Gaussian smoothed by ridge/ᾱ_t."""
    rng = np.random.default_rng(8)
    X = 1.5 + rng.normal(size=(5, 7)) * np.linspace(2, 0.5, 7)
    _, ab = ddpm.linear_schedule(1000)
    for center in (True, False):
        fit = ddpm.empirical_spectrum(X, center)
        p = score.empirical_gaussian(X, center)
        for t in (1, 50, 1000):
            abt = ab[t - 1]
            for ridge in (0.0, 0.3):
                w = ddpm.flow_weights(fit.eigvals, ab[t - 1 : t], ridge)[0]   # train_time = inf: the minimizer
                W_min = (fit.eigvecs * w) @ fit.eigvecs.T
                smooth = Gaussian(p.mean, p.cov + ridge / abt * np.eye(7))
                We, be = score.gaussian_noise_predictor(smooth, math.sqrt(abt), 1 - abt)
                scale = max(np.abs(W_min).max(), 1.0)
                np.testing.assert_allclose(We, W_min, atol=1e-9 * scale)
                np.testing.assert_allclose(be, -math.sqrt(abt) * W_min @ fit.mean, atol=1e-9 * scale)


def test_least_squares_loss_sees_only_two_moments():
    """The key step of the theorem: any affine (W, b) has the same noise-averaged loss under p_emp and N(x̄, S)."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(6, 3)) + 2.0
    p = score.empirical_gaussian(X)
    a, h = 0.7, 0.2
    m = 400_000
    for _ in range(3):
        W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
        resid = X @ (np.eye(3) - a * W).T - b             # exact noise average over each training point
        exact_emp = np.mean(np.sum(resid**2, axis=1)) + h * np.sum(W * W)
        x0 = p.sample(m, rng)
        eps = rng.standard_normal((m, 3))
        r = x0 - (a * x0 + math.sqrt(h) * eps) @ W.T - b
        losses = np.sum(r * r, axis=1)
        assert abs(losses.mean() - exact_emp) < 5 * losses.std() / math.sqrt(m)


# --------------------------------------------------------------------------- reverse processes
def _reverse_moments(p, start, T, ell, kind):
    """Mean and covariance ODEs of the reverse SDE / PF-ODE of the OU process, solved by scipy.

    Forward: dx = −x dt + sqrt(2ℓ) dB, score −P_t⁻¹(x − a_t m), P_t = a_t² C + h_t I. In reverse
    time s = T − t the SDE drift is u − 2ℓ P_t⁻¹(u − a_t m) with noise sqrt(2ℓ), the PF-ODE drift
    u − ℓ P_t⁻¹(u − a_t m) without noise; mean and covariance of a linear SDE obey these ODEs.
    """
    d = p.dim
    c = 2.0 if kind == "sde" else 1.0

    def rhs(s, y):
        t = T - s
        a, h = ou(t, ell)
        Pinv = np.linalg.inv(a * a * p.cov + h * np.eye(d))
        mu, S = y[:d], y[d:].reshape(d, d)
        K = np.eye(d) - c * ell * Pinv
        dmu = K @ mu + c * ell * Pinv @ (a * p.mean)
        dS = K @ S + S @ K.T + (2 * ell * np.eye(d) if kind == "sde" else 0.0)
        return np.concatenate([dmu, dS.ravel()])

    y0 = np.concatenate([start.mean, start.cov.ravel()])
    sol = solve_ivp(rhs, (0.0, T), y0, method="DOP853", rtol=1e-10, atol=1e-12)
    return sol.y[:d, -1], sol.y[d:, -1].reshape(d, d)


@pytest.mark.parametrize("kind", ["sde", "ode"])
def test_reverse_processes_against_scipy(kind):
    rng = np.random.default_rng(10)
    p = random_gaussian(rng, 3)
    start = random_gaussian(rng, 3)                     # any start: not p's own marginal, not commuting
    T, ell = 1.3, 0.6
    a, h = ou(T, ell)
    mu, S = _reverse_moments(p, start, T, ell, kind)
    out = (score.reverse_sde_output if kind == "sde" else score.pf_ode_output)(p, start, a, h)
    np.testing.assert_allclose(out.mean, mu, atol=1e-7)
    np.testing.assert_allclose(out.cov, S, atol=1e-7)


def test_pf_ode_trajectories_against_scipy():
    """Single points through the ODE (not only moments)."""
    rng = np.random.default_rng(11)
    p = random_gaussian(rng, 3)
    T, ell = 2.0, 0.3
    a, h = ou(T, ell)

    def rhs(s, u):
        at, ht = ou(T - s, ell)
        return u - ell * np.linalg.solve(at * at * p.cov + ht * np.eye(3), u - at * p.mean)

    for _ in range(3):
        u = rng.normal(size=3)
        end = solve_ivp(rhs, (0.0, T), u, method="DOP853", rtol=1e-11, atol=1e-12).y[:, -1]
        np.testing.assert_allclose(score.pf_ode_output(p, Gaussian(u, np.zeros((3, 3))), a, h).mean, end, atol=1e-7)


def test_exact_reverse_processes_from_the_own_marginal_return_p():
    rng = np.random.default_rng(12)
    p = random_gaussian(rng, 4, rank=2)
    a, h = 0.4, 0.5
    own = score.noised_gaussian(p, a, h)
    for f in (score.reverse_sde_output, score.pf_ode_output):
        out = f(p, own, a, h)
        np.testing.assert_allclose(out.mean, p.mean, atol=1e-12)
        np.testing.assert_allclose(out.cov, p.cov, atol=1e-12)


def test_degenerate_p_collapses_onto_its_support_from_any_start():
    rng = np.random.default_rng(13)
    p = random_gaussian(rng, 5, rank=2)
    start = random_gaussian(rng, 5)
    P = p.eigvecs[:, p.eigvals > 0]
    for f in (score.reverse_sde_output, score.pf_ode_output):
        out = f(p, start, 0.5, 0.3)
        resid = out.cov - P @ P.T @ out.cov @ P @ P.T
        assert np.abs(resid).max() < 1e-12
        off = (out.mean - p.mean) - P @ P.T @ (out.mean - p.mean)
        assert np.abs(off).max() < 1e-12
        assert out.rank == 2


def test_transfer_functions_are_the_per_direction_outputs():
    rng = np.random.default_rng(14)
    lam = np.array([0.0, 0.05, 0.7, 3.0])
    V = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    p = Gaussian.from_eigh(rng.normal(size=4), lam, V)
    a, h, v0 = 0.6, 0.35, 1.7
    start = Gaussian(rng.normal(size=4), v0 * np.eye(4))
    for f, g in ((score.reverse_sde_output, score.reverse_sde_transfer), (score.pf_ode_output, score.pf_ode_transfer)):
        out = f(p, start, a, h)
        np.testing.assert_allclose(np.diag(V.T @ out.cov @ V), g(lam, a, h, v0), atol=1e-12)
    np.testing.assert_allclose(score.reverse_sde_transfer(lam, a, h, a * a * lam + h), lam, atol=1e-14)
    np.testing.assert_allclose(score.pf_ode_transfer(lam, a, h, a * a * lam + h), lam, atol=1e-14)


def test_sde_transfer_is_the_k_step_limit_and_the_ddpm_continuum():
    lam = np.array([0.0, 0.1, 1.0, 20.0])
    a, h = onestep.forward_coefficients(T0, ELL)
    v = 1.3
    np.testing.assert_allclose(score.reverse_sde_transfer(lam, a, h, v), steps.limit_spectrum(lam, T0, ELL, v), rtol=1e-12)
    # the K-step recursion converges to it
    np.testing.assert_allclose(steps.generated_spectrum(lam, T0, ELL, v, 20_000), score.reverse_sde_transfer(lam, a, h, v),
                               rtol=2e-3, atol=1e-12)
    for abT in (0.006, 0.3):
        np.testing.assert_allclose(score.reverse_sde_transfer(lam, math.sqrt(abT), 1 - abT, 1.0),
                                   ddpm.continuum_transfer(lam, abT), rtol=1e-12, atol=1e-15)


def test_ddpm_transfer_converges_to_the_reverse_sde_as_steps_refine():
    """Rescaled schedule β ∝ 1/T keeps Σβ fixed; the error of the discrete sampler falls like 1/T."""
    lam = np.array([0.1, 3.0, 20.0])
    err = []
    for T in (200, 2000, 20_000):
        _, ab = ddpm.linear_schedule(T, 0.1 / T, 10 / T)
        g_sde = score.reverse_sde_transfer(lam, math.sqrt(ab[-1]), 1 - ab[-1], 1.0)
        err.append(np.max(np.abs(ddpm.transfer_function(lam, T, 0.1 / T, 10 / T) / g_sde - 1)))
    assert 7 < err[0] / err[1] < 13 and 7 < err[1] / err[2] < 13, err


# --------------------------------------------------------------------------- DDIM
def _dense_ddim(X, T):
    """Mean and covariance through DDIM (η = 0) with the dense W_t*, tied bias, from N(0, I)."""
    d = X.shape[1]
    betas, ab = ddpm.linear_schedule(T)
    xbar = X.mean(0)
    C = (X - xbar).T @ (X - xbar) / len(X)
    mu, S = np.zeros(d), np.eye(d)
    for t in range(T, 0, -1):
        abt = ab[t - 1]
        abp = ab[t - 2] if t > 1 else 1.0
        W = math.sqrt(1 - abt) * np.linalg.inv(abt * C + (1 - abt) * np.eye(d))
        b = -math.sqrt(abt) * W @ xbar
        # u_{t-1} = sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev) eps_hat, eps_hat = W u + b
        A_eps, c_eps = W, b
        A_x0 = (np.eye(d) - math.sqrt(1 - abt) * A_eps) / math.sqrt(abt)
        c_x0 = -math.sqrt(1 - abt) * c_eps / math.sqrt(abt)
        A = math.sqrt(abp) * A_x0 + math.sqrt(1 - abp) * A_eps
        c = math.sqrt(abp) * c_x0 + math.sqrt(1 - abp) * c_eps
        mu, S = A @ mu + c, A @ S @ A.T
    return mu, S, C


def test_ddim_transfer_against_dense_propagation():
    rng = np.random.default_rng(15)
    X = 1.0 + rng.normal(size=(3, 4)) * np.array([3.0, 1.0, 0.5, 0.2])   # N < d: two null directions
    mu, S, C = _dense_ddim(X, 300)
    lam, V = np.linalg.eigh(C)
    lam[:2] = 0.0
    g = score.ddim_transfer(lam, T=300)
    np.testing.assert_allclose(np.diag(V.T @ S @ V), g, atol=1e-12)
    assert g[0] == 0.0 and g[1] == 0.0                   # exact collapse onto the span
    # samples lie on x̄ + range C
    P = V[:, 2:]
    off = (mu - X.mean(0)) - P @ P.T @ (mu - X.mean(0))
    assert np.abs(off).max() < 1e-12


def test_ddim_converges_to_the_pf_ode_like_one_over_t():
    lam = np.array([0.1, 1.0, 20.0])
    err = []
    for T in (200, 2000, 20_000):
        _, ab = ddpm.linear_schedule(T, 0.1 / T, 10 / T)
        g_ode = score.pf_ode_transfer(lam, math.sqrt(ab[-1]), 1 - ab[-1], 1.0)
        err.append(np.max(np.abs(score.ddim_transfer(lam, T, 0.1 / T, 10 / T) / g_ode - 1)))
    assert err[2] < 1e-3
    assert 7 < err[0] / err[1] < 13 and 7 < err[1] / err[2] < 13, err


# --------------------------------------------------------------------------- input checks
def test_bad_inputs_name_the_parameter():
    p = Gaussian(np.zeros(2), np.eye(2))
    cases = [
        (lambda: score.gaussian_denoiser(p, float("nan"), 0.1), "signal"),
        (lambda: score.gaussian_denoiser(p, 0.5, 0.0), "noise_var"),
        (lambda: score.gaussian_noise_predictor("p", 0.5, 0.1), "p"),
        (lambda: score.gaussian_score(np.zeros(3), p, 0.5, 0.1), "x"),
        (lambda: score.gaussian_score(np.array([np.inf, 0.0]), p, 0.5, 0.1), "x"),
        (lambda: score.noised_gaussian(p, -1.0, 0.1), "signal"),
        (lambda: score.gaussian_posterior_cov(p, 0.5, math.inf), "noise_var"),
        (lambda: score.reverse_sde_output(p, Gaussian(np.zeros(3), np.eye(3)), 0.5, 0.1), "start"),
        (lambda: score.pf_ode_output(p, np.eye(2), 0.5, 0.1), "start"),
        (lambda: score.reverse_sde_transfer([-1.0], 0.5, 0.1, 1.0), "lam"),
        (lambda: score.pf_ode_transfer([1.0], 0.5, 0.1, -1.0), "start_var"),
        (lambda: score.pf_ode_transfer([1.0], 0.5, 0.1, float("nan")), "start_var"),
        (lambda: score.ddim_transfer([1.0], T=2.5), "T"),
        (lambda: score.ddim_transfer([1.0], beta_max=1.5), "beta_max"),
        (lambda: score.empirical_gaussian(np.zeros((1, 3))), "X"),
        (lambda: score.empirical_gaussian(np.zeros((4, 3)), center=1), "center"),
    ]
    for call, name in cases:
        with pytest.raises((ValueError, TypeError), match=name):
            call()


# --------------------------------------------------------------------------- figures
def test_score_field_figure_draws_and_rejects_bad_values():
    from matplotlib.figure import Figure

    from lindiff.plotting import score as score_plots

    assert isinstance(score_plots.score_field_figure(n=2, t=30), Figure)
    for bad in (dict(n=1), dict(n=11), dict(n=2.0), dict(t=0), dict(t=1001), dict(t=3.5)):
        with pytest.raises(ValueError, match="n must|t must"):
            score_plots.score_field_figure(**bad)
    assert isinstance(score_plots.transfer_figure(), Figure)


def test_figure_samples_collapse_onto_the_line_and_copy():
    """What the explorer shows: N = 2 linear samples on the line (within a few σ₁), exact samples on the points."""
    from lindiff.plotting.score import _model

    X, p_hat, lin, exact = _model(2, 20)
    assert p_hat.rank == 1
    u = p_hat.eigvecs[:, p_hat.eigvals > 0][:, 0]
    off_line = (lin - X.mean(0)) - np.outer((lin - X.mean(0)) @ u, u)
    sigma1 = math.sqrt(ddpm.linear_schedule(1000)[0][0])
    assert np.linalg.norm(off_line, axis=1).max() < 5 * sigma1
    nearest = np.sqrt(((exact[:, None, :] - X[None]) ** 2).sum(-1)).min(axis=1)
    assert nearest.max() < 6 * sigma1 * math.sqrt(2)            # a training point plus the last-step noise
    # the linear samples spread along the line like N(x̄, S): variance of the coordinate ≈ the eigenvalue
    along = (lin - X.mean(0)) @ u
    assert abs(along.var() / p_hat.eigvals.max() - 1) < 0.3
