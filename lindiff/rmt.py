"""Random-matrix tools: the Marchenko–Pastur law, its transforms, deterministic equivalents, Bartlett.

The appendix ``book/appendix_rmt.md`` derives every formula here; the
equation labels ``eq-rmt-*`` cited in the docstrings are its equations.
The chapters ``book/onestep_kl.md`` and ``book/ddpm_denoisers.md`` use them
through :mod:`lindiff.onestep` and :mod:`lindiff.ddpm`.

Notation (``book/notation.md``): ``γ = d/N``; ``λ`` is a random variable with
the Marchenko–Pastur law ``MP_γ`` (the limiting law of an eigenvalue of
``S/σ²`` for data with covariance ``σ² I``), whose support is
``[(1 − √γ)², (1 + √γ)²]`` plus, for ``γ > 1``, an atom of mass ``1 − 1/γ``
at ``0``; ``ω`` is the argument of every transform and resolvent (the code
calls the resolvent argument ``z`` and the MP variable ``u``);

* Stieltjes transform ``m(ω) = E[1/(λ − ω)]``;
* η-transform ``η(ω) = E[1/(1 + ω λ)]``;
* Shannon transform ``𝒱(ω) = E[ln(1 + ω λ)]``;
* ``δ(ω)``, the fixed point of the deterministic equivalents of
  ``(S₀ + ω)⁻¹`` (``S₀ = XᵀX/N``, the uncentered second moment) for a general
  population covariance ``Σ`` with eigenvalues ``λ_ν``.

Closed forms are written without cancelling differences (the textbook
expressions subtract nearly equal square roots for small ``ω`` or ``γ``), so
they keep full relative accuracy over the whole range; the unit tests check
them against quadrature of the density and against simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigvalsh_tridiagonal
from scipy.special import digamma, polygamma

from ._validate import as_finite_array, as_generator, as_int, as_nonnegative_float, as_positive_float

__all__ = [
    "mp_edges",
    "mp_density",
    "mp_stieltjes",
    "mp_eta",
    "mp_eta_prime",
    "mp_shannon",
    "mp_log_moment",
    "ResolventTraces",
    "deterministic_equivalent",
    "bartlett_factor",
    "wishart_extreme_eigenvalues",
    "wishart_logdet_mean",
    "wishart_logdet_variance",
]


# --------------------------------------------------------------------------- validation


def _as_gamma(gamma, allow_zero: bool = True) -> float:
    if allow_zero:
        return as_nonnegative_float(gamma, "gamma")
    return as_positive_float(gamma, "gamma")


def _as_nonnegative_array(x, name: str) -> np.ndarray:
    arr = as_finite_array(x, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0")
    return arr


def _out(arr):
    """A 0-d result as a Python float (or complex), an array otherwise."""
    arr = np.asarray(arr)
    if arr.ndim == 0:
        return complex(arr) if np.iscomplexobj(arr) else float(arr)
    return arr


# --------------------------------------------------------------------------- Marchenko–Pastur law


def mp_edges(gamma: float) -> tuple[float, float]:
    """Edges ``((1 − √γ)², (1 + √γ)²)`` of the Marchenko–Pastur bulk (equation ``eq-rmt-mp-density``).

    By the Bai–Yin theorem (``thm-rmt-edges``) the smallest and largest
    eigenvalues of ``S/σ²`` converge to these edges for ``γ < 1``.
    """
    g = _as_gamma(gamma)
    rg = math.sqrt(g)
    return (1.0 - rg) ** 2, (1.0 + rg) ** 2


def mp_density(u, gamma: float):
    """Density of the continuous part of ``MP_γ`` (equation ``eq-rmt-mp-density``)::

        √((λ₊ − u)(u − λ₋)) / (2π γ u)   on [λ₋, λ₊],   0 elsewhere,

    with ``λ± = (1 ± √γ)²``. It integrates to ``min(1, 1/γ)``: for ``γ > 1``
    the law also has an atom of mass ``1 − 1/γ`` at ``u = 0``, which is not
    part of the density. At ``γ = 1`` the density diverges like
    ``1/(π √u)`` at ``0`` (integrable); the value at ``u = 0`` is then ``inf``.

    Parameters
    ----------
    u : array_like
        Points, any real numbers.
    gamma : float
        Ratio ``γ = d/N > 0``.
    """
    g = _as_gamma(gamma, allow_zero=False)
    u = as_finite_array(u, "u")
    lo, hi = mp_edges(g)
    inside = (u > lo) & (u < hi)
    uu = np.where(inside, u, 0.5 * (lo + hi))
    dens = np.where(inside, np.sqrt((hi - uu) * (uu - lo)) / (2.0 * math.pi * g * uu), 0.0)
    if g == 1.0:
        dens = np.where(u == 0.0, math.inf, dens)
    return _out(dens)


def mp_stieltjes(z, gamma: float):
    """Stieltjes transform ``m(z) = E[1/(u − z)]`` of ``MP_γ`` (equation ``eq-rmt-m``).

    ``m`` is the root of ``γ z m² + (z + γ − 1) m + 1 = 0`` with ``m(z) ~ −1/z``
    at infinity::

        m(z) = 2 / (1 − γ − z − r(z)) = (1 − γ − z + r(z)) / (2 γ z),
        r(z) = √(z − λ₋) √(z − λ₊)   (principal square roots),

    the two forms being equal; the one without cancellation is used. On the
    support (real ``z`` in ``[λ₋, λ₊]``) the value is the limit from the upper
    half plane, whose imaginary part is ``π`` times the density.

    Parameters
    ----------
    z : complex or array_like of complex
    gamma : float
        ``γ >= 0`` (``γ = 0`` gives ``1/(1 − z)``, the point mass at 1).

    Returns
    -------
    complex or ndarray of complex
        ``inf`` at ``z = 0`` when ``E[1/u]`` diverges (``γ >= 1``), and at
        ``z = 1`` for ``γ = 0``.
    """
    g = _as_gamma(gamma)
    try:
        z = np.asarray(z, dtype=complex)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"z must be a complex number or an array of them, got {type(z).__name__}") from exc
    if not np.all(np.isfinite(z)):
        raise ValueError("z must contain only finite numbers (no nan or inf)")
    lo, hi = mp_edges(g)
    r = np.sqrt(z - lo) * np.sqrt(z - hi)
    a = 1.0 - g - z
    minus, plus = a - r, a + r  # minus · plus = 4 γ z
    use_minus = np.abs(minus) >= np.abs(plus)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(use_minus, 2.0 / np.where(minus == 0, 1.0, minus), plus / np.where(z == 0, 1.0, 2.0 * g * z))
    pole = (use_minus & (minus == 0)) | (~use_minus & (z == 0))
    m = np.where(pole, complex(math.inf, 0.0), m)
    return _out(m)


def _eta_parts(omega: np.ndarray, g: float):
    """``η``, ``1 − η`` and ``√disc = a₊ a₋`` for ``ω >= 0``, each without cancellation.

    ``a₊ = √(1 + ω λ₊)``, ``a₋ = √(1 + ω λ₋)`` and ``a₊ a₋ = √((1 + (1−γ)ω)² + 4γω)``.
    ``η`` is the positive root of ``γ ω η² + (1 + (1−γ)ω) η − 1 = 0``; of the two
    equal forms ``2/(b + a₊a₋)`` and ``(a₊a₋ − b)/(2γω)`` (``b = 1 + (1−γ)ω``) the
    one that adds positive numbers is used. ``1 − η = 4ω/(a₊ + a₋)²``.
    """
    lo, hi = mp_edges(g)
    a_plus, a_minus = np.sqrt(1.0 + omega * hi), np.sqrt(1.0 + omega * lo)
    root = a_plus * a_minus  # the square root of the discriminant
    b = 1.0 + (1.0 - g) * omega
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(b >= 0, 2.0 / (b + root), (root - b) / np.where(omega > 0, 2.0 * g * omega, 1.0))
    one_minus = 4.0 * omega / (a_plus + a_minus) ** 2
    return eta, one_minus, root


def mp_eta(omega, gamma: float):
    """η-transform ``η(ω) = E[1/(1 + ω u)]`` of ``MP_γ`` (equation ``eq-rmt-eta``).

    Equal to ``1 − Φ(ω)/(4 ω γ)`` with
    ``Φ(ω) = (√(ω λ₊ + 1) − √(ω λ₋ + 1))²``, the form quoted in
    ``book/onestep_kl.md`` (there with ``ω = s``). ``η(0) = 1``; as ``ω → ∞``,
    ``η → 1 − 1/γ`` for ``γ > 1`` (the atom at 0) and ``→ 0`` otherwise.

    Parameters
    ----------
    omega : float or array_like
        ``ω >= 0``.
    gamma : float
        ``γ >= 0``.
    """
    g = _as_gamma(gamma)
    omega = _as_nonnegative_array(omega, "omega")
    return _out(_eta_parts(omega, g)[0])


def mp_eta_prime(omega, gamma: float):
    """Derivative ``∂η/∂ω = −E[u/(1 + ω u)²]`` (equation ``eq-rmt-eta-prime``).

    Implicit differentiation of the quadratic for ``η`` gives
    ``η'(ω) = −η / ((1 + γ ω η) √((1 + (1−γ)ω)² + 4γω))``, which has no
    cancellation. ``η'(0) = −1 = −E u``. With it,
    ``E[1/(1 + ω u)²] = η + ω η'`` and
    ``E[u²/(1 + ω u)²] = (1 − η + ω η')/ω²`` (the ``Q`` of ``book/onestep_kl.md``).
    """
    g = _as_gamma(gamma)
    omega = _as_nonnegative_array(omega, "omega")
    eta, _, root = _eta_parts(omega, g)
    return _out(-eta / ((1.0 + g * omega * eta) * root))


def mp_shannon(omega, gamma: float):
    """Shannon transform ``𝒱(ω) = E[ln(1 + ω u)]`` of ``MP_γ`` (equation ``eq-rmt-shannon``).

    ``𝒱(ω) = −ln η + (1/γ) ln(1 + γ ω η) − (1 − η)`` with ``η = η(ω)``; this is
    the same function as the form quoted in ``book/onestep_kl.md``,
    ``ln(1 + ω − Φ/4) + (1/γ) ln(1 + γω − Φ/4) − Φ/(4γω)``. At ``γ = 0`` it is
    ``ln(1 + ω)``.
    """
    g = _as_gamma(gamma)
    omega = _as_nonnegative_array(omega, "omega")
    eta, one_minus, _ = _eta_parts(omega, g)
    # -ln η: from η itself when it is small, from 1 − η when η is near 1
    with np.errstate(divide="ignore"):
        minus_log_eta = np.where(eta < 0.5, -np.log(np.maximum(eta, np.finfo(float).tiny)), -np.log1p(-one_minus))
    second = omega * eta if g == 0.0 else np.log1p(g * omega * eta) / g
    return _out(minus_log_eta + second - one_minus)


def mp_log_moment(gamma: float) -> float:
    """``L(γ) = E[ln u]`` under ``MP_γ`` (equation ``eq-rmt-log-moment``)::

        L(γ) = (1 − 1/γ) ln(1 − γ) − 1 = −γ/2 − γ²/6 − γ³/12 − …   (0 < γ < 1),

    ``L(0) = 0`` and ``L(1) = −1`` (the density ``~ 1/(π√u)`` at ``0`` keeps
    ``ln u`` integrable). For ``γ > 1`` the atom at ``0`` makes it ``-inf``.
    It is the limit of ``(1/d) ln det(S/σ²)`` and of ``𝒱(ω) − ln ω`` as
    ``ω → ∞``. Below ``γ = 10⁻⁴`` the series is used (the closed form cancels).
    """
    g = _as_gamma(gamma)
    if g == 0.0:
        return 0.0
    if g < 1e-4:
        return -(g / 2 + g * g / 6 + g**3 / 12)
    if g < 1.0:
        return -1.0 - (1.0 - g) / g * math.log1p(-g)
    if g == 1.0:
        return -1.0
    return -math.inf


# --------------------------------------------------------------------------- deterministic equivalents


@dataclass(frozen=True)
class ResolventTraces:
    """Deterministic equivalents of traces of ``(S₀ + z)⁻¹`` (theorem ``thm-rmt-deteq``).

    ``S₀ = (1/N) Σ_i x_i x_iᵀ`` with ``x_i`` i.i.d. ``N(0, Σ)``, ``Σ`` with
    eigenvalues ``λ_ν``. All fields are arrays of the broadcast shape of
    ``N`` and ``z``.

    Attributes
    ----------
    delta : ndarray
        ``δ(z)``, the positive solution of ``δ = (1/N) Σ_ν λ_ν / (λ_ν/(1+δ) + z)``.
    delta_prime : ndarray
        ``δ'(z) = dδ/dz < 0``.
    trace : ndarray
        ``tr(S₀ + z)⁻¹ ≃ Σ_ν (λ_ν/(1+δ) + z)⁻¹``.
    trace_squared : ndarray
        ``tr(S₀ + z)⁻² ≃ −d/dz`` of ``trace``.
    trace_sigma : ndarray
        ``tr Σ(S₀ + z)⁻¹ ≃ N δ``.
    trace_sigma_squared : ndarray
        ``tr Σ(S₀ + z)⁻² ≃ −N δ'``.
    """

    delta: np.ndarray
    delta_prime: np.ndarray
    trace: np.ndarray
    trace_squared: np.ndarray
    trace_sigma: np.ndarray
    trace_sigma_squared: np.ndarray


def _solve_delta(lam, N, z):
    """Solve ``δ = (1/N) Σ λ (1 + δ) / (λ + z (1 + δ))`` elementwise in ``N, z > 0``.

    ``δ − h(δ)`` is convex (``h`` concave increasing), negative at 0 and
    positive at ``Σλ/(N z) + 1``: bisection in ``log(1 + δ)``, then Newton.
    """

    def g(delta):
        e = 1.0 + delta[..., None]
        return delta - np.sum(lam * e / (lam + z[..., None] * e), axis=-1) / N

    hi = lam.sum() / (N * z) + 1.0
    llo, lhi = np.zeros_like(hi), np.log1p(hi)
    for _ in range(60):
        mid = 0.5 * (llo + lhi)
        neg = g(np.expm1(mid)) < 0
        llo = np.where(neg, mid, llo)
        lhi = np.where(neg, lhi, mid)
    delta = np.expm1(lhi)
    for _ in range(3):
        e = 1.0 + delta[..., None]
        den = lam + z[..., None] * e
        slope = 1.0 - np.sum(lam**2 / den**2, axis=-1) / N
        delta = delta - g(delta) / slope
    return delta


def deterministic_equivalent(spectrum, N, z) -> ResolventTraces:
    """Deterministic equivalents of ``tr(S₀ + z)⁻¹`` and ``tr Σ(S₀ + z)⁻¹`` (equation ``eq-rmt-deteq``).

    For ``N`` points i.i.d. ``N(0, Σ)`` in ``d`` dimensions and ``z > 0``, with
    ``δ(z)`` the unique positive solution of the fixed-point equation
    ``eq-rmt-delta``::

        δ = (1/N) Σ_ν λ_ν / (λ_ν/(1 + δ) + z),

    one has ``tr(S₀ + z)⁻¹ ≃ Σ_ν (λ_ν/(1+δ) + z)⁻¹`` and
    ``tr Σ(S₀ + z)⁻¹ ≃ N δ`` as ``d, N → ∞`` at fixed ``d/N`` (errors ``o(d)``;
    in practice a few percent at ``d = 100``). The squared resolvents follow by
    ``−∂_z``, with ``δ'`` from implicit differentiation. For ``Σ = I`` they
    reduce to the Marchenko–Pastur law: ``tr(S₀ + z)⁻¹/d ≃ m(−z)`` and
    ``δ = γ m(−z)``. For the centered covariance ``S`` pass ``N − 1``.

    Parameters
    ----------
    spectrum : array_like, shape (d,)
        Eigenvalues ``λ_ν`` of ``Σ`` (positive).
    N : float or array_like
        Number of samples, ``> 0`` (non-integer values such as ``N − 1`` are allowed).
    z : float or array_like
        ``z > 0``; broadcast against ``N``.

    Returns
    -------
    ResolventTraces
    """
    lam = as_finite_array(spectrum, "spectrum", ndim=1)
    if lam.size < 1 or np.any(lam <= 0):
        raise ValueError("spectrum must be a non-empty 1-D array of positive numbers (eigenvalues of Sigma)")
    Ns = as_finite_array(N, "N")
    if np.any(Ns <= 0):
        raise ValueError("N must be > 0 (number of samples)")
    zs = as_finite_array(z, "z")
    if np.any(zs <= 0):
        raise ValueError("z must be > 0 (the resolvent is taken at -z on the negative real axis)")
    Ns, zs = np.broadcast_arrays(Ns, zs)
    Ns, zs = np.array(Ns, dtype=float), np.array(zs, dtype=float)
    delta = _solve_delta(lam, Ns, zs)
    e = 1.0 + delta[..., None]
    den = lam + zs[..., None] * e  # λ/(1+δ) + z = den / (1 + δ)
    # δ'(z) by implicit differentiation of δ = h(δ, z)
    h_z = -np.sum(lam * e**2 / den**2, axis=-1) / Ns
    h_delta = np.sum(lam**2 / den**2, axis=-1) / Ns
    dprime = h_z / (1.0 - h_delta)
    trace = np.sum(e / den, axis=-1)
    trace_prime = np.sum((dprime[..., None] * lam - e**2) / den**2, axis=-1)
    return ResolventTraces(delta, dprime, trace, -trace_prime, Ns * delta, -Ns * dprime)


# --------------------------------------------------------------------------- Wishart: Bartlett and log-determinants


def bartlett_factor(d: int, dof: int, rng: np.random.Generator, size: int = 1) -> np.ndarray:
    """``size`` upper-triangular Bartlett factors ``A`` with ``AᵀA ~ Wishart_d(dof, I)`` (theorem ``thm-rmt-bartlett``).

    ``A_ii = √(χ²_{dof−i+1})`` (``i = 1 … d``) and independent standard normals
    above the diagonal. ``A`` has the law of the ``R`` of the QR decomposition
    of a ``dof × d`` matrix of independent standard normals (with positive
    diagonal), so it costs ``O(d²)`` to draw whatever ``dof`` is.

    Parameters
    ----------
    d : int
        Dimension, ``>= 1``.
    dof : int
        Degrees of freedom, ``>= d``.
    rng : numpy.random.Generator
    size : int
        Number of independent factors.

    Returns
    -------
    ndarray, shape (size, d, d)
    """
    d = as_int(d, "d", minimum=1)
    dof = as_int(dof, "dof", minimum=1)
    if dof < d:
        raise ValueError(f"dof must be >= d = {d} (full-rank Wishart), got {dof}")
    size = as_int(size, "size", minimum=1)
    rng = as_generator(rng)
    A = np.triu(rng.standard_normal((size, d, d)), k=1)
    idx = np.arange(d)
    A[:, idx, idx] = np.sqrt(rng.chisquare(dof - idx, size=(size, d)))
    return A


def wishart_extreme_eigenvalues(d: int, dof: int, rng: np.random.Generator, size: int = 1) -> np.ndarray:
    """Smallest and largest eigenvalue of ``size`` independent ``Wishart_d(dof, I)`` matrices.

    The same bidiagonal model as :func:`lindiff.wishart.wishart_eigenvalues`
    (and the same random draws for the same ``rng`` state), but only the two
    extreme eigenvalues of the tridiagonal matrix ``B Bᵀ`` are computed, by
    bisection: ``O(d)`` per draw instead of a full ``O(d³)`` SVD, so that the
    edges can be followed to ``d`` in the thousands (theorem ``thm-rmt-edges``).
    Squaring ``B`` costs relative accuracy only for eigenvalues below about
    ``1e-12 · dof``, far below the edges studied here.

    Returns
    -------
    ndarray, shape (size, 2)
        Columns: smallest, largest.
    """
    d = as_int(d, "d", minimum=1)
    dof = as_int(dof, "dof", minimum=1)
    if dof < d:
        raise ValueError(f"dof must be >= d = {d} (full-rank Wishart), got {dof}")
    size = as_int(size, "size", minimum=1)
    rng = as_generator(rng)
    # the draws of lindiff.wishart.wishart_eigenvalues, in the same order
    diag = np.sqrt(rng.chisquare(np.arange(dof, dof - d, -1), size=(size, d)))
    sub = np.sqrt(rng.chisquare(np.arange(d - 1, 0, -1), size=(size, d - 1))) if d > 1 else np.zeros((size, 0))
    out = np.empty((size, 2))
    for k in range(size):
        # B lower bidiagonal (diagonal a, subdiagonal b): B Bᵀ has diagonal a_i² + b_{i-1}², off-diagonal b_i a_i
        a, b = diag[k], sub[k]
        t_diag = a**2 + np.concatenate([[0.0], b**2])
        t_off = b * a[:-1]
        if d == 1:
            out[k] = t_diag[0]
            continue
        out[k, 0] = eigvalsh_tridiagonal(t_diag, t_off, select="i", select_range=(0, 0))[0]
        out[k, 1] = eigvalsh_tridiagonal(t_diag, t_off, select="i", select_range=(d - 1, d - 1))[0]
    return out


def wishart_logdet_mean(d: int, dof: int) -> float:
    """``E ln det W`` for ``W ~ Wishart_d(dof, I)`` (equation ``eq-rmt-logdet``)::

        E ln det W = Σ_{i=1}^d ψ((dof − i + 1)/2) + d ln 2,

    with ``ψ`` the digamma function: by Bartlett, ``ln det W = Σ ln χ²_{dof−i+1}``
    with independent terms, and ``E ln χ²_k = ψ(k/2) + ln 2``. For scale ``Σ``
    add ``ln det Σ``. Returns ``-inf`` for ``dof < d`` (``W`` is singular).
    """
    d = as_int(d, "d", minimum=1)
    dof = as_int(dof, "dof", minimum=1)
    if dof < d:
        return -math.inf
    k = dof - np.arange(d)
    return float(np.sum(digamma(k / 2.0)) + d * math.log(2.0))


def wishart_logdet_variance(d: int, dof: int) -> float:
    """``Var ln det W = Σ_{i=1}^d ψ'((dof − i + 1)/2)`` for ``W ~ Wishart_d(dof, I)`` (equation ``eq-rmt-logdet``).

    ``ψ'`` is the trigamma function (``Var ln χ²_k = ψ'(k/2)``); the terms of
    Bartlett's decomposition are independent, so their variances add.
    Requires ``dof >= d`` (otherwise ``ln det W = −inf`` surely).
    """
    d = as_int(d, "d", minimum=1)
    dof = as_int(dof, "dof", minimum=1)
    if dof < d:
        raise ValueError(f"dof must be >= d = {d} (for dof < d, ln det W = -inf surely), got {dof}")
    k = dof - np.arange(d)
    return float(np.sum(polygamma(1, k / 2.0)))
