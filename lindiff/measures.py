"""Convention-light measures of memorization: finite, with no reference sample and no bandwidth.

Chapter ``book/memorization.md`` (section "A measure without a reference
sample") derives and uses these; chapter ``book/diffusion_steps.md`` applies
them to the ``K``-step sampler. The kernel criterion of
:mod:`lindiff.memorization` needs a reference sample of ``M`` points and a
kernel width, and its verdict moves with both. The measures here depend only
on the generated law ``p_G``, the target ``p`` and, for the sample-based one,
the training set:

* the 2-Wasserstein distance ``𝒲₂(p_G, p)`` (:func:`lindiff.gaussian.wasserstein2`),
  finite also for a degenerate ``p_G``;
* the **fraction of target variance outside the support** of ``p_G``,
  ``tr(Π_⊥ Σ) / tr Σ`` (:func:`variance_outside_support`), with ``Π_⊥`` the
  orthogonal projector onto the null space of ``Σ_G``. For both linear models
  of the book that null space is the null space of the empirical covariance
  ``S``, so the fraction counts the dimensions the model has lost
  ("geometric memorization"). It bounds ``𝒲₂² / tr Σ`` from below
  (proposition ``prop-mem-w2-span``);
* **nearest-neighbor distance ratios** of samples to the training set
  (:func:`neighbor_distances`, :func:`distance_ratio`): how much closer a
  generated sample is to its nearest training point than a fresh draw of the
  target, and whether it copies one (nearest much closer than the second
  nearest).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_finite_array, as_int
from .gaussian import Gaussian

__all__ = [
    "variance_outside_support",
    "neighbor_distances",
    "distance_ratio",
]


def _check_gaussian(g, name):
    if not isinstance(g, Gaussian):
        raise TypeError(f"{name} must be a lindiff.gaussian.Gaussian, got {type(g).__name__}")
    return g


def variance_outside_support(p: Gaussian, target: Gaussian) -> float:
    """Fraction ``tr(Π_⊥ Σ) / tr Σ`` of the target's variance outside the support of ``p``.

    ``Π_⊥`` projects onto the null space of the covariance of ``p`` (the
    directions in which ``p`` has exactly zero variance, see the notes on rank
    in :mod:`lindiff.gaussian`), and ``Σ`` is the covariance of ``target``.
    ``0`` for a non-degenerate ``p``. For a linear denoiser fitted on
    ``N ≤ d`` points from an isotropic target it is ``(d − N + 1)/d``: the
    share of dimensions the model has lost (chapter ``memorization``,
    equation ``eq-mem-outside``).

    Parameters
    ----------
    p : Gaussian
        The generated law (may be degenerate).
    target : Gaussian
        The law whose variance is split; ``tr Σ`` must be positive.

    Returns
    -------
    float
        In ``[0, 1]``.
    """
    p = _check_gaussian(p, "p")
    target = _check_gaussian(target, "target")
    if target.dim != p.dim:
        raise ValueError(f"target must have the dimension of p, d = {p.dim}, got {target.dim}")
    total = float(np.sum(target.eigvals))
    if total <= 0:
        raise ValueError("target must have a covariance with positive trace (tr Σ > 0)")
    null = p.eigvecs[:, p.eigvals == 0]
    if null.shape[1] == 0:
        return 0.0
    outside = float(np.einsum("ij,ij->", null, target.cov @ null))
    return min(max(outside / total, 0.0), 1.0)


def neighbor_distances(points, reference, n_neighbors: int = 2) -> np.ndarray:
    """Distances from each row of ``points`` to its ``n_neighbors`` nearest rows of ``reference``, ascending.

    ``O(n m d)`` through one matrix product, after centering both sets on the
    mean of ``reference`` so that ``|a|² + |b|² − 2 a·b`` keeps its digits;
    rounding below zero is clipped before the square root.

    Parameters
    ----------
    points : array_like, shape (n, d)
    reference : array_like, shape (m, d)
        ``m >= n_neighbors`` rows (for example the training set).
    n_neighbors : int
        Number of neighbors, ``1 <= n_neighbors <= m``.

    Returns
    -------
    ndarray, shape (n, n_neighbors)
        Column ``j`` holds the distance to the ``(j+1)``-th nearest row.
    """
    P = as_finite_array(points, "points", ndim=2)
    R = as_finite_array(reference, "reference", ndim=2)
    k = as_int(n_neighbors, "n_neighbors", minimum=1)
    if P.shape[0] < 1:
        raise ValueError(f"points must contain at least one row, got shape {P.shape}")
    if R.shape[1] != P.shape[1]:
        raise ValueError(f"reference must have d = {P.shape[1]} columns to match points, got shape {R.shape}")
    if R.shape[0] < k:
        raise ValueError(f"n_neighbors must be at most the number of reference rows ({R.shape[0]}), got {k}")
    center = R.mean(axis=0)
    P, R = P - center, R - center
    sq = np.einsum("ij,ij->i", P, P)[:, None] + np.einsum("ij,ij->i", R, R)[None, :] - 2.0 * (P @ R.T)
    if k < R.shape[0]:
        sq = np.partition(sq, k - 1, axis=1)[:, :k]
    return np.sqrt(np.maximum(np.sort(sq, axis=1)[:, :k], 0.0))


def distance_ratio(samples, train, fresh) -> float:
    """``median_y dist(y, X) / median_z dist(z, X)``: nearest-training-point distance, relative to fresh draws.

    ``y`` runs over ``samples`` of the generated law, ``z`` over ``fresh``
    draws of the target, and ``dist(·, X)`` is the distance to the nearest
    row of the training set ``train``. About ``1`` for a generator that
    samples the target independently of the training set; below ``1`` when
    samples sit closer to training points than fresh data do (shrinkage
    toward the training mean does this as well as copying); near ``0`` for a
    generator that copies training points (chapter ``memorization``).
    """
    X = as_finite_array(train, "train", ndim=2)
    arrays = {}
    for name, a in (("samples", samples), ("fresh", fresh)):
        a = as_finite_array(a, name, ndim=2)
        if a.shape[0] < 1 or a.shape[1] != X.shape[1]:
            raise ValueError(f"{name} must be a non-empty (n, {X.shape[1]}) array to match train, got {a.shape}")
        arrays[name] = a
    if X.shape[0] < 1:
        raise ValueError(f"train must contain at least one row, got shape {X.shape}")
    near = neighbor_distances(arrays["samples"], X, 1)[:, 0]
    scale = float(np.median(neighbor_distances(arrays["fresh"], X, 1)[:, 0]))
    if scale <= 0:
        raise ValueError("fresh must not coincide with training points (median nearest distance is 0)")
    return float(np.median(near)) / scale
