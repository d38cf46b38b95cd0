"""Linear DDPM denoisers on Gaussian data (Merger & Goldt, arXiv 2505.24769), solved in closed form.

A DDPM with a linear noise predictor ``eps(x, t) = W_t x + b_t`` at every step
``t = 1..T``, trained on ``N`` points from ``N(mu, Sigma)``. Everything here is
our reconstruction (see ``book/ddpm_denoisers.md`` and ``book/ddpm_dynamics.md``);
the conventions are those of ``book/notation.md``:

* schedule ``beta_t = beta_min + (beta_max - beta_min) t/T`` for ``t = 1..T`` and
  ``alpha_bar_t = prod_{s<=t} (1 - beta_s)``;
* per-step loss averaged exactly over the noise and summed over coordinates,
  plus ``ridge * ||W_t||_F^2``; with ``center=True`` the bias is tied to the
  weights, ``b_t = -sqrt(alpha_bar_t) W_t xbar``, and the loss sees the centered
  covariance; with ``center=False`` ``b_t = 0`` and it sees the second moment;
* training is gradient flow ``dW/dtau = -grad L_t`` from ``W = 0``;
* the sampler starts at ``u_T ~ N(0, I)`` and adds noise of variance
  ``sigma_t^2 = beta_t`` at every step, including ``t = 1``.

Computation
-----------
Every trained ``W_t`` is a function of the empirical covariance, so it shares
its eigenbasis ``v_nu``. One eigendecomposition (``O(N d^2 + d^3)``) turns the
``T`` matrix problems into ``T x d`` scalar ones, which are evaluated as
vectorized ``(T, d)`` arrays: ``O(T d)``. No ``d x d`` product is ever formed
per step. A chapter or test that wants the dense matrices builds them itself.

Arrays of weights have shape ``(n_steps, d)``: one row per selected step (usually
all ``T`` steps), one column per eigen-direction.

Notation (``book/notation.md``): ``S`` is the centered empirical covariance, ``S_0 = X^T X / N``
the second moment, ``lambda_hat_nu`` and ``v_nu`` their eigenvalues and eigenvectors (the
code's ``eigvals``, ``eigvecs`` and the argument ``c`` of the transfer function),
``omega_t = 1 - alpha_bar_t + ridge``, ``varpi_t(nu) = alpha_bar_t lambda_hat_nu + omega_t``
the relaxation rate of gradient flow, ``phi_t(nu)`` the per-step factor of the sampler and
``lambda_tilde_nu`` the sampled variance along ``v_nu``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from ._validate import (
    as_data_matrix,
    as_finite_array,
    as_generator,
    as_int,
    as_nonnegative_float,
    as_positive_float,
)
from .gaussian import Gaussian, kl_divergence
from .rmt import deterministic_equivalent, mp_log_moment, wishart_logdet_mean

__all__ = [
    "linear_schedule",
    "power_law_spectrum",
    "power_law_target",
    "power_law_training_set",
    "EmpiricalSpectrum",
    "empirical_spectrum",
    "minimizer_weights",
    "relaxation_rates",
    "flow_weights",
    "gd_weights",
    "sampler_variances",
    "sampling_moments",
    "sampling_distribution",
    "transfer_function",
    "continuum_transfer",
    "train_loss",
    "test_loss",
    "optimal_loss",
    "deterministic_equivalent_losses",
    "sampling_kl",
    "kl_per_dimension",
    "direction_overlaps",
    "kl_scan",
    "kl_grid",
    "generalization_scan",
    "grid_minimum",
    "population_kl",
    "wishart_kl_expectation",
    "proportional_kl_limit",
]

_EPS = np.finfo(float).eps


# --------------------------------------------------------------------------- validation


def _as_bool(x, name: str) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {x!r}")
    return bool(x)


def _as_beta(x, name: str) -> float:
    val = as_positive_float(x, name)
    if val >= 1:
        raise ValueError(f"{name} must be in (0, 1), got {x!r}")
    return val


def _as_alpha_bars(alpha_bars) -> np.ndarray:
    ab = as_finite_array(alpha_bars, "alpha_bars", ndim=1)
    if ab.size < 1 or np.any(ab <= 0) or np.any(ab >= 1):
        raise ValueError("alpha_bars must be a non-empty 1-D array with entries in (0, 1)")
    return ab


def _as_eigvals(eigvals, name: str = "eigvals") -> np.ndarray:
    c = as_finite_array(eigvals, name, ndim=1)
    if c.size < 1 or np.any(c < 0):
        raise ValueError(f"{name} must be a non-empty 1-D array of non-negative numbers")
    return c


def _as_weights(weights, alpha_bars: np.ndarray, d: int | None = None) -> np.ndarray:
    w = as_finite_array(weights, "weights", ndim=2)
    if w.shape[0] != alpha_bars.shape[0] or (d is not None and w.shape[1] != d):
        want = f"({alpha_bars.shape[0]}, {d if d is not None else 'd'})"
        raise ValueError(f"weights must have shape {want} (steps x directions), got {w.shape}")
    return w


def _as_target(target, d: int) -> Gaussian:
    if not isinstance(target, Gaussian):
        raise TypeError(f"target must be a lindiff.Gaussian, got {type(target).__name__}")
    if target.dim != d:
        raise ValueError(f"target must have dimension d = {d} to match the training set, got {target.dim}")
    if target.is_degenerate:
        raise ValueError("target must have a positive definite covariance")
    return target


def _as_spectrum(fit) -> "EmpiricalSpectrum":
    if not isinstance(fit, EmpiricalSpectrum):
        raise TypeError(
            f"fit must be an EmpiricalSpectrum (from lindiff.ddpm.empirical_spectrum), got {type(fit).__name__}"
        )
    return fit


# --------------------------------------------------------------------------- schedule and data


def _schedule(T: int, beta_min: float, beta_max: float):
    """``betas``, ``alpha_bars`` and ``1 - alpha_bars`` computed without cancellation.

    ``1 - alpha_bar_1`` is set to ``beta_1`` exactly (it is so identically), so that
    the converged null-direction factor ``a_1(0)`` of the sampler is exactly 0.
    """
    t = np.arange(1, T + 1)
    betas = beta_min + (beta_max - beta_min) * t / T
    log_ab = np.cumsum(np.log1p(-betas))
    alpha_bars = np.cumprod(1.0 - betas)
    one_minus = -np.expm1(log_ab)
    one_minus[0] = betas[0]
    return betas, alpha_bars, one_minus


def linear_schedule(T: int = 1000, beta_min: float = 1e-4, beta_max: float = 1e-2):
    """The linear DDPM schedule, ``beta_t`` and ``alpha_bar_t`` for ``t = 1..T``.

    ``beta_t = beta_min + (beta_max - beta_min) t / T`` and
    ``alpha_bar_t = prod_{s<=t} (1 - beta_s)`` (``book/notation.md``, ``eq-ddpm-forward``).
    Note that ``beta_1 = beta_min + (beta_max - beta_min)/T``, not ``beta_min``.

    Returns
    -------
    betas, alpha_bars : ndarray, shape (T,)
        Entry ``t - 1`` belongs to step ``t``.
    """
    T = as_int(T, "T", minimum=1)
    beta_min = _as_beta(beta_min, "beta_min")
    beta_max = _as_beta(beta_max, "beta_max")
    betas, alpha_bars, _ = _schedule(T, beta_min, beta_max)
    return betas, alpha_bars


def power_law_spectrum(d: int, k: float) -> np.ndarray:
    """Power-law eigenvalues ``lambda_nu = d nu^-k / sum_{nu'} nu'^-k``, ``nu = 1..d`` (descending).

    Normalized so that ``sum(lambda) = tr Sigma = d`` (our convention,
    ``book/notation.md``). ``k = 0`` is the isotropic spectrum.
    Chapter ``book/ddpm_denoisers.md``, equation ``eq-ddpm-powerlaw``.
    """
    d = as_int(d, "d", minimum=1)
    k = as_nonnegative_float(k, "k")
    raw = np.arange(1, d + 1, dtype=float) ** (-k)
    return d * raw / raw.sum()


def power_law_target(d: int, k: float, mean=None) -> Gaussian:
    """The target ``N(mean, diag(power_law_spectrum(d, k)))`` (mean 0 by default).

    The eigenbasis of ``Sigma`` is the standard basis: every quantity of the
    model is rotation-covariant, so this is no loss of generality.
    """
    lam = power_law_spectrum(d, k)
    mu = np.zeros(lam.size) if mean is None else as_finite_array(mean, "mean", ndim=1)
    if mu.shape != (lam.size,):
        raise ValueError(f"mean must have shape ({lam.size},), got {mu.shape}")
    return Gaussian.from_eigh(mu, lam, np.eye(lam.size))


def power_law_training_set(N: int, d: int, k: float, rng: np.random.Generator, mean=None):
    """Draw ``N`` i.i.d. training points from :func:`power_law_target`.

    ``X = mean + Z diag(lambda)^(1/2)`` with ``Z`` an ``N x d`` standard normal
    matrix drawn from ``rng``. The same seed gives the same ``Z`` for every
    ``k``: the whitened data, and everything that depends only on them (such
    as the KL of the refitted Gaussian), are then identical across spectra.

    Returns
    -------
    X : ndarray, shape (N, d)
    target : Gaussian
        The distribution the points were drawn from.
    """
    N = as_int(N, "N", minimum=2)
    rng = as_generator(rng)
    target = power_law_target(d, k, mean)
    lam = power_law_spectrum(d, k)
    Z = rng.standard_normal((N, lam.size))
    return target.mean + Z * np.sqrt(lam), target


@dataclass(frozen=True, eq=False)
class EmpiricalSpectrum:
    """Eigendecomposition of the empirical covariance of a training set.

    Attributes
    ----------
    eigvals : ndarray, shape (d,)
        ``lambda_hat_nu``, in **descending** order; exact zeros in the null space
        (``d - N + 1`` of them with ``center=True`` and ``N <= d``).
    eigvecs : ndarray, shape (d, d)
        Orthonormal eigenvectors ``v_nu`` (columns), matching ``eigvals``.
    mean : ndarray, shape (d,)
        The point the denoiser is centered on: the empirical mean with
        ``center=True``, zero with ``center=False``.
    n_samples : int
    center : bool
    """

    eigvals: np.ndarray
    eigvecs: np.ndarray
    mean: np.ndarray
    n_samples: int
    center: bool

    def __post_init__(self):
        c = _as_eigvals(self.eigvals)
        d = c.size
        V = as_finite_array(self.eigvecs, "eigvecs", ndim=2)
        m = as_finite_array(self.mean, "mean", ndim=1)
        if V.shape != (d, d) or m.shape != (d,):
            raise ValueError(f"eigvecs must have shape ({d}, {d}) and mean ({d},); got {V.shape} and {m.shape}")
        if float(np.max(np.abs(V.T @ V - np.eye(d)))) > 1e-8:
            raise ValueError("eigvecs must be an orthogonal matrix (orthonormal columns)")
        object.__setattr__(self, "eigvals", c)
        object.__setattr__(self, "eigvecs", V)
        object.__setattr__(self, "mean", m)
        object.__setattr__(self, "n_samples", as_int(self.n_samples, "n_samples", minimum=1))
        object.__setattr__(self, "center", _as_bool(self.center, "center"))

    @property
    def dim(self) -> int:
        return int(self.eigvals.shape[0])

    @property
    def rank(self) -> int:
        return int(np.count_nonzero(self.eigvals > 0))


def empirical_spectrum(X, center: bool = True) -> EmpiricalSpectrum:
    """Eigenvalues and eigenvectors of ``S = (1/N) sum_i (x_i - xbar)(x_i - xbar)^T`` (or of ``S_0``).

    With ``center=True`` the centered covariance ``S`` (rank ``min(N - 1, d)``),
    with ``center=False`` the second moment ``S_0 = X^T X / N`` (rank ``min(N, d)``).
    One symmetric eigendecomposition of the ``d x d`` matrix. The eigenvalues
    that must vanish (beyond the rank above) and any below the rounding level
    ``max(N, d) eps c_max`` are set to exactly zero, so the null space is exact.
    """
    X = as_data_matrix(X, "X", min_rows=2)
    center = _as_bool(center, "center")
    N, d = X.shape
    mean = X.mean(axis=0) if center else np.zeros(d)
    Xc = X - mean
    c, V = np.linalg.eigh(Xc.T @ Xc / N)
    c, V = c[::-1].copy(), V[:, ::-1].copy()  # descending: nu = 1 is the largest
    rank = min(N - 1 if center else N, d)
    c[rank:] = 0.0
    c[c <= max(N, d) * _EPS * max(c[0], np.finfo(float).tiny)] = 0.0
    return EmpiricalSpectrum(c, V, mean, N, center)


# --------------------------------------------------------------------------- training


def minimizer_weights(eigvals, alpha_bars, ridge: float = 0.0) -> np.ndarray:
    """Eigenvalues of the loss minimizer ``W_t^*`` on each eigen-direction of the empirical covariance.

    .. math:: w_t(\\nu) = \\frac{\\sqrt{1-\\bar\\alpha_t}}{\\bar\\alpha_t \\hat\\lambda_\\nu + 1 - \\bar\\alpha_t + \\mathrm{ridge}}

    Chapter ``book/ddpm_denoisers.md``, equation ``eq-ddpm-minimizer``.

    Returns
    -------
    ndarray, shape (len(alpha_bars), len(eigvals))
    """
    return flow_weights(eigvals, alpha_bars, ridge, math.inf)


def relaxation_rates(eigvals, alpha_bars, ridge: float = 0.0) -> np.ndarray:
    """``varpi_t(nu) = alpha_bar_t lambda_hat_nu + 1 - alpha_bar_t + ridge``: half the gradient-flow decay rate.

    Under ``dW/dtau = -grad L_t`` the mode ``nu`` of step ``t`` relaxes as
    ``exp(-2 varpi_t(nu) tau)`` (``book/ddpm_dynamics.md``, ``eq-ddpm-flow``).
    Shape ``(len(alpha_bars), len(eigvals))``.
    """
    c = _as_eigvals(eigvals)
    ab = _as_alpha_bars(alpha_bars)
    ridge = as_nonnegative_float(ridge, "ridge")
    return ab[:, None] * c[None, :] + (1.0 - ab)[:, None] + ridge


def flow_weights(eigvals, alpha_bars, ridge: float = 0.0, train_time: float = math.inf) -> np.ndarray:
    """Weights after gradient flow from ``W = 0`` for time ``train_time``.

    .. math:: w_t(\\nu, \\tau) = w_t^*(\\nu)\\,\\big(1 - e^{-2 \\varpi_t(\\nu)\\tau}\\big)

    ``train_time = inf`` gives the minimizer. Chapter ``book/ddpm_dynamics.md``,
    equation ``eq-ddpm-flow``. Shape ``(len(alpha_bars), len(eigvals))``.
    """
    c = _as_eigvals(eigvals)
    ab = _as_alpha_bars(alpha_bars)
    ridge = as_nonnegative_float(ridge, "ridge")
    tau = as_nonnegative_float(train_time, "train_time", allow_inf=True)
    return _flow(c, ab, 1.0 - ab, ridge, tau)


def _flow(c, ab, one_minus, ridge, tau):
    r = ab[:, None] * c[None, :] + one_minus[:, None] + ridge
    frac = 1.0 if math.isinf(tau) else -np.expm1(-2.0 * r * tau)
    return np.sqrt(one_minus)[:, None] * frac / r


def gd_weights(eigvals, alpha_bars, ridge: float = 0.0, lr: float = 0.05, steps: int = 100) -> np.ndarray:
    """Weights after ``steps`` iterations of gradient descent with learning rate ``lr`` from ``W = 0``.

    .. math:: w_t(\\nu, n) = w_t^*(\\nu)\\,\\big(1 - (1 - 2\\varepsilon_{\\rm lr} \\varpi_t(\\nu))^n\\big)

    with ``n = steps`` and ``varepsilon_lr = lr``. Gradient descent is stable only for ``lr < 1 / max varpi``; a larger ``lr``
    raises ``ValueError``. Chapter ``book/ddpm_dynamics.md``, equation ``eq-ddpm-gd``.
    """
    c = _as_eigvals(eigvals)
    ab = _as_alpha_bars(alpha_bars)
    ridge = as_nonnegative_float(ridge, "ridge")
    lr = as_positive_float(lr, "lr")
    steps = as_int(steps, "steps", minimum=0)
    r = ab[:, None] * c[None, :] + (1.0 - ab)[:, None] + ridge
    if lr * float(r.max()) >= 1.0:
        raise ValueError(
            f"lr must be below 1 / max varpi = {1.0 / float(r.max()):.4g} for stable gradient descent, got {lr!r}"
        )
    wstar = np.sqrt(1.0 - ab)[:, None] / r
    return wstar * (1.0 - (1.0 - 2.0 * lr * r) ** steps)


# --------------------------------------------------------------------------- sampling


def _sampler(gain, betas, sigma2):
    """Product formula from the per-step gains ``beta_t w_t / sqrt(1 - alpha_bar_t)``.

    ``phi_t = (1 - gain_t) / sqrt(1 - beta_t)``; the reverse recursion
    ``s_{t-1} = phi_t^2 s_t + sigma_t^2`` from ``s_T = 1`` telescopes to
    ``s = prod_t phi_t^2 + sum_t sigma_t^2 prod_{s<t} phi_s^2``. ``gain`` has shape
    ``(..., T, d)``: leading axes (a grid of ridges and training times) are carried along.
    """
    a = (1.0 - gain) / np.sqrt(1.0 - betas)[:, None]
    cp = np.cumprod(a * a, axis=-2)  # cp[..., t-1, :] = prod_{s<=t} phi_s^2
    s = cp[..., -1, :] + sigma2[0] + (sigma2[1:, None] * cp[..., :-1, :]).sum(axis=-2)
    p = np.prod(a, axis=-2)
    return s, p


def sampler_variances(weights, betas, alpha_bars, sigma2=None):
    """Variance and mean factor of the reverse chain along each eigen-direction.

    For ``W_t = sum_nu w_t(nu) v_nu v_nu^T`` the reverse step multiplies the
    ``nu`` coordinate by ``phi_t(nu) = (1 - beta_t w_t(nu)/sqrt(1 - alpha_bar_t)) / sqrt(1 - beta_t)``, so

    .. math:: \\tilde\\lambda_\\nu = \\prod_{t=1}^T \\varphi_t^2 + \\sum_{t=1}^T \\sigma_t^2 \\prod_{s<t} \\varphi_s^2

    (chapter ``book/ddpm_denoisers.md``, equation ``eq-ddpm-product``).

    Parameters
    ----------
    weights : array_like, shape (T, d)
        ``w_t(nu)`` for ``t = 1..T`` (all steps, in order).
    betas, alpha_bars : array_like, shape (T,)
    sigma2 : array_like, shape (T,), optional
        Sampler noise variances; default ``betas``.

    Returns
    -------
    variances : ndarray, shape (d,)
        ``lambda_tilde_nu``, the variance of the samples along ``v_nu``.
    mean_factor : ndarray, shape (d,)
        ``prod_t phi_t(nu)``, the eigenvalues of ``P_T = A_1 ... A_T``.
    """
    ab = _as_alpha_bars(alpha_bars)
    b = as_finite_array(betas, "betas", ndim=1)
    if b.shape != ab.shape or np.any(b <= 0) or np.any(b >= 1):
        raise ValueError(f"betas must have shape {ab.shape} with entries in (0, 1)")
    w = _as_weights(weights, ab)
    if sigma2 is None:
        s2 = b
    else:
        s2 = as_finite_array(sigma2, "sigma2", ndim=1)
        if s2.shape != ab.shape or np.any(s2 < 0):
            raise ValueError(f"sigma2 must have shape {ab.shape} with entries >= 0")
    gain = b[:, None] * w / np.sqrt(1.0 - ab)[:, None]
    return _sampler(gain, b, s2)


def _moments(fit, T, ridge, train_time, beta_min, beta_max, last_step_noise):
    betas, ab, one_minus = _schedule(T, beta_min, beta_max)
    c = fit.eigvals
    zero = c == 0.0
    if np.count_nonzero(zero) > 1:
        # all null directions evolve identically: compute one of them (halves the work at N = d/2)
        c = np.concatenate([c[~zero], [0.0]])
    r = ab[:, None] * c[None, :] + one_minus[:, None] + ridge
    frac = 1.0 if math.isinf(train_time) else -np.expm1(-2.0 * r * train_time)
    # gain = beta_t w_t / sqrt(1 - alpha_bar_t), written so that it is exactly 1
    # in a converged null direction at t = 1 (then a_1 = 0 exactly)
    gain = betas[:, None] * frac / r
    sigma2 = betas.copy()
    if not last_step_noise:
        sigma2[0] = 0.0
    s, p = _sampler(gain, betas, sigma2)
    if c.size != fit.dim:
        s_full, p_full = np.empty(fit.dim), np.empty(fit.dim)
        s_full[~zero], p_full[~zero] = s[:-1], p[:-1]
        s_full[zero], p_full[zero] = s[-1], p[-1]
        s, p = s_full, p_full
    if fit.center:
        # b_t = -sqrt(abar_t) W_t xbar: A_t sqrt(abar_t) xbar + c_t = sqrt(abar_{t-1}) xbar
        m_coords = fit.eigvecs.T @ fit.mean
        mean = fit.mean - math.sqrt(ab[-1]) * (fit.eigvecs @ (p * m_coords))
    else:
        mean = np.zeros(fit.dim)
    return s, mean


def _check_sampling_args(T, ridge, train_time, beta_min, beta_max):
    return (
        as_int(T, "T", minimum=1),
        as_nonnegative_float(ridge, "ridge"),
        as_nonnegative_float(train_time, "train_time", allow_inf=True),
        _as_beta(beta_min, "beta_min"),
        _as_beta(beta_max, "beta_max"),
    )


def sampling_moments(
    fit,
    T: int = 1000,
    ridge: float = 0.0,
    train_time: float = math.inf,
    beta_min: float = 1e-4,
    beta_max: float = 1e-2,
    last_step_noise: bool = True,
):
    """Variances along the empirical eigenvectors and the mean of the samples.

    Parameters
    ----------
    fit : EmpiricalSpectrum
        From :func:`empirical_spectrum`; fixes ``center``.
    T, ridge, train_time, beta_min, beta_max
        As in :func:`sampling_distribution`.
    last_step_noise : bool
        ``False`` drops the noise of the last step (``sigma_1 = 0``, the DDPM
        habit). Then, for ``N <= d`` and converged unregularized training, the
        null directions get variance exactly 0 and every KL is ``inf``.

    Returns
    -------
    variances : ndarray, shape (d,)
        ``lambda_tilde_nu`` along ``fit.eigvecs[:, nu]``.
    mean : ndarray, shape (d,)
    """
    fit = _as_spectrum(fit)
    T, ridge, train_time, beta_min, beta_max = _check_sampling_args(T, ridge, train_time, beta_min, beta_max)
    last_step_noise = _as_bool(last_step_noise, "last_step_noise")
    return _moments(fit, T, ridge, train_time, beta_min, beta_max, last_step_noise)


def sampling_distribution(
    X,
    T: int = 1000,
    ridge: float = 0.0,
    train_time: float = math.inf,
    center: bool = True,
    beta_min: float = 1e-4,
    beta_max: float = 1e-2,
) -> Gaussian:
    """The exact law ``p_G = N(m_G, C_G)`` of the samples of the trained linear DDPM.

    Each ``W_t`` is trained by gradient flow from 0 for ``train_time``
    (``inf``: the minimizer, with ridge ``ridge``) on the training set ``X``;
    the sampler runs ``t = T..1`` with ``sigma_t^2 = beta_t``. In the eigenbasis
    of the empirical covariance the covariance is ``C_G = sum_nu lambda_tilde_nu v_nu v_nu^T``
    (:func:`sampler_variances`) and the mean is
    ``m_G = xbar - sqrt(alpha_bar_T) P_T xbar`` (``center=True``) or 0.
    Chapter ``book/ddpm_denoisers.md``, equations ``eq-ddpm-product`` and ``eq-ddpm-mean``.

    Cost: one SVD of ``X`` plus ``O(T d)``; the result is built with
    :meth:`Gaussian.from_eigh`, so KL reuses the known eigenbasis.
    """
    X = as_data_matrix(X, "X", min_rows=2)
    T, ridge, train_time, beta_min, beta_max = _check_sampling_args(T, ridge, train_time, beta_min, beta_max)
    fit = empirical_spectrum(X, center)
    s, mean = _moments(fit, T, ridge, train_time, beta_min, beta_max, True)
    return Gaussian.from_eigh(mean, s, fit.eigvecs)


def transfer_function(c, T: int = 1000, beta_min: float = 1e-4, beta_max: float = 1e-2) -> np.ndarray:
    """Sampled variance ``g(c)`` of a direction with empirical variance ``c`` (converged, no ridge).

    The telescoped closed form (chapter ``book/ddpm_denoisers.md``, ``eq-ddpm-telescoped``):

    .. math:: g(c) = \\sigma_1^2 + c^2\\sum_{t=2}^T \\frac{\\sigma_t^2\\bar\\alpha_{t-1}}{v_{t-1}(c)^2}
              + \\frac{\\bar\\alpha_T c^2}{v_T(c)^2},\\qquad v_t(c) = \\bar\\alpha_t c + 1 - \\bar\\alpha_t,

    with ``sigma_t^2 = beta_t``. Accepts any array of ``c >= 0``.
    """
    c = as_finite_array(c, "c")
    if np.any(c < 0):
        raise ValueError("c must be >= 0 (a variance)")
    T = as_int(T, "T", minimum=1)
    betas, ab, one_minus = _schedule(T, _as_beta(beta_min, "beta_min"), _as_beta(beta_max, "beta_max"))
    ratio = c[..., None] / (ab * c[..., None] + one_minus)  # c / v_t(c), t = 1..T (no overflow)
    g = betas[0] + np.sum(betas[1:] * ab[:-1] * ratio[..., :-1] ** 2, axis=-1)
    return g + ab[-1] * ratio[..., -1] ** 2


def continuum_transfer(c, alpha_bar_T: float) -> np.ndarray:
    """Continuum limit of :func:`transfer_function` (``T -> inf`` at fixed ``alpha_bar_T``).

    .. math:: g(c) = c\\,\\frac{(1-\\bar\\alpha_T)^2 + \\bar\\alpha_T(2-\\bar\\alpha_T)c}{(1-\\bar\\alpha_T+\\bar\\alpha_T c)^2}

    Only the mismatch between ``u_T ~ N(0, I)`` and the forward marginal survives.
    """
    c = as_finite_array(c, "c")
    if np.any(c < 0):
        raise ValueError("c must be >= 0 (a variance)")
    a = as_positive_float(alpha_bar_T, "alpha_bar_T")
    if a >= 1:
        raise ValueError(f"alpha_bar_T must be in (0, 1), got {alpha_bar_T!r}")
    return c * ((1 - a) ** 2 + a * (2 - a) * c) / (1 - a + a * c) ** 2


# --------------------------------------------------------------------------- losses


def _loss(second_moments, weights, ab):
    root = np.sqrt(1.0 - ab)[:, None]
    return np.sum((1.0 - root * weights) ** 2 + ab[:, None] * weights**2 * second_moments[None, :], axis=1)


def train_loss(fit, weights, alpha_bars) -> np.ndarray:
    """Noise-averaged training loss of ``W_t = sum w_t(nu) v_nu v_nu^T`` at each step.

    ``L_t = sum_nu [(1 - sqrt(1 - abar_t) w)^2 + abar_t lambda_hat_nu w^2]``, summed over
    coordinates, without the ridge penalty (``book/ddpm_denoisers.md``, ``eq-ddpm-losses``).
    Returns shape ``(len(alpha_bars),)``.
    """
    fit = _as_spectrum(fit)
    ab = _as_alpha_bars(alpha_bars)
    w = _as_weights(weights, ab, fit.dim)
    return _loss(fit.eigvals, w, ab)


def _test_second_moments(fit, target):
    """``E (v^T (x - m))^2`` for ``x ~ target``, ``m`` the centering point of ``fit``."""
    V = fit.eigvecs
    B = target.eigvecs.T @ V
    rho = target.eigvals @ B**2
    e = V.T @ (target.mean - fit.mean)
    return rho + e**2


def test_loss(fit, target, weights, alpha_bars) -> np.ndarray:
    """Expected loss on fresh data ``x ~ target`` at each step (noise-averaged, summed over coordinates).

    ``L_t = sum_nu [(1 - sqrt(1 - abar_t) w)^2 + abar_t w^2 E(v_nu^T(x - m))^2]`` where
    ``m`` is the empirical mean (``center=True``) or 0; with a bias this includes
    the mean error ``abar_t ||W_t (mu - xbar)||^2``. Chapter
    ``book/ddpm_denoisers.md``, equation ``eq-ddpm-losses``. Shape ``(len(alpha_bars),)``.
    """
    fit = _as_spectrum(fit)
    target = _as_target(target, fit.dim)
    ab = _as_alpha_bars(alpha_bars)
    w = _as_weights(weights, ab, fit.dim)
    return _loss(_test_second_moments(fit, target), w, ab)


test_loss.__test__ = False  # a library function, not a pytest test


def optimal_loss(spectrum, alpha_bars) -> np.ndarray:
    """Test loss of the Bayes-optimal linear predictor (``N = inf``): ``sum_nu abar lambda / (abar lambda + 1 - abar)``."""
    lam = _as_eigvals(spectrum, "spectrum")
    ab = _as_alpha_bars(alpha_bars)
    x = ab[:, None] * lam[None, :]
    return np.sum(x / (x + (1.0 - ab)[:, None]), axis=1)


def deterministic_equivalent_losses(spectrum, N, alpha_bars, ridge: float = 0.0):
    """Proportional-limit prediction of the converged train and test losses (no-bias variant).

    With ``omega_t = 1 - abar + ridge``, the resolvent argument ``omega = omega_t / abar`` and
    ``delta(omega)`` solving ``delta = (1/N) sum_nu lambda_nu / (lambda_nu / (1 + delta) + omega)``,
    the deterministic equivalents (Silverstein-Bai type, ``book/appendix_rmt.md``,
    ``thm-rmt-deteq``) ``tr (S_0 + omega)^-1 ~ sum (lambda/(1+delta) + omega)^-1`` and
    ``tr Sigma (S_0 + omega)^-1 ~ N delta`` (squared resolvents by ``-d/d omega``) give
    (chapter ``book/ddpm_denoisers.md``, equation ``eq-ddpm-deteq``)

    ``test = d - 2(1-abar) tr R + (1-abar)^2 tr R^2 + abar(1-abar) tr Sigma R^2``,
    ``train = d - 2(1-abar) tr R + (1-abar)^2 tr R^2 + (1-abar)(tr R - omega_t tr R^2)``,
    ``R = (abar S_0 + omega_t)^-1``. For Gaussian data with known mean 0 and
    ``center=False``; with ``center=True`` use ``N - 1`` (the mean error is not included).

    Parameters
    ----------
    spectrum : array_like, shape (d,)
        Eigenvalues of ``Sigma`` (positive).
    N : int or 1-D array of int
        Number of training points; an array gives one row per value.
    alpha_bars : array_like, shape (n_steps,)

    Returns
    -------
    train, test : ndarray, shape (n_steps,) or (len(N), n_steps)
        Summed over coordinates.
    """
    lam = _as_eigvals(spectrum, "spectrum")
    if np.any(lam <= 0):
        raise ValueError("spectrum must be positive")
    scalar = np.ndim(N) == 0
    Ns = [as_int(n, "N", minimum=1) for n in np.atleast_1d(N).tolist()] if not scalar else [as_int(N, "N", minimum=1)]
    Ns = np.asarray(Ns, dtype=float)[:, None]
    ab = _as_alpha_bars(alpha_bars)
    ridge = as_nonnegative_float(ridge, "ridge")
    omega_t = 1.0 - ab + ridge
    omega = np.broadcast_to(omega_t / ab, (Ns.shape[0], ab.size))
    # tr R = tr(S_0 + omega)^-1 / abar, tr R^2 and tr Sigma R^2 from the squared resolvents (book/appendix_rmt.md)
    de = deterministic_equivalent(lam, Ns, omega)
    trR = de.trace / ab
    trR2 = de.trace_squared / ab**2
    trSR2 = de.trace_sigma_squared / ab**2
    om = 1.0 - ab
    common = lam.size - 2 * om * trR + om**2 * trR2
    train, test = common + om * (trR - omega_t * trR2), common + ab * om * trSR2
    if scalar:
        return train[0], test[0]
    return train, test


# --------------------------------------------------------------------------- KL


def _overlaps(fit, target):
    """``rho_nu = v^T Sigma v``, ``rho~_nu = v^T Sigma^-1 v`` and ``ln det Sigma`` (one d x d product)."""
    lam, U = target.eigvals, target.eigvecs
    B2 = (U.T @ fit.eigvecs) ** 2
    return lam @ B2, (1.0 / lam) @ B2, float(np.sum(np.log(lam)))


def _kl_eigen(s, mean, fit, target, overlaps=None):
    """Both KL directions per dimension for samples ``N(mean, V diag(s) V^T)`` against ``target``.

    ``KL(p||p_G) = sum_nu f(rho_nu/lambda_tilde_nu)/2 + (sum ln rho_nu - ln det Sigma)/2 + mean term``;
    the middle term (>= 0 by Hadamard's inequality) is the cost of the basis
    ``V`` not being the eigenbasis of ``Sigma``, whatever the variances.
    """
    if np.any(s <= 0):
        return math.inf, math.inf
    rho, rho_inv, logdet = _overlaps(fit, target) if overlaps is None else overlaps
    diff = target.mean - mean
    dv = fit.eigvecs.T @ diff
    du = target.eigvecs.T @ diff

    def f(x):
        return (x - 1.0) - np.log1p(x - 1.0)

    ts = 0.5 * (np.sum(f(rho / s)) + (np.sum(np.log(rho)) - logdet) + np.sum(dv**2 / s))
    st = 0.5 * (np.sum(f(s * rho_inv)) + (np.sum(np.log(rho_inv)) + logdet) + np.sum(du**2 / target.eigvals))
    return max(float(ts), 0.0) / fit.dim, max(float(st), 0.0) / fit.dim


def direction_overlaps(fit, target):
    """``(v_nu^T Sigma v_nu, v_nu^T Sigma^-1 v_nu)`` for the empirical eigenvectors ``v_nu``.

    The target variance along each direction the model uses, and the same for
    the precision. ``KL(target||samples)`` is
    ``sum_nu f(rho_nu / lambda_tilde_nu)/2 + (sum_nu ln rho_nu - ln det Sigma)/2`` plus a mean term,
    with ``f(x) = x - 1 - ln x`` (``book/ddpm_denoisers.md``, ``eq-ddpm-kl-eigen``).
    """
    fit = _as_spectrum(fit)
    target = _as_target(target, fit.dim)
    rho, rho_inv, _ = _overlaps(fit, target)
    return rho, rho_inv


def sampling_kl(
    fit,
    target,
    T: int = 1000,
    ridge: float = 0.0,
    train_time: float = math.inf,
    beta_min: float = 1e-4,
    beta_max: float = 1e-2,
    last_step_noise: bool = True,
):
    """KL per dimension between the target and the samples, both directions, in the eigenbasis.

    Returns ``(KL(target || samples) / d, KL(samples || target) / d)``, the
    directions "t||s" and "s||t" of ``book/notation.md``. Equal to
    :func:`kl_per_dimension` of :func:`sampling_distribution`, but costs one
    ``d x d`` product plus ``O(T d)``, which makes scans over ridge and training
    time cheap. ``inf`` (both) when a sampled variance is exactly 0.
    """
    fit = _as_spectrum(fit)
    target = _as_target(target, fit.dim)
    T, ridge, train_time, beta_min, beta_max = _check_sampling_args(T, ridge, train_time, beta_min, beta_max)
    last_step_noise = _as_bool(last_step_noise, "last_step_noise")
    s, mean = _moments(fit, T, ridge, train_time, beta_min, beta_max, last_step_noise)
    return _kl_eigen(s, mean, fit, target)


def kl_per_dimension(samples, target):
    """``(KL(target || samples) / d, KL(samples || target) / d)`` via :func:`lindiff.kl_divergence`."""
    if not isinstance(samples, Gaussian):
        raise TypeError(f"samples must be a lindiff.Gaussian, got {type(samples).__name__}")
    if not isinstance(target, Gaussian):
        raise TypeError(f"target must be a lindiff.Gaussian, got {type(target).__name__}")
    d = samples.dim
    return kl_divergence(target, samples) / d, kl_divergence(samples, target) / d


def population_kl(spectrum, T: int = 1000, beta_min: float = 1e-4, beta_max: float = 1e-2):
    """KL per dimension at ``N = inf`` (``C = Sigma``, converged, no ridge, mean 0), both directions.

    The samples have variance ``g(lambda_nu)`` along the eigenvectors of ``Sigma``
    (:func:`transfer_function`), so ``KL(p||p_G)/d = mean f(lambda/g)/2`` and
    ``KL(p_G||p)/d = mean f(g/lambda)/2`` with ``f(x) = x - 1 - ln x``. This is the
    optimum that the d/N law approaches (``book/ddpm_denoisers.md``, ``eq-ddpm-klinf``).
    """
    lam = _as_eigvals(spectrum, "spectrum")
    if np.any(lam <= 0):
        raise ValueError("spectrum must be positive")
    g = transfer_function(lam, T, beta_min, beta_max)

    def f(x):
        return (x - 1.0) - np.log1p(x - 1.0)

    return float(np.mean(f(lam / g))) / 2, float(np.mean(f(g / lam))) / 2


def wishart_kl_expectation(d: int, N: int, center: bool = False):
    """Exact ``E KL`` per dimension between ``p = N(mu, Sigma)`` and its refitted Gaussian, both directions.

    The refit is ``p_hat = N(xbar, S)`` (``center=True``, ``n = N - 1`` degrees of
    freedom) or ``N(mu, M)`` (``center=False``, mean known, ``n = N``). Whitening by
    ``Sigma`` makes ``N C`` a standard Wishart matrix with ``n`` degrees of freedom,
    whatever ``Sigma`` is, and (chapter ``book/ddpm_denoisers.md``, ``eq-ddpm-wishart``)

    ``E KL(p||p_hat) = [N d/(n - d - 1) - d + (center) d/(n - d - 1) + L] / 2``,
    ``E KL(p_hat||p) = -L / 2``,   ``L = sum_{i=1}^d psi((n - i + 1)/2) + d ln(2/N)``.

    Returns ``(t||s, s||t)`` per dimension; ``inf`` where the expectation is
    infinite (``n <= d + 1`` for t||s, ``n < d`` for s||t).
    """
    d = as_int(d, "d", minimum=1)
    N = as_int(N, "N", minimum=2)
    center = _as_bool(center, "center")
    n = N - 1 if center else N
    if n < d:
        return math.inf, math.inf
    L = wishart_logdet_mean(d, n) - d * math.log(N)  # E ln det(G/N), G ~ Wishart_d(n, I)
    st = -0.5 * L / d
    if n <= d + 1:
        return math.inf, st
    mean_term = d / (n - d - 1) if center else 0.0
    ts = 0.5 * (N * d / (n - d - 1) - d + mean_term + L) / d
    return ts, st


def proportional_kl_limit(ratio):
    """Proportional limit ``d, N -> inf`` at ``gamma = d/N`` of :func:`wishart_kl_expectation` (no bias).

    From the Marchenko–Pastur law (``book/ddpm_denoisers.md``, ``eq-ddpm-mp``):

    ``t||s = [g/(1-g) - 1 - (1-g)/g ln(1-g)] / 2``,  ``s||t = [1 + (1-g)/g ln(1-g)] / 2``
    with ``g = gamma``; both are ``gamma/4 + O(gamma^2)``. Accepts an array of ``gamma >= 0``; ``0`` at ``gamma = 0`` and
    ``inf`` for ``gamma >= 1``.
    """
    gam = as_finite_array(ratio, "ratio")
    if np.any(gam < 0):
        raise ValueError("ratio must be >= 0 (it is d/N)")
    gs = np.where((gam > 0) & (gam < 1), gam, 0.5)
    # y = 1 + (1-gamma)/gamma ln(1-gamma) = -E ln u under Marchenko-Pastur (book/appendix_rmt.md, eq-rmt-log-moment)
    y = -np.vectorize(mp_log_moment, otypes=[float])(gs)
    ts = 0.5 * (gs / (1 - gs) - y)
    st = 0.5 * y
    ts = np.where(gam == 0, 0.0, np.where(gam >= 1, np.inf, ts))
    st = np.where(gam == 0, 0.0, np.where(gam >= 1, np.inf, st))
    if ts.ndim == 0:
        return float(ts), float(st)
    return ts, st


def _kl_on_grid(fit, target, T, ridges, taus, beta_min, beta_max, overlaps=None, max_elements=2_000_000):
    """Both KL directions per dimension for every pair of ``ridges x taus``, shape ``(R, S, 2)``.

    The same computation as :func:`_moments` followed by :func:`_kl_eigen`, vectorized
    over the grid: the per-step gains of all pairs form one ``(pairs, T, d)`` array
    (processed in chunks of at most ``max_elements`` entries, to bound the memory),
    and the KL sums run over the last axis.
    """
    betas, ab, one_minus = _schedule(T, beta_min, beta_max)
    c = fit.eigvals
    zero = c == 0.0
    collapse = np.count_nonzero(zero) > 1
    cc = np.concatenate([c[~zero], [0.0]]) if collapse else c  # null directions evolve identically
    base = ab[:, None] * cc[None, :] + one_minus[:, None]  # varpi_t(nu) without ridge, (T, d')
    rr = np.repeat(np.asarray(ridges, float), len(taus))
    tt = np.tile(np.asarray(taus, float), len(ridges))
    n_pairs = rr.size
    chunk = max(1, max_elements // base.size)
    s_red, p_red = np.empty((n_pairs, cc.size)), np.empty((n_pairs, cc.size))
    for lo in range(0, n_pairs, chunk):
        hi = min(lo + chunk, n_pairs)
        rate = base[None] + rr[lo:hi, None, None]
        tau = tt[lo:hi, None, None]
        finite = np.isfinite(tau)
        # converged pairs keep frac = 1 exactly, so a null direction at t = 1 gets phi_1 = 0 exactly
        frac = np.where(finite, -np.expm1(-2.0 * rate * np.where(finite, tau, 0.0)), 1.0)
        s_red[lo:hi], p_red[lo:hi] = _sampler(betas[:, None] * frac / rate, betas, betas)
    if collapse:
        s_all, p_all = np.empty((n_pairs, fit.dim)), np.empty((n_pairs, fit.dim))
        s_all[:, ~zero], p_all[:, ~zero] = s_red[:, :-1], p_red[:, :-1]
        s_all[:, zero], p_all[:, zero] = s_red[:, -1:], p_red[:, -1:]
    else:
        s_all, p_all = s_red, p_red
    rho, rho_inv, logdet = _overlaps(fit, target) if overlaps is None else overlaps
    V = fit.eigvecs
    m_coords = V.T @ fit.mean
    # coordinates of (target mean - sample mean) in the basis v_nu; the sample mean is
    # xbar - sqrt(alpha_bar_T) P_T xbar with a tied bias (eq-ddpm-mean), 0 without
    mean_coords = m_coords[None, :] * (1.0 - math.sqrt(ab[-1]) * p_all) if fit.center else np.zeros_like(s_all)
    dv = (V.T @ target.mean)[None, :] - mean_coords
    du = (V @ dv.T).T @ target.eigvecs
    with np.errstate(divide="ignore", invalid="ignore"):
        x_ts = rho[None, :] / s_all
        x_st = s_all * rho_inv[None, :]
        f_ts = (x_ts - 1.0) - np.log1p(x_ts - 1.0)
        f_st = (x_st - 1.0) - np.log1p(x_st - 1.0)
        ts = 0.5 * (f_ts.sum(axis=1) + (np.sum(np.log(rho)) - logdet) + np.sum(dv**2 / s_all, axis=1))
    st = 0.5 * (f_st.sum(axis=1) + (np.sum(np.log(rho_inv)) + logdet) + np.sum(du**2 / target.eigvals, axis=1))
    out = np.stack([np.maximum(ts, 0.0), np.maximum(st, 0.0)], axis=-1) / fit.dim
    out[np.any(s_all <= 0, axis=1)] = math.inf
    return out.reshape(len(ridges), len(taus), 2)


def kl_grid(
    fit,
    target,
    ridges=(0.0,),
    train_times=(math.inf,),
    T: int = 1000,
    beta_min: float = 1e-4,
    beta_max: float = 1e-2,
) -> np.ndarray:
    """:func:`sampling_kl` on a grid of ridges and training times, vectorized.

    Equal to ``[[sampling_kl(fit, target, T, r, tau) for tau in train_times] for r in ridges]``
    (to rounding), but the ``T x d`` sampler products of all grid points are evaluated
    as one array, which makes the generalization maps of ``book/ddpm_dynamics.md`` cheap.

    Returns
    -------
    ndarray, shape (len(ridges), len(train_times), 2)
        Last axis: ``(KL(target || samples) / d, KL(samples || target) / d)``; ``inf``
        where a sampled variance is exactly 0.
    """
    fit = _as_spectrum(fit)
    target = _as_target(target, fit.dim)
    ridges = [as_nonnegative_float(r, "ridges") for r in np.atleast_1d(ridges).tolist()]
    taus = [as_nonnegative_float(t, "train_times", allow_inf=True) for t in np.atleast_1d(train_times).tolist()]
    if not ridges or not taus:
        raise ValueError("ridges and train_times must each contain at least one value")
    T = as_int(T, "T", minimum=1)
    beta_min, beta_max = _as_beta(beta_min, "beta_min"), _as_beta(beta_max, "beta_max")
    return _kl_on_grid(fit, target, T, ridges, taus, beta_min, beta_max)


def kl_scan(
    d: int,
    k: float,
    N: int,
    seeds,
    ridges=(0.0,),
    train_times=(math.inf,),
    center: bool = False,
    T: int = 1000,
) -> np.ndarray:
    """KL per dimension of the trained model over training sets, ridges and training times.

    For each seed, draws ``N`` points from :func:`power_law_target` ``(d, k)`` with
    ``numpy.random.default_rng(seed)`` (the same standard-normal draws for every
    ``k``, so the whitened data, and hence the refit KL, do not depend on ``k``),
    fits the empirical spectrum once, and evaluates :func:`kl_grid` on the
    grid ``ridges x train_times``.

    Returns
    -------
    ndarray, shape (len(seeds), len(ridges), len(train_times), 2)
        Last axis: ``(KL(target || samples) / d, KL(samples || target) / d)``.
    """
    seeds = [as_int(s_, "seeds", minimum=0) for s_ in np.atleast_1d(seeds).tolist()]
    if not seeds:
        raise ValueError("seeds must contain at least one seed (integer >= 0)")
    ridges = [as_nonnegative_float(r, "ridges") for r in np.atleast_1d(ridges).tolist()]
    taus = [as_nonnegative_float(t, "train_times", allow_inf=True) for t in np.atleast_1d(train_times).tolist()]
    if not ridges or not taus:
        raise ValueError("ridges and train_times must each contain at least one value")
    T = as_int(T, "T", minimum=1)
    center = _as_bool(center, "center")
    out = np.empty((len(seeds), len(ridges), len(taus), 2))
    for i, seed in enumerate(seeds):
        X, target = power_law_training_set(N, d, k, np.random.default_rng(seed))
        fit = empirical_spectrum(X, center=center)
        out[i] = _kl_on_grid(fit, target, T, ridges, taus, 1e-4, 1e-2)
    return out


def generalization_scan(
    d: int,
    k: float,
    ratios,
    seeds,
    ridges=(0.0,),
    train_times=(math.inf,),
    center: bool = False,
    T: int = 1000,
) -> np.ndarray:
    """KL per dimension over training-set sizes ``N = round(ratio d)``, ridges and training times.

    One :func:`kl_scan` per ratio, with the same seeds: the map of
    ``book/ddpm_dynamics.md`` (section on generalization across ``N/d``).

    Returns
    -------
    ndarray, shape (len(ratios), len(seeds), len(ridges), len(train_times), 2)
    """
    d = as_int(d, "d", minimum=1)
    rs = as_finite_array(ratios, "ratios", ndim=1)
    if rs.size < 1 or np.any(np.round(rs * d) < 2):
        raise ValueError(f"ratios must be a non-empty 1-D array with round(ratio * d) >= 2, got {ratios!r}")
    return np.stack([kl_scan(d, k, int(round(r * d)), seeds, ridges, train_times, center, T) for r in rs])


def grid_minimum(x, y):
    """Minimum of a curve sampled on a positive, increasing grid, refined by a parabola in log-log.

    Fits ``ln y`` as a parabola in ``ln x`` through the smallest sample and its two
    neighbors and returns the vertex ``(x*, y*)``. A minimum at either end of the grid
    is returned as it is (no extrapolation). Exact when ``ln y`` is quadratic in ``ln x``
    near the minimum; otherwise the error is of third order in the grid spacing.

    Parameters
    ----------
    x : array_like, shape (n,)
        Positive, strictly increasing.
    y : array_like, shape (n,) or (m, n)
        Positive values; a 2-D array gives one minimum per row.

    Returns
    -------
    x_min, y_min : float, or ndarray of shape (m,)
    """
    xs = as_finite_array(x, "x", ndim=1)
    if xs.size < 3 or np.any(xs <= 0) or np.any(np.diff(xs) <= 0):
        raise ValueError("x must be a 1-D array of at least 3 positive, strictly increasing values")
    ys = np.asarray(y, dtype=float)
    if ys.ndim not in (1, 2) or ys.shape[-1] != xs.size:
        raise ValueError(f"y must have shape ({xs.size},) or (m, {xs.size}), got {ys.shape}")
    if np.any(~(ys > 0)) or np.any(np.isnan(ys)):
        raise ValueError("y must be positive (inf allowed, nan not)")
    rows = np.atleast_2d(ys)
    lx = np.log(xs)
    x_out, y_out = np.empty(rows.shape[0]), np.empty(rows.shape[0])
    for i, row in enumerate(rows):
        m = int(np.argmin(row))
        if m == 0 or m == xs.size - 1 or not np.all(np.isfinite(row[m - 1 : m + 2])):
            x_out[i], y_out[i] = xs[m], row[m]
            continue
        c2, c1, c0 = np.polyfit(lx[m - 1 : m + 2], np.log(row[m - 1 : m + 2]), 2)
        u = -c1 / (2 * c2) if c2 > 0 else lx[m]
        u = min(max(u, lx[m - 1]), lx[m + 1])
        x_out[i], y_out[i] = math.exp(u), math.exp(c0 + c1 * u + c2 * u * u)
    if ys.ndim == 1:
        return float(x_out[0]), float(y_out[0])
    return x_out, y_out
