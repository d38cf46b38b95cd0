"""Gaussian distributions, KL divergence and squared Hellinger distance.

Every model in the book ends as a :class:`Gaussian` (one-step denoiser, K-step
sampler, linear DDPM), and every distance between models is computed here.
The formulas are the textbook ones, written in a whitened eigenbasis so that
they stay accurate when a covariance is ill-conditioned and give the exact
answer (``inf`` for KL, ``1`` for the squared Hellinger distance) when one
distribution is singular with respect to the other. The chapter
"Notation and conventions" (``book/notation.md``) fixes the direction of KL
and derives the whitened form used below.

Rank
----
A Gaussian built from a dense covariance zeroes the eigenvalues at most
``dim * eps * (largest eigenvalue)``, the size of the rounding error of a
symmetric eigendecomposition: they carry no information. A Gaussian built by a
model through :meth:`Gaussian.from_eigh` keeps its eigenvalues as given: exact
zeros mark degenerate directions (for example a linear denoiser fitted on
``N <= d`` points), and a tiny positive variance stays positive, so KL is
large but finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._validate import as_finite_array, as_generator, as_int

__all__ = ["Gaussian", "kl_divergence", "hellinger2", "wasserstein2", "f_kl"]

_EPS = np.finfo(float).eps


def _rank_tol(dim: int, largest: float) -> float:
    return dim * _EPS * max(largest, np.finfo(float).tiny)


@dataclass(frozen=True, eq=False)
class Gaussian:
    """A (possibly degenerate) Gaussian distribution ``N(mean, cov)`` on ``R^d``.

    Parameters
    ----------
    mean : array_like, shape (d,)
        Finite mean vector.
    cov : array_like, shape (d, d)
        Symmetric positive semidefinite covariance. Asymmetry or negative
        eigenvalues beyond rounding error raise ``ValueError``; within rounding
        error the matrix is symmetrized and its eigenvalues clipped at zero.

    Notes
    -----
    The eigendecomposition of ``cov`` is computed once, at construction, and
    reused by :func:`kl_divergence`, :func:`hellinger2` and :meth:`sample`.
    Use :meth:`from_eigh` when the eigenbasis is already known.
    Stored arrays are read-only, so a ``Gaussian`` is an immutable value.
    """

    mean: np.ndarray
    cov: np.ndarray
    _eig: tuple | None = field(default=None, repr=False, kw_only=True)

    def __post_init__(self):
        mean = as_finite_array(self.mean, "mean", ndim=1)
        if mean.shape[0] < 1:
            raise ValueError("mean must have at least one entry (dimension d >= 1)")
        d = mean.shape[0]
        cov = as_finite_array(self.cov, "cov", ndim=2)
        if cov.shape != (d, d):
            raise ValueError(f"cov must have shape (d, d) = ({d}, {d}) to match mean, got {cov.shape}")
        scale = float(np.max(np.abs(cov))) if cov.size else 0.0
        asym = float(np.max(np.abs(cov - cov.T)))
        if asym > 1e-8 * max(scale, 1e-300):
            raise ValueError(
                f"cov must be symmetric; max |cov - cov.T| = {asym:.3g} "
                f"is large relative to max |cov| = {scale:.3g}"
            )
        cov = 0.5 * (cov + cov.T)
        if self._eig is None:
            w, V = np.linalg.eigh(cov)
        else:
            w, V = self._eig
        largest = float(np.max(np.abs(w)))
        if w[0] < -100 * _rank_tol(d, largest):
            raise ValueError(
                f"cov must be positive semidefinite; its smallest eigenvalue is {w[0]:.6g} "
                f"(largest {largest:.6g})"
            )
        w = np.clip(w, 0.0, None)
        if self._eig is None:
            # eigenvalues of a dense matrix at rounding level carry no
            # information: make them exact zeros (a degenerate direction)
            w = np.where(w > _rank_tol(d, largest), w, 0.0)
        for arr in (mean, cov, w, V):
            arr.setflags(write=False)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "cov", cov)
        object.__setattr__(self, "_eig", (w, V))

    @classmethod
    def from_eigh(cls, mean, eigvals, eigvecs) -> "Gaussian":
        """Build ``N(mean, V diag(eigvals) V^T)`` from a known eigendecomposition.

        Parameters
        ----------
        mean : array_like, shape (d,)
        eigvals : array_like, shape (d,)
            Non-negative eigenvalues (exact zeros mark a degenerate direction).
        eigvecs : array_like, shape (d, d)
            Orthogonal matrix whose columns are the eigenvectors.
        """
        mean = as_finite_array(mean, "mean", ndim=1)
        w = as_finite_array(eigvals, "eigvals", ndim=1)
        V = as_finite_array(eigvecs, "eigvecs", ndim=2)
        d = mean.shape[0]
        if w.shape != (d,) or V.shape != (d, d):
            raise ValueError(
                f"eigvals must have shape ({d},) and eigvecs ({d}, {d}) to match mean; "
                f"got {w.shape} and {V.shape}"
            )
        if np.any(w < 0):
            raise ValueError(f"eigvals must be >= 0, smallest is {w.min():.6g}")
        orth = float(np.max(np.abs(V.T @ V - np.eye(d))))
        if orth > 1e-8:
            raise ValueError(f"eigvecs must be orthogonal; max |V^T V - I| = {orth:.3g}")
        order = np.argsort(w)
        w, V = w[order], V[:, order]
        cov = (V * w) @ V.T
        return cls(mean, cov, _eig=(w.copy(), V.copy()))

    @property
    def dim(self) -> int:
        """Dimension ``d``."""
        return int(self.mean.shape[0])

    @property
    def eigvals(self) -> np.ndarray:
        """Eigenvalues of ``cov`` in ascending order (clipped at zero)."""
        return self._eig[0]

    @property
    def eigvecs(self) -> np.ndarray:
        """Orthonormal eigenvectors of ``cov`` (columns), matching :attr:`eigvals`."""
        return self._eig[1]

    @property
    def rank(self) -> int:
        """Rank of ``cov``: the number of positive eigenvalues (see the module notes)."""
        return int(np.count_nonzero(self.eigvals > 0))

    def logdet_positive(self) -> float:
        """Sum of the logarithms of the positive eigenvalues of ``cov``."""
        w = self.eigvals
        return float(np.sum(np.log(w[w > 0])))

    @property
    def is_degenerate(self) -> bool:
        """True when ``cov`` is singular, i.e. the law lives on a proper affine subspace."""
        return self.rank < self.dim

    def logdet(self) -> float:
        """``ln det cov``; ``-inf`` for a degenerate Gaussian."""
        if self.is_degenerate:
            return -math.inf
        return float(np.sum(np.log(self.eigvals)))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` samples, shape ``(n, d)``, using the seeded generator ``rng``."""
        n = as_int(n, "n", minimum=0)
        rng = as_generator(rng)
        z = rng.standard_normal((n, self.dim))
        return self.mean + (z * np.sqrt(self.eigvals)) @ self.eigvecs.T

    def logpdf(self, x) -> np.ndarray:
        """Log density at the rows of ``x`` (shape ``(n, d)`` or ``(d,)``).

        Raises ``ValueError`` for a degenerate Gaussian, which has no density
        with respect to Lebesgue measure on ``R^d``.
        """
        if self.is_degenerate:
            raise ValueError("logpdf is undefined: cov is singular (the Gaussian has no density on R^d)")
        x = as_finite_array(x, "x")
        if x.shape[-1] != self.dim:
            raise ValueError(f"x must have last dimension d = {self.dim}, got shape {x.shape}")
        y = (x - self.mean) @ self.eigvecs / np.sqrt(self.eigvals)
        return -0.5 * (np.sum(y * y, axis=-1) + self.dim * math.log(2 * math.pi) + self.logdet())


