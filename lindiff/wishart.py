"""Exact sampling of the statistics of an isotropic Gaussian training set.

For ``x_1, …, x_N`` i.i.d. ``N(μ1, σ² I_d)`` everything the one-step model
needs from the training set is (see ``book/onestep_kl.md``):

* the eigenvalues of ``S = (1/N) Σ (x_i − x̄)(x_i − x̄)ᵀ``: ``N S / σ²`` is
  Wishart with ``N − 1`` degrees of freedom and identity scale;
* the mean error ``‖x̄ − μ1‖² ~ (σ²/N) χ²_d``, independent of ``S``.

The Wishart eigenvalues are drawn without forming any ``d × d`` matrix, from
the bidiagonal model of Dumitriu and Edelman (2002): with ``n`` degrees of
freedom (``n ≥ d``), let ``B`` be lower bidiagonal with diagonal
``χ_n, χ_{n−1}, …, χ_{n−d+1}`` and subdiagonal ``χ_{d−1}, …, χ_1`` (independent
chi variables); the eigenvalues of ``B Bᵀ`` are distributed exactly as those of
``Wishart_d(n, I)``. A draw costs one small bidiagonal SVD instead of the
``O(N d²)`` of generating data and forming ``S`` and the dense
eigendecomposition of ``S``. This is what makes the expected-KL curves of the
book (``lindiff.onestep.kl_samples``) cheaper than the eigendecompositions
they would otherwise need.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_generator, as_int, as_positive_float

__all__ = ["wishart_eigenvalues", "isotropic_training_statistics"]


def wishart_eigenvalues(d: int, dof: int, rng: np.random.Generator, size: int = 1) -> np.ndarray:
    """Eigenvalues (ascending) of ``size`` independent ``Wishart_d(dof, I)`` matrices.

    Parameters
    ----------
    d : int
        Dimension, ``d >= 1``.
    dof : int
        Degrees of freedom, ``dof >= d`` (full-rank case; for ``dof < d`` the
        matrix is singular and the one-step KL is infinite anyway).
    rng : numpy.random.Generator
    size : int
        Number of independent draws.

    Returns
    -------
    ndarray, shape (size, d)
    """
    d = as_int(d, "d", minimum=1)
    dof = as_int(dof, "dof", minimum=1)
    if dof < d:
        raise ValueError(f"dof must be >= d = {d} (full-rank Wishart), got {dof}")
    size = as_int(size, "size", minimum=1)
    rng = as_generator(rng)
    diag = np.sqrt(rng.chisquare(np.arange(dof, dof - d, -1), size=(size, d)))
    sub = np.sqrt(rng.chisquare(np.arange(d - 1, 0, -1), size=(size, d - 1))) if d > 1 else np.zeros((size, 0))
    # Singular values of B, from LAPACK's bidiagonal SVD (batched over draws):
    # unlike eig(B Bᵀ) this never squares the condition number, so the tiny
    # eigenvalues at dof ≈ d keep their relative accuracy.
    out = np.empty((size, d))
    idx = np.arange(d)
    for start in range(0, size, 256):
        stop = min(start + 256, size)
        B = np.zeros((stop - start, d, d))
        B[:, idx, idx] = diag[start:stop]
        B[:, idx[1:], idx[:-1]] = sub[start:stop]
        out[start:stop] = np.linalg.svd(B, compute_uv=False)[:, ::-1] ** 2
    return out


def isotropic_training_statistics(d: int, n: int, sigma: float, rng: np.random.Generator, size: int = 1):
    """Draw the one-step model's sufficient statistics of ``size`` training sets.

    Training sets are ``n`` i.i.d. points of ``N(μ1, σ² I_d)`` with ``n > d``.

    Returns
    -------
    lam : ndarray, shape (size, d)
        Eigenvalues of the empirical covariance ``S`` (normalized by ``n``).
    mean_err2 : ndarray, shape (size,)
        ``‖x̄ − μ1‖²``.
    sbar2 : ndarray, shape (size,)
        Mean over coordinates of the unbiased per-coordinate variances,
        ``tr(S) · n / ((n − 1) d)``.
    """
    n = as_int(n, "n", minimum=2)
    d = as_int(d, "d", minimum=1)
    if n <= d:
        raise ValueError(f"n must be > d = {d} (for n <= d the one-step KL is infinite), got {n}")
    sigma = as_positive_float(sigma, "sigma")
    lam = sigma**2 / n * wishart_eigenvalues(d, n - 1, rng, size)
    mean_err2 = sigma**2 / n * rng.chisquare(d, size=size)
    sbar2 = lam.sum(axis=1) * n / ((n - 1) * d)
    return lam, mean_err2, sbar2

