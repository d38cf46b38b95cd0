"""Denoisers and scores of Gaussians, and the samplers they drive, in closed form.

Chapter ``book/score_view.md`` ("Denoisers, scores and the empirical
Gaussian") derives everything here; ``book/notation.md`` fixes the symbols.

A *forward jump* noises a clean point as ``x = a x_0 + sqrt(h) ε`` with
``ε ~ N(0, I)``. Both models of the book are of this form:

* the one-step model (Ornstein–Uhlenbeck process, time ``t``):
  ``a = exp(−t)``, ``h = ℓ (1 − exp(−2t))`` (:func:`lindiff.onestep.forward_coefficients`);
* the linear DDPM at step ``t``: ``a = sqrt(ᾱ_t)``, ``h = 1 − ᾱ_t``.

For a Gaussian ``x_0 ~ N(m, C)`` the noised law is ``N(a m, a² C + h I)``, its
score is ``∇ ln p_t(x) = −(a² C + h I)⁻¹ (x − a m)``, and Tweedie's formula
(``eq-score-tweedie``) gives the posterior mean (the Bayes-optimal denoiser)
and the posterior mean of the noise (the Bayes-optimal noise predictor)::

    E[x_0 | x] = (x + h ∇ ln p_t(x)) / a = m + a C (a² C + h I)⁻¹ (x − a m),
    E[ε | x]   = −sqrt(h) ∇ ln p_t(x)   = sqrt(h) (a² C + h I)⁻¹ (x − a m).

Theorem ``thm-score-empirical-gaussian``: the fitted linear denoisers of both
models are these maps for the *empirical Gaussian* ``N(x̄, S)``
(:func:`empirical_gaussian`). Every matrix is built in the eigenbasis of ``C``
(stored by :class:`lindiff.gaussian.Gaussian`), so a degenerate ``C`` (the
empirical Gaussian for ``N ≤ d``) needs no special case: ``h > 0`` keeps
``a² C + h I`` invertible.

The reverse-time SDE and the probability-flow ODE of a Gaussian
(section ``score-pf-ode``) act on each eigen-direction of ``C`` with variance
``λ`` separately; their maps from time ``t`` to time 0 depend only on ``(a, h)``
at the start, because the forward variance ``v = a² λ + h`` of the direction
determines the whole path. Started from a law of variance ``v_start`` in that
direction they return the variances (:func:`reverse_sde_transfer`,
:func:`pf_ode_transfer`)::

    reverse SDE:  λ + (a λ / v)² (v_start − v),      PF-ODE:  λ v_start / v.
"""

from __future__ import annotations

import math

import numpy as np

from . import ddpm
from ._validate import as_data_matrix, as_finite_array, as_int, as_nonnegative_float, as_positive_float
from .gaussian import Gaussian

__all__ = [
    "empirical_gaussian",
    "noised_gaussian",
    "gaussian_score",
    "gaussian_denoiser",
    "gaussian_noise_predictor",
    "gaussian_posterior_cov",
    "reverse_sde_output",
    "pf_ode_output",
    "reverse_sde_transfer",
    "pf_ode_transfer",
    "ddim_transfer",
]


# --------------------------------------------------------------------------- checks
def _as_gaussian(p, name: str = "p") -> Gaussian:
    if not isinstance(p, Gaussian):
        raise TypeError(f"{name} must be a lindiff.Gaussian, got {type(p).__name__}")
    return p


def _as_jump(signal, noise_var) -> tuple[float, float]:
    """``(a, h)`` of a forward jump: both finite and ``> 0``."""
    return as_positive_float(signal, "signal"), as_positive_float(noise_var, "noise_var")


def _as_lam(lam) -> np.ndarray:
    lam = as_finite_array(lam, "lam")
    if np.any(lam < 0):
        raise ValueError("lam must be variances (eigenvalues of a covariance, >= 0)")
    return lam


def _matrix(V, diag) -> np.ndarray:
    """``V diag(diag) Vᵀ``."""
    return (V * diag) @ V.T


