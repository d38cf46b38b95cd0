"""The exact denoiser of the empirical distribution, run through the DDPM sampler.

Chapter ``book/image_patches.md`` (definition ``def-data-empirical-denoiser``,
equation ``eq-data-empirical-denoiser``). If the data distribution is taken
to be the training set itself, ``p_N = (1/N) Σ_i δ(x − x_i)`` (``book/score_view.md``), the forward
process of ``book/notation.md`` (``eq-ddpm-forward``) turns it into a
mixture of Gaussians,

    p_t(x) = (1/N) Σ_i N(x; sqrt(ᾱ_t) x_i, (1 − ᾱ_t) I),

and the posterior mean of the clean point is a softmax-weighted average of
the training points,

    E[x_0 | x_t = x] = Σ_i w_i(x) x_i,   w = softmax_i( −|x − sqrt(ᾱ_t) x_i|² / (2(1 − ᾱ_t)) ).

This is the minimizer of the DDPM loss over *all* functions (not only
linear ones) on the training set, so a network with unlimited capacity
trained to convergence learns it. Plugged into the sampler
``eq-ddpm-sampler`` it reproduces training points: at ``t = 1``,
``β_1 = 1 − ᾱ_1`` makes the last step return ``E[x_0 | u_1] + σ_1 z``.

Between this copier and the linear DDPM lies the **smoothed empirical
distribution** (definition ``def-data-smoothed`` of the chapter)

    p_ζ = (1/N) Σ_i N(x̄ + √(1 − ζ)(x_i − x̄), ζ S),   0 <= ζ <= 1,

each training point pulled towards the mean and blurred by a Gaussian
kernel shaped like the empirical covariance ``S``. Every ``p_ζ`` has mean
``x̄`` and covariance ``S``; ``ζ = 0`` is the empirical distribution,
``ζ = 1`` the empirical Gaussian ``N(x̄, S)``, whose noise predictor is the
converged linear DDPM. :func:`smoothed_denoiser` is its posterior mean and
:func:`smoothed_ddpm_samples` runs it through the sampler.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from . import ddpm
from ._validate import as_data_matrix, as_finite_array, as_generator, as_int, as_nonnegative_float, as_positive_float
from .memorization import kernel_bandwidth

__all__ = [
    "posterior_weights",
    "empirical_denoiser",
    "empirical_noise_prediction",
    "empirical_ddpm_samples",
    "smoothed_denoiser",
    "smoothed_ddpm_samples",
    "mixture_log_overlap",
    "copying_statistic",
]


def _check_alpha_bar(alpha_bar) -> float:
    if isinstance(alpha_bar, bool) or not isinstance(alpha_bar, (int, float, np.floating, np.integer)):
        raise TypeError(f"alpha_bar must be a real number in (0, 1), got {type(alpha_bar).__name__}")
    ab = float(alpha_bar)
    if not 0.0 < ab < 1.0:
        raise ValueError(f"alpha_bar must be in (0, 1), got {alpha_bar!r}")
    return ab


def _check_inputs(x, train):
    X = as_data_matrix(train, "train", min_rows=1)
    pts = as_finite_array(x, "x")
    if pts.ndim not in (1, 2) or pts.shape[-1] != X.shape[1]:
        raise ValueError(f"x must have shape (d,) or (n, d) with d = {X.shape[1]} (the columns of train), "
                         f"got {pts.shape}")
    return pts, X


def _log_weights(pts2, X, ab, one_minus):
    """Unnormalized log posterior weights ``−|x − √ᾱ x_i|² / (2(1 − ᾱ))``, shape (n, N).

    The squared distance is expanded as ``|x|² − 2√ᾱ x·x_i + ᾱ|x_i|²``; the
    ``|x|²`` term is the same for every ``i`` and drops out of the softmax, so
    it is left out (no cancellation against it).
    """
    r = math.sqrt(ab)
    sq_train = np.einsum("ij,ij->i", X, X)
    return (r * (pts2 @ X.T) - 0.5 * ab * sq_train[None, :]) / one_minus


def posterior_weights(x, train, alpha_bar: float, one_minus_alpha_bar: float | None = None) -> np.ndarray:
    """Posterior probabilities ``P(x_0 = x_i | x_t = x)`` under the empirical distribution.

    Parameters
    ----------
    x : array_like, shape (d,) or (n, d)
        Noisy points ``x_t``.
    train : array_like, shape (N, d)
        Training points ``x_i``.
    alpha_bar : float
        ``ᾱ_t`` in ``(0, 1)``.
    one_minus_alpha_bar : float, optional
        ``1 − ᾱ_t`` computed without cancellation (it is ``β_1`` at ``t = 1``);
        defaults to ``1 − alpha_bar``.

    Returns
    -------
    ndarray, shape (N,) or (n, N)
        Rows sum to 1 (a softmax, evaluated with the maximum subtracted).
    """
    pts, X = _check_inputs(x, train)
    ab = _check_alpha_bar(alpha_bar)
    om = 1.0 - ab if one_minus_alpha_bar is None else float(one_minus_alpha_bar)
    if not 0.0 < om <= 1.0:
        raise ValueError(f"one_minus_alpha_bar must be in (0, 1], got {one_minus_alpha_bar!r}")
    logw = _log_weights(np.atleast_2d(pts), X, ab, om)
    w = np.exp(logw - logsumexp(logw, axis=1, keepdims=True))
    return w[0] if pts.ndim == 1 else w


def empirical_denoiser(x, train, alpha_bar: float, one_minus_alpha_bar: float | None = None) -> np.ndarray:
    """``E[x_0 | x_t = x]`` under the empirical distribution: ``Σ_i w_i(x) x_i`` (``eq-data-empirical-denoiser``)."""
    _, X = _check_inputs(x, train)
    return posterior_weights(x, train, alpha_bar, one_minus_alpha_bar) @ X


def empirical_noise_prediction(x, train, alpha_bar: float, one_minus_alpha_bar: float | None = None) -> np.ndarray:
    """The optimal noise predictor ``ε̂(x) = (x − √ᾱ E[x_0 | x]) / √(1 − ᾱ)``.

    Equal to ``−√(1 − ᾱ) ∇ ln p_t(x)`` (Tweedie's formula) for the mixture
    ``p_t`` of the module docstring.
    """
    pts, _ = _check_inputs(x, train)
    ab = _check_alpha_bar(alpha_bar)
    om = 1.0 - ab if one_minus_alpha_bar is None else float(one_minus_alpha_bar)
    m = empirical_denoiser(x, train, ab, om)
    return (pts - math.sqrt(ab) * m) / math.sqrt(om)


def empirical_ddpm_samples(train, n_samples: int, rng: np.random.Generator, T: int = 1000,
                           beta_min: float = 1e-4, beta_max: float = 1e-2) -> np.ndarray:
    """Samples of the DDPM sampler driven by the exact empirical denoiser.

    The chain of ``book/notation.md`` (``eq-ddpm-sampler``) with
    ``σ_t² = β_t`` at every step and ``ε_θ`` = :func:`empirical_noise_prediction`,
    from ``u_T ~ N(0, I)``: the same sampler, schedule and last-step noise as
    :func:`lindiff.ddpm.sampling_distribution`, only the denoiser differs.
    Vectorized over the samples: each of the ``T`` steps costs one
    ``(n_samples × N)`` matrix of inner products, ``O(T n N d)`` in all.

    Parameters
    ----------
    train : array_like, shape (N, d)
    n_samples : int
    rng : numpy.random.Generator
        Draws ``u_T`` and the noise of every step.
    T, beta_min, beta_max
        The linear schedule (:func:`lindiff.ddpm.linear_schedule`).

    Returns
    -------
    ndarray, shape (n_samples, d)
    """
    X = as_data_matrix(train, "train", min_rows=1)
    n = as_int(n_samples, "n_samples", minimum=1)
    rng = as_generator(rng)
    betas, alpha_bars = ddpm.linear_schedule(T, beta_min, beta_max)
    # 1 − ᾱ_t without cancellation; at t = 1 it is β_1 exactly, so the last
    # step lands exactly on the posterior mean (plus σ_1 z)
    one_minus = -np.expm1(np.cumsum(np.log1p(-betas)))
    one_minus[0] = betas[0]
    sq_train = np.einsum("ij,ij->i", X, X)
    u = rng.standard_normal((n, X.shape[1]))
    for t in range(len(betas) - 1, -1, -1):
        ab, om, beta = alpha_bars[t], one_minus[t], betas[t]
        r = math.sqrt(ab)
        logw = (r * (u @ X.T) - 0.5 * ab * sq_train[None, :]) / om
        logw -= logw.max(axis=1, keepdims=True)
        w = np.exp(logw)
        w /= w.sum(axis=1, keepdims=True)
        # u − β/√(1−ᾱ) ε̂ with ε̂ = (u − √ᾱ m)/√(1−ᾱ): written with β/(1−ᾱ) so that
        # the t = 1 step is exactly √ᾱ_1 m / √(1 − β_1) = m
        k = beta / om
        u = ((1.0 - k) * u + (k * r) * (w @ X)) / math.sqrt(1.0 - beta) + math.sqrt(beta) * rng.standard_normal(u.shape)
    return u


# --------------------------------------------------------------------------- between copying and the Gaussian
def _check_smoothing(smoothing) -> float:
    z = as_nonnegative_float(smoothing, "smoothing")
    if z > 1.0:
        raise ValueError(f"smoothing must be in [0, 1], got {smoothing!r}")
    return z


def _smoothed_frame(X, zeta):
    """Mean, eigenbasis of ``S`` and the shrunk centers ``c_i − x̄`` in that basis."""
    xbar = X.mean(axis=0)
    Xc = X - xbar
    lam, V = np.linalg.eigh(Xc.T @ Xc / X.shape[0])
    lam = np.clip(lam, 0.0, None)  # rounding below zero for N <= d
    centers = math.sqrt(1.0 - zeta) * (Xc @ V)  # (N, d): c_i − x̄ in the eigenbasis of S
    return xbar, lam, V, centers


def _smoothed_step(y, centers, lam, zeta, ab, om):
    """Posterior mean of ``x_0 − x̄`` in the eigenbasis, given ``y = V^T(x − √ᾱ x̄)`` (rows).

    The noised ``p_ζ`` is ``(1/N) Σ_i N(√ᾱ c_i, C_t)`` with the common covariance
    ``C_t = ᾱ ζ S + (1 − ᾱ) I``, diagonal here. The quadratic term in ``y``
    is the same for every component and drops out of the softmax.
    """
    r = math.sqrt(ab)
    ct = ab * zeta * lam + om                         # diagonal of C_t
    yc = y / ct
    logw = r * (yc @ centers.T) - 0.5 * ab * np.einsum("ij,ij->i", centers / ct, centers)[None, :]
    logw -= logw.max(axis=1, keepdims=True)
    w = np.exp(logw)
    w /= w.sum(axis=1, keepdims=True)
    m = w @ centers
    # within component i, E[x_0 | x] = c_i + √ᾱ ζ S C_t^(−1)(x − √ᾱ c_i); average over the weights
    return m + (r * zeta * lam / ct) * (y - r * m)


def smoothed_denoiser(x, train, alpha_bar: float, smoothing: float,
                      one_minus_alpha_bar: float | None = None) -> np.ndarray:
    """``E[x_0 | x_t = x]`` when ``x_0`` follows the smoothed empirical distribution ``p_ζ``.

    ``p_ζ = (1/N) Σ_i N(x̄ + √(1 − ζ)(x_i − x̄), ζ S)`` (definition
    ``def-data-smoothed`` of ``book/image_patches.md``), with ``S`` the
    centered empirical covariance of ``train``. The noised law is a Gaussian
    mixture with one common covariance, so the posterior mean is closed
    form: a softmax over the components (Mahalanobis distances) followed by
    the linear Gaussian posterior mean within the chosen component.
    ``smoothing = 0`` gives :func:`empirical_denoiser`; ``smoothing = 1`` gives
    the posterior mean of the empirical Gaussian ``N(x̄, S)``,
    ``x̄ + √ᾱ S(ᾱ S + (1 − ᾱ) I)^(−1)(x − √ᾱ x̄)``, which is linear.

    Parameters
    ----------
    x : array_like, shape (d,) or (n, d)
    train : array_like, shape (N, d)
    alpha_bar : float
        ``ᾱ_t`` in ``(0, 1)``.
    smoothing : float
        ``ζ`` in ``[0, 1]``: the share of ``S`` carried by the kernel.
    one_minus_alpha_bar : float, optional
        ``1 − ᾱ_t`` computed without cancellation.

    Returns
    -------
    ndarray, the shape of ``x``
    """
    pts, X = _check_inputs(x, train)
    ab = _check_alpha_bar(alpha_bar)
    zeta = _check_smoothing(smoothing)
    om = 1.0 - ab if one_minus_alpha_bar is None else float(one_minus_alpha_bar)
    if not 0.0 < om <= 1.0:
        raise ValueError(f"one_minus_alpha_bar must be in (0, 1], got {one_minus_alpha_bar!r}")
    xbar, lam, V, centers = _smoothed_frame(X, zeta)
    y = (np.atleast_2d(pts) - math.sqrt(ab) * xbar) @ V
    out = xbar + _smoothed_step(y, centers, lam, zeta, ab, om) @ V.T
    return out[0] if pts.ndim == 1 else out


def smoothed_ddpm_samples(train, n_samples: int, rng: np.random.Generator, smoothing: float, T: int = 1000,
                          beta_min: float = 1e-4, beta_max: float = 1e-2) -> np.ndarray:
    """Samples of the DDPM sampler driven by the posterior mean of ``p_ζ`` (:func:`smoothed_denoiser`).

    The same chain as :func:`empirical_ddpm_samples` (``σ_t² = β_t``, linear
    schedule, ``u_T ~ N(0, I)``) and the same draws from ``rng``: with
    ``smoothing = 0`` the two return the same samples up to rounding. With
    ``smoothing = 1`` the noise predictor is the converged linear DDPM of
    :func:`lindiff.ddpm.sampling_distribution` (``center=True``), so the
    samples follow that Gaussian. Work is done in the eigenbasis of ``S``,
    where the common covariance of the noised mixture is diagonal: each step
    costs one ``(n_samples × N)`` matrix of inner products, as for the exact
    denoiser.

    Parameters
    ----------
    train : array_like, shape (N, d)
    n_samples : int
    rng : numpy.random.Generator
    smoothing : float
        ``ζ`` in ``[0, 1]``.
    T, beta_min, beta_max
        The linear schedule (:func:`lindiff.ddpm.linear_schedule`).

    Returns
    -------
    ndarray, shape (n_samples, d)
    """
    X = as_data_matrix(train, "train", min_rows=1)
    n = as_int(n_samples, "n_samples", minimum=1)
    rng = as_generator(rng)
    zeta = _check_smoothing(smoothing)
    betas, alpha_bars = ddpm.linear_schedule(T, beta_min, beta_max)
    one_minus = -np.expm1(np.cumsum(np.log1p(-betas)))
    one_minus[0] = betas[0]
    xbar, lam, V, centers = _smoothed_frame(X, zeta)
    # u = x̄ + V v: the chain is written for v; the noise is drawn in pixel coordinates and rotated,
    # so that rng is consumed exactly as by empirical_ddpm_samples
    v = (rng.standard_normal((n, X.shape[1])) - xbar) @ V
    xt = xbar @ V
    for t in range(len(betas) - 1, -1, -1):
        ab, om, beta = alpha_bars[t], one_minus[t], betas[t]
        r, k = math.sqrt(ab), beta / om
        m = _smoothed_step(v + (1.0 - r) * xt, centers, lam, zeta, ab, om)  # E[x_0 | u] − x̄, rotated
        # u ← ((1 − k) u + k √ᾱ E[x_0 | u]) / √(1 − β) + √β z, written for v; at t = 1, k = 1 and
        # √ᾱ_1 = √(1 − β_1), so the last step lands on the posterior mean (plus σ_1 z)
        v = (((1.0 - k) * v + (k * r) * m + ((1.0 - k) + k * r - math.sqrt(1.0 - beta)) * xt) / math.sqrt(1.0 - beta)
             + math.sqrt(beta) * (rng.standard_normal(v.shape) @ V))
    return xbar + v @ V.T


# --------------------------------------------------------------------------- the copying limit
def mixture_log_overlap(centers, variance: float, points, bandwidth: float) -> float:
    """``ln ∫ p(x) q(x) dx`` for two isotropic Gaussian mixtures with equal weights.

    ``p = (1/N) Σ_i N(x; c_i, variance · I)`` and
    ``q = (1/n) Σ_j N(x; x_j, bandwidth² · I)``. Each pair integrates in closed
    form to ``N(c_i; x_j, (variance + bandwidth²) I)``, so the overlap is a
    log-sum-exp over the ``N n`` pairs (no exponential before it, no underflow).
    With one center it is :func:`lindiff.memorization.log_overlap` of
    ``N(c_1, variance · I)``.
    """
    C = as_data_matrix(centers, "centers", min_rows=1)
    P = as_finite_array(points, "points", ndim=2)
    if P.shape[0] < 1 or P.shape[1] != C.shape[1]:
        raise ValueError(f"points must be a non-empty (n, {C.shape[1]}) array to match centers, got {P.shape}")
    var = as_positive_float(variance, "variance")
    s2 = var + as_positive_float(bandwidth, "bandwidth") ** 2
    d = C.shape[1]
    center = P.mean(axis=0)  # centering keeps |a|² + |b|² − 2a·b accurate
    Cc, Pc = C - center, P - center
    sq = np.einsum("ij,ij->i", Cc, Cc)[:, None] + np.einsum("ij,ij->i", Pc, Pc)[None, :] - 2.0 * (Cc @ Pc.T)
    np.maximum(sq, 0.0, out=sq)
    return float(logsumexp(-0.5 * sq / s2) - math.log(C.shape[0]) - math.log(P.shape[0])
                 - 0.5 * d * math.log(2.0 * math.pi * s2))


def copying_statistic(train, reference, std: float, variance: float) -> float:
    """The memorization statistic of a model that returns a training point plus ``N(0, variance · I)``.

    The law ``(1/N) Σ_i N(x_i, variance · I)`` is what the exact empirical
    sampler (:func:`empirical_ddpm_samples`) produces when its last step picks
    one training point, with ``variance = β_1``. The statistic is the one of
    :func:`lindiff.memorization.memorization_statistic`,
    ``ln ∫ p q_train − ln ∫ p q_ref`` with bandwidths ``std · n^(−1/d)``:
    positive means memorizing.
    """
    X = as_data_matrix(train, "train", min_rows=1)
    R = as_finite_array(reference, "reference", ndim=2)
    if R.shape[0] < 1 or R.shape[1] != X.shape[1]:
        raise ValueError(f"reference must be a non-empty (M, {X.shape[1]}) array to match train, got {R.shape}")
    std = as_positive_float(std, "std")
    d = X.shape[1]
    return (mixture_log_overlap(X, variance, X, kernel_bandwidth(X.shape[0], d, std))
            - mixture_log_overlap(X, variance, R, kernel_bandwidth(R.shape[0], d, std)))