def _check_pair(p, q) -> None:
    for name, g in (("p", p), ("q", q)):
        if not isinstance(g, Gaussian):
            raise TypeError(f"{name} must be a lindiff.gaussian.Gaussian, got {type(g).__name__}")
    if p.dim != q.dim:
        raise ValueError(f"p and q must have the same dimension, got p.dim = {p.dim} and q.dim = {q.dim}")


def _whiten(p: Gaussian, q: Gaussian):
    """Express ``p`` in the coordinates where ``q`` is standard normal on its support.

    Returns ``None`` when ``p`` puts mass outside the affine support of ``q``;
    otherwise ``(m, delta)`` with ``m`` the eigenvalues of the whitened
    covariance of ``p`` (ascending) and ``delta`` the whitened mean difference
    in the eigenbasis of that covariance.
    """
    d = p.dim
    lam, U = q.eigvals, q.eigvecs
    # square-root factor of cov_p: cov_p = R R^T, built from its eigendecomposition
    # so that ill-conditioned covariances are never re-multiplied densely
    R = p.eigvecs * np.sqrt(p.eigvals)
    largest = max(float(lam[-1]), float(p.eigvals[-1]))
    keep = lam > 0
    diff = p.mean - q.mean
    if not np.all(keep):
        Uo = U[:, ~keep]
        # mass of p outside range(cov q): variance and mean offset there
        outside_var = float(np.sum((Uo.T @ R) ** 2))
        if outside_var > 100 * _rank_tol(d, largest) * Uo.shape[1]:
            return None
        off = Uo.T @ diff
        mean_scale = float(np.linalg.norm(p.mean) + np.linalg.norm(q.mean)) + math.sqrt(largest)
        if float(np.linalg.norm(off)) > 1e3 * _EPS * mean_scale:
            return None
    if not np.any(keep):
        # q is a point mass; p is the same point mass (checked above)
        return np.zeros(0), np.zeros(0)
    B = U[:, keep] / np.sqrt(lam[keep])
    # whitened covariance of p is F F^T; its eigenvalues are the squared
    # singular values of F (more accurate than eigh of a product)
    F = B.T @ R
    Ul, sv, _ = np.linalg.svd(F, full_matrices=True)
    m = np.zeros(Ul.shape[0])
    m[: sv.size] = sv**2
    order = np.argsort(m)
    return m[order], (Ul[:, order]).T @ (B.T @ diff)


