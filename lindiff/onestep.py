"""Halder's linear one-step denoiser: fits, generated distribution, KL closed forms.

Chapters ``book/onestep_denoiser.md`` (the model, equations ``eq-onestep-*``)
and ``book/onestep_kl.md`` (the KL formula and its limits) derive everything
here; ``book/notation.md`` fixes the symbols.

Model (conventions of the book, following the author's public code where it
exists). Training points ``x_i`` are the rows of ``X`` (``N × d``). The forward
process is one Ornstein–Uhlenbeck jump to time ``T`` with noise scale ``ℓ``::

    x_T = a x_0 + sqrt(h) ε,   a = exp(-T),   h = ℓ (1 - exp(-2T)).

A linear denoiser ``D(y) = W y + b`` is fitted on the pairs ``(x_T, x_0)``:

* ``method="averaged"``: least squares averaged exactly over the noise,
  ``W = a S (a² S + h I)⁻¹``, ``b = (I − a W) x̄`` with ``S`` the empirical
  covariance normalized by ``N``;
* ``method="single_draw"``: one noise draw per training point and ordinary
  least squares with intercept (minimum-norm when underdetermined), as in the
  author's public code.

The generator feeds ``y ~ N(a x̄, v I)``, ``v = a² σ̂² + h`` (``σ̂²`` the mean of
the unbiased per-coordinate variances of ``X``), through ``D``; the generated
distribution is ``N(a W x̄ + b, v W Wᵀ)``. For the averaged fit it is diagonal
in the eigenbasis of ``S`` with eigenvalues
``g_ν = v a² λ̂_ν² / (a² λ̂_ν + h)²`` and mean exactly ``x̄``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import solve_triangular

from ._validate import (
    as_data_matrix,
    as_finite_array,
    as_generator,
    as_nonnegative_float,
    as_positive_float,
)
from .gaussian import Gaussian, f_kl
from .rmt import bartlett_factor, mp_edges, mp_log_moment, mp_shannon
from .wishart import wishart_eigenvalues

__all__ = [
    "forward_coefficients",
    "signal_to_noise",
    "generator_variance",
    "empirical_spectrum",
    "generated_spectrum",
    "fit_denoiser",
    "generated_distribution",
    "kl_to_target",
    "kl_from_target",
    "kl_infinite_data",
    "kl_infinite_data_reverse",
    "kl_large_n",
    "kl_large_n_sd",
    "kl_proportional_limit",
    "kl_small_noise_limit",
    "kl_amgm_lower_bound",
    "kl_expected_lower_bound",
    "kl_samples",
    "kl_noise_sweep",
]

METHODS = ("averaged", "single_draw")


# --------------------------------------------------------------------------- helpers
def _check_time_noise(T, noise_scale):
    T = as_positive_float(T, "T")
    noise_scale = as_positive_float(noise_scale, "noise_scale")
    return T, noise_scale


def _check_method(method, rng):
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "single_draw":
        if rng is None:
            raise ValueError('method="single_draw" draws noise: pass rng=numpy.random.default_rng(seed)')
        as_generator(rng)


# f(x) = x − 1 − ln x, +inf at 0, accurate for tiny x and near 1 (lindiff.gaussian)
_f = f_kl


def forward_coefficients(T: float, noise_scale: float) -> tuple[float, float]:
    """``(a, h)`` of the forward jump ``x_T = a x_0 + sqrt(h) ε`` (equation ``eq-onestep-forward``).

    ``a = exp(−T)`` and ``h = noise_scale · (1 − exp(−2T))``, computed with
    ``expm1`` so that small ``T`` keeps full relative accuracy.
    """
    T, noise_scale = _check_time_noise(T, noise_scale)
    return math.exp(-T), -noise_scale * math.expm1(-2.0 * T)


def signal_to_noise(T: float, noise_scale: float, target_std: float) -> tuple[float, float]:
    """``(s, r)``: signal-to-noise ratio ``s = a² σ² / h`` and shrinkage ``r = s / (1 + s)``."""
    a, h = forward_coefficients(T, noise_scale)
    sigma = as_positive_float(target_std, "target_std")
    s = a * a * sigma * sigma / h
    return s, s / (1.0 + s)


def generator_variance(X, T: float, noise_scale: float) -> float:
    """Variance ``v = a² σ̂² + h`` of the isotropic generator input ``N(a x̄, v I)``.

    ``σ̂²`` is the mean over coordinates of the unbiased (``ddof=1``) variances of ``X``.
    """
    X = as_data_matrix(X)
    a, h = forward_coefficients(T, noise_scale)
    return a * a * float(np.mean(np.var(X, axis=0, ddof=1))) + h


def empirical_spectrum(X, return_vectors: bool = False):
    """Eigenvalues (ascending) of ``S = (1/N) Σ (x_i − x̄)(x_i − x̄)ᵀ``.

    ``S`` has rank at most ``N − 1``: for ``N ≤ d`` the ``d − N + 1`` smallest
    eigenvalues are set to exactly ``0`` (rounding would otherwise leave values
    of order ``1e-16`` that turn an infinite KL into a large finite one).
    Eigenvalues below ``d · eps · λ_max`` are zeroed for the same reason.

    Returns
    -------
    lam : ndarray, shape (d,)
    U : ndarray, shape (d, d), only with ``return_vectors=True``
    """
    X = as_data_matrix(X)
    n, d = X.shape
    Xc = X - X.mean(axis=0)
    S = (Xc.T @ Xc) / n
    if return_vectors:
        lam, U = np.linalg.eigh(S)
    else:
        lam = np.linalg.eigvalsh(S)
    lam = np.array(lam, dtype=float)
    lam[: max(d - (n - 1), 0)] = 0.0
    lam[lam <= d * np.finfo(float).eps * max(lam[-1], 0.0)] = 0.0
    return (lam, U) if return_vectors else lam


def generated_spectrum(lam, T: float, noise_scale: float, v: float) -> np.ndarray:
    """Eigenvalues ``g_ν = v a² λ̂_ν² / (a² λ̂_ν + h)²`` of the generated covariance (averaged fit).

    Vectorized over the eigenvalues ``lam`` of ``S`` (equation ``eq-onestep-gk``).
    """
    lam = as_finite_array(lam, "lam")
    if np.any(lam < 0):
        raise ValueError("lam must be eigenvalues of a covariance (>= 0)")
    v = as_positive_float(v, "v")
    a, h = forward_coefficients(T, noise_scale)
    return v * (a * lam / (a * a * lam + h)) ** 2


def fit_denoiser(X, T: float, noise_scale: float, method: str = "averaged", rng=None):
    """Fit the linear denoiser ``D(y) = W y + b`` (chapter ``onestep_denoiser``).

    Parameters
    ----------
    X : array_like, shape (N, d)
        Training set, ``N >= 2``.
    T, noise_scale : float
        Diffusion time ``T > 0`` and noise scale ``ℓ > 0``.
    method : {"averaged", "single_draw"}
        Noise-averaged least squares (closed form ``eq-onestep-w``), or one
        noise draw per point plus ordinary least squares with intercept.
    rng : numpy.random.Generator
        Required for ``"single_draw"``.

    Returns
    -------
    W : ndarray, shape (d, d)
    b : ndarray, shape (d,)
    """
    X = as_data_matrix(X)
    T, noise_scale = _check_time_noise(T, noise_scale)
    _check_method(method, rng)
    a, h = forward_coefficients(T, noise_scale)
    xbar = X.mean(axis=0)
    if method == "averaged":
        lam, U = empirical_spectrum(X, return_vectors=True)
        w = a * lam / (a * a * lam + h)
        W = (U * w) @ U.T
    else:
        Y = a * X + math.sqrt(h) * rng.standard_normal(X.shape)
        Yc, Xc = Y - Y.mean(axis=0), X - xbar
        # X_c ≈ Y_c Wᵀ; lstsq returns the minimum-norm solution when N ≤ d
        W = np.linalg.lstsq(Yc, Xc, rcond=None)[0].T
        return W, xbar - W @ Y.mean(axis=0)
    return W, xbar - a * (W @ xbar)


def generated_distribution(X, T: float, noise_scale: float, method: str = "averaged", rng=None) -> Gaussian:
    """The generated distribution ``p_G = N(a W x̄ + b, v W Wᵀ)`` (equation ``eq-onestep-pg``).

    For ``method="averaged"`` it is built from the eigenbasis of ``S``: mean
    ``x̄`` exactly and eigenvalues :func:`generated_spectrum`. For ``N ≤ d`` it
    is degenerate, supported on the affine hull of the training set.
    """
    X = as_data_matrix(X)
    T, noise_scale = _check_time_noise(T, noise_scale)
    _check_method(method, rng)
    n, d = X.shape
    a, h = forward_coefficients(T, noise_scale)
    v = generator_variance(X, T, noise_scale)
    xbar = X.mean(axis=0)
    if method == "averaged":
        lam, U = empirical_spectrum(X, return_vectors=True)
        return Gaussian.from_eigh(xbar, generated_spectrum(lam, T, noise_scale, v), U)
    W, b = fit_denoiser(X, T, noise_scale, method, rng)
    P, omega, _ = np.linalg.svd(W)
    g = v * omega**2
    g[min(n - 1, d):] = 0.0  # rank W <= N - 1 (centered least squares)
    return Gaussian.from_eigh(a * (W @ xbar) + b, g, P)


def _check_target(target_mean, target_std, d):
    sigma = as_positive_float(target_std, "target_std")
    mu = as_finite_array(target_mean, "target_mean")
    if mu.ndim > 1 or (mu.ndim == 1 and mu.shape != (d,)):
        raise ValueError(f"target_mean must be a scalar (the mean is target_mean·1) or shape ({d},), got {mu.shape}")
    return mu, sigma


def _generated_terms(X, T, noise_scale, target_mean, target_std, method, rng):
    """Spectrum ``g`` and mean offset of ``p_G`` from the target, in a common eigenbasis."""
    X = as_data_matrix(X)
    T, noise_scale = _check_time_noise(T, noise_scale)
    _check_method(method, rng)
    mu, sigma = _check_target(target_mean, target_std, X.shape[1])
    if method == "averaged":
        lam, U = empirical_spectrum(X, return_vectors=True)
        g = generated_spectrum(lam, T, noise_scale, generator_variance(X, T, noise_scale))
        return g, U.T @ (X.mean(axis=0) - mu), sigma
    p = generated_distribution(X, T, noise_scale, method, rng)
    return p.eigvals, p.eigvecs.T @ (p.mean - mu), sigma


def kl_to_target(X, T: float, noise_scale: float, target_mean, target_std: float,
                 method: str = "averaged", rng=None) -> float:
    """``KL(p_G ‖ N(target_mean·1, target_std² I))`` in nats (equation ``eq-kl-onestep``).

    ``½ Σ_ν f(g_ν/σ²) + ‖μ_G − μ1‖²/(2σ²)`` with ``f(x) = x − 1 − ln x``.

    Returns ``math.inf`` when ``p_G`` is degenerate, which happens for every
    training set with ``N ≤ d`` (``rank S ≤ N − 1 < d``): ``p_G`` then lives on
    the affine hull of the training points, a null set of the target.
    """
    if method == "averaged":
        X = as_data_matrix(X)
        T, noise_scale = _check_time_noise(T, noise_scale)
        _check_target(target_mean, target_std, X.shape[1])
        # the target is isotropic: only the eigenvalues and |x̄ − μ1| are needed (no eigenvectors)
        return float(kl_noise_sweep(X, T, [noise_scale], target_mean, target_std)[0])
    g, dm, sigma = _generated_terms(X, T, noise_scale, target_mean, target_std, method, rng)
    if np.any(g <= 0):
        return math.inf
    return float(0.5 * np.sum(_f(g / sigma**2)) + 0.5 * float(dm @ dm) / sigma**2)


def kl_noise_sweep(X, T: float, noise_scales, target_mean, target_std: float) -> np.ndarray:
    """``KL(p_G ‖ N(target_mean·1, target_std² I))`` of the averaged fit for many noise scales.

    Equation ``eq-kl-onestep`` evaluated for every ``ℓ`` in ``noise_scales`` from
    one eigendecomposition of ``S`` (the target is isotropic, so only the
    eigenvalues and ``‖x̄ − μ1‖`` enter). Used for the small-noise limit
    (equation ``eq-kl-small-noise``) in chapter ``book/onestep_kl.md``.

    Returns
    -------
    ndarray, shape (len(noise_scales),)
        All ``inf`` for ``N ≤ d`` (degenerate ``p_G`` at every noise scale).
    """
    X = as_data_matrix(X)
    T = as_positive_float(T, "T")
    ells = as_finite_array(noise_scales, "noise_scales")
    if ells.ndim != 1 or ells.size < 1 or np.any(ells <= 0):
        raise ValueError("noise_scales must be a non-empty 1-D sequence of numbers in (0, inf)")
    mu, sigma = _check_target(target_mean, target_std, X.shape[1])
    lam = empirical_spectrum(X)
    if np.any(lam <= 0):
        return np.full(ells.size, math.inf)
    a = math.exp(-T)
    h = -ells * math.expm1(-2.0 * T)                                   # h(ℓ), vectorized
    v = a * a * float(np.mean(np.var(X, axis=0, ddof=1))) + h           # generator variance
    g = v[:, None] * (a * lam / (a * a * lam + h[:, None])) ** 2        # g_ν(ℓ)
    dm = X.mean(axis=0) - mu
    with np.errstate(divide="ignore"):
        out = 0.5 * np.sum(_f(g / sigma**2), axis=1) + 0.5 * float(dm @ dm) / sigma**2
    out[np.any(g <= 0, axis=1)] = math.inf                              # underflow of g at extreme ℓ
    return out


def kl_from_target(X, T: float, noise_scale: float, target_mean, target_std: float,
                   method: str = "averaged", rng=None) -> float:
    """Reverse direction ``KL(N(target_mean·1, target_std² I) ‖ p_G)`` (equation ``eq-kl-onestep-rev``).

    ``½ Σ_ν f(σ²/g_ν) + ½ Σ_ν (μ_G − μ1)_ν² / g_ν``. ``math.inf`` for
    ``N ≤ d`` (degenerate ``p_G``, the target is not absolutely continuous).
    """
    g, dm, sigma = _generated_terms(X, T, noise_scale, target_mean, target_std, method, rng)
    if np.any(g <= 0):
        return math.inf
    return float(0.5 * np.sum(_f(sigma**2 / g)) + 0.5 * np.sum(dm**2 / g))


def _check_dim(d):
    from ._validate import as_int

    return as_int(d, "d", minimum=1)


def kl_infinite_data(d: int, T: float, noise_scale: float, target_std: float) -> float:
    """``KL_∞ = (d/2)(r − 1 − ln r)``: the ``N → ∞`` limit of :func:`kl_to_target`.

    With infinitely many data the averaged denoiser is the posterior mean and
    the generator input is the exact forward marginal, so ``p_G = N(μ1, r σ² I)``
    with ``r = s/(1+s)`` (equation ``eq-kl-infinite``).
    """
    d = _check_dim(d)
    _, r = signal_to_noise(T, noise_scale, target_std)
    return float(0.5 * d * _f(r))


def kl_infinite_data_reverse(d: int, T: float, noise_scale: float, target_std: float) -> float:
    """``(d/2)(1/r − 1 + ln r)``: the ``N → ∞`` limit of :func:`kl_from_target`."""
    d = _check_dim(d)
    _, r = signal_to_noise(T, noise_scale, target_std)
    return float(0.5 * d * _f(1.0 / r))


def kl_large_n(d: int, n: int, T: float, noise_scale: float, target_std: float) -> float:
    """Large-``N`` expansion of the expected KL (equation ``eq-kl-large-n``)::

        E KL_N ≈ KL_∞ + (d/N) [ (d+1)(1+4s) / (2(1+s)³) + 1/(1+s)² + 1/2 ]

    so ``KL/d`` approaches its limit linearly in ``d/N``. Accurate to about
    1.5 % for ``N ≥ 10 d``; poor near ``N = d``. :func:`kl_large_n_sd` gives the
    standard deviation over training sets to the same order.
    """
    from ._validate import as_int

    d = _check_dim(d)
    n = as_int(n, "n", minimum=2)
    s, _ = signal_to_noise(T, noise_scale, target_std)
    slope = (d + 1) * (1 + 4 * s) / (2 * (1 + s) ** 3) + 1 / (1 + s) ** 2 + 0.5
    return kl_infinite_data(d, T, noise_scale, target_std) + d / n * slope


def kl_large_n_sd(d: int, n: int, T: float, noise_scale: float, target_std: float) -> float:
    """Leading-order standard deviation of ``KL_N`` over training sets (chapter ``onestep_kl``).

    To first order in the fluctuations of ``S``, the KL of one training set of
    ``N`` points varies through ``tr S`` only: with ``ζ_ν = λ̂_ν/σ²`` and
    ``σ̂²/σ² = χ²_m / m``, ``m = d(N − 1)``, the linear term is ::

        − (1/(1+s)²) Σ_ν (ζ_ν − 1) − (s d / (2(1+s)²)) (σ̂²/σ² − 1),

    a multiple of ``χ²_m`` because ``Σ_ν ζ_ν = χ²_m / N``. Its variance plus
    that of the mean term ``‖x̄ − μ1‖²/(2σ²) ~ χ²_d/(2N)`` gives ::

        sd² = 2m (1/N + s/(2(N−1)))² / (1+s)⁴ + d/(2N²)
            ≈ 2 (2+s)² d / (4 (1+s)⁴ N),

    so ``sd ≈ √2 (2+s)/(2(1+s)²) · sqrt(d/N)``. Against the mean excess
    ``≈ (1+4s)/(2(1+s)³) · d²/N`` of :func:`kl_large_n`, a training set falls below
    ``KL_∞`` with appreciable probability once ``N`` is of order ``d³``.
    Second-order fluctuations are smaller by a factor of order ``sqrt(d/N)``.
    """
    from ._validate import as_int

    d = _check_dim(d)
    n = as_int(n, "n", minimum=2)
    s, _ = signal_to_noise(T, noise_scale, target_std)
    m = d * (n - 1)
    linear = 2.0 * m * (1.0 / n + s / (2.0 * (n - 1))) ** 2 / (1.0 + s) ** 4
    return math.sqrt(linear + d / (2.0 * n * n))


def kl_proportional_limit(gamma: float, T: float, noise_scale: float, target_std: float) -> float:
    """``F(γ) = lim KL/d`` as ``d, N → ∞`` with ``d/N = γ`` (equation ``eq-kl-mp``).

    The eigenvalues of ``S/σ²`` follow the Marchenko–Pastur law of ratio
    ``γ``; with ``λ ~ MP_γ``, ``KL/d → ½ E f(G)`` with ``G = s(1+s) λ²/(1+sλ)²``,
    which is evaluated in closed form::

        F = ½ [s(1+s) Q − 1 − ln(s(1+s)) − 2 L(γ) + 2 𝒱(s)]

    with ``𝒱(s) = E ln(1+sλ)`` (Shannon transform), ``η(s) = E 1/(1+sλ)``
    (η-transform), ``Q = E λ²/(1+sλ)² = (1 − η + s η'(s))/s²`` and
    ``L(γ) = E ln λ = (1 − 1/γ) ln(1 − γ) − 1`` (``book/appendix_rmt.md``,
    theorem ``thm-rmt-transforms``, derives all four). The square-root differences of the textbook formulas
    are rewritten without cancellation, so ``γ → 0`` is accurate and
    ``F(0) = ½ f(r)``.

    Returns ``math.inf`` for ``γ ≥ 1`` (``N ≤ d``: every finite-size KL is infinite).
    """
    gamma = as_nonnegative_float(gamma, "gamma", allow_inf=True)
    s, r = signal_to_noise(T, noise_scale, target_std)
    if gamma >= 1.0:
        return math.inf
    if gamma == 0.0:
        return float(0.5 * _f(r))
    # the Shannon transform 𝒱(s) = E ln(1+sλ) and L = E ln λ of the Marchenko–Pastur law (book/appendix_rmt.md)
    V = mp_shannon(s, gamma)
    L = mp_log_moment(gamma)
    # Q = E ζ²/(1+sζ)² = (1 − η + s η'(s))/s² (eq-rmt-q), written without the cancelling difference
    lo, hi = mp_edges(gamma)
    A, B = math.sqrt(s * hi + 1), math.sqrt(s * lo + 1)
    Q = 4 * (hi / A + lo / B) / (A + B) ** 3
    c = s * (1 + s)
    return float(0.5 * (c * Q - 1.0 - math.log(c) - 2.0 * L + 2.0 * V))


def kl_small_noise_limit(X, target_mean, target_std: float) -> float:
    """``lim_{ℓ→0} KL(p_G‖p_S) = ‖x̄ − μ1‖²/(2σ²) + (d/2) f(σ̂²/σ²)`` for ``N > d``.

    As the noise vanishes the averaged denoiser inverts the forward map on the
    range of ``S`` and ``p_G → N(x̄, σ̂² I)`` (equation ``eq-kl-small-noise``).
    ``math.inf`` for ``N ≤ d``: the projection onto the range of ``S`` stays
    degenerate at any noise level.
    """
    X = as_data_matrix(X)
    n, d = X.shape
    mu, sigma = _check_target(target_mean, target_std, d)
    if n <= d:
        return math.inf
    sbar2 = float(np.mean(np.var(X, axis=0, ddof=1)))
    dm = X.mean(axis=0) - mu
    return float(0.5 * float(dm @ dm) / sigma**2 + 0.5 * d * _f(sbar2 / sigma**2))


def kl_amgm_lower_bound(p: Gaussian, target_mean, target_std: float) -> float:
    """AM–GM lower bound ``(d/2) f(tr Σ/(d σ²)) + ‖μ − μ1‖²/(2σ²) ≤ KL(p ‖ N(μ1, σ² I))``.

    Holds for any Gaussian ``p`` (theorem ``thm-kl-amgm``): by Jensen's
    inequality for the concave logarithm, ``Σ ln g_ν ≤ d ln(mean g_ν)``.
    """
    if not isinstance(p, Gaussian):
        raise TypeError(f"p must be a lindiff.gaussian.Gaussian, got {type(p).__name__}")
    mu, sigma = _check_target(target_mean, target_std, p.dim)
    dm = p.mean - mu
    return float(0.5 * p.dim * _f(np.trace(p.cov) / (p.dim * sigma**2)) + 0.5 * float(dm @ dm) / sigma**2)


# --------------------------------------------------------------------------- simulation
DIRECTIONS = ("forward", "reverse")


def _check_ns(ns):
    from ._validate import as_int

    arr = np.atleast_1d(np.asarray(ns, dtype=object))
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"ns must be an integer or a 1-D sequence of integers >= 2, got {ns!r}")
    return [as_int(n, "ns", minimum=2) for n in arr]


def kl_samples(d: int, ns, T: float, noise_scale: float, target_std: float, reps: int,
               rng: np.random.Generator, method: str = "averaged", direction: str = "forward") -> np.ndarray:
    """KL of the one-step model for ``reps`` random training sets of each size in ``ns``.

    Each training set has ``N`` points drawn i.i.d. from ``p_S = N(μ1, σ² I_d)``
    (``σ = target_std``; the KL does not depend on ``μ``). The result has the law
    of ``kl_to_target(X, ...)`` (``direction="forward"``, ``KL(p_G‖p_S)``,
    equation ``eq-kl-onestep``) or ``kl_from_target(X, ...)`` (``"reverse"``,
    equation ``eq-kl-onestep-rev``) for such an ``X``, without drawing ``X``:

    * the averaged fit depends on ``X`` only through ``x̄`` and the eigenvalues
      of ``S``, which are independent with ``x̄ − μ1 ~ N(0, σ²/N I)`` and
      ``N S/σ² ~ Wishart_d(N−1, I)``; the eigenvalues are drawn from the
      bidiagonal model of :func:`lindiff.wishart.wishart_eigenvalues`
      (one small bidiagonal SVD per training set);
    * for the single-draw fit, ``N S/σ² = AᵀA`` with ``A`` the Bartlett factor
      of a ``Wishart_d(N−1, I)`` matrix, and
      each coordinate pair ``(y, x_0)`` is Gaussian with
      covariance ``[[v_∞, aσ²], [aσ², σ²]]``, ``v_∞ = a²σ² + h``, so the centered
      least-squares solution is ``Wᵀ = (aσ² I + σ sqrt(h) A⁻¹Z₃)/v_∞`` with ``A`` as
      above and ``Z₃`` an independent ``d × d`` standard normal matrix (the QR
      decomposition of the centered inputs); the means ``x̄`` and ``ε̄`` are
      independent of it.

    Chapter ``book/onestep_kl.md`` derives both representations.
    One sample costs ``O(d³)`` whatever ``N`` is, so a sweep to ``N = 10⁴`` at
    ``d = 100`` takes milliseconds per training set.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    ns : int or sequence of int
        Training-set sizes ``N >= 2``.
    T, noise_scale, target_std : float
        Diffusion time, noise scale ``ℓ`` and data standard deviation ``σ``, all ``> 0``.
    reps : int
        Independent training sets per size, ``>= 1``.
    rng : numpy.random.Generator
        Source of every random draw.
    method : {"averaged", "single_draw"}
    direction : {"forward", "reverse"}

    Returns
    -------
    ndarray, shape (len(ns), reps)
        ``inf`` for every ``N ≤ d``: ``p_G`` is then degenerate for every
        training set (rank ``≤ N − 1``), so both directions are infinite.
    """
    from ._validate import as_int

    d = _check_dim(d)
    ns = _check_ns(ns)
    T, noise_scale = _check_time_noise(T, noise_scale)
    sigma = as_positive_float(target_std, "target_std")
    reps = as_int(reps, "reps", minimum=1)
    rng = as_generator(rng)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    a, h = forward_coefficients(T, noise_scale)
    out = np.full((len(ns), reps), math.inf)
    for i, n in enumerate(ns):
        if n <= d:
            continue
        # whitened mean offsets: (x̄ − μ1)/σ and ε̄, both N(0, I/N)
        xi = rng.standard_normal((reps, d)) / math.sqrt(n)
        if method == "averaged":
            # only the spectrum of N S/σ² ~ Wishart_d(N−1, I) enters: drawn from the
            # bidiagonal model (lindiff.wishart), accurate even for tiny eigenvalues
            u = wishart_eigenvalues(d, n - 1, rng, reps)[:, ::-1] / n          # eigenvalues of S/σ²
            sbar2 = np.sum(u, axis=1) * n / (d * (n - 1))                      # σ̂²/σ²
            w = a * u / (a * a * u + h / sigma**2)                             # eigenvalues of W
            g = (a * a * sbar2[:, None] + h / sigma**2) * w**2                 # G_ν = g_ν/σ²
            dm = xi                                                            # isotropic: any basis
            bad = u <= 0
        else:
            # centered data/σ: Q A with A a Bartlett factor (N S/σ² = AᵀA); see the docstring
            A = bartlett_factor(d, n - 1, rng, reps)
            # per coordinate (y, x_0) has covariance [[v_∞, aσ²], [aσ², σ²]]: regress X_c on Y_c
            # with Y_c = sqrt(v_∞) Q A and X_c = (aσ²/sqrt(v_∞)) Q A + σ sqrt(h/v_∞) (Q Z₃ + Q⊥ Z₃⊥)
            v0 = a * a * sigma**2 + h
            B = rng.standard_normal((reps, d, d))
            AiB = np.stack([solve_triangular(Ai, Bi) for Ai, Bi in zip(A, B)])
            Wt = (a * sigma**2 * np.eye(d) + sigma * math.sqrt(h) * AiB) / v0   # Wᵀ = Y_c⁺ X_c
            W = np.swapaxes(Wt, 1, 2)
            xc2 = np.sum((a * sigma / math.sqrt(v0) * A + math.sqrt(h / v0) * B) ** 2, axis=(1, 2))
            if n - 1 > d:  # the part of X_c orthogonal to the column space of Y_c
                xc2 = xc2 + h / v0 * rng.chisquare(d * (n - 1 - d), size=reps)
            sbar2 = xc2 / (d * (n - 1))                                        # σ̂²/σ²
            zbar = rng.standard_normal((reps, d)) / math.sqrt(n)
            mean_off = xi - (math.sqrt(h) / sigma) * np.einsum("rij,rj->ri", W, zbar)
            if direction == "forward":
                # eigenvalues of W Wᵀ (a symmetric eigensolver is much cheaper than an SVD);
                # a set whose smallest one is at rounding level is redone with the SVD
                om2 = np.linalg.eigvalsh(W @ Wt)
                shaky = om2[:, 0] <= 100 * d * np.finfo(float).eps * om2[:, -1]
                if np.any(shaky):
                    om2[shaky] = np.linalg.svd(W[shaky], compute_uv=False)[:, ::-1] ** 2
                dm = mean_off                                                  # only its norm enters
            else:
                P, om, _ = np.linalg.svd(W)
                om2 = om**2
                dm = np.einsum("rji,rj->ri", P, mean_off)                     # eigenbasis of W Wᵀ
            g = (a * a * sbar2[:, None] + h / sigma**2) * om2
            bad = np.zeros_like(g, dtype=bool)
        with np.errstate(divide="ignore", over="ignore"):
            if direction == "forward":
                kl = 0.5 * np.sum(_f(g), axis=1) + 0.5 * np.sum(dm**2, axis=1)
            else:
                kl = 0.5 * np.sum(_f(1.0 / np.maximum(g, 1e-300)), axis=1) + 0.5 * np.sum(dm**2 / g, axis=1)
        kl[np.any(bad, axis=1) | np.any(g <= 0, axis=1)] = math.inf
        out[i] = kl
    return out


def kl_expected_lower_bound(d: int, n: int, T: float, noise_scale: float, target_std: float) -> float:
    """Lower bound on the expected KL at ``N`` training points (theorem ``thm-kl-floor``)::

        E KL_N ≥ KL_∞ + (d / 2N) [1 − 2/d − 12/(d²(N−1)) − 48/(d³(N−1)²)]

    valid for every ``N > d`` (equation ``eq-kl-floor``). The bracket is
    positive for ``d ≥ 4`` (and for ``d = 3`` once ``N ≥ 15``), so then
    ``E KL_N > KL_∞``. Returns ``math.inf`` for ``N ≤ d``, where ``KL_N = +∞``.
    """
    from ._validate import as_int

    d = _check_dim(d)
    n = as_int(n, "n", minimum=2)
    kl_inf = kl_infinite_data(d, T, noise_scale, target_std)
    if n <= d:
        return math.inf
    bracket = 1.0 - 2.0 / d - 12.0 / (d * d * (n - 1)) - 48.0 / (d**3 * (n - 1) ** 2)
    return kl_inf + d / (2.0 * n) * bracket