# --------------------------------------------------------------------------- the Gaussians
def empirical_gaussian(X, center: bool = True) -> Gaussian:
    """The empirical Gaussian ``N(x̄, S)`` of a training set (``N(0, S₀)`` with ``center=False``).

    ``S = (1/N) Σ (x_i − x̄)(x_i − x̄)ᵀ`` (rank ``≤ min(N − 1, d)``) or the
    uncentered second moment ``S₀ = XᵀX / N`` (rank ``≤ min(N, d)``). It has
    the first two moments of the empirical distribution (theorem
    ``thm-score-empirical-gaussian``). Built from
    :func:`lindiff.ddpm.empirical_spectrum`, whose eigenvalues beyond the rank
    are exact zeros, so the law is exactly degenerate for ``N ≤ d``.
    """
    X = as_data_matrix(X, "X", min_rows=2)
    fit = ddpm.empirical_spectrum(X, center)
    return Gaussian.from_eigh(fit.mean, fit.eigvals, fit.eigvecs)


def noised_gaussian(p: Gaussian, signal: float, noise_var: float) -> Gaussian:
    """The law ``N(a m, a² C + h I)`` of ``a x_0 + sqrt(h) ε`` for ``x_0 ~ p = N(m, C)``.

    With ``p`` the empirical Gaussian this is ``p̂_t`` of chapter
    ``score_view``; it is never degenerate (``h > 0``).
    """
    p = _as_gaussian(p)
    a, h = _as_jump(signal, noise_var)
    return Gaussian.from_eigh(a * p.mean, a * a * p.eigvals + h, p.eigvecs)


def gaussian_score(x, p: Gaussian, signal: float, noise_var: float) -> np.ndarray:
    """The score ``∇ ln p_t(x) = −(a² C + h I)⁻¹ (x − a m)`` of the noised Gaussian.

    Parameters
    ----------
    x : array_like, shape (d,) or (n, d)
        Points at which to evaluate the score.
    p : Gaussian
        The clean law ``N(m, C)``, possibly degenerate.
    signal, noise_var : float
        ``a > 0`` and ``h > 0`` of the forward jump.

    Returns
    -------
    ndarray, the shape of ``x``
    """
    p = _as_gaussian(p)
    a, h = _as_jump(signal, noise_var)
    x = as_finite_array(x, "x")
    if x.ndim not in (1, 2) or x.shape[-1] != p.dim:
        raise ValueError(f"x must have shape (d,) or (n, d) with d = {p.dim}, got {x.shape}")
    V = p.eigvecs
    y = (x - a * p.mean) @ V
    return -(y / (a * a * p.eigvals + h)) @ V.T