def f_kl(x) -> np.ndarray:
    """``f(x) = x − 1 − ln x``, twice ``KL(N(0, x) ‖ N(0, 1))``; ``+inf`` for ``x <= 0``.

    The building block of every KL in the book (equation ``eq-kl-whitened``).
    Uses ``log1p(x − 1)`` near ``x = 1`` (no cancellation) and ``log x``
    elsewhere: for ``x`` below machine epsilon ``x − 1`` rounds to ``−1``, and
    ``log1p`` would turn a tiny but positive variance into an infinite KL.
    """
    x = np.asarray(x, dtype=float)
    if np.any(np.isnan(x)):
        raise ValueError("x must not contain nan (f_kl is defined on [0, inf])")
    near = np.abs(x - 1.0) < 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.where(near, (x - 1.0) - np.log1p(np.where(near, x - 1.0, 0.0)),
                     (x - 1.0) - np.log(np.where(x > 0, x, 1.0)))
    return np.where(x > 0, y, np.inf)


_f = f_kl


def kl_divergence(p: Gaussian, q: Gaussian) -> float:
    """Kullback–Leibler divergence ``KL(p || q)`` in nats.

    .. math::
        \\mathrm{KL}(p\\Vert q) = \\tfrac12\\Big[\\sum_i f(m_i) + \\lVert\\tilde\\delta\\rVert^2\\Big],
        \\qquad f(m) = m - 1 - \\ln m,

    where ``m_i`` are the eigenvalues of ``cov_p`` whitened by ``cov_q`` and
    ``delta~`` is the whitened mean difference (chapter "Notation and
    conventions", equation ``eq-kl-whitened``). Equal to the textbook formula
    ``½[tr(Σq⁻¹Σp) − d + δᵀΣq⁻¹δ + ln det Σq − ln det Σp]`` when both
    covariances are positive definite, but never forms an explicit inverse.

    Returns
    -------
    float
        ``math.inf`` when ``p`` is not absolutely continuous with respect to
        ``q``: ``p`` puts mass outside the affine support of ``q``, or ``p`` is
        concentrated on a proper subspace of that support (for example ``cov``
        of ``p`` singular while ``cov`` of ``q`` is positive definite). Both
        may be degenerate on the same affine subspace; KL is then finite and
        computed on that subspace. Never ``nan`` for valid input.
    """
    _check_pair(p, q)
    w = _whiten(p, q)
    if w is None:
        return math.inf
    m, delta = w
    if m.size == 0:
        return 0.0
    log_m = _sum_log_m(p, q, m)
    if log_m is None:
        return math.inf
    if m[0] > _RESOLVED * m[-1]:
        kl = 0.5 * (float(np.sum(_f(m))) + float(delta @ delta))
    else:
        kl = 0.5 * (float(np.sum(m)) - m.size - log_m + float(delta @ delta))
    return max(kl, 0.0)


