"""lindiff.rmt against independent computations: quadrature of the density, dense matrices, simulation."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from lindiff import rmt
from lindiff.ddpm import power_law_spectrum
from lindiff.wishart import wishart_eigenvalues

GAMMAS = [0.05, 0.3, 0.5, 0.9, 1.0, 1.7, 4.0]


def mp_expectation(func, gamma):
    """E func(u) under MP_gamma by quadrature of the textbook density (written out here), plus the atom."""
    lo, hi = (1 - math.sqrt(gamma)) ** 2, (1 + math.sqrt(gamma)) ** 2
    if gamma == 1.0:
        # u = t² removes the 1/sqrt(u) singularity at 0: density dt = sqrt(4 - t²)/π
        val = integrate.quad(lambda t: func(t * t) * math.sqrt(4 - t * t) / math.pi, 0, 2,
                             limit=400, epsabs=1e-13, epsrel=1e-12)[0]
    else:
        dens = lambda u: math.sqrt(max((hi - u) * (u - lo), 0.0)) / (2 * math.pi * gamma * u)
        val = integrate.quad(lambda u: func(u) * dens(u), lo, hi, limit=400, epsabs=1e-13, epsrel=1e-12)[0]
    if gamma > 1:
        val += (1 - 1 / gamma) * func(0.0)
    return val


def mp_expectation_complex(func, gamma):
    return mp_expectation(lambda u: func(u).real, gamma) + 1j * mp_expectation(lambda u: func(u).imag, gamma)


def sample_eigenvalues(d, N, rng, size=1):
    """Eigenvalues of M = Z^T Z / N (Z: N x d standard normal), including the d - N zeros for N < d."""
    if N >= d:
        return wishart_eigenvalues(d, N, rng, size) / N
    # the nonzero eigenvalues of Z^T Z are those of Z Z^T ~ Wishart_N(d, I)
    nz = wishart_eigenvalues(N, d, rng, size) / N
    return np.concatenate([np.zeros((size, d - N)), nz], axis=1)


# --------------------------------------------------------------------------- density


@pytest.mark.parametrize("gamma", [0.05, 0.5, 1.7, 4.0])
def test_density_mass_mean_and_second_moment(gamma):
    lo, hi = rmt.mp_edges(gamma)
    mom = [integrate.quad(lambda u: u**k * rmt.mp_density(u, gamma), lo, hi, limit=400)[0] for k in (0, 1, 2)]
    # the continuous part carries mass min(1, 1/gamma); the atom at 0 adds nothing to the moments
    np.testing.assert_allclose(mom, [min(1.0, 1.0 / gamma), 1.0, 1.0 + gamma], rtol=1e-8)
    assert rmt.mp_density(lo - 1e-9, gamma) == 0.0 and rmt.mp_density(hi + 1e-9, gamma) == 0.0


def test_density_at_gamma_one_and_shapes():
    assert rmt.mp_density(0.0, 1.0) == math.inf
    np.testing.assert_allclose(rmt.mp_density(1e-8, 1.0) * math.pi * 1e-4, 1.0, rtol=1e-6)  # ~ 1/(π√u)
    out = rmt.mp_density(np.linspace(-1, 5, 7).reshape(7, 1), 0.5)
    assert out.shape == (7, 1) and np.all(out >= 0)


@pytest.mark.parametrize("gamma", [0.25, 2.0])
def test_density_matches_wishart_eigenvalues(gamma):
    d = 400
    N = int(round(d / gamma))
    ev = sample_eigenvalues(d, N, np.random.default_rng(11), size=3).ravel()
    lo, hi = rmt.mp_edges(gamma)
    for q in np.linspace(lo, hi, 7)[1:-1]:
        cdf = max(0.0, 1 - 1 / gamma) + integrate.quad(lambda u: rmt.mp_density(u, gamma), lo, q)[0]
        assert np.mean(ev <= q) == pytest.approx(cdf, abs=0.01), q


# --------------------------------------------------------------------------- Stieltjes transform


@pytest.mark.parametrize("gamma", GAMMAS)
def test_stieltjes_matches_quadrature_and_solves_the_quadratic(gamma):
    lo, hi = rmt.mp_edges(gamma)
    zs = [-3.0, -0.01, 0.5 + 0.3j, 2.0 + 1e-2j, 10.0, 1.0 - 2j]
    if lo > 0.05:
        zs.append(0.5 * lo)  # real, below the bulk
    for z in zs:
        m = rmt.mp_stieltjes(z, gamma)
        ref = mp_expectation_complex(lambda u: 1 / (u - z), gamma)
        assert abs(m - ref) <= 1e-8 * abs(ref), z
        assert abs(gamma * z * m * m + (z + gamma - 1) * m + 1) < 1e-10 * (1 + abs(z * m * m))


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])
def test_stieltjes_inversion_gives_the_density(gamma):
    lo, hi = rmt.mp_edges(gamma)
    u = np.linspace(lo, hi, 9)[1:-1]
    np.testing.assert_allclose(np.imag(rmt.mp_stieltjes(u, gamma)) / math.pi, rmt.mp_density(u, gamma), rtol=1e-10)
    # and from the upper half plane, a small distance above the axis
    np.testing.assert_allclose(np.imag(rmt.mp_stieltjes(u + 1e-9j, gamma)) / math.pi, rmt.mp_density(u, gamma),
                               rtol=1e-6)


def test_stieltjes_special_points():
    assert rmt.mp_stieltjes(0.0, 0.5) == pytest.approx(2.0, rel=1e-14)  # E 1/u = 1/(1 - gamma)
    assert rmt.mp_stieltjes(0.0, 1.0) == complex(math.inf, 0) and rmt.mp_stieltjes(0.0, 3.0) == complex(math.inf, 0)
    np.testing.assert_allclose(rmt.mp_stieltjes([0.3 + 0.1j, -2.0], 0.0), 1 / (1 - np.array([0.3 + 0.1j, -2.0])),
                               rtol=1e-14)
    # atom of mass 1 - 1/gamma at 0 for gamma > 1: z m(z) -> -(1 - 1/gamma)
    for z in (1e-7j, -1e-7):
        assert z * rmt.mp_stieltjes(z, 3.0) == pytest.approx(-(1 - 1 / 3), rel=1e-5)
    # m(z) ~ -1/z at infinity
    assert rmt.mp_stieltjes(1e8 + 1e8j, 0.7) * (1e8 + 1e8j) == pytest.approx(-1.0, rel=1e-6)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_stieltjes_matches_simulation(gamma):
    d = 600
    N = int(round(d / gamma))
    ev = sample_eigenvalues(d, N, np.random.default_rng(5), size=2)
    for z in (-0.5, 1.0 + 0.5j):
        sim = np.mean(1 / (ev - z))
        assert abs(sim - rmt.mp_stieltjes(z, gamma)) < 0.01 * abs(sim), z


# --------------------------------------------------------------------------- eta and Shannon transforms


XS = [0.0, 1e-7, 1e-3, 0.4, 3.0, 53.0, 1e4, 1e7]


@pytest.mark.parametrize("gamma", GAMMAS)
def test_eta_and_shannon_match_quadrature(gamma):
    for x in XS:
        ref_eta = mp_expectation(lambda u: 1 / (1 + x * u), gamma)
        ref_prime = -mp_expectation(lambda u: u / (1 + x * u) ** 2, gamma)
        ref_v = mp_expectation(lambda u: math.log1p(x * u), gamma)
        assert rmt.mp_eta(x, gamma) == pytest.approx(ref_eta, rel=1e-9), x
        assert rmt.mp_eta_prime(x, gamma) == pytest.approx(ref_prime, rel=1e-8), x
        if x > 0:
            assert rmt.mp_shannon(x, gamma) == pytest.approx(ref_v, rel=1e-9), x
    assert rmt.mp_shannon(0.0, gamma) == 0.0


@pytest.mark.parametrize("gamma", [0.1, 0.5, 0.9, 2.0])
def test_eta_and_shannon_equal_the_forms_quoted_in_onestep_kl(gamma):
    """1 - Phi/(4 x gamma) and ln(1 + x - Phi/4) + ln(1 + gamma x - Phi/4)/gamma - Phi/(4 gamma x)."""
    lo, hi = rmt.mp_edges(gamma)
    for x in (0.2, 1.0, 53.0, 500.0):
        phi = (math.sqrt(x * hi + 1) - math.sqrt(x * lo + 1)) ** 2
        assert rmt.mp_eta(x, gamma) == pytest.approx(1 - phi / (4 * x * gamma), rel=1e-12)
        v = math.log(1 + x - phi / 4) + math.log(1 + gamma * x - phi / 4) / gamma - phi / (4 * gamma * x)
        assert rmt.mp_shannon(x, gamma) == pytest.approx(v, rel=1e-11)


@pytest.mark.parametrize("gamma", [0.2, 1.0, 3.0])
def test_transform_identities(gamma):
    x = np.array([0.05, 0.7, 4.0, 90.0])
    eta = rmt.mp_eta(x, gamma)
    # eta(x) = m(-1/x)/x
    np.testing.assert_allclose(eta, np.real(rmt.mp_stieltjes(-1 / x, gamma)) / x, rtol=1e-12)
    # the quadratic gamma x eta^2 + (1 + (1 - gamma) x) eta - 1 = 0
    np.testing.assert_allclose(gamma * x * eta**2 + (1 + (1 - gamma) * x) * eta, 1.0, rtol=1e-13)
    # eta' by central differences; V' = (1 - eta)/x
    h = 1e-6 * x
    np.testing.assert_allclose(rmt.mp_eta_prime(x, gamma), (rmt.mp_eta(x + h, gamma) - rmt.mp_eta(x - h, gamma)) / (2 * h),
                               rtol=1e-7)
    np.testing.assert_allclose((rmt.mp_shannon(x + h, gamma) - rmt.mp_shannon(x - h, gamma)) / (2 * h),
                               (1 - eta) / x, rtol=1e-7)


def test_transforms_at_small_and_large_arguments():
    x = np.array([1e-9, 0.3, 7.0])
    np.testing.assert_allclose(rmt.mp_eta(x, 0.0), 1 / (1 + x), rtol=1e-15)
    np.testing.assert_allclose(rmt.mp_shannon(x, 0.0), np.log1p(x), rtol=1e-14)
    np.testing.assert_allclose(rmt.mp_eta(x, 1e-12), rmt.mp_eta(x, 0.0), rtol=1e-10)
    np.testing.assert_allclose(rmt.mp_shannon(x, 1e-12), rmt.mp_shannon(x, 0.0), rtol=1e-10)
    assert rmt.mp_eta(1e-12, 0.5) == pytest.approx(1 - 1e-12, rel=1e-15)  # 1 - E u x
    assert rmt.mp_shannon(1e-12, 0.5) == pytest.approx(1e-12, rel=1e-10)
    assert rmt.mp_eta(1e12, 3.0) == pytest.approx(1 - 1 / 3, rel=1e-6)  # the atom
    assert rmt.mp_eta(1e12, 0.5) == pytest.approx(2.0 / 1e12, rel=1e-6)  # E 1/(xu) = m(0)/x
    for g in (0.3, 1.0):  # L = lim (V(x) - ln x)
        assert rmt.mp_shannon(1e12, g) - math.log(1e12) == pytest.approx(rmt.mp_log_moment(g), abs=2e-6)


# --------------------------------------------------------------------------- log moment


@pytest.mark.parametrize("gamma", [1e-3, 0.05, 0.5, 0.9, 0.999, 1.0])
def test_log_moment_matches_quadrature(gamma):
    assert rmt.mp_log_moment(gamma) == pytest.approx(mp_expectation(math.log, gamma), rel=1e-8)


def test_log_moment_edges_and_series():
    assert rmt.mp_log_moment(0.0) == 0.0
    assert rmt.mp_log_moment(1.0) == -1.0
    assert rmt.mp_log_moment(1.5) == -math.inf
    # series and closed form agree across the switch at 1e-4
    assert rmt.mp_log_moment(0.99999e-4) == pytest.approx(rmt.mp_log_moment(1.00001e-4), rel=1e-4)
    assert rmt.mp_log_moment(1e-9) == pytest.approx(-0.5e-9, rel=1e-8)
    assert rmt.mp_log_moment(1 - 1e-12) == pytest.approx(-1.0, abs=1e-10)


@pytest.mark.parametrize("gamma", [0.25, 0.5])
def test_log_moment_is_the_limit_of_the_exact_wishart_log_determinant(gamma):
    """(1/d) E ln det(W/N) from the digamma sum tends to L(gamma); the correction is O(1/d)."""
    errs = []
    for d in (250, 1000, 4000):
        N = int(round(d / gamma))
        errs.append(abs((rmt.wishart_logdet_mean(d, N) - d * math.log(N)) / d - rmt.mp_log_moment(gamma)))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 2e-4
    assert errs[1] / errs[2] == pytest.approx(4.0, rel=0.05)


# --------------------------------------------------------------------------- edges


def test_extreme_eigenvalues_are_those_of_the_bidiagonal_model_and_of_dense_matrices():
    for d, dof in [(1, 3), (2, 2), (6, 9), (300, 600)]:
        full = wishart_eigenvalues(d, dof, np.random.default_rng(d), size=3)
        ext = rmt.wishart_extreme_eigenvalues(d, dof, np.random.default_rng(d), size=3)  # same draws
        np.testing.assert_allclose(ext, full[:, [0, -1]], rtol=1e-9)
    rng = np.random.default_rng(8)
    ext = rmt.wishart_extreme_eigenvalues(5, 8, rng, size=3000)
    dense = np.array([np.linalg.eigvalsh(Z.T @ Z)[[0, -1]] for Z in rng.standard_normal((3000, 8, 5))])
    for k in (0, 1):
        assert stats.ks_2samp(ext[:, k], dense[:, k]).pvalue > 1e-3


def test_smallest_and_largest_eigenvalue_approach_the_edges():
    """Bai-Yin: the extreme eigenvalues of W/N converge to the edges (fluctuations ~ d^(-2/3))."""
    gamma = 0.5
    lo, hi = rmt.mp_edges(gamma)
    errs = []
    for d in (50, 400, 3200):
        ev = rmt.wishart_extreme_eigenvalues(d, 2 * d, np.random.default_rng(d), size=4) / (2 * d)
        errs.append(np.max(np.abs(ev - [lo, hi])))
    assert errs[0] > errs[1] > errs[2] and errs[2] < 0.03
    # at gamma = 1 (N = d) the smallest eigenvalue goes to 0 like 1/d^2
    small = [np.median(rmt.wishart_extreme_eigenvalues(d, d, np.random.default_rng(d), size=50)[:, 0] / d)
             for d in (100, 1000)]
    assert 50 < small[0] / small[1] < 200


# --------------------------------------------------------------------------- deterministic equivalents


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])
def test_deterministic_equivalent_reduces_to_marchenko_pastur(gamma):
    d = 200
    N = d / gamma
    z = np.array([0.01, 0.3, 2.0])
    de = rmt.deterministic_equivalent(np.ones(d), N, z)
    m = np.real(rmt.mp_stieltjes(-z, gamma))
    np.testing.assert_allclose(de.trace / d, m, rtol=1e-10)
    np.testing.assert_allclose(de.delta, gamma * m, rtol=1e-10)
    np.testing.assert_allclose(de.trace_sigma, de.trace, rtol=1e-10)


def test_deterministic_equivalent_fixed_point_and_derivatives():
    lam = power_law_spectrum(150, 1.3)
    N = np.array([[60.0], [149.0], [600.0]])
    z = np.array([0.003, 0.1, 1.0, 20.0])
    de = rmt.deterministic_equivalent(lam, N, z)
    assert de.delta.shape == (3, 4)
    e = 1 + de.delta[..., None]
    np.testing.assert_allclose(de.delta, np.sum(lam / (lam / e + z[:, None]), axis=-1) / N, rtol=1e-12)
    np.testing.assert_allclose(de.trace, np.sum(1 / (lam / e + z[:, None]), axis=-1), rtol=1e-12)
    np.testing.assert_allclose(de.trace_sigma, N * de.delta, rtol=1e-14)
    # tr(M(M + z)^-1) = d - z tr(M + z)^-1 must equal N delta/(1 + delta) (the consistency of the derivation)
    np.testing.assert_allclose(lam.size - z * de.trace, N * de.delta / (1 + de.delta), rtol=1e-10)
    h = 1e-6 * z
    up, dn = rmt.deterministic_equivalent(lam, N, z + h), rmt.deterministic_equivalent(lam, N, z - h)
    np.testing.assert_allclose(de.delta_prime, (up.delta - dn.delta) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(de.trace_squared, -(up.trace - dn.trace) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(de.trace_sigma_squared, -(up.trace_sigma - dn.trace_sigma) / (2 * h), rtol=1e-6)
    assert np.all(de.delta > 0) and np.all(de.delta_prime < 0)


@pytest.mark.parametrize("N", [150, 600])
def test_deterministic_equivalent_matches_simulation(N):
    """Power-law Sigma, d = 300: mean over 4 training sets of the four traces, within 3 %."""
    d = 300
    lam = power_law_spectrum(d, 1.0)
    z = np.array([0.05, 0.5, 3.0])
    rng = np.random.default_rng(N)
    sims = []
    for _ in range(4):
        X = rng.standard_normal((N, d)) * np.sqrt(lam)
        c, V = np.linalg.eigh(X.T @ X / N)
        s2 = lam @ V**2  # v^T Sigma v for each eigenvector v
        r = 1 / (c[None, :] + z[:, None])
        sims.append([r.sum(1), (r**2).sum(1), (r * s2).sum(1), (r**2 * s2).sum(1)])
    sims = np.mean(sims, axis=0)
    de = rmt.deterministic_equivalent(lam, N, z)
    theory = np.array([de.trace, de.trace_squared, de.trace_sigma, de.trace_sigma_squared])
    np.testing.assert_allclose(theory, sims, rtol=0.03)


# --------------------------------------------------------------------------- Bartlett and log-determinants


def test_bartlett_factor_has_the_wishart_law():
    d, dof, reps = 4, 7, 20_000
    rng = np.random.default_rng(3)
    A = rmt.bartlett_factor(d, dof, rng, reps)
    assert A.shape == (reps, d, d) and np.all(np.tril(A, -1) == 0) and np.all(np.diagonal(A, axis1=1, axis2=2) > 0)
    W = np.swapaxes(A, 1, 2) @ A
    # E W = dof I; Var W_ij = dof (i != j), Var W_ii = 2 dof
    np.testing.assert_allclose(W.mean(0), dof * np.eye(d), atol=0.15)
    np.testing.assert_allclose(W.var(0), dof * (np.ones((d, d)) + np.eye(d)), rtol=0.06)
    # the eigenvalues have the law of those of Z^T Z (dense) and of the bidiagonal model
    dense = np.array([np.linalg.eigvalsh(Z.T @ Z) for Z in rng.standard_normal((3000, dof, d))])
    ev = np.linalg.eigvalsh(W[:3000])
    bidiag = wishart_eigenvalues(d, dof, rng, 3000)
    for k in (0, d - 1):
        assert stats.ks_2samp(ev[:, k], dense[:, k]).pvalue > 1e-3
        assert stats.ks_2samp(ev[:, k], bidiag[:, k]).pvalue > 1e-3


@pytest.mark.parametrize("d, dof", [(1, 1), (3, 3), (5, 12), (20, 25)])
def test_logdet_moments_match_monte_carlo(d, dof):
    rng = np.random.default_rng(d + dof)
    Z = rng.standard_normal((20_000, dof, d))
    logdet = np.linalg.slogdet(np.swapaxes(Z, 1, 2) @ Z)[1]
    mean, var = rmt.wishart_logdet_mean(d, dof), rmt.wishart_logdet_variance(d, dof)
    se = math.sqrt(var / logdet.size)
    assert abs(logdet.mean() - mean) < 4 * se
    assert logdet.var() == pytest.approx(var, rel=0.05)


def test_logdet_of_singular_wishart_and_closed_forms():
    assert rmt.wishart_logdet_mean(5, 4) == -math.inf
    with pytest.raises(ValueError, match="dof must be >= d"):
        rmt.wishart_logdet_variance(5, 4)
    # d = 1: E ln chi2_k = psi(k/2) + ln 2; k = 2: ln 2 - Euler's gamma
    assert rmt.wishart_logdet_mean(1, 2) == pytest.approx(math.log(2) - 0.5772156649015329, rel=1e-14)
    assert rmt.wishart_logdet_variance(1, 2) == pytest.approx(math.pi**2 / 6, rel=1e-14)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, exc, name",
    [
        (lambda: rmt.mp_edges(-0.1), ValueError, "gamma"),
        (lambda: rmt.mp_edges(float("nan")), ValueError, "gamma"),
        (lambda: rmt.mp_density(1.0, 0.0), ValueError, "gamma"),
        (lambda: rmt.mp_density([1.0, float("nan")], 0.5), ValueError, "u"),
        (lambda: rmt.mp_stieltjes(complex(float("nan"), 0), 0.5), ValueError, "z"),
        (lambda: rmt.mp_stieltjes("a", 0.5), TypeError, "z"),
        (lambda: rmt.mp_eta(-1.0, 0.5), ValueError, "omega"),
        (lambda: rmt.mp_eta(1.0, float("inf")), ValueError, "gamma"),
        (lambda: rmt.mp_eta_prime([1.0, float("nan")], 0.5), ValueError, "omega"),
        (lambda: rmt.mp_shannon(1.0, -2.0), ValueError, "gamma"),
        (lambda: rmt.mp_log_moment(None), TypeError, "gamma"),
        (lambda: rmt.deterministic_equivalent([1.0, 0.0], 10, 1.0), ValueError, "spectrum"),
        (lambda: rmt.deterministic_equivalent([1.0, 2.0], 0, 1.0), ValueError, "N"),
        (lambda: rmt.deterministic_equivalent([1.0, 2.0], 10, 0.0), ValueError, "z"),
        (lambda: rmt.deterministic_equivalent([1.0, 2.0], 10, float("nan")), ValueError, "z"),
        (lambda: rmt.bartlett_factor(5, 4, np.random.default_rng(0)), ValueError, "dof"),
        (lambda: rmt.bartlett_factor(5, 5, 0), TypeError, "rng"),
        (lambda: rmt.bartlett_factor(2.5, 5, np.random.default_rng(0)), TypeError, "d"),
        (lambda: rmt.wishart_extreme_eigenvalues(5, 4, np.random.default_rng(0)), ValueError, "dof"),
        (lambda: rmt.wishart_extreme_eigenvalues(5, 5, np.random.default_rng(0), size=0), ValueError, "size"),
        (lambda: rmt.wishart_logdet_mean(3, 0), ValueError, "dof"),
        (lambda: rmt.wishart_logdet_variance(0, 3), ValueError, "d"),
    ],
)
def test_bad_input_names_the_parameter(call, exc, name):
    with pytest.raises(exc, match=name):
        call()


# --------------------------------------------------------------------------- figures of the appendix


def test_figures_of_the_appendix_draw_and_reject_bad_input():
    from lindiff.plotting import rmt as figs

    for gamma, d in ((0.5, 40), (2.0, 40), (1.0, 25)):
        fig = figs.mp_figure(gamma=gamma, d=d)
        assert len(fig.axes) == 3  # histogram, eta and its twin axis for the Shannon transform
        n = max(int(round(d / gamma)), 2)
        values, edges, _ = fig.axes[0].patches[0].get_data()  # the histogram (a step patch)
        area = float(np.sum(values * np.diff(edges)))
        # the histogram counts the nonzero eigenvalues: area min(N, d)/d, the mass of the continuous part
        assert area == pytest.approx(min(n, d) / d, rel=1e-12)
    assert len(figs.edges_figure(dims=(10, 20), reps=2).axes) == 2
    assert len(figs.deterministic_equivalent_figure(d=30, seeds=(0,)).axes) == 2
    with pytest.raises(ValueError, match="gamma must be"):
        figs.mp_figure(gamma=0.0, d=40)
    with pytest.raises(ValueError, match="gamma must be"):
        figs.mp_figure(gamma=30.0, d=40)
    with pytest.raises(ValueError, match="d must be"):
        figs.mp_figure(gamma=0.5, d=1)
