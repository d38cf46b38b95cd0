"""The computation of the author's public script ``LDM.py``, reimplemented in our own code.

The appendix "Reproducing the author's script" (``book/appendix_author_script.md``,
label ``appendix-author-script``) derives every formula here and runs it. The script is
the file ``LDM.py`` of the repository
``I-Halder/a-solvable-generative-model-with-a-linear-one-step-denoiser`` at commit
:data:`SCRIPT_COMMIT`, the only version of that file. Per training-set size ``N``
and repetition it

1. draws ``N`` training points and ``M`` reference points from ``N(μ1, σ² I_d)`` in
   single precision (float32);
2. draws one noisy input per training point, ``y = a x − sqrt(h) z`` with ``a = e^{−T}``
   and ``h = ℓ (1 − e^{−2T})`` (float32, :func:`noisy_inputs`);
3. fits ``x ≈ W y + b`` by least squares with intercept on these float32 pairs, one
   noise draw per point (:func:`least_squares_fit`);
4. builds the Gaussian ``N(a W x̄ + b, v Wᵀ W)`` in double precision from the float32 fit,
   ``v = a² s̄² + h`` (:func:`generated_gaussian`); the law of ``D(y) = W y + b`` for
   ``y ~ N(a x̄, v I)`` has covariance ``v W Wᵀ`` (equation ``eq-script-covariance``);
5. evaluates, against each point set, the kernel "distance" of equation
   ``eq-script-distance``: a self term (float32, :func:`self_term`) minus a cross term
   (kernel values in float64, summed in float32, :func:`cross_term`), both with the
   factor ``(2π)^{1/2}`` where a Gaussian density has ``(2π)^{d/2}``;
6. records the sign of ``Δ = e_train − e_ref``;
7. evaluates the squared Hellinger distance to ``N(μ1, σ² I)`` with every determinant
   below ``e^{−25}`` set to ``0`` (:func:`hellinger2_script`).

:class:`Ingredients` switches each peculiarity off, one at a time, and
:func:`run_variants` repeats the whole computation over fresh training and reference
sets, for several such switches on the same draws. Kernel overlaps in exact arithmetic, the statistic ``Γ`` and the exact relative
distance live in :mod:`lindiff.memorization`; this module reproduces the script's own
arithmetic, rounding included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
import scipy.linalg

from . import onestep
from ._validate import as_data_matrix, as_finite_array, as_int, as_positive_float
from .gaussian import Gaussian

__all__ = [
    "SCRIPT_COMMIT",
    "SCRIPT_SETTINGS",
    "DETERMINANT_CUTOFF",
    "Ingredients",
    "INGREDIENT_NAMES",
    "noisy_inputs",
    "least_squares_fit",
    "generated_gaussian",
    "self_term",
    "self_term_rounding",
    "float32_sum",
    "cross_term",
    "reference_kernel_values",
    "kernel_distance",
    "hellinger2_script",
    "draw_repetition",
    "run_variants",
    "run_script",
    "ScriptRun",
]

#: Commit of ``LDM.py`` in the author's repository (the only version of the file).
SCRIPT_COMMIT = "510416b2e900ec7eede0dad15df915ffd9e38ca1"

#: The parameters set at the top of ``LDM.py``: dimension ``d = 10 × 10``, target
#: ``N(10·1, I)``, ``T = 2``, noise scale ``ℓ = e^{−2T}``, sizes ``N = 25, 50, 75, 100``,
#: ``M = 10⁴`` reference points and 300 repetitions.
SCRIPT_SETTINGS = {
    "d": 100,
    "mean": 10.0,
    "std": 1.0,
    "T": 2.0,
    "noise_scale": math.exp(-4.0),
    "n_values": (25, 50, 75, 100),
    "reference_size": 10_000,
    "repetitions": 300,
}

#: Determinants below this value are set to ``0`` by the script (``e^{−25}``).
DETERMINANT_CUTOFF = math.exp(-25.0)
_LOG_CUTOFF = -25.0

_F32 = np.float32
_U32 = 2.0**-24  # unit roundoff of float32


@dataclass(frozen=True)
class Ingredients:
    """Which peculiarities of the script a computation includes (all by default).

    Attributes
    ----------
    float32_self_term : bool
        The self term of the kernel distance in float32: the bandwidth is rounded to
        float32 and raised to the power ``d`` (equation ``eq-script-self``). Off: the
        exact value, the same for every ``n``.
    transposed_covariance : bool
        The covariance ``v Wᵀ W`` of the script. Off: ``v W Wᵀ``, the covariance of
        the law of ``D(y)``.
    single_draw_fit : bool
        One noise draw per training point and least squares with intercept. Off: the
        noise-averaged fit ``W = aS(a²S + hI)⁻¹``, ``b = (I − aW) x̄`` of the book
        (:func:`lindiff.onestep.fit_denoiser`), which is symmetric, so that the
        transpose no longer matters.
    float32_fit : bool
        Noisy inputs, least-squares fit, generator variance and mean in float32, with
        the fit's default rank cutoff (a singular value counts if it exceeds
        ``2⁻²³`` times the largest). Off: float64 and the minimum-norm least-squares
        solution of rank ``N − 1``.
    float32_sums : bool
        Kernel values summed in float32, one after another. Off: summed exactly.
    determinant_cutoff : bool
        Determinants below ``e^{−25}`` set to ``0`` in the Hellinger distance (and in
        the cross term, where they never fall that low). Off: exact determinants.
    """

    float32_self_term: bool = True
    transposed_covariance: bool = True
    single_draw_fit: bool = True
    float32_fit: bool = True
    float32_sums: bool = True
    determinant_cutoff: bool = True

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{f.name} must be True or False, got {type(value).__name__}")

    def without(self, name: str) -> "Ingredients":
        """The same ingredients with ``name`` (one of :data:`INGREDIENT_NAMES`) switched off."""
        if name not in INGREDIENT_NAMES:
            raise ValueError(f"name must be one of {INGREDIENT_NAMES}, got {name!r}")
        return replace(self, **{name: False})


#: Names of the fields of :class:`Ingredients`, in the order of the appendix's table.
INGREDIENT_NAMES = tuple(f.name for f in fields(Ingredients))


def _check_ingredients(ingredients):
    if not isinstance(ingredients, Ingredients):
        raise TypeError(f"ingredients must be a lindiff.author_script.Ingredients, got {type(ingredients).__name__}")
    return ingredients


def _check_flag(flag, name):
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(flag).__name__}")
    return bool(flag)


# --------------------------------------------------------------------------- model
def noisy_inputs(X, T: float, noise_scale: float, noise, float32: bool = True) -> np.ndarray:
    """Noisy inputs ``y_i = a x_i − sqrt(h) z_i`` of the fit, one per training point.

    ``a = e^{−T}``, ``h = ℓ (1 − e^{−2T})`` (chapter ``onestep_denoiser``); the script
    subtracts the noise, which does not change its law. With ``float32`` every factor
    and every product is rounded to single precision, in the script's order.

    Parameters
    ----------
    X : array_like, shape (N, d)
        Training points (float32 values in the script).
    T, noise_scale : float
        Diffusion time ``T > 0`` and noise scale ``ℓ > 0``.
    noise : array_like, shape (N, d)
        Standard normal draws ``z``.
    float32 : bool

    Returns
    -------
    ndarray, shape (N, d), float32 or float64
    """
    X = as_data_matrix(X)
    T = as_positive_float(T, "T")
    ell = as_positive_float(noise_scale, "noise_scale")
    z = as_finite_array(noise, "noise", ndim=2)
    if z.shape != X.shape:
        raise ValueError(f"noise must have the shape of X {X.shape}, got {z.shape}")
    return _noisy(X, T, ell, z, _check_flag(float32, "float32"))


def _noisy(X, T, ell, z, float32):
    if not float32:
        a, h = math.exp(-T), -ell * math.expm1(-2.0 * T)
        return a * X - math.sqrt(h) * z
    a = np.exp(_F32(-T))
    c = np.sqrt(_F32(ell) * (_F32(1.0) - np.exp(_F32(-2.0 * T))))
    return a * X.astype(_F32) - c * z.astype(_F32)


def least_squares_fit(inputs, targets, float32: bool = True):
    """Least squares with intercept, ``targets ≈ inputs Wᵀ + b``, as the script fits it.

    Both sets are centered by their column means, and the centered problem is solved
    by an SVD-based least-squares solver (LAPACK ``gelsd``). In float32, a singular
    value of the centered inputs counts when it exceeds ``2⁻²³`` times the largest
    (the solver's default). For ``N ≤ d`` the centered inputs have rank ``N − 1`` in
    exact arithmetic; in float32 the centering leaves a remainder of relative size
    about ``10⁻⁶`` in the direction that should vanish, above that cutoff, so the
    fit has rank ``N`` (appendix ``appendix-author-script``). With ``float32=False``
    the cutoff is ``max(N, d) · 2⁻⁵²`` of the largest, which recovers rank ``N − 1``.

    Parameters
    ----------
    inputs : array_like, shape (N, d)
        Noisy inputs ``y_i``.
    targets : array_like, shape (N, d)
        Training points ``x_i``.
    float32 : bool

    Returns
    -------
    W : ndarray, shape (d, d)
    b : ndarray, shape (d,)
    rank : int
        Rank of the centered inputs as the solver counts it.
    """
    Y = as_data_matrix(inputs, "inputs")
    X = as_data_matrix(targets, "targets")
    if X.shape != Y.shape:
        raise ValueError(f"targets must have the shape of inputs {Y.shape}, got {X.shape}")
    return _lstsq(Y, X, _check_flag(float32, "float32"))


_GELSD = scipy.linalg.get_lapack_funcs(("gelsd", "gelsd_lwork"), dtype=_F32)
_GELSD_WORK = {}


def _gelsd32(A, B):
    """``scipy.linalg.lstsq(A, B)`` for float32 arrays with its defaults (driver gelsd, ``cond = 2⁻²³``).

    The same LAPACK call with the same arguments, without the per-call workspace
    query and input checks (the fit runs thousands of times in the appendix).
    """
    m, n = A.shape
    nrhs = B.shape[1]
    gelsd, gelsd_lwork = _GELSD
    cond = float(np.finfo(_F32).eps)
    key = (m, n, nrhs)
    if key not in _GELSD_WORK:
        work, iwork, info = gelsd_lwork(m, n, nrhs, cond)
        if info != 0:
            raise np.linalg.LinAlgError(f"gelsd workspace query failed (info = {info})")
        _GELSD_WORK[key] = (int(np.nextafter(np.float32(work), np.float32(np.inf))) + 1, int(iwork))
    lwork, liwork = _GELSD_WORK[key]
    if m < n:  # LAPACK returns the solution in the rows of B, which must have n of them
        B2 = np.zeros((n, nrhs), dtype=_F32)
        B2[:m] = B
        B = B2
    x, _, rank, info = gelsd(A, B, lwork, liwork, cond, False, False)
    if info != 0:
        raise np.linalg.LinAlgError(f"least squares (gelsd) failed with info = {info}")
    return x[:n], int(rank)


def _lstsq(Y, X, float32):
    if float32:
        Y, X = Y.astype(_F32), X.astype(_F32)
        y_off, x_off = np.average(Y, axis=0), np.average(X, axis=0)
        coef, rank = _gelsd32(Y - y_off, X - x_off)
    else:
        y_off, x_off = Y.mean(axis=0), X.mean(axis=0)
        coef, _, rank, _ = np.linalg.lstsq(Y - y_off, X - x_off, rcond=None)
    return coef.T, x_off - y_off @ coef, int(rank)


def _generated_parts(X, W, b, T, ell, transposed, float32):
    """Mean, eigenvalues (ascending) and eigenvectors of the script's Gaussian (no checks)."""
    if float32:
        X32, W32 = X.astype(_F32), W.astype(_F32)
        e2 = np.exp(_F32(-2.0 * T))
        mean_var = np.mean(np.var(X32, axis=0, ddof=1))
        root_v = float(np.sqrt(e2 * mean_var + _F32(ell) * (_F32(1.0) - e2)))
        xbar = np.mean(X32, axis=0)
        mean = b.astype(_F32).astype(float) + (W32 @ (np.exp(_F32(-T)) * xbar)).astype(float)
        B = W32.astype(float) * root_v
    else:
        a, h = math.exp(-T), -ell * math.expm1(-2.0 * T)
        root_v = math.sqrt(a * a * float(np.mean(np.var(X, axis=0, ddof=1))) + h)
        mean = b + W @ (a * X.mean(axis=0))
        B = W * root_v
    # the script forms Σ = Bᵀ B (its ``sigma.t() @ sigma``); the law of D(y) has B Bᵀ
    g, U = np.linalg.eigh(B.T @ B if transposed else B @ B.T)
    return mean, np.clip(g, 0.0, None), U


def generated_gaussian(X, W, b, T: float, noise_scale: float, transposed: bool = True,
                       float32: bool = True) -> Gaussian:
    """The Gaussian the script builds from a fit: ``N(a W x̄ + b, v Wᵀ W)``.

    ``v = a² s̄² + h`` with ``s̄²`` the mean of the unbiased per-coordinate variances
    of ``X`` (:func:`lindiff.onestep.generator_variance`). With ``transposed=False``
    the covariance is ``v W Wᵀ``, the law of ``D(y)`` for ``y ~ N(a x̄, v I)``
    (equation ``eq-script-covariance``). Both have the eigenvalues ``v ω_k²`` of the
    singular values ``ω_k`` of ``W``; their eigenvectors are the right and the left
    singular vectors. With ``float32`` the mean and ``sqrt(v)`` are formed in single
    precision as in the script, and the rest in double precision.

    Returns
    -------
    Gaussian
        Built from the eigendecomposition of ``v Wᵀ W`` (or ``v W Wᵀ``); eigenvalues
        at rounding level are kept as computed (the script keeps them too), negative
        ones are set to ``0``.
    """
    X = as_data_matrix(X)
    W = as_finite_array(W, "W", ndim=2)
    b = as_finite_array(b, "b", ndim=1)
    n, d = X.shape
    if W.shape != (d, d) or b.shape != (d,):
        raise ValueError(f"W must have shape ({d}, {d}) and b ({d},) to match X, got {W.shape} and {b.shape}")
    T = as_positive_float(T, "T")
    ell = as_positive_float(noise_scale, "noise_scale")
    mean, g, U = _generated_parts(X, W, b, T, ell, _check_flag(transposed, "transposed"),
                                  _check_flag(float32, "float32"))
    return Gaussian.from_eigh(mean, g, U)


# --------------------------------------------------------------------------- kernel distance
def _bandwidth32(n: int, d: int, std: float):
    """The script's bandwidth ``ς = σ (1/n)^{1/d}`` as a float32 number."""
    return _F32(std) * _F32((1.0 / n) ** (1.0 / d))


def _self_terms32(ns: np.ndarray, d: int, std: float) -> np.ndarray:
    """The float32 self terms of the sizes ``ns`` (vectorized; the same float32 operations as :func:`self_term`)."""
    eps = _F32(std) * ((1.0 / ns) ** (1.0 / d)).astype(_F32)
    root = np.sqrt(_F32(2.0) * _F32(math.pi))
    with np.errstate(over="ignore"):
        # correctly rounded power: the double power of the float32 base, rounded once
        power = ((_F32(2.0) * (eps * eps)).astype(float) ** (d / 2.0)).astype(_F32)
        return ((_F32(1.0) / ((root * power) * (ns * ns).astype(_F32))) * ns.astype(_F32)).astype(float)


def self_term(n: int, d: int, std: float = 1.0, float32: bool = True) -> float:
    """The script's self term ``n / (sqrt(2π) (2ς²)^{d/2} n²)`` with ``ς = σ n^{−1/d}`` (``eq-script-self``).

    The script's pair sum over ``j, k`` is ``n`` in float32: the diagonal terms are
    exactly ``1`` and the pair terms of distinct points fall below float32
    resolution (appendix ``appendix-author-script``). In exact arithmetic the
    expression equals ``1 / (sqrt(2π) (2σ²)^{d/2})`` for every ``n``. With ``float32``
    it is evaluated in single precision in the script's order of operations: the
    rounded bandwidth is raised to the power ``d``, which turns its relative rounding
    error (up to ``2⁻²⁴``) into one about ``d`` times larger. The power is correctly
    rounded here; the values matched the script's bit for bit in our checks. Where an
    intermediate product exceeds the float32 range (from ``d ≈ 240`` for ``σ = 1``),
    the script's term, and this one, is ``0``.
    """
    n = as_int(n, "n", minimum=1)
    d = as_int(d, "d", minimum=1)
    std = as_positive_float(std, "std")
    if not _check_flag(float32, "float32"):
        return math.exp(-0.5 * math.log(2.0 * math.pi) - 0.5 * d * math.log(2.0 * std * std))
    return float(_self_terms32(np.array([n]), d, std)[0])


def self_term_rounding(n, d: int, std: float = 1.0):
    """Relative rounding error ``value / exact − 1`` of the float32 :func:`self_term`.

    Its size, up to about ``d · 2⁻²⁴``, is what remains of two terms that cancel
    exactly in theory (appendix ``appendix-author-script``, equation ``eq-script-self``).
    ``n`` may be an integer or an array of integers (the result has its shape).
    """
    d = as_int(d, "d", minimum=1)
    std = as_positive_float(std, "std")
    exact = self_term(1, d, std, float32=False)
    if np.ndim(n) == 0:
        return self_term(n, d, std) / exact - 1.0
    ns = np.asarray(n)
    if ns.size == 0 or not np.issubdtype(ns.dtype, np.integer) or np.any(ns < 1):
        raise ValueError(f"n must be an integer >= 1 or an array of such integers, got {n!r}")
    return _self_terms32(ns.astype(np.int64), d, std) / exact - 1.0


def float32_sum(values) -> float:
    """Sum in float32, one value after another, as the script accumulates its kernel values.

    Each step rounds ``s + t`` to float32 (``t`` a double): a value below half the
    spacing of float32 numbers at ``s`` is lost, and one below ``2⁻¹⁵⁰`` is lost even at
    ``s = 0``.
    """
    vals = as_finite_array(values, "values", ndim=1)
    s = 0.0
    for t in vals.tolist():
        s = float(_F32(s + t))
    return s


def _check_gaussian(p):
    if not isinstance(p, Gaussian):
        raise TypeError(f"p must be a lindiff.gaussian.Gaussian, got {type(p).__name__}")
    return p


def _cross_factor(n: int, g: np.ndarray, eps2: float, cutoff: bool) -> float:
    """``2 / (n sqrt(2π det C))``, ``C = Σ + ς² I``, with the script's float32 ``2π``."""
    logdet = float(np.sum(np.log(g + eps2)))
    if cutoff and logdet < _LOG_CUTOFF:
        raise ValueError(f"det(Σ + ς² I) = e^{logdet:.1f} is below the cutoff e^-25: the script divides by zero "
                         "here (std too small for this d and n)")
    two_pi = float(_F32(2.0) * _F32(math.pi))
    return 2.0 / (n * math.exp(0.5 * (math.log(two_pi) + logdet)))


def _kernel_values(mean, g, U, points, eps2):
    """``exp(−½ (μ − x)ᵀ C⁻¹ (μ − x))`` for each row ``x``, ``C = U diag(g + ς²) Uᵀ`` (float64)."""
    y = (mean - points) @ U
    return np.exp(-0.5 * np.einsum("ij,ij->i", y * (1.0 / (g + eps2)), y))


def _cross(mean, g, U, points, std, float32_accumulation, cutoff):
    n, d = points.shape
    eps = _bandwidth32(n, d, std)
    eps2 = float(eps * eps)
    factor = _cross_factor(n, g, eps2, cutoff)
    vals = _kernel_values(mean, g, U, points, eps2)
    return factor * (float32_sum(vals) if float32_accumulation else math.fsum(vals.tolist()))


def cross_term(p: Gaussian, points, std: float = 1.0, float32_accumulation: bool = True,
               cutoff: bool = True) -> float:
    """The script's cross term ``2 / (n sqrt(2π det C)) · Σ_i exp(−½ (μ − x_i)ᵀ C⁻¹ (μ − x_i))``.

    ``C = Σ + ς² I`` with the float32 bandwidth ``ς = σ n^{−1/d}`` of the ``n`` points
    (equation ``eq-script-distance``). The kernel values are doubles; the script adds
    them to a float32 accumulator (:func:`float32_sum`). The determinant cutoff does
    not act at the script's parameters: ``det C ≥ ς^{2d} = σ^{2d}/n²``, above
    ``e^{−25}`` for ``σ = 1`` and ``n < e^{12.5}``. Where it would act, the script
    divides by zero, and this function raises ``ValueError``.

    Parameters
    ----------
    p : Gaussian
        The script's Gaussian (:func:`generated_gaussian`).
    points : array_like, shape (n, d)
    std : float
        Scale ``σ`` of the bandwidth.
    float32_accumulation : bool
        Sum the kernel values in float32 (the script) or exactly.
    cutoff : bool
        Apply the ``e^{−25}`` cutoff to ``det C``.
    """
    p = _check_gaussian(p)
    pts = as_finite_array(points, "points", ndim=2)
    if pts.shape[0] < 1 or pts.shape[1] != p.dim:
        raise ValueError(f"points must have shape (n >= 1, {p.dim}), got {pts.shape}")
    return _cross(p.mean, p.eigvals, p.eigvecs, pts, as_positive_float(std, "std"),
                  _check_flag(float32_accumulation, "float32_accumulation"), _check_flag(cutoff, "cutoff"))


def kernel_distance(p: Gaussian, points, std: float = 1.0, ingredients: Ingredients | None = None) -> float:
    """The script's kernel distance of ``p`` to a point set: :func:`self_term` minus :func:`cross_term`.

    In exact arithmetic it is ``(2π)^{(d−1)/2} (‖p − q_D‖² − ∫p²)`` with the kernel
    density ``q_D`` of chapter ``memorization``, less the relative excess of ``∫q_D²``
    over its diagonal part, which the float32 pair sum drops (equation
    ``eq-script-distance``).
    """
    ing = Ingredients() if ingredients is None else _check_ingredients(ingredients)
    p = _check_gaussian(p)
    pts = as_finite_array(points, "points", ndim=2)
    if pts.shape[0] < 1 or pts.shape[1] != p.dim:
        raise ValueError(f"points must have shape (n >= 1, {p.dim}), got {pts.shape}")
    return (self_term(pts.shape[0], p.dim, std, ing.float32_self_term)
            - cross_term(p, pts, std, ing.float32_sums, ing.determinant_cutoff))


def _hellinger2(mean_p, g, U, mean, s2, cutoff):
    d = g.size
    log_det_sigma = float(np.sum(np.log(g))) if np.all(g > 0) else -math.inf
    c = g + s2
    log_det_sum = float(np.sum(np.log(c)))
    if cutoff and log_det_sum < _LOG_CUTOFF:
        raise ValueError(f"det(Σ + σ² I) = e^{log_det_sum:.1f} is below the cutoff e^-25: the script divides by "
                         "zero here (std too small for this d)")
    if log_det_sigma == -math.inf or (cutoff and log_det_sigma < _LOG_CUTOFF):
        return 1.0                      # det Σ is 0, or set to 0: the affinity vanishes
    delta = (mean_p - mean) @ U
    log_bc = (0.5 * d * math.log(2.0) + 0.25 * log_det_sigma + 0.25 * d * math.log(s2)
              - 0.5 * log_det_sum - 0.25 * float(np.sum(delta * delta / c)))
    return -math.expm1(min(log_bc, 0.0))


def hellinger2_script(p: Gaussian, mean: float, std: float, cutoff: bool = True) -> float:
    """The script's squared Hellinger distance of ``p`` to ``N(mean·1, std² I)`` (``eq-script-hellinger``).

    ``H² = 1 − 2^{d/2} det(C_G)^{1/4} σ^{d/2} det(C_G + σ² I)^{−1/2} exp(−¼ eᵀ (C_G + σ² I)⁻¹ e)``
    with ``e = μ_p − mean·1`` and ``C_G`` the covariance of ``p``; with ``cutoff``, every determinant below ``e^{−25}`` is
    set to ``0``. The determinants are products of the eigenvalues that ``p``
    carries, evaluated in log space. Without the cutoff this is the exact ``H²`` of
    ``p`` (:func:`lindiff.gaussian.hellinger2`).
    """
    p = _check_gaussian(p)
    mean = float(as_finite_array(mean, "mean", ndim=0))
    s2 = as_positive_float(std, "std") ** 2
    return _hellinger2(p.mean, p.eigvals, p.eigvecs, mean, s2, _check_flag(cutoff, "cutoff"))


# --------------------------------------------------------------------------- repetitions
def draw_repetition(d: int, n: int, repetition: int, *, mean: float = 10.0, std: float = 1.0, seed: int = 0):
    """Training set and fit noise of one repetition of :func:`run_variants`, in float32.

    ``X = mean + std · z`` and the noise ``z'`` are float32 standard normals from
    ``numpy.random.default_rng([seed, 3, n, repetition])``, rounded as the script's
    float32 tensors are, and returned as float64 arrays holding float32 values. Every
    switch of :class:`Ingredients` sees the same draws.

    Returns
    -------
    X, noise : ndarray, shape (n, d)
    """
    d = as_int(d, "d", minimum=1)
    n = as_int(n, "n", minimum=2)
    repetition = as_int(repetition, "repetition", minimum=0)
    seed = as_int(seed, "seed", minimum=0)
    mean = float(as_finite_array(mean, "mean", ndim=0))
    std = as_positive_float(std, "std")
    rng = np.random.default_rng([seed, 3, n, repetition])
    z = rng.standard_normal((n, d), dtype=_F32)
    X = z * _F32(std) + _F32(mean)
    noise = rng.standard_normal((n, d), dtype=_F32)
    return X.astype(float), noise.astype(float)


_BLOCK = 5  # columns of reference normals drawn per generator


class _ReferenceNormals:
    """Standard normals for the fresh reference samples of one repetition, drawn lazily in column blocks.

    Block ``j`` (columns ``5j`` to ``5j + 4``) comes from
    ``default_rng([seed, 4, repetition, j])``. The normals do not depend on how many
    columns a computation needs, and all sizes ``N`` and all variants of a repetition
    share them (common random numbers). Each ``(N, variant)`` still sees a reference
    sample with exactly the script's law; only the samples of different ``N`` in one
    repetition are no longer independent, which does not matter for the probability
    at each ``N``.
    """

    def __init__(self, size, key):
        self.size, self.key, self.filled = size, key, 0
        self.buffer = np.empty((size, 0), order="F")

    def columns(self, k):
        if k > self.filled:
            blocks = -(-k // _BLOCK)
            if blocks * _BLOCK > self.buffer.shape[1]:
                grown = np.empty((self.size, max(blocks * _BLOCK, 2 * self.buffer.shape[1])), order="F")
                grown[:, :self.filled] = self.buffer[:, :self.filled]
                self.buffer = grown
            for j in range(self.filled // _BLOCK, blocks):
                rng = np.random.default_rng([*self.key, j])
                for col in range(j * _BLOCK, (j + 1) * _BLOCK):
                    rng.standard_normal(out=self.buffer[:, col])     # a contiguous column (Fortran order)
            self.filled = blocks * _BLOCK
        return self.buffer[:, :k]


def _reference_values(mean_p, g, U, mean, std, eps2, normals, null_rng, settled=None):
    """Kernel values ``exp(−½ (μ_p − x)ᵀ C⁻¹ (μ_p − x))`` of ``normals.size`` fresh points ``x ~ N(mean·1, std² I)``.

    The target is isotropic, so in the eigenbasis ``U`` of ``C = Σ + ς² I`` the
    coordinates of ``x − μ_p`` are independent ``N(m_k, std²)`` with
    ``m = Uᵀ(mean·1 − μ_p)``, and the kernel value of a point is ``exp(−q/2)`` with
    ``q = Σ_k (m_k + std z_k)²/c_k``. Directions where ``Σ`` has no variance
    (``g ≤ 10⁻¹² ς²``, rounding level) share ``c = ς²`` and together contribute
    ``std²/ς²`` times one noncentral chi-square variable. So a point costs one normal
    draw per direction of ``Σ``, not ``d``, and the values have the law of the
    script's (drawn in double precision here; the script rounds its points to
    float32, which moves a kernel value by a relative amount below ``10⁻³``).

    The directions are added in blocks, those with the smallest ``c`` first. Each
    block only lowers the values, so before each block ``Σ exp(−q_partial/2)`` is an
    upper bound on the final sum; ``settled(bound)`` may stop the computation there
    (the function then returns ``None``).
    """
    size = normals.size
    c = g + eps2
    m = U.T @ (mean - mean_p)
    null = g <= 1e-12 * eps2
    k0 = int(null.sum())
    if k0:
        q = (std * std / eps2) * null_rng.noncentral_chisquare(k0, float(m[null] @ m[null]) / (std * std),
                                                                 size=size)
    else:
        q = np.zeros(size)
    act = np.flatnonzero(~null)
    act = act[np.argsort(c[act], kind="stable")]
    done = 0
    while True:
        vals = np.exp(-0.5 * q)
        if done == act.size:
            return vals
        if settled is not None and settled(float(np.sum(vals))):
            return None
        stop = min(done + _BLOCK, act.size)
        idx = act[done:stop]
        z = normals.columns(stop)[:, done:stop]
        w = 1.0 / c[idx]
        # Σ_k (m_k + std z_k)²/c_k over the block = z²·(std²/c) + z·(2 std m/c) + Σ m²/c
        q += z @ (2.0 * std * m[idx] * w) + float(m[idx] ** 2 @ w)
        q += np.square(z) @ (std * std * w)
        done = stop


def _reference_cross(mean_p, g, U, mean, std, eps2, normals, null_rng, factor, delta_of, float32_accumulation,
                     use_bound=True):
    """``(Δ, cross_ref, emulated)`` for a fresh reference sample (:func:`_reference_values`).

    When the upper bound on the reference sum, widened by the float32 rounding of the
    sum, already gives ``Δ < 0``, the sign is settled and ``(nan, nan, False)`` is
    returned; otherwise :func:`_decide` settles it from the complete values.
    """
    size = normals.size
    widen = (size - 1) * _U32 / (1.0 - (size - 1) * _U32) + 1e-13 if float32_accumulation else 1e-13
    settled = None
    if use_bound:
        def settled(upper):
            return delta_of(factor * (upper * (1.0 + widen) + size * 2.0**-150)) < 0.0
    vals = _reference_values(mean_p, g, U, mean, std, eps2, normals, null_rng, settled)
    if vals is None:
        return math.nan, math.nan, False
    return _decide(delta_of, factor, vals, float32_accumulation)


def reference_kernel_values(p: Gaussian, size: int, mean: float = 10.0, std: float = 1.0, seed: int = 0) -> np.ndarray:
    """Kernel values of ``p`` at a fresh reference sample of ``size`` points, drawn as :func:`run_variants` draws them.

    ``exp(−½ (μ_p − x_i)ᵀ (Σ + ς² I)⁻¹ (μ_p − x_i))`` for ``x_i ~ N(mean·1, std² I)``, with
    the script's float32 bandwidth ``ς = std · size^{−1/d}``, sampled in the
    eigenbasis of ``Σ`` (one normal draw per direction of ``Σ`` and one noncentral
    chi-square draw per point for the rest). The law is that of the values at
    explicit points; the appendix checks it against them.
    """
    p = _check_gaussian(p)
    size = as_int(size, "size", minimum=1)
    mean = float(as_finite_array(mean, "mean", ndim=0))
    std = as_positive_float(std, "std")
    seed = as_int(seed, "seed", minimum=0)
    eps = _bandwidth32(size, p.dim, std)
    eps2 = float(eps * eps)
    k0 = int(np.count_nonzero(p.eigvals <= 1e-12 * eps2))
    return _reference_values(p.mean, p.eigvals, p.eigvecs, mean, std, eps2, _ReferenceNormals(size, [seed, 6]),
                             np.random.default_rng([seed, 7, k0]))


@dataclass(frozen=True, eq=False)
class ScriptRun:
    """The script's computation over repeated training and reference sets (from :func:`run_variants`).

    Attributes
    ----------
    d, reference_size, repetitions, T, noise_scale, mean, std, seed, ingredients
        The parameters.
    n_values : ndarray of int, shape (k,)
    delta : ndarray, shape (k, repetitions)
        ``Δ = e_train − e_ref`` in the script's units (with ``float32_self_term``
        off: ``cross_ref − cross_train``, the self terms cancelling exactly); ``nan``
        where the sign was settled before the reference sum was complete
        (:attr:`settled_early`, :attr:`settled_by_bound`).
    positive : ndarray of bool, shape (k, repetitions)
        ``Δ > 0``.
    settled_early : ndarray of bool, shape (k, repetitions)
        ``Δ > 0`` followed from the training set alone: the reference cross term is
        nonnegative and can only raise ``Δ``.
    settled_by_bound : ndarray of bool, shape (k, repetitions)
        ``Δ < 0`` followed from an upper bound on the reference cross term, before all
        of its directions were drawn (``delta`` is ``nan`` there too).
    self_train : ndarray, shape (k,)
        The self term of each training-set size (:func:`self_term`).
    self_reference : float
        The self term of the reference sample.
    cross_train, cross_reference : ndarray, shape (k, repetitions)
        The cross terms (:func:`cross_term`); ``cross_reference`` is ``nan`` where
        the sign was settled before it was complete.
    hellinger2, hellinger2_no_cutoff : ndarray, shape (k, repetitions)
        :func:`hellinger2_script` of each fitted Gaussian, with and without the
        determinant cutoff.
    rank : ndarray of int, shape (k, repetitions)
        Rank of the least-squares fit as the solver counted it.
    float32_sums_emulated : int
        Reference sums whose float32 rounding could have changed the sign of ``Δ``,
        and which were therefore summed term by term as the script does.
    """

    d: int
    n_values: np.ndarray
    reference_size: int
    repetitions: int
    T: float
    noise_scale: float
    mean: float
    std: float
    seed: int
    ingredients: Ingredients
    delta: np.ndarray
    positive: np.ndarray
    settled_early: np.ndarray
    settled_by_bound: np.ndarray
    self_train: np.ndarray
    self_reference: float
    cross_train: np.ndarray
    cross_reference: np.ndarray
    hellinger2: np.ndarray
    hellinger2_no_cutoff: np.ndarray
    rank: np.ndarray
    float32_sums_emulated: int

    @property
    def p_delta_positive(self) -> np.ndarray:
        """Fraction of repetitions with ``Δ > 0``, per ``N``."""
        return self.positive.mean(axis=1)

    @property
    def std_error(self) -> np.ndarray:
        """Binomial standard error ``sqrt(P(1 − P)/R)`` of :attr:`p_delta_positive`."""
        p = self.p_delta_positive
        return np.sqrt(p * (1.0 - p) / self.repetitions)

    @property
    def printed_probability(self) -> np.ndarray:
        """What the script prints as the probability of ``Δ > 0``: ``½ + ½ · mean sign Δ``.

        Equal to :attr:`p_delta_positive` unless some ``Δ`` is exactly ``0``.
        """
        negative = (self.delta < 0) | self.settled_by_bound
        sign = np.where(self.positive, 1.0, np.where(negative, -1.0, 0.0))
        return 0.5 + 0.5 * sign.mean(axis=1)

    @property
    def mean_hellinger2(self) -> np.ndarray:
        """Average of :attr:`hellinger2` over the repetitions, per ``N`` (what the script prints)."""
        return self.hellinger2.mean(axis=1)


def _sign(x: float) -> int:
    return int(x > 0.0) - int(x < 0.0)


def _decide(delta_of, factor, vals, float32_accumulation):
    """``(Δ, cross_ref, emulated)`` from the reference kernel values ``vals``.

    ``delta_of`` maps the reference cross term to ``Δ`` and is nondecreasing.
    Sequential float32 summation of ``M`` nonnegative values stays within
    ``(M − 1) u/(1 − (M − 1) u) · Σ`` of the exact sum, plus ``M · 2⁻¹⁵⁰`` for values
    lost to underflow (``u = 2⁻²⁴``). When ``Δ`` has the same sign at both ends of
    that interval, the sign is settled and the exact sum gives the value; otherwise
    the sum is redone term by term as the script does it (:func:`float32_sum`).
    """
    exact = float(np.sum(vals))
    if not float32_accumulation:
        return delta_of(factor * exact), factor * exact, False
    m = vals.size
    slack = ((m - 1) * _U32 / (1.0 - (m - 1) * _U32) + 1e-13) * exact + m * 2.0**-150
    if _sign(delta_of(factor * max(exact - slack, 0.0))) == _sign(delta_of(factor * (exact + slack))):
        return delta_of(factor * exact), factor * exact, False
    cross = factor * float32_sum(vals)
    return delta_of(cross), cross, True


def run_variants(variants, repetitions=300, d: int = 100, n_values=(25, 50, 75, 100), *,
                 reference_size: int = 10_000, T: float = 2.0, noise_scale: float = math.exp(-4.0),
                 mean: float = 10.0, std: float = 1.0, seed: int = 0, shortcuts=True) -> dict:
    """Repeat the script's computation for several :class:`Ingredients` on the same draws.

    For each ``N`` and repetition (training set and noise from :func:`draw_repetition`)
    and each variant: the fit, the Gaussian, its Hellinger distance, and the kernel
    distances ``e_train`` and ``e_ref`` to the training set and to a fresh reference
    sample of ``reference_size`` points (a new one for every ``N`` and repetition, as
    in the script). The defaults are the script's settings (:data:`SCRIPT_SETTINGS`).

    Two shortcuts keep this fast without changing any sign (``shortcuts=False``
    computes every reference sum in full, to look at the terms themselves):

    * the reference cross term is nonnegative, so ``Δ`` is at least its value for a
      zero cross term; when that is positive, ``Δ > 0`` whatever the reference
      sample is, and none is drawn (:attr:`ScriptRun.settled_early`);
    * otherwise the reference kernel values are drawn in the eigenbasis of the
      kernel covariance (the same law as for the script's points) and summed
      exactly; the float32 sum is emulated term by term only when its rounding
      could change the sign of ``Δ`` (:attr:`ScriptRun.float32_sums_emulated`).

    Parameters
    ----------
    variants : mapping of str to Ingredients
    repetitions : int or mapping of str to int
        Repetitions per ``N``, for all variants or per variant; the first ``R``
        repetitions are shared.
    d : int
    n_values : sequence of int
        Training-set sizes ``N >= 2``.
    reference_size : int
        ``M``, points of each reference sample.
    T, noise_scale, mean, std : float
        Diffusion time, noise scale ``ℓ``, and the target ``N(mean·1, std² I)``.
    seed : int
    shortcuts : bool or mapping of str to bool
        Settle signs early where possible (default), for all variants or per variant.

    Returns
    -------
    dict of str to ScriptRun
    """
    if not hasattr(variants, "items") or len(variants) == 0:
        raise TypeError("variants must be a non-empty mapping of names to Ingredients")
    for ing in variants.values():
        _check_ingredients(ing)
    if hasattr(repetitions, "items"):
        reps = {name: as_int(repetitions.get(name, -1), f"repetitions[{name!r}]", minimum=1) for name in variants}
    else:
        rep = as_int(repetitions, "repetitions", minimum=1)
        reps = {name: rep for name in variants}
    if hasattr(shortcuts, "items"):
        fast = {name: _check_flag(shortcuts.get(name, True), f"shortcuts[{name!r}]") for name in variants}
    else:
        fast = dict.fromkeys(variants, _check_flag(shortcuts, "shortcuts"))
    d = as_int(d, "d", minimum=1)
    reference_size = as_int(reference_size, "reference_size", minimum=2)
    T = as_positive_float(T, "T")
    noise_scale = as_positive_float(noise_scale, "noise_scale")
    mean = float(as_finite_array(mean, "mean", ndim=0))
    std = as_positive_float(std, "std")
    seed = as_int(seed, "seed", minimum=0)
    if isinstance(n_values, (int, np.integer)) or not hasattr(n_values, "__len__"):
        raise TypeError("n_values must be a sequence of integers, e.g. [25, 50, 75, 100]")
    ns = np.array([as_int(n, "n_values entries", minimum=2) for n in n_values], dtype=int)
    if ns.size == 0:
        raise ValueError("n_values must contain at least one training-set size")

    eps_ref = _bandwidth32(reference_size, d, std)
    eps2_ref = float(eps_ref * eps_ref)
    s2 = std * std
    out = {}
    for name, ing in variants.items():
        shape = (ns.size, reps[name])
        out[name] = dict(delta=np.full(shape, np.nan), positive=np.zeros(shape, dtype=bool),
                         early=np.zeros(shape, dtype=bool), settled_negative=np.zeros(shape, dtype=bool),
                         cross_tr=np.empty(shape),
                         cross_ref=np.full(shape, np.nan), h2=np.empty(shape), h2_raw=np.empty(shape),
                         rank=np.empty(shape, dtype=int), emulated=0,
                         self_tr=np.array([self_term(int(n), d, std, ing.float32_self_term) for n in ns]),
                         self_ref=self_term(reference_size, d, std, ing.float32_self_term))
    for r in range(max(reps.values())):
        normals = _ReferenceNormals(reference_size, [seed, 4, r])
        for i, n in enumerate(ns):
            n = int(n)
            X, noise = draw_repetition(d, n, r, mean=mean, std=std, seed=seed)
            fits, gaussians = {}, {}
            for name, ing in variants.items():
                if r >= reps[name]:
                    continue
                o = out[name]
                key = (ing.single_draw_fit, ing.float32_fit)
                if key not in fits:
                    if ing.single_draw_fit:
                        fits[key] = _lstsq(_noisy(X, T, noise_scale, noise, ing.float32_fit), X, ing.float32_fit)
                    else:
                        fits[key] = (*onestep.fit_denoiser(X, T, noise_scale, method="averaged"), min(n - 1, d))
                W, b, o["rank"][i, r] = fits[key]
                gkey = key + (ing.transposed_covariance,)
                if gkey not in gaussians:
                    gaussians[gkey] = _generated_parts(X, W, b, T, noise_scale, ing.transposed_covariance,
                                                       ing.float32_fit)
                mean_p, g, U = gaussians[gkey]
                o["h2"][i, r] = _hellinger2(mean_p, g, U, mean, s2, ing.determinant_cutoff)
                o["h2_raw"][i, r] = _hellinger2(mean_p, g, U, mean, s2, False)
                cross_tr = _cross(mean_p, g, U, X, std, ing.float32_sums, ing.determinant_cutoff)
                o["cross_tr"][i, r] = cross_tr
                if ing.float32_self_term:
                    # the script's order: e_train = self − cross, e_ref likewise, Δ = e_train − e_ref
                    e_train, self_ref = o["self_tr"][i] - cross_tr, o["self_ref"]
                    delta_of = lambda c, e=e_train, s=self_ref: e - (s - c)  # noqa: E731
                else:
                    # equal self terms cancel exactly; the rest is evaluated exactly
                    delta_of = lambda c, t=cross_tr: c - t  # noqa: E731
                if fast[name] and delta_of(0.0) > 0.0:
                    o["positive"][i, r] = o["early"][i, r] = True
                    continue
                factor = _cross_factor(reference_size, g, eps2_ref, ing.determinant_cutoff)
                # keyed by the number of directions without variance, so that variants
                # sharing a Gaussian share the whole reference sample
                null_rng = np.random.default_rng([seed, 5, n, r, int(np.count_nonzero(g <= 1e-12 * eps2_ref))])
                dl, cr, emulated = _reference_cross(mean_p, g, U, mean, std, eps2_ref, normals, null_rng, factor,
                                                    delta_of, ing.float32_sums, use_bound=fast[name])
                o["delta"][i, r], o["cross_ref"][i, r] = dl, cr
                o["emulated"] += int(emulated)
                o["settled_negative"][i, r] = math.isnan(dl)
                o["positive"][i, r] = dl > 0.0
    return {name: ScriptRun(d=d, n_values=ns, reference_size=reference_size, repetitions=reps[name], T=T,
                            noise_scale=noise_scale, mean=mean, std=std, seed=seed, ingredients=ing,
                            delta=o["delta"], positive=o["positive"], settled_early=o["early"],
                            settled_by_bound=o["settled_negative"],
                            self_train=o["self_tr"], self_reference=o["self_ref"], cross_train=o["cross_tr"],
                            cross_reference=o["cross_ref"], hellinger2=o["h2"], hellinger2_no_cutoff=o["h2_raw"],
                            rank=o["rank"], float32_sums_emulated=o["emulated"])
            for (name, ing), o in ((item, out[item[0]]) for item in variants.items())}


def run_script(repetitions: int = 300, d: int = 100, n_values=(25, 50, 75, 100), *, reference_size: int = 10_000,
               T: float = 2.0, noise_scale: float = math.exp(-4.0), mean: float = 10.0, std: float = 1.0,
               seed: int = 0, ingredients: Ingredients | None = None, shortcuts: bool = True) -> ScriptRun:
    """:func:`run_variants` for one set of :class:`Ingredients` (all of the script's by default)."""
    ing = Ingredients() if ingredients is None else _check_ingredients(ingredients)
    return run_variants({"run": ing}, repetitions, d, n_values, reference_size=reference_size, T=T,
                        noise_scale=noise_scale, mean=mean, std=std, seed=seed, shortcuts=shortcuts)["run"]