# whitened eigenvalues above this fraction of the largest are resolved to full
# relative accuracy by the SVD; below it, ln det comes from the eigenvalues
_RESOLVED = 1e-8


def _sum_log_m(p: Gaussian, q: Gaussian, m: np.ndarray):
    """``Σ ln m_i`` accurately, or ``None`` when ``p`` lives on a proper subspace of ``q``'s support.

    When all ``m_i`` are resolved by the SVD, sum their logs. Otherwise use
    ``ln det cov_p − ln det cov_q`` from the eigenvalues the two Gaussians
    carry, which keeps a tiny but positive variance of ``p`` (known exactly
    from its model, e.g. ``g ∝ λ²`` just above ``N = d``) instead of losing it
    to the rounding of the SVD (absolute accuracy ``eps · m_max``).
    """
    if m[0] > _RESOLVED * m[-1]:
        return float(np.sum(np.log(m)))
    if p.rank != m.size:  # p has fewer directions than the support of q
        return None
    return p.logdet_positive() - q.logdet_positive()


def hellinger2(p: Gaussian, q: Gaussian) -> float:
    """Squared Hellinger distance ``H²(p, q) = 1 − ∫ sqrt(p q)``, in ``[0, 1]``.

    .. math::
        1 - H^2 = \\prod_i \\frac{m_i^{1/4}}{\\big((1+m_i)/2\\big)^{1/2}}
        \\exp\\Big(-\\frac14\\sum_i \\frac{\\tilde\\delta_i^2}{1+m_i}\\Big)

    with ``m_i`` and ``delta~`` as in :func:`kl_divergence`, evaluated in log
    space so that high dimension never underflows to a wrong ``0``. Returns
    exactly ``1.0`` when the two laws are mutually singular (their affine
    supports differ), which includes every degenerate ``p`` against a
    non-degenerate ``q``.
    """
    _check_pair(p, q)
    w = _whiten(p, q)
    if w is None:
        return 1.0
    m, delta = w
    if m.size == 0:
        return 0.0
    log_m = _sum_log_m(p, q, m)
    if log_m is None:
        return 1.0
    log_bc = 0.25 * log_m - 0.5 * float(np.sum(np.log1p(0.5 * (m - 1.0))))
    log_bc -= 0.25 * float(np.sum(delta**2 / (1.0 + m)))
    return float(min(max(-math.expm1(min(log_bc, 0.0)), 0.0), 1.0))


def wasserstein2(p: Gaussian, q: Gaussian) -> float:
    """2-Wasserstein distance ``W₂(p, q)`` between two Gaussians.

    .. math::
        W_2^2(p, q) = \\lVert m_p - m_q\\rVert^2 + \\operatorname{tr} C_p + \\operatorname{tr} C_q
        - 2\\operatorname{tr}\\big(C_q^{1/2} C_p C_q^{1/2}\\big)^{1/2}

    (chapter "Notation and conventions", section on distances). Unlike KL and
    the Hellinger distance, ``W₂`` stays finite and informative when one or
    both laws are degenerate: a generator that collapses onto a subspace is
    at the distance of the variance it misses, not at ``inf``.

    The cross term is the nuclear norm of ``R_qᵀ R_p`` for square-root factors
    ``C = R Rᵀ`` built from the cached eigendecompositions, so no matrix square
    root of a product is formed and singular covariances need no special case.

    Returns
    -------
    float
        ``W₂ >= 0`` (not squared), in the units of the data.
    """
    _check_pair(p, q)
    Rp = p.eigvecs * np.sqrt(p.eigvals)
    Rq = q.eigvecs * np.sqrt(q.eigvals)
    cross = float(np.sum(np.linalg.svd(Rq.T @ Rp, compute_uv=False)))
    diff = p.mean - q.mean
    w2 = float(diff @ diff) + float(np.sum(p.eigvals)) + float(np.sum(q.eigvals)) - 2.0 * cross
    # the covariance part is a difference of traces: rounding can leave a tiny negative number
    return math.sqrt(max(w2, 0.0))
