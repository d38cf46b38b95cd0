"""The one-step model run for ``K`` ancestral steps: quality against memorization.

Chapter ``book/diffusion_steps.md`` ("How many diffusion steps?") derives
everything here; ``book/notation.md`` fixes the symbols and the one-step
chapters define the denoiser and the generator input (:mod:`lindiff.onestep`).

The sampler (our extension of the one-step model). Split ``[0, T]`` into the
uniform grid ``t_j = j T / K`` with spacing ``Δt = T / K``. With
``a_t = exp(−t)`` and ``h_t = ℓ (1 − exp(−2t))``, one step from ``t = t_j``
to ``t' = t_{j−1}`` is::

    u_{t'} = (a_{t'} h_Δt / h_t) D_t(u_t) + (a_Δt h_{t'} / h_t) u_t + sqrt(h_{t'} h_Δt / h_t) ξ,
    a_Δt = exp(−Δt),   h_Δt = ℓ (1 − a_Δt²),   ξ ~ N(0, I),

the Gaussian posterior of the Ornstein–Uhlenbeck process with the clean point
replaced by ``D_t(u_t)``, the noise-averaged linear denoiser fitted for time
``t`` (equation ``eq-steps-ancestral``). The last step (``t' = 0``) adds no
noise. The chain starts from ``u_T ~ N(a_T x̄, v I)`` as the one-step model does.

Every map is a function of the empirical covariance ``S``, so in its eigenbasis
``Φ̂`` each direction with eigenvalue ``λ̂`` follows the scalar recursion
(equation ``eq-steps-recursion``)::

    g ← ϑ² g + h_{t'} h_Δt / h_t,   ϑ = (a_{t'} h_Δt / h_t) w_t + a_Δt h_{t'} / h_t,   g_T = v,

with ``w_t = a_t λ̂ / (a_t² λ̂ + h_t)`` the eigenvalue of the denoiser's ``W_t``;
the result is ``g_K(λ̂)``. The mean stays ``a_t x̄`` at every grid time
(``x̄`` at the end).

Besides KL and the memorization statistic (which depends on a reference sample
of ``M`` points and a kernel width), the module computes the convention-light
2-Wasserstein distances of the generated law to the target and to the
empirical Gaussian ``N(x̄, S)`` (:func:`wasserstein_to_target`,
:func:`wasserstein_to_empirical`; see also :mod:`lindiff.measures`).
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp

from . import onestep
from ._validate import as_data_matrix, as_finite_array, as_generator, as_int, as_positive_float
from .gaussian import Gaussian
from .memorization import kernel_bandwidth

__all__ = [
    "generated_spectrum",
    "generated_distribution",
    "limit_spectrum",
    "limit_distribution",
    "kl_per_dim_infinite_data",
    "kl_to_target",
    "wasserstein_to_target",
    "wasserstein_to_empirical",
    "memorization_statistics",
    "StepsSimulation",
    "simulate",
    "simulate_seeded",
    "largest_generalizing_steps",
]

# Products of the per-step factors ϑ² are bounded by exp(2 T · block/K) (ϑ ≤ e^{Δt});
# blocks of the recursion are chosen so that this stays far from overflow.
_MAX_LOG_GROWTH = 200.0
_MAX_BLOCK_ELEMENTS = 2_000_000


# --------------------------------------------------------------------------- checks
def _check_steps(steps) -> int:
    return as_int(steps, "steps", minimum=1)


def _check_steps_list(steps, allow_limit: bool = True):
    """``steps`` as a list plus ``scalar`` flag: an int, or a sequence of ints, each ``>= 1``.

    With ``allow_limit``, ``math.inf`` stands for the ``K → ∞`` limit.
    """
    def one(k):
        if allow_limit and isinstance(k, (float, np.floating)) and k == math.inf:
            return math.inf
        return as_int(k, "steps", minimum=1)

    if isinstance(steps, (numbers.Real, np.number)) and not isinstance(steps, bool):
        return [one(steps)], True
    if isinstance(steps, (str, bytes)) or not hasattr(steps, "__iter__"):
        raise TypeError(f"steps must be an integer >= 1 or a sequence of them, got {type(steps).__name__}")
    ks = [one(k) for k in (steps.tolist() if isinstance(steps, np.ndarray) else steps)]
    if not ks:
        raise ValueError("steps must contain at least one number of steps")
    return ks, False


def _check_lam(lam):
    lam = as_finite_array(lam, "lam")
    if np.any(lam < 0):
        raise ValueError("lam must be eigenvalues of a covariance (>= 0)")
    return lam


def _f(x):
    """``f(x) = x − 1 − ln x`` for ``x > 0`` (accurate near 1)."""
    return (x - 1.0) - np.log1p(x - 1.0)


# --------------------------------------------------------------------------- spectra
def _step_coefficients(T: float, noise_scale: float, K: int):
    """Per-step coefficients, in the order the steps are applied (from ``t = T`` down).

    Returns ``(a_t, h_t, A, B, q)`` arrays of length ``K`` with ``A = a_{t'} h_Δt / h_t``,
    ``B = a_Δt h_{t'} / h_t`` and ``q = h_{t'} h_Δt / h_t``, so that one step is
    ``u_{t'} − a_{t'} x̄ = (A W_t + B)(u_t − a_t x̄) + sqrt(q) ξ``.
    """
    dt = T / K
    k = np.arange(K, 0, -1, dtype=float)
    t, s = k * dt, (k - 1.0) * dt
    a_t, a_s = np.exp(-t), np.exp(-s)
    h_t, h_s = -noise_scale * np.expm1(-2.0 * t), -noise_scale * np.expm1(-2.0 * s)
    alpha, beta = math.exp(-dt), -noise_scale * math.expm1(-2.0 * dt)
    return a_t, h_t, a_s * beta / h_t, alpha * h_s / h_t, h_s * beta / h_t


def _recursion(lam: np.ndarray, v, T: float, noise_scale: float, K: int) -> np.ndarray:
    """Run ``g ← ϑ² g + q`` over the ``K`` steps for every entry of ``lam`` at once.

    The recursion is unrolled in blocks of steps: within a block,
    ``g_out = (Π ϑ²) g_in + Σ_j q_j Π_{i>j} ϑ_i²`` with suffix products from a
    reversed ``cumprod``, so the cost is ``O(K · lam.size)`` numpy work with no
    per-step Python overhead. All terms are non-negative: no cancellation.
    """
    a_t, h_t, A, B, q = _step_coefficients(T, noise_scale, K)
    flat = lam.reshape(-1)
    c = np.broadcast_to(np.asarray(v, dtype=float), lam.shape).reshape(-1).astype(float)
    block = max(1, min(K, int(_MAX_LOG_GROWTH * K / (2.0 * T)), _MAX_BLOCK_ELEMENTS // max(flat.size, 1)))
    for start in range(0, K, block):
        sl = slice(start, min(start + block, K))
        at, ht = a_t[sl, None], h_t[sl, None]
        m = A[sl, None] * (at * flat / (at * at * flat + ht)) + B[sl, None]
        m2 = m * m
        suffix = np.cumprod(m2[::-1], axis=0)[::-1]          # Π_{i >= j} m_i²
        after = np.vstack([suffix[1:], np.ones((1, flat.size))])  # Π_{i > j} m_i²
        c = suffix[0] * c + q[sl] @ after
    return c.reshape(lam.shape)


def generated_spectrum(lam, T: float, noise_scale: float, v: float, steps: int) -> np.ndarray:
    """Eigenvalues ``g_K(λ̂)`` of the ``K``-step generated covariance (equation ``eq-steps-recursion``).

    Vectorized over the eigenvalues ``lam`` (``λ̂``) of ``S`` (any shape). ``steps=1``
    gives :func:`lindiff.onestep.generated_spectrum`. A direction with ``λ = 0``
    ends at exactly ``0``: the last step is the denoiser alone, and it maps
    that direction to zero.

    Parameters
    ----------
    lam : array_like
        Eigenvalues of the empirical covariance (``>= 0``).
    T, noise_scale : float
        Diffusion time and noise scale ``ℓ``, both ``> 0``.
    v : float or array_like
        Variance of the generator input ``N(a_T x̄, v I)``; broadcast against ``lam``.
    steps : int
        Number of steps ``K >= 1``.
    """
    lam = _check_lam(lam)
    T, noise_scale = as_positive_float(T, "T"), as_positive_float(noise_scale, "noise_scale")
    v = as_finite_array(v, "v")
    if np.any(v <= 0):
        raise ValueError("v must be > 0")
    K = _check_steps(steps)
    return _recursion(lam, np.broadcast_to(v, lam.shape), T, noise_scale, K)


def limit_spectrum(lam, T: float, noise_scale: float, v: float) -> np.ndarray:
    """``K → ∞`` limit of :func:`generated_spectrum` (equation ``eq-steps-limit``)::

        g_∞(λ̂) = λ̂ h_T / v_T + v a_T² λ̂² / v_T²,   v_T = v_T(λ̂) = a_T² λ̂ + h_T,

    i.e. ``λ̂ + w_T² (v − v_T)`` with ``w_T = a_T λ̂ / v_T``: the reverse process
    of the empirical Gaussian ``N(x̄, S)`` started from ``N(a_T x̄, v I)``
    instead of its own marginal at time ``T``. It equals ``λ̂`` when ``v = v_T``. Written as a sum
    of two non-negative terms, so no accuracy is lost to cancellation.
    """
    lam = _check_lam(lam)
    T, noise_scale = as_positive_float(T, "T"), as_positive_float(noise_scale, "noise_scale")
    v = as_finite_array(v, "v")
    if np.any(v <= 0):
        raise ValueError("v must be > 0")
    return _limit(lam, v, T, noise_scale)


def _limit(lam, v, T, noise_scale):
    a, h = math.exp(-T), -noise_scale * math.expm1(-2.0 * T)
    p = a * a * lam + h
    return lam * h / p + v * (a * lam / p) ** 2


def _spectrum(lam, v, T, noise_scale, K):
    """``g_K(λ̂)`` by the recursion, or the limit ``g_∞(λ̂)`` for ``K = inf`` (inputs already checked)."""
    return _limit(lam, v, T, noise_scale) if K == math.inf else _recursion(lam, v, T, noise_scale, K)


def _spectrum_and_basis(X, T, noise_scale):
    X = as_data_matrix(X)
    T, noise_scale = as_positive_float(T, "T"), as_positive_float(noise_scale, "noise_scale")
    lam, U = onestep.empirical_spectrum(X, return_vectors=True)
    return X, lam, U, onestep.generator_variance(X, T, noise_scale)


def generated_distribution(X, T: float, noise_scale: float, steps: int) -> Gaussian:
    """The law of the ``K``-step sample, ``N(x̄, Φ̂ diag(g_K) Φ̂ᵀ)`` (theorem ``thm-steps-recursion``).

    ``Φ̂`` and ``λ̂`` are the eigenvectors and eigenvalues of the empirical
    covariance ``S`` of ``X``; ``g_K = generated_spectrum(λ̂, T, noise_scale, v, steps)``.
    ``steps=1`` equals ``onestep.generated_distribution(X, T, noise_scale,
    method="averaged")``. For ``N ≤ d`` it is degenerate for every ``K``,
    supported on the affine hull of the training set.

    Raises
    ------
    TypeError, ValueError
        ``steps`` not an integer ``>= 1``; the checks of :mod:`lindiff.onestep`
        on ``X``, ``T`` and ``noise_scale``.
    """
    K = _check_steps(steps)
    X, lam, U, v = _spectrum_and_basis(X, T, noise_scale)
    return Gaussian.from_eigh(X.mean(axis=0), _recursion(lam, v, float(T), float(noise_scale), K), U)


def limit_distribution(X, T: float, noise_scale: float) -> Gaussian:
    """The ``K → ∞`` limit of :func:`generated_distribution`: ``N(x̄, Φ̂ diag(g_∞) Φ̂ᵀ)``.

    See :func:`limit_spectrum`. Still degenerate for ``N ≤ d`` (``g_∞(0) = 0``).
    """
    X, lam, U, v = _spectrum_and_basis(X, T, noise_scale)
    return Gaussian.from_eigh(X.mean(axis=0), _limit(lam, v, float(T), float(noise_scale)), U)


# --------------------------------------------------------------------------- KL
def kl_per_dim_infinite_data(steps: int, T: float, noise_scale: float, target_std: float) -> float:
    """``KL/d`` of the ``K``-step sampler with infinitely many data (equation ``eq-steps-population``).

    With ``N → ∞`` the denoiser at every grid time is the posterior mean of
    ``p_S = N(μ1, σ² I)``, the input variance is the exact marginal
    ``a_T² σ² + h_T`` and the mean is exact, so ``KL/d = ½ f(g_K(σ²)/σ²)``.
    ``steps=1`` gives ``onestep.kl_infinite_data(1, …)``; it decreases roughly
    like ``K⁻²`` (up to a factor ``(ln K)²``).
    """
    K = _check_steps(steps)
    T, noise_scale = as_positive_float(T, "T"), as_positive_float(noise_scale, "noise_scale")
    sigma2 = as_positive_float(target_std, "target_std") ** 2
    a, h = onestep.forward_coefficients(T, noise_scale)
    c = _recursion(np.array([sigma2]), a * a * sigma2 + h, T, noise_scale, K)[0]
    return float(0.5 * _f(c / sigma2))


def _kl_from_spectrum(c, offset, sigma):
    """``½ Σ f(g/σ²) + ‖offset‖²/(2σ²)``; ``inf`` when some ``g = 0`` (degenerate)."""
    if np.any(c <= 0):
        return math.inf
    return float(0.5 * np.sum(_f(c / sigma**2)) + 0.5 * float(offset @ offset) / sigma**2)


def kl_to_target(X, T: float, noise_scale: float, steps, target_mean, target_std: float):
    """``KL(p_G^K ‖ N(target_mean·1, target_std² I))`` in nats (equation ``eq-steps-kl``).

    ``½ Σ_ν f(g_K(λ̂_ν)/σ²) + ‖x̄ − μ1‖²/(2σ²)`` from one eigendecomposition of
    ``S``. ``steps`` may be an int (returns a float) or a sequence of ints
    (returns an array, one KL per entry); an entry ``math.inf`` gives the
    ``K → ∞`` limit (:func:`limit_distribution`). Returns ``math.inf`` for
    ``N ≤ d``, for every ``K``: the generated law is degenerate (theorem
    ``thm-steps-hull``).
    """
    ks, scalar = _check_steps_list(steps)
    X = as_data_matrix(X)
    T, noise_scale = as_positive_float(T, "T"), as_positive_float(noise_scale, "noise_scale")
    mu, sigma = onestep._check_target(target_mean, target_std, X.shape[1])
    lam = onestep.empirical_spectrum(X)
    v = onestep.generator_variance(X, T, noise_scale)
    offset = X.mean(axis=0) - mu
    out = np.array([_kl_from_spectrum(_spectrum(lam, v, T, noise_scale, K), offset, sigma) for K in ks])
    return float(out[0]) if scalar else out


# --------------------------------------------------------------------------- Wasserstein
def _w2_from_spectrum(g, ref_sqrt, offset):
    """``sqrt(|offset|² + Σ (sqrt g − ref_sqrt)²)`` per column of ``g`` (commuting covariances)."""
    dev = np.sqrt(g) - np.asarray(ref_sqrt, dtype=float)[:, None]
    return np.sqrt(float(offset @ offset) + np.sum(dev * dev, axis=0))


def wasserstein_to_target(X, T: float, noise_scale: float, steps, target_mean, target_std: float):
    """``𝒲₂(p_G^K, N(target_mean·1, target_std² I))`` for one or several ``K`` (chapter ``diffusion_steps``).

    The target is isotropic, so its covariance commutes with that of
    ``p_G^K = N(x̄, Φ̂ diag(g_K) Φ̂ᵀ)`` and::

        𝒲₂² = ‖x̄ − μ1‖² + Σ_ν (sqrt(g_K(λ̂_ν)) − σ)²,

    from one eigendecomposition of ``S``. Unlike KL it stays finite for
    ``N ≤ d``: each of the ``d − N + 1`` lost directions adds ``σ²``.
    ``steps`` may be an int (returns a float) or a sequence (returns an
    array); ``math.inf`` gives the ``K → ∞`` limit. Equals
    ``lindiff.gaussian.wasserstein2(generated_distribution(X, T, noise_scale, K), target)``.
    """
    ks, scalar = _check_steps_list(steps)
    X = as_data_matrix(X)
    T, noise_scale = as_positive_float(T, "T"), as_positive_float(noise_scale, "noise_scale")
    mu, sigma = onestep._check_target(target_mean, target_std, X.shape[1])
    lam = onestep.empirical_spectrum(X)
    v = onestep.generator_variance(X, T, noise_scale)
    g = np.stack([_spectrum(lam, v, T, noise_scale, K) for K in ks], axis=1)
    out = _w2_from_spectrum(g, np.full(lam.shape, sigma), X.mean(axis=0) - mu)
    return float(out[0]) if scalar else out


def wasserstein_to_empirical(X, T: float, noise_scale: float, steps):
    """``𝒲₂(p_G^K, N(x̄, S))``: distance of the ``K``-step law to the empirical Gaussian of ``X``.

    Both laws have the mean ``x̄`` and covariances diagonal in the eigenbasis
    of ``S``, so ``𝒲₂² = Σ_ν (sqrt(g_K(λ̂_ν)) − sqrt(λ̂_ν))²``. It measures how
    closely the sampler reproduces the training set's own covariance,
    sampling errors included, without a reference sample or a kernel width.
    ``steps`` as in :func:`wasserstein_to_target`.
    """
    ks, scalar = _check_steps_list(steps)
    X, lam, _, v = _spectrum_and_basis(X, T, noise_scale)
    g = np.stack([_spectrum(lam, v, float(T), float(noise_scale), K) for K in ks], axis=1)
    out = _w2_from_spectrum(g, np.sqrt(lam), np.zeros(1))
    return float(out[0]) if scalar else out


# --------------------------------------------------------------------------- memorization
def _log_overlap_eigen(c, y, eps2):
    """``ln ∫ N(x̄, Φ̂ diag(c) Φ̂ᵀ) q`` for kernel centers with eigen-coordinates ``y`` (rows).

    ``c`` has shape ``(d, n_K)``: one column per number of steps. Returns ``(n_K,)``.
    """
    cc = c + eps2
    quad = (y * y) @ (1.0 / cc)                                  # (n_points, n_K)
    log_norm = -0.5 * (c.shape[0] * math.log(2 * math.pi) + np.sum(np.log(cc), axis=0))
    return logsumexp(log_norm - 0.5 * quad, axis=0) - math.log(y.shape[0])


def memorization_statistics(X, T: float, noise_scale: float, steps, reference, target_std: float):
    """Memorization statistic of the ``K``-step generated law, for one or several ``K``.

    Equals ``lindiff.memorization.memorization_statistic(generated_distribution(X, T,
    noise_scale, K), X, reference, target_std)`` for each ``K`` in ``steps``:
    ``Γ = ln ∫ p_G q_train − ln ∫ p_G q_ref`` with kernel widths
    ``ς_n = target_std · n^(−1/d)`` (positive: closer to the training set, memorizing).
    All ``K`` share one eigendecomposition of ``S`` and one projection of the
    training and reference points onto its eigenbasis, so a whole curve costs
    about as much as one evaluation.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Training set.
    steps : int or sequence of int
        Numbers of steps; an int returns a float, a sequence an array. An
        entry ``math.inf`` stands for the ``K → ∞`` limit.
    reference : array_like, shape (M, d)
        A fresh sample of the sampling distribution (the stand-in for ``p_S``).
    target_std : float
        ``σ`` of the sampling distribution, which sets the kernel widths.
    """
    ks, scalar = _check_steps_list(steps)
    X, lam, U, v = _spectrum_and_basis(X, T, noise_scale)
    T, noise_scale = float(T), float(noise_scale)
    sigma = as_positive_float(target_std, "target_std")
    ref = as_finite_array(reference, "reference", ndim=2)
    n, d = X.shape
    if ref.shape[0] < 1 or ref.shape[1] != d:
        raise ValueError(f"reference must have shape (M, {d}) with M >= 1 to match X, got {ref.shape}")
    xbar = X.mean(axis=0)
    c = np.stack([_spectrum(lam, v, T, noise_scale, K) for K in ks], axis=1)     # (d, n_K)
    train = _log_overlap_eigen(c, (X - xbar) @ U, kernel_bandwidth(n, d, sigma) ** 2)
    refo = _log_overlap_eigen(c, (ref - xbar) @ U, kernel_bandwidth(ref.shape[0], d, sigma) ** 2)
    out = train - refo
    return float(out[0]) if scalar else out


class StepsSimulation(NamedTuple):
    """Result of :func:`simulate`.

    ``kl``, ``statistic``, ``w2_target`` and ``w2_empirical`` have shape
    ``(repetitions, len(n), len(steps))`` (one training set per repetition and
    size, one column per number of steps): KL to the target, the memorization
    statistic ``Γ``, and the 2-Wasserstein distances to the target and to the
    empirical Gaussian ``N(x̄, S)`` (:func:`wasserstein_to_target`,
    :func:`wasserstein_to_empirical`). ``steps`` is a tuple of ints (and
    ``math.inf`` for the limit).
    """

    n: np.ndarray
    steps: tuple
    kl: np.ndarray
    statistic: np.ndarray
    w2_target: np.ndarray
    w2_empirical: np.ndarray


def _statistics_eigen_reference(X, T, noise_scale, ks, target_mean, target_std, Z, Z2=None, with_w2=False):
    """KL and memorization statistic for each ``K`` with the reference ``μ1 + σ Z Φ̂ᵀ``.

    ``Φ̂`` (``U`` below) is the eigenbasis of ``S``: the reference points'
    coordinates in it are ``σ Z + Φ̂ᵀ(μ1 − x̄)``, so no ``O(M d²)`` projection is
    needed and the quadratic forms are expanded as ``σ² Z² w + 2σ Z (o∘w) + o² w``.
    Returns ``(kl, statistic)``, arrays of shape ``(len(ks),)``, and with
    ``with_w2`` also the two 2-Wasserstein distances.
    """
    n, d = X.shape
    lam, U = onestep.empirical_spectrum(X, return_vectors=True)
    v = onestep.generator_variance(X, T, noise_scale)
    xbar = X.mean(axis=0)
    mu = np.broadcast_to(np.asarray(target_mean, dtype=float), (d,))
    c = np.stack([_spectrum(lam, v, T, noise_scale, K) for K in ks], axis=1)     # (d, n_K)
    kl = np.array([_kl_from_spectrum(c[:, j], xbar - mu, target_std) for j in range(len(ks))])
    train = _log_overlap_eigen(c, (X - xbar) @ U, kernel_bandwidth(n, d, target_std) ** 2)
    m = Z.shape[0]
    cc = c + kernel_bandwidth(m, d, target_std) ** 2
    o = U.T @ (mu - xbar)
    Z2 = Z * Z if Z2 is None else Z2
    quad = target_std**2 * (Z2 @ (1.0 / cc)) + 2.0 * target_std * (Z @ (o[:, None] / cc)) + (o * o) @ (1.0 / cc)
    log_norm = -0.5 * (d * math.log(2 * math.pi) + np.sum(np.log(cc), axis=0))
    ref = logsumexp(log_norm - 0.5 * quad, axis=0) - math.log(m)
    if not with_w2:
        return kl, train - ref
    w2_target = _w2_from_spectrum(c, np.full(d, target_std), xbar - mu)
    w2_empirical = _w2_from_spectrum(c, np.sqrt(lam), np.zeros(1))
    return kl, train - ref, w2_target, w2_empirical


def _check_sizes(n):
    if isinstance(n, (numbers.Integral, np.integer)) and not isinstance(n, bool):
        return [as_int(n, "n", minimum=2)]
    if isinstance(n, (str, bytes)) or not hasattr(n, "__iter__"):
        raise TypeError(f"n must be an integer >= 2 or a sequence of them, got {type(n).__name__}")
    ns = [as_int(k, "n", minimum=2) for k in (n.tolist() if isinstance(n, np.ndarray) else n)]
    if not ns:
        raise ValueError("n must contain at least one training-set size")
    return ns


def _check_simulation(n, d, T, noise_scale, steps, target_mean, target_std, repetitions, reference_size):
    """The checked arguments shared by :func:`simulate` and :func:`simulate_seeded`."""
    ks, _ = _check_steps_list(steps)
    return (_check_sizes(n), as_int(d, "d", minimum=1), as_positive_float(T, "T"),
            as_positive_float(noise_scale, "noise_scale"), ks,
            float(as_finite_array(target_mean, "target_mean", ndim=0)), as_positive_float(target_std, "target_std"),
            as_int(repetitions, "repetitions", minimum=1), as_int(reference_size, "reference_size", minimum=1))


def simulate(n, d: int, T: float, noise_scale: float, steps, target_mean: float, target_std: float,
             repetitions: int, rng, reference_size: int = 10_000) -> StepsSimulation:
    """KL and memorization statistic against ``K`` for many training sets of the sampling distribution.

    Each repetition draws a pool of ``max(n)`` points from
    ``p_S = N(target_mean·1, target_std² I_d)``; the training set of size
    ``n_i`` is its first ``n_i`` rows (nested training sets: curves against
    ``n`` are smooth). For each size and each ``K`` in ``steps`` it computes
    :func:`kl_to_target` and the memorization statistic
    :func:`memorization_statistics` against a reference sample of
    ``reference_size`` points of ``p_S``, fresh for each repetition and shared
    by the sizes of that repetition, and the 2-Wasserstein distances of
    :func:`wasserstein_to_target` and :func:`wasserstein_to_empirical`.

    The reference is drawn directly in the eigenbasis ``U`` of ``S``:
    ``R = μ1 + σ Z Uᵀ`` with a standard-normal ``Z`` (``M × d``). Given ``X``,
    ``R`` is an exact sample of ``p_S`` independent of ``X`` (the isotropic
    Gaussian is invariant under the rotation ``U``), so each value has exactly
    the law of :func:`memorization_statistics` with a fresh reference, while
    the ``O(M d²)`` projection of the reference, which would dominate the
    cost, is never formed.

    Parameters
    ----------
    n : int or sequence of int
        Training-set sizes (``>= 2``).
    d : int
        Dimension.
    steps : int or sequence of int
        Numbers of steps ``K`` (``math.inf`` for the limit).
    repetitions : int
        Number of independent training sets (and reference samples) per size.
    rng : numpy.random.Generator
        Source of every draw; the same seed gives the same pools and references.
    reference_size : int
        ``M``, the size of the reference sample (the book uses ``10⁴``).

    Returns
    -------
    StepsSimulation
        ``kl``, ``statistic``, ``w2_target``, ``w2_empirical`` of shape
        ``(repetitions, len(n), len(steps))``; ``kl`` is ``inf`` for ``n ≤ d``.
    """
    ns, d, T, noise_scale, ks, mu, sigma, reps, m = _check_simulation(
        n, d, T, noise_scale, steps, target_mean, target_std, repetitions, reference_size)
    rng = as_generator(rng)
    kl = np.empty((reps, len(ns), len(ks)))
    stat, w2t, w2e = np.empty_like(kl), np.empty_like(kl), np.empty_like(kl)
    for r, g in enumerate(rng.spawn(reps)):
        pool_rng, ref_rng = g.spawn(2)
        pool = mu + sigma * pool_rng.standard_normal((max(ns), d))
        Z = ref_rng.standard_normal((m, d))
        Z2 = Z * Z
        for i, size in enumerate(ns):
            kl[r, i], stat[r, i], w2t[r, i], w2e[r, i] = _statistics_eigen_reference(
                pool[:size], T, noise_scale, ks, mu, sigma, Z, Z2, with_w2=True)
    return StepsSimulation(np.array(ns), tuple(ks), kl, stat, w2t, w2e)


#: Precision of the cached reference products of :func:`simulate_seeded` (see there).
_REFERENCE_DTYPE = np.float32


@functools.lru_cache(maxsize=1)
def _reference_products(d: int, m: int, repetitions: int, seed: int, dtype) -> np.ndarray:
    """``[Z² | Z]`` (``R × M × 2d``, read-only), ``Z`` the reference normals of each repetition of
    ``simulate(..., default_rng(seed))``: they do not depend on ``n``, ``T`` or ``ℓ``."""
    out = np.empty((repetitions, m, 2 * d), dtype=dtype)
    for r, g in enumerate(np.random.default_rng(seed).spawn(repetitions)):
        _, ref_rng = g.spawn(2)
        Z = ref_rng.standard_normal((m, d))
        out[r, :, :d] = Z * Z
        out[r, :, d:] = Z
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=16)
def _training_geometry(d: int, size: int, n_max: int, repetitions: int, seed: int, mu: float, sigma: float):
    """Per repetition of ``simulate(n, ..., default_rng(seed))``: what does not depend on ``T`` or ``ℓ``.

    The training set of ``size`` points is the first rows of the repetition's pool of ``n_max = max(n)``
    rows. Returns ``(lam, var, offset, y2, o)``: eigenvalues of ``S`` (``R × d``), mean coordinate
    variances (as in :func:`lindiff.onestep.generator_variance`), ``x̄ − μ1`` (``R × d``), squared
    eigen-coordinates of the centered training points (``R × size × d``) and the eigen-coordinates
    ``o = Φ̂ᵀ(μ1 − x̄)`` of the target mean (``R × d``); read-only.
    """
    lam, var = np.empty((repetitions, d)), np.empty(repetitions)
    offset, y2, o = np.empty((repetitions, d)), np.empty((repetitions, size, d)), np.empty((repetitions, d))
    for r, g in enumerate(np.random.default_rng(seed).spawn(repetitions)):
        X = (mu + sigma * g.spawn(2)[0].standard_normal((n_max, d)))[:size]
        lam[r], U = onestep.empirical_spectrum(X, return_vectors=True)
        var[r] = float(np.mean(np.var(X, axis=0, ddof=1)))
        xbar = X.mean(axis=0)
        offset[r] = xbar - mu
        y2[r] = np.square((X - xbar) @ U)
        o[r] = U.T @ (mu - xbar)
    for arr in (lam, var, offset, y2, o):
        arr.setflags(write=False)
    return lam, var, offset, y2, o


def _log_mean_exp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.mean(np.exp(x - top), axis=axis))


def simulate_seeded(n, d: int, T: float, noise_scale: float, steps, target_mean: float, target_std: float,
                    repetitions: int, seed: int, reference_size: int = 10_000) -> StepsSimulation:
    """:func:`simulate` with ``rng = numpy.random.default_rng(seed)``, fast for repeated calls.

    The same training sets and reference draws as ``simulate(n, d, T,
    noise_scale, steps, target_mean, target_std, repetitions,
    numpy.random.default_rng(seed), reference_size)``, and the same results
    except for rounding: the reference normals ``Z`` (``M × d`` per
    repetition), which do not depend on ``n``, ``T`` or ``ℓ``, are drawn once
    per ``(d, M, repetitions, seed)`` and kept as ``[Z² | Z]`` in single
    precision, so that both reference quadratic forms ``σ² Z² w + 2σ Z (o∘w)``
    are one single-precision matrix product (the quadratic forms, of order
    ``d``, carry a relative rounding error of about ``1e-7``; the statistic
    changes by about ``1e-5``, far below its sampling error). The
    eigendecompositions of the training sets, which do not depend on ``T``
    or ``ℓ`` either, are kept per ``(d, n, repetitions, seed)``, and the
    spectra of all repetitions are computed together. KL and the 2-Wasserstein
    distances do not involve the reference and agree with :func:`simulate`
    to rounding. The explorable figure of the chapter "How many diffusion
    steps?" recomputes a simulation at every move of its ``N/d`` and ``T``
    sliders.
    """
    ns, d, T, noise_scale, ks, mu, sigma, reps, m = _check_simulation(
        n, d, T, noise_scale, steps, target_mean, target_std, repetitions, reference_size)
    seed = as_int(seed, "seed", minimum=0)
    refs = _reference_products(d, m, reps, seed, _REFERENCE_DTYPE)
    kl = np.empty((reps, len(ns), len(ks)))
    stat, w2t, w2e = np.empty_like(kl), np.empty_like(kl), np.empty_like(kl)
    eps2_ref = kernel_bandwidth(m, d, sigma) ** 2
    a, h = onestep.forward_coefficients(T, noise_scale)
    log_2pi_d = d * math.log(2 * math.pi)
    # every repetition at once: arrays (R, d, n_K) of spectra, (R, points, n_K) of quadratic forms
    for i, size in enumerate(ns):
        # nested training sets: the first `size` rows of the pool of max(ns) rows, as in simulate
        lam, var, offset, y2, o = _training_geometry(d, size, max(ns), reps, seed, mu, sigma)
        v = a * a * var + h                                                             # generator variances
        c = np.stack([_spectrum(lam, v[:, None], T, noise_scale, K) for K in ks], axis=-1)
        off2 = np.sum(offset * offset, axis=1)[:, None]                                 # (R, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl_all = 0.5 * np.sum(_f(c / sigma**2), axis=1) + 0.5 * off2 / sigma**2
        kl[:, i] = np.where(np.any(c <= 0, axis=1), math.inf, kl_all)                  # as _kl_from_spectrum
        cc = c + kernel_bandwidth(size, d, sigma) ** 2
        train = (_log_mean_exp(-0.5 * np.matmul(y2, 1.0 / cc), axis=1)
                 - 0.5 * (log_2pi_d + np.sum(np.log(cc), axis=1)))
        cc = c + eps2_ref
        w = np.concatenate([sigma**2 / cc, 2.0 * sigma * o[:, :, None] / cc], axis=1).astype(refs.dtype)
        # ln mean_j exp(−q_j/2) of the reference quadratic forms q = σ² Z² w + 2σ Z (o∘w) (one product
        # per repetition, in place and in cache), then the constant term o² w and the normalization
        ref = np.empty((reps, len(ks)))
        for r in range(reps):
            q = refs[r] @ w[r]                                                          # (M, n_K)
            q_min = q.min(axis=0)
            q -= q_min
            q *= -0.5
            np.exp(q, out=q)
            ref[r] = -0.5 * q_min.astype(float) + np.log(q.sum(axis=0, dtype=float) / m)
        ref -= 0.5 * (np.sum((o * o)[:, :, None] / cc, axis=1) + log_2pi_d + np.sum(np.log(cc), axis=1))
        stat[:, i] = train - ref
        w2t[:, i] = np.sqrt(off2 + np.sum((np.sqrt(c) - sigma) ** 2, axis=1))           # as _w2_from_spectrum
        w2e[:, i] = np.sqrt(np.sum((np.sqrt(c) - np.sqrt(lam)[:, :, None]) ** 2, axis=1))
    return StepsSimulation(np.array(ns), tuple(ks), kl, stat, w2t, w2e)


def largest_generalizing_steps(steps, statistic, threshold: float = 0.0):
    """Our criterion for the number of steps: the largest ``K`` before the statistic reaches ``threshold``.

    ``steps`` must be increasing. Returns the last ``K`` of ``steps`` such that
    ``statistic < threshold`` for that ``K`` and every smaller one in the list
    (definition ``def-steps-criterion``). Returns ``None`` when there is no
    admissible ``K``: already the first entry memorizes, so every ``K`` of the
    grid does. Returns the last entry (possibly ``math.inf``) when none
    memorizes. Stopping at the first crossing, rather than taking the last
    entry below the threshold, keeps a noisy estimate from skipping back below
    it.

    The returned ``K`` minimizes ``E KL`` among the admissible ones (KL falls
    with ``K``) only if the mean statistic is non-decreasing in ``K`` on the
    grid; otherwise a larger ``K`` after a crossing might again be admissible.
    The chapter checks this on its grid.
    """
    ks, _ = _check_steps_list(steps)
    if any(b <= a for a, b in zip(ks, ks[1:])):
        raise ValueError("steps must be strictly increasing")
    stat = as_finite_array(statistic, "statistic", ndim=1)
    if stat.shape != (len(ks),):
        raise ValueError(f"statistic must have one value per entry of steps ({len(ks)}), got shape {stat.shape}")
    threshold = float(as_finite_array(threshold, "threshold", ndim=0))
    best = None
    for k, s in zip(ks, stat):
        if s >= threshold:
            break
        best = k
    return best