def gaussian_denoiser(p: Gaussian, signal: float, noise_var: float) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mean ``E[x_0 | x] = W x + b`` for ``x_0 ~ p`` (the Bayes-optimal denoiser).

    ``W = a C (a² C + h I)⁻¹`` and ``b = m − a W m`` (equation ``eq-score-posterior``).
    For the empirical Gaussian and the one-step model's ``(a, h)`` this is the
    noise-averaged fit of :func:`lindiff.onestep.fit_denoiser`
    (theorem ``thm-score-empirical-gaussian``).

    Returns
    -------
    W : ndarray, shape (d, d)
    b : ndarray, shape (d,)
    """
    p = _as_gaussian(p)
    a, h = _as_jump(signal, noise_var)
    lam = p.eigvals
    W = _matrix(p.eigvecs, a * lam / (a * a * lam + h))
    return W, p.mean - a * (W @ p.mean)


def gaussian_noise_predictor(p: Gaussian, signal: float, noise_var: float) -> tuple[np.ndarray, np.ndarray]:
    """The posterior mean of the noise ``E[ε | x] = W x + b`` for ``x_0 ~ p`` (Bayes-optimal noise predictor).

    ``W = sqrt(h) (a² C + h I)⁻¹`` and ``b = −a W m``, equal to
    ``−sqrt(h) ∇ ln p_t(x)`` by Tweedie's formula (``eq-score-tweedie``). For
    the empirical Gaussian and ``a = sqrt(ᾱ_t)``, ``h = 1 − ᾱ_t`` this is the
    minimizer ``W_t*`` of the linear DDPM with tied bias
    (theorem ``thm-score-empirical-gaussian``).

    Returns
    -------
    W : ndarray, shape (d, d)
    b : ndarray, shape (d,)
    """
    p = _as_gaussian(p)
    a, h = _as_jump(signal, noise_var)
    W = _matrix(p.eigvecs, math.sqrt(h) / (a * a * p.eigvals + h))
    return W, -a * (W @ p.mean)


def gaussian_posterior_cov(p: Gaussian, signal: float, noise_var: float) -> np.ndarray:
    """The posterior covariance ``Cov(x_0 | x) = h C (a² C + h I)⁻¹`` (the same for every ``x``).

    Zero along the null directions of ``C``: the posterior of a degenerate
    Gaussian stays on its support.
    """
    p = _as_gaussian(p)
    a, h = _as_jump(signal, noise_var)
    lam = p.eigvals
    return _matrix(p.eigvecs, h * lam / (a * a * lam + h))


# --------------------------------------------------------------------------- reverse processes
def _check_start(p, start):
    p, start = _as_gaussian(p), _as_gaussian(start, "start")
    if start.dim != p.dim:
        raise ValueError(f"start must have dimension d = {p.dim} to match p, got {start.dim}")
    return p, start


def reverse_sde_output(p: Gaussian, start: Gaussian, signal: float, noise_var: float) -> Gaussian:
    """Law at time 0 of the exact reverse-time SDE of ``p`` started at time ``t`` from ``start``.

    The reverse SDE (Anderson 1982) of the forward process reproduces the
    conditional law of ``x_0`` given ``x_t``; started from ``u_t ~ start`` it
    therefore returns ``u_0 ~ N(W m_s + b, W C_s Wᵀ + Q)`` with ``(W, b)`` the
    posterior mean map (:func:`gaussian_denoiser`) and ``Q`` the posterior
    covariance (:func:`gaussian_posterior_cov`): posterior sampling of ``p``
    given a start that need not be ``p``'s own marginal (section
    ``score-ksteps``). ``(a, h)`` are those of the forward jump to ``t``.
    """
    p, start = _check_start(p, start)
    W, b = gaussian_denoiser(p, signal, noise_var)
    Q = gaussian_posterior_cov(p, signal, noise_var)
    cov = W @ start.cov @ W.T + Q
    return Gaussian(W @ start.mean + b, 0.5 * (cov + cov.T))


def pf_ode_output(p: Gaussian, start: Gaussian, signal: float, noise_var: float) -> Gaussian:
    """Law at time 0 of the probability-flow ODE of ``p`` started at time ``t`` from ``start``.

    Along an eigen-direction of ``C`` with variance ``λ`` the ODE scales the
    deviation from the mean ``a m`` by ``sqrt(λ / (a² λ + h))`` (section
    ``score-pf-ode``), so ``u_0 = A (u_t − a m) + m`` with
    ``A = C^{1/2} (a² C + h I)^{−1/2}``; a null direction is mapped to exactly 0.
    """
    p, start = _check_start(p, start)
    a, h = _as_jump(signal, noise_var)
    lam = p.eigvals
    A = _matrix(p.eigvecs, np.sqrt(lam / (a * a * lam + h)))
    cov = A @ start.cov @ A.T
    return Gaussian(A @ (start.mean - a * p.mean) + p.mean, 0.5 * (cov + cov.T))


def _transfer_inputs(lam, signal, noise_var, start_var):
    lam = _as_lam(lam)
    a, h = _as_jump(signal, noise_var)
    v0 = as_finite_array(start_var, "start_var")
    if np.any(v0 < 0):
        raise ValueError("start_var must be >= 0 (a variance)")
    return lam, a, h, v0


def reverse_sde_transfer(lam, signal: float, noise_var: float, start_var) -> np.ndarray:
    """Variance after the exact reverse SDE of ``N(·, λ)`` from a start of variance ``start_var``.

    .. math:: g(\\lambda) = \\frac{\\lambda h}{a^2\\lambda + h} + v_{\\rm start}\\Big(\\frac{a\\lambda}{a^2\\lambda+h}\\Big)^2
              = \\lambda + \\Big(\\frac{a\\lambda}{a^2\\lambda+h}\\Big)^2\\big(v_{\\rm start} - a^2\\lambda - h\\big)

    (chapter ``score_view``, equation ``eq-score-sde-transfer``). It is ``λ``
    when the start is the direction's own forward variance. Special cases: the
    ``K → ∞`` limit of the K-step sampler (``start_var = v``, ``(a, h)`` at
    ``T``; :func:`lindiff.steps.limit_spectrum`) and the continuum limit of the
    DDPM transfer function (``start_var = 1``, ``a² = ᾱ_T``, ``h = 1 − ᾱ_T``;
    :func:`lindiff.ddpm.continuum_transfer`). Written as a sum of two
    non-negative terms: no cancellation. Broadcasts ``lam`` against ``start_var``.
    """
    lam, a, h, v0 = _transfer_inputs(lam, signal, noise_var, start_var)
    v = a * a * lam + h
    return lam * h / v + v0 * (a * lam / v) ** 2


def pf_ode_transfer(lam, signal: float, noise_var: float, start_var) -> np.ndarray:
    """Variance after the probability-flow ODE of ``N(·, λ)`` from a start of variance ``start_var``.

    .. math:: g_{\\rm ODE}(\\lambda) = \\frac{\\lambda\\,v_{\\rm start}}{a^2\\lambda + h}

    (chapter ``score_view``, equation ``eq-score-ode-transfer``): the ODE
    rescales each direction by the ratio of standard deviations, so a null
    direction (``λ = 0``) ends at exactly 0. Broadcasts ``lam`` against ``start_var``.
    """
    lam, a, h, v0 = _transfer_inputs(lam, signal, noise_var, start_var)
    return lam * v0 / (a * a * lam + h)


def ddim_transfer(lam, T: int = 1000, beta_min: float = 1e-4, beta_max: float = 1e-2) -> np.ndarray:
    """Variance of the deterministic DDIM sampler with the converged linear DDPM denoiser (no ridge).

    DDIM (η = 0) from ``u_T ~ N(0, I)`` with ``ε_θ = W_t*`` of the empirical
    Gaussian multiplies a direction of empirical variance ``λ`` by

    .. math:: \\vartheta_t = \\frac{\\sqrt{\\bar\\alpha_{t-1}\\bar\\alpha_t}\\,\\lambda
              + \\sqrt{(1-\\bar\\alpha_{t-1})(1-\\bar\\alpha_t)}}{v_t(\\lambda)},\\qquad
              v_t(\\lambda) = \\bar\\alpha_t\\lambda + 1 - \\bar\\alpha_t,\\ \\bar\\alpha_0 = 1,

    in step ``t``, and returns ``g = Π_t ϑ_t²`` (exercise ``ex-score-ddim`` of
    chapter ``score_view``): ``λ/v_T(λ)`` times a product of squared cosines
    that tends to 1 as the steps refine. A null direction gets ``ϑ_1 = 0`` and
    ``g = 0`` exactly. Schedule of :func:`lindiff.ddpm.linear_schedule`.
    Accepts any array of ``λ >= 0``.
    """
    lam = _as_lam(lam)
    T = as_int(T, "T", minimum=1)
    betas, ab = ddpm.linear_schedule(T, beta_min, beta_max)
    # 1 − ᾱ_t without cancellation (β_1 exactly at t = 1)
    one_minus = -np.expm1(np.cumsum(np.log1p(-betas)))
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    om_prev = np.concatenate([[0.0], one_minus[:-1]])
    lam_ = lam[..., None]
    v = ab * lam_ + one_minus
    theta = (np.sqrt(ab_prev * ab) * lam_ + np.sqrt(om_prev * one_minus)) / v
    # the product in log space (T factors slightly below 1); exact 0 stays 0
    with np.errstate(divide="ignore"):
        logs = 2.0 * np.log(theta)
    return np.exp(np.sum(logs, axis=-1))
