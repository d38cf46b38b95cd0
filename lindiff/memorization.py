"""Memorization versus generalization: Gaussian-kernel overlaps in log space.

Chapter ``book/memorization.md`` derives everything here. A point set
``D = {x_1, …, x_n}`` in ``R^d`` is smoothed into the Gaussian-kernel density

    q_D(x) = (1/n) Σ_j N(x; x_j, ε² I),   ε = σ n^(−1/d)   (kernel_bandwidth).

A generated Gaussian ``p`` *memorizes* when it is closer to ``q_train`` than
to ``q_ref``, the same construction on a fresh reference sample standing in
for the sampling distribution. All integrals are closed-form Gaussian
integrals: ``∫ N(x; m, C) N(x; x_j, ε² I) dx = N(x_j; m, C + ε² I)``, so an
overlap is a log-sum-exp over the points, evaluated in the eigenbasis of
``C``. Nothing is exponentiated before the final log-sum-exp, so ``d = 100``
and reference sets of ``10⁴`` points never underflow.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from ._validate import as_finite_array, as_int, as_positive_float
from .gaussian import Gaussian

__all__ = [
    "kernel_bandwidth",
    "log_overlap",
    "log_self_overlap",
    "memorization_statistic",
    "relative_distance",
]


def kernel_bandwidth(n: int, d: int, std: float) -> float:
    """Bandwidth ``ε = std · n^(−1/d)`` of the kernel approximation of ``n`` points in ``R^d``.

    With this choice the self-overlap ``∫ q_D²`` is close to ``(4π std²)^(−d/2)``
    whatever ``n`` is (equation ``eq-mem-self-overlap``), so it cancels
    between a training set and a reference set of different sizes.
    """
    n = as_int(n, "n", minimum=1)
    d = as_int(d, "d", minimum=1)
    std = as_positive_float(std, "std")
    return std * n ** (-1.0 / d)


def _check_points(points, d, name):
    pts = as_finite_array(points, name, ndim=2)
    if pts.shape[0] < 1:
        raise ValueError(f"{name} must contain at least one point, got shape {pts.shape}")
    if pts.shape[1] != d:
        raise ValueError(f"{name} must have d = {d} columns to match p, got shape {pts.shape}")
    return pts


def _check_gaussian(p):
    if not isinstance(p, Gaussian):
        raise TypeError(f"p must be a lindiff.gaussian.Gaussian, got {type(p).__name__}")
    return p


def log_overlap(p: Gaussian, points, bandwidth: float) -> float:
    """``ln ∫ p(x) q(x) dx`` with ``q = (1/n) Σ_j N(x; x_j, bandwidth² I)`` (equation ``eq-mem-overlap``).

    ``= logsumexp_j ln N(x_j; μ_p, Σ_p + ε² I) − ln n``. Valid for degenerate
    ``p`` too (the kernel makes ``Σ_p + ε² I`` positive definite). Cost
    ``O(n d²)`` after the eigendecomposition of ``Σ_p``, which ``p`` carries.
    """
    p = _check_gaussian(p)
    pts = _check_points(points, p.dim, "points")
    eps2 = as_positive_float(bandwidth, "bandwidth") ** 2
    c = p.eigvals + eps2
    y = (pts - p.mean) @ p.eigvecs
    quad = np.einsum("ij,ij->i", y * (1.0 / c), y)
    log_norm = -0.5 * (p.dim * math.log(2 * math.pi) + float(np.sum(np.log(c))))
    return float(logsumexp(log_norm - 0.5 * quad) - math.log(len(pts)))


def log_self_overlap(points, bandwidth: float, chunk: int = 1024) -> float:
    """``ln ∫ q(x)² dx`` for the kernel density of ``points``: exact, ``O(n² d)``.

    ``∫ q² = (1/n²) Σ_{j,k} N(x_j; x_k, 2ε² I)``. Pairwise squared distances
    are formed ``chunk`` rows at a time, so memory stays ``O(chunk · n)``.
    """
    pts = as_finite_array(points, "points", ndim=2)
    if pts.shape[0] < 1:
        raise ValueError("points must contain at least one point")
    eps2 = as_positive_float(bandwidth, "bandwidth") ** 2
    chunk = as_int(chunk, "chunk", minimum=1)
    n, d = pts.shape
    sq = np.einsum("ij,ij->i", pts, pts)
    parts = []
    for start in range(0, n, chunk):
        block = pts[start:start + chunk]
        dist2 = np.maximum(sq[start:start + chunk, None] + sq[None, :] - 2.0 * block @ pts.T, 0.0)
        # the diagonal is exactly 0 (rounding could make it slightly positive)
        idx = np.arange(block.shape[0])
        dist2[idx, start + idx] = 0.0
        parts.append(logsumexp(-dist2 / (4.0 * eps2)))
    return float(logsumexp(parts) - 2.0 * math.log(n) - 0.5 * d * math.log(4.0 * math.pi * eps2))


def memorization_statistic(p: Gaussian, train, reference, std: float) -> float:
    """``ln ∫ p q_train − ln ∫ p q_ref``, each kernel with its own bandwidth ``std·n^(−1/d)``.

    Positive: ``p`` overlaps the training set more than the reference sample
    (memorizing). Negative: generalizing. When the self-overlap terms cancel
    (they do with this bandwidth, up to the overlap of distinct points), its
    sign is the opposite of the sign of the squared-L2 relative distance
    :func:`relative_distance` (definition ``def-memorization``).
    """
    p = _check_gaussian(p)
    std = as_positive_float(std, "std")
    tr = _check_points(train, p.dim, "train")
    ref = _check_points(reference, p.dim, "reference")
    return (log_overlap(p, tr, kernel_bandwidth(len(tr), p.dim, std))
            - log_overlap(p, ref, kernel_bandwidth(len(ref), p.dim, std)))


def relative_distance(p: Gaussian, train, reference, std: float, return_terms: bool = False):
    """Squared-L2 relative distance ``Δ = ‖p − q_train‖² − ‖p − q_ref‖²`` in units of ``(4π std²)^(−d/2)``.

    ``Δ = [∫q_train² − ∫q_ref²] − 2 [∫p q_train − ∫p q_ref]``; the ``∫p²`` terms
    cancel (they are infinite for a degenerate ``p``). Every term is computed
    exactly in log space (the self-overlaps in ``O(n² d)``), then scaled by
    ``κ = (4π std²)^(−d/2)``, the common size of the self-overlaps, so that the
    result is an ordinary number even at ``d = 100``. ``Δ > 0``: ``p`` is
    farther from the training set (generalizing).

    Parameters
    ----------
    return_terms : bool
        Also return the four log integrals relative to ``ln κ``:
        ``{"self_train", "self_ref", "cross_train", "cross_ref"}``.
    """
    p = _check_gaussian(p)
    std = as_positive_float(std, "std")
    tr = _check_points(train, p.dim, "train")
    ref = _check_points(reference, p.dim, "reference")
    log_kappa = -0.5 * p.dim * math.log(4.0 * math.pi * std * std)
    eps_tr, eps_ref = (kernel_bandwidth(len(tr), p.dim, std), kernel_bandwidth(len(ref), p.dim, std))
    terms = {
        "self_train": log_self_overlap(tr, eps_tr) - log_kappa,
        "self_ref": log_self_overlap(ref, eps_ref) - log_kappa,
        "cross_train": log_overlap(p, tr, eps_tr) - log_kappa,
        "cross_ref": log_overlap(p, ref, eps_ref) - log_kappa,
    }
    top = max(terms.values())
    e = {k: math.exp(v - top) for k, v in terms.items()}
    scaled = (e["self_train"] - e["self_ref"]) - 2.0 * (e["cross_train"] - e["cross_ref"])
    # rescale by e^top; a huge top only happens for an extremely concentrated p
    delta = scaled * math.exp(min(top, 700.0)) if scaled != 0.0 else 0.0
    return (delta, terms) if return_terms else delta
