"""Memorization versus generalization: Gaussian-kernel overlaps in log space.

Chapter ``book/memorization.md`` derives everything here. A point set
``X = {x_1, …, x_n}`` in ``R^d`` is smoothed into the Gaussian-kernel density

    q_X(x) = (1/n) Σ_i N(x; x_i, ς_n² I),   ς_n = σ n^(−1/d)   (kernel_bandwidth).

A generated Gaussian ``p`` *memorizes* when it is closer to ``q_train`` than
to ``q_ref``, the same construction on a fresh reference sample standing in
for the sampling distribution. All integrals are closed-form Gaussian
integrals: ``∫ N(x; μ_p, C) N(x; x_i, ς² I) dx = N(x_i; μ_p, C + ς² I)``, so an
overlap is a log-sum-exp over the points, evaluated in the eigenbasis of
``C``. Nothing is exponentiated before the final log-sum-exp, so ``d = 100``
and reference sets of ``10⁴`` points never underflow.

On top of the integrals, :func:`transition_experiment` repeats the whole
construction over freshly drawn training sets of the one-step model
(:mod:`lindiff.onestep`) and estimates the probability of generalizing,
for the noise-averaged model and for the variants of the author's public
script (:func:`code_faithful_distribution`). The script's own computation,
float32 arithmetic included, is reimplemented in :mod:`lindiff.author_script`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.special import logsumexp

from . import author_script, onestep
from ._validate import as_data_matrix, as_finite_array, as_int, as_nonnegative_float, as_positive_float
from .gaussian import Gaussian, kl_divergence

__all__ = [
    "kernel_bandwidth",
    "log_overlap",
    "log_self_overlap",
    "log_self_overlap_excess",
    "memorization_statistic",
    "relative_distance",
    "log_overlap_gaussian",
    "kernel_sum_relative_variance",
    "script_self_term_rounding",
    "code_faithful_distribution",
    "generated_variant",
    "transition_experiment",
    "TransitionResult",
    "training_set",
    "reference_sample",
    "reference_excess",
    "fresh_reference_statistics",
    "VARIANTS",
]

#: Generated distributions of the one-step model that the experiments compare.
#: ``"averaged"``: noise-averaged fit, ``N(x̄, v W Wᵀ)`` (the book's model);
#: ``"single_draw"``: one noise draw per point and least squares, ``N(a W x̄ + b, v W Wᵀ)``;
#: ``"code"``: the single-draw fit with the covariance ``v Wᵀ W`` of the author's script.
VARIANTS = ("averaged", "single_draw", "code")


def kernel_bandwidth(n: int, d: int, std: float) -> float:
    """Kernel width (bandwidth) ``ς_n = std · n^(−1/d)`` of the kernel approximation of ``n`` points in ``R^d``.

    With this choice the self-overlap ``∫ q_X²`` is close to ``(4π std²)^(−d/2)``
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
    """``ln ∫ p(x) q(x) dx`` with ``q = (1/n) Σ_i N(x; x_i, bandwidth² I)`` (equation ``eq-mem-overlap``).

    ``= logsumexp_i ln N(x_i; μ_p, Σ_p + ς² I) − ln n``. Valid for degenerate
    ``p`` too (the kernel makes ``Σ_p + ς² I`` positive definite). Cost
    ``O(n d²)`` after the eigendecomposition of ``Σ_p``, which ``p`` carries.
    """
    p = _check_gaussian(p)
    pts = _check_points(points, p.dim, "points")
    eps2 = as_positive_float(bandwidth, "bandwidth") ** 2
    c = p.eigvals + eps2
    diff = pts - p.mean
    pos = p.eigvals > 0
    if np.count_nonzero(pos) < p.dim // 2:
        # degenerate p (N ≤ d): project only on the k directions where p has variance;
        # the others contribute |diff|²/ς², so the cost is O(n d k) instead of O(n d²)
        y = diff @ p.eigvecs[:, pos]
        quad = np.einsum("ij,ij->i", diff, diff) / eps2 - np.einsum(
            "ij,ij->i", y * (1.0 / eps2 - 1.0 / c[pos]), y)
    else:
        y = diff @ p.eigvecs
        quad = np.einsum("ij,ij->i", y * (1.0 / c), y)
    log_norm = -0.5 * (p.dim * math.log(2 * math.pi) + float(np.sum(np.log(c))))
    return float(logsumexp(log_norm - 0.5 * quad) - math.log(len(pts)))


def _log_pair_sum(pts: np.ndarray, eps2: float, chunk: int) -> float:
    """``ln Σ_{i≠i'} exp(−|x_i − x_i'|² / (4 ς²))`` over ordered pairs; ``−inf`` for one point.

    Only the upper triangle of the pair matrix is formed (the sum is
    symmetric), ``chunk`` rows at a time, in place. The points are centered
    first so that ``|a|² + |b|² − 2 a·b`` does not lose digits to a large
    mean, and scaled so that one matrix product gives ``2 a·b / (4ς²)``.
    Each block is summed relative to its largest term, so nothing underflows.
    """
    n = pts.shape[0]
    if n < 2:
        return -math.inf
    x = pts - pts.mean(axis=0)
    scale = 1.0 / (4.0 * eps2)
    xs = x * math.sqrt(2.0 * scale)
    sq = scale * np.einsum("ij,ij->i", x, x)
    logs = []
    for start in range(0, n - 1, chunk):
        stop = min(start + chunk, n)
        m = stop - start
        g = xs[start:stop] @ xs[start:].T        # block of rows against columns >= start
        g -= sq[start:stop, None]
        g -= sq[None, start:]                    # g = −|x_i − x_i'|² / (4ς²)
        g[:, :m][np.tril_indices(m)] = -np.inf   # keep j < k only
        top = float(g.max())
        if top == -math.inf:
            continue
        g -= top
        np.exp(g, out=g)
        logs.append(top + math.log(float(g.sum())))
    if not logs:
        return -math.inf
    return math.log(2.0) + float(logsumexp(logs))


def log_self_overlap(points, bandwidth: float, chunk: int = 512) -> float:
    """``ln ∫ q(x)² dx`` for the kernel density of ``points``: exact, ``O(n² d)``.

    ``∫ q² = (1/n²) Σ_{i,i'} N(x_i; x_i', 2ς² I)``: the ``n`` diagonal terms
    plus the pairs (see :func:`log_self_overlap_excess`). Pairwise squared
    distances are formed ``chunk`` rows at a time, so memory stays
    ``O(chunk · n)``.
    """
    pts = as_finite_array(points, "points", ndim=2)
    if pts.shape[0] < 1:
        raise ValueError("points must contain at least one point")
    eps2 = as_positive_float(bandwidth, "bandwidth") ** 2
    chunk = as_int(chunk, "chunk", minimum=1)
    n, d = pts.shape
    total = float(np.logaddexp(math.log(n), _log_pair_sum(pts, eps2, chunk)))
    return total - 2.0 * math.log(n) - 0.5 * d * math.log(4.0 * math.pi * eps2)


def log_self_overlap_excess(points, std: float, chunk: int = 512) -> float:
    """``Λ_X = ln(∫ q_X² / κ − 1)``, the log of the relative excess of the self-overlap over ``κ = (4π std²)^(−d/2)``.

    With the kernel width ``ς_n = std · n^(−1/d)`` the diagonal terms of ``∫ q_X²``
    add up to exactly ``κ`` (equation ``eq-mem-self-overlap``); the excess is
    the pair sum ``(1/n) Σ_{i≠i'} exp(−|x_i − x_{i'}|²/(4ς_n²))``. It is returned in
    log space because in high dimension it is astronomically small (about
    ``e^{-50}`` at ``d = 100``), far below the rounding error of ``ln ∫ q_D²``
    itself: computing it directly is what lets :func:`relative_distance` be
    exact when the self-overlaps (nearly) cancel.

    Returns
    -------
    float
        ``−inf`` for a single point (no pairs). Pair terms are summed relative
        to the largest, so even an excess far below ``1e-308`` has a finite,
        exact logarithm.
    """
    pts = as_finite_array(points, "points", ndim=2)
    if pts.shape[0] < 1:
        raise ValueError("points must contain at least one point")
    chunk = as_int(chunk, "chunk", minimum=1)
    n, d = pts.shape
    eps = kernel_bandwidth(n, d, std)
    return _log_pair_sum(pts, eps * eps, chunk) - math.log(n)


def memorization_statistic(p: Gaussian, train, reference, std: float) -> float:
    """The statistic ``Γ = ln ∫ p q_train − ln ∫ p q_ref``, each kernel with its own width ``std·n^(−1/d)``.

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


def log_overlap_gaussian(p: Gaussian, q: Gaussian) -> float:
    """``ln ∫ p(x) q(x) dx = ln N(μ_p; μ_q, Σ_p + Σ_q)`` for two Gaussians.

    With ``q = p_S`` this is the ``M → ∞`` limit of :func:`log_overlap` on a
    reference sample of ``M`` points, since the bandwidth ``σ M^(−1/d)`` tends
    to ``0`` and the kernel density to ``p_S`` (equation ``eq-mem-population``).
    Either Gaussian may be degenerate as long as ``Σ_p + Σ_q`` is positive
    definite; otherwise ``ValueError`` (the integral of two singular laws has
    no density meaning).
    """
    p = _check_gaussian(p)
    if not isinstance(q, Gaussian):
        raise TypeError(f"q must be a lindiff.gaussian.Gaussian, got {type(q).__name__}")
    if q.dim != p.dim:
        raise ValueError(f"q must have the dimension of p, d = {p.dim}, got {q.dim}")
    c, U = np.linalg.eigh(p.cov + q.cov)
    if c[0] <= p.dim * np.finfo(float).eps * max(c[-1], np.finfo(float).tiny):
        raise ValueError("p.cov + q.cov must be positive definite (at least one of p, q non-degenerate there)")
    y = U.T @ (p.mean - q.mean)
    return float(-0.5 * (p.dim * math.log(2 * math.pi) + np.sum(np.log(c)) + np.sum(y * y / c)))


def kernel_sum_relative_variance(d: int, variance: float, bandwidth: float, std: float) -> float:
    """``Ξ − 1 = Var Q / (E Q)²`` for one term ``Q = N(x; μ, (variance + ς²) I)`` of an overlap, ``x ~ N(μ, std² I)``.

    ``Ξ = [(V + σ²)² / (V (V + 2σ²))]^{d/2}`` with ``V = variance + bandwidth²``
    (equation ``eq-mem-rho``). The overlap of an isotropic ``p = N(μ, variance·I)``
    with the kernel density of ``M`` points is the mean of ``M`` such terms,
    so its relative variance is ``(Ξ − 1)/M``: ``Ξ`` grows exponentially in
    ``d`` and tells how large a reference sample must be before its overlap
    is close to its expectation (about ``100 (Ξ − 1)`` points for 10 %).
    ``inf`` when ``Ξ`` exceeds the float range.
    """
    d = as_int(d, "d", minimum=1)
    a = as_nonnegative_float(variance, "variance") + as_positive_float(bandwidth, "bandwidth") ** 2
    s2 = as_positive_float(std, "std") ** 2
    log_rho = 0.5 * d * (2.0 * math.log1p(s2 / a) - math.log1p(2.0 * s2 / a))
    return math.expm1(log_rho) if log_rho < 709.0 else math.inf


def script_self_term_rounding(n: int, d: int, std: float = 1.0) -> float:
    """Relative rounding error of the self-overlap term as the author's script evaluates it in float32.

    Kept for compatibility: the same as :func:`lindiff.author_script.self_term_rounding`,
    where the script's computation is reimplemented (appendix ``appendix-author-script``).
    """
    return author_script.self_term_rounding(n, d, std)


def _signed_exp_sum(logs, signs) -> float:
    """``Σ s_i exp(l_i)`` evaluated relative to the largest ``l_i`` (no overflow, no underflow)."""
    finite = [v for v in logs if v > -math.inf]
    if not finite:
        return 0.0
    top = max(finite)
    scaled = math.fsum(s * math.exp(v - top) for v, s in zip(logs, signs))
    if scaled == 0.0:
        return 0.0
    log_abs = top + math.log(abs(scaled))
    if log_abs > 709.0:  # beyond the float range: only the sign can be returned
        return math.copysign(math.inf, scaled)
    return math.copysign(math.exp(log_abs), scaled)


def relative_distance(p: Gaussian, train, reference, std: float, return_terms: bool = False,
                      reference_excess: float | None = None):
    """Squared-L2 relative distance ``Δ = ‖p − q_train‖² − ‖p − q_ref‖²`` in units of ``κ = (4π std²)^(−d/2)``.

    ``Δ = [∫q_train² − ∫q_ref²] − 2 [∫p q_train − ∫p q_ref]``; the ``∫p²`` terms
    cancel (they are infinite for a degenerate ``p``). The diagonal parts of
    the self-overlaps are exactly ``κ`` each and cancel analytically, so
    (equation ``eq-mem-delta-stat``)

        Δ/κ = e^{Λ_train} − e^{Λ_ref} − 2 e^{o_ref} (e^Γ − 1),

    with ``Λ`` the log excesses (:func:`log_self_overlap_excess`), ``o`` the
    log cross overlaps relative to ``κ`` and ``Γ`` the memorization
    statistic. Every term is a closed form evaluated in log space, and the
    signed sum is taken relative to its largest term, so ``Δ`` is exact even
    when it is ``1e-25`` (high ``d``, widely spread ``p``). ``Δ > 0``: ``p`` is
    farther from the training set (generalizing).

    Parameters
    ----------
    p : Gaussian
        Generated distribution (may be degenerate).
    train, reference : array_like, shapes (n, d) and (M, d)
    std : float
        Scale ``σ`` of the kernel-width rule ``ς_n = σ n^(−1/d)``.
    return_terms : bool
        Also return the log integrals relative to ``ln κ``:
        ``self_train``, ``self_ref`` (``ln ∫q²/κ``), ``excess_train``,
        ``excess_ref`` (``ln(∫q²/κ − 1)``), ``cross_train``, ``cross_ref``
        (``ln ∫p q/κ``).
    reference_excess : float, optional
        ``log_self_overlap_excess(reference, std)`` if already computed: it
        costs ``O(M² d)`` and does not depend on ``p`` or the training set.

    Returns
    -------
    float
        ``Δ/κ``; ``±inf`` only if ``|Δ|/κ`` exceeds the float range (a ``p``
        far more concentrated than the kernels, in very high dimension).
    """
    p = _check_gaussian(p)
    std = as_positive_float(std, "std")
    tr = _check_points(train, p.dim, "train")
    ref = _check_points(reference, p.dim, "reference")
    if reference_excess is None:
        x_ref = log_self_overlap_excess(ref, std)
    else:
        if isinstance(reference_excess, bool) or not isinstance(reference_excess, (int, float, np.floating)):
            raise TypeError(f"reference_excess must be a float (a log), got {type(reference_excess).__name__}")
        x_ref = float(reference_excess)
        if math.isnan(x_ref) or x_ref == math.inf:
            raise ValueError(f"reference_excess must be in [-inf, inf), got {reference_excess!r}")
    log_kappa = -0.5 * p.dim * math.log(4.0 * math.pi * std * std)
    x_tr = log_self_overlap_excess(tr, std)
    c_tr = log_overlap(p, tr, kernel_bandwidth(len(tr), p.dim, std)) - log_kappa
    c_ref = log_overlap(p, ref, kernel_bandwidth(len(ref), p.dim, std)) - log_kappa
    ln2 = math.log(2.0)
    delta = _signed_exp_sum([x_tr, x_ref, c_tr + ln2, c_ref + ln2], [1.0, -1.0, -1.0, 1.0])
    if not return_terms:
        return delta
    terms = {
        "self_train": float(np.logaddexp(0.0, x_tr)),
        "self_ref": float(np.logaddexp(0.0, x_ref)),
        "excess_train": x_tr,
        "excess_ref": x_ref,
        "cross_train": c_tr,
        "cross_ref": c_ref,
    }
    return delta, terms


# --------------------------------------------------------------------------- one-step model variants
def code_faithful_distribution(X, T: float, noise_scale: float, rng) -> Gaussian:
    """The Gaussian that the author's script ``LDM.py`` builds: ``N(a W x̄ + b, v Wᵀ W)``.

    ``W, b`` is the single-draw least-squares fit
    (``onestep.fit_denoiser(..., method="single_draw")``, ``W`` is the
    script's coefficient matrix ``β₁``) and ``v`` the generator variance
    (:func:`lindiff.onestep.generator_variance`). The law of ``D(y)`` has
    covariance ``v W Wᵀ``; the script uses the transpose ``v Wᵀ W``. The two
    have the same eigenvalues, so KL to an isotropic target is unchanged,
    but the range of ``Wᵀ W`` is the span of the *noisy* centered inputs, not
    of the training points: for ``N ≤ d`` the script's Gaussian leaves the
    affine hull of the training set (appendix ``appendix-author-script``).
    This is the exact-arithmetic version (float64, rank ``N − 1``); the
    script's float32 fit is :func:`lindiff.author_script.least_squares_fit`.

    Parameters
    ----------
    X : array_like, shape (N, d)
    T, noise_scale : float
    rng : numpy.random.Generator
        Draws the one noise vector per training point of the fit.
    """
    X = as_data_matrix(X)
    n, d = X.shape
    a, _ = onestep.forward_coefficients(T, noise_scale)
    W, b = onestep.fit_denoiser(X, T, noise_scale, method="single_draw", rng=rng)
    v = onestep.generator_variance(X, T, noise_scale)
    _, omega, Vt = np.linalg.svd(W)
    g = v * omega**2
    g[min(n - 1, d):] = 0.0  # rank W <= N - 1 (centered least squares)
    return Gaussian.from_eigh(a * (W @ X.mean(axis=0)) + b, g, Vt.T)


def generated_variant(X, T: float, noise_scale: float, variant: str = "averaged", rng=None) -> Gaussian:
    """Generated distribution of the one-step model for one of :data:`VARIANTS`.

    ``"averaged"`` and ``"single_draw"`` are
    :func:`lindiff.onestep.generated_distribution`; ``"code"`` is
    :func:`code_faithful_distribution`. ``rng`` is required for the two
    single-draw variants.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "averaged":
        return onestep.generated_distribution(X, T, noise_scale)
    if rng is None:
        raise ValueError(f'variant="{variant}" draws noise: pass rng=numpy.random.default_rng(seed)')
    if variant == "single_draw":
        return onestep.generated_distribution(X, T, noise_scale, method="single_draw", rng=rng)
    return code_faithful_distribution(X, T, noise_scale, rng)


# --------------------------------------------------------------------------- repeated training sets
@dataclass(frozen=True, eq=False)
class TransitionResult:
    """Memorization statistics over repeated training sets (from :func:`transition_experiment`).

    Attributes
    ----------
    d, reference_size, repetitions, variant, T, noise_scale, mean, std, seed, fresh_reference
        The parameters of the experiment.
    n_values : ndarray of int, shape (k,)
        Training-set sizes ``N``.
    statistics : ndarray, shape (k, repetitions)
        The memorization statistic of each training set (row: one ``N``).
    kl : ndarray or None
        ``KL(p_G ‖ N(mean·1, std² I))`` of each training set (``inf`` for a
        degenerate ``p_G``), if requested.
    delta : ndarray or None
        The exact relative distance ``Δ/κ`` of each training set, if requested.
    cross_reference : ndarray
        ``ln(∫p_G q_ref / κ)`` of each training set; with :attr:`statistics`
        it gives the cross-term part ``2 e^{c_ref} |e^{stat} − 1|`` of ``Δ/κ``.
    reference_excess : ndarray or None
        ``ln(∫q_ref²/κ − 1)`` of the reference sample used with each training
        set, recorded with ``delta``.
    """

    d: int
    n_values: np.ndarray
    reference_size: int | None
    repetitions: int
    variant: str
    T: float
    noise_scale: float
    mean: float
    std: float
    seed: int
    fresh_reference: bool
    statistics: np.ndarray
    kl: np.ndarray | None = None
    delta: np.ndarray | None = None
    cross_reference: np.ndarray | None = None
    reference_excess: np.ndarray | None = None

    def select(self, n_values) -> "TransitionResult":
        """The same result restricted to the sizes ``n_values`` (each must be in :attr:`n_values`)."""
        idx = []
        for n in n_values:
            hits = np.flatnonzero(self.n_values == n)
            if hits.size == 0:
                raise ValueError(f"n_values entry {n} is not among the sizes of this result {list(self.n_values)}")
            idx.append(int(hits[0]))
        pick = lambda a: None if a is None else a[idx]
        return replace(self, n_values=self.n_values[idx], statistics=self.statistics[idx], kl=pick(self.kl),
                       delta=pick(self.delta), cross_reference=pick(self.cross_reference),
                       reference_excess=pick(self.reference_excess))

    @property
    def p_generalizing(self) -> np.ndarray:
        """Fraction of training sets with a negative statistic (``Δ > 0`` when self-overlaps cancel)."""
        return np.mean(self.statistics < 0, axis=1)

    @property
    def std_error(self) -> np.ndarray:
        """Binomial standard error ``sqrt(P(1−P)/R)`` of :attr:`p_generalizing`."""
        p = self.p_generalizing
        return np.sqrt(p * (1.0 - p) / self.repetitions)

    @property
    def mean_statistic(self) -> np.ndarray:
        """Mean of the statistic over the training sets, per ``N``."""
        return self.statistics.mean(axis=1)

    @property
    def p_delta_positive(self) -> np.ndarray:
        """Fraction of training sets with ``Δ > 0`` (requires ``with_distance=True``)."""
        if self.delta is None:
            raise ValueError("delta was not computed: run transition_experiment(..., with_distance=True)")
        return np.mean(self.delta > 0, axis=1)


def training_set(d: int, n: int, repetition: int, *, mean: float = 10.0, std: float = 1.0, seed: int = 0):
    """Training set number ``repetition`` of size ``n`` in :func:`transition_experiment`, and its generator.

    Drawn as ``mean + std · z`` with ``z`` from
    ``numpy.random.default_rng([seed, 1, n, repetition])``; the returned
    generator continues that stream (it draws the fit noise of the
    single-draw variants). Each training set depends only on
    ``(seed, n, repetition)``, so adding sizes to an experiment, or changing
    the variant, does not change the other training sets.
    """
    d = as_int(d, "d", minimum=1)
    n = as_int(n, "n", minimum=1)
    repetition = as_int(repetition, "repetition", minimum=0)
    seed = as_int(seed, "seed", minimum=0)
    mean = float(as_finite_array(mean, "mean", ndim=0))
    std = as_positive_float(std, "std")
    rng = np.random.default_rng([seed, 1, n, repetition])
    return mean + std * rng.standard_normal((n, d)), rng


def reference_sample(d: int, size: int, *, mean: float = 10.0, std: float = 1.0, seed: int = 0,
                     repetition: int | None = None) -> np.ndarray:
    """A reference sample of :func:`transition_experiment`: ``mean + std · z``.

    Without ``repetition``: the fixed reference sample, ``z`` from
    ``default_rng([seed, 0])``. With it: the fresh reference sample of that
    repetition, ``z`` from ``default_rng([seed, 2, repetition])``, shared by
    all training-set sizes of the repetition. Samples of different sizes
    with the same key are nested (the smaller is the first rows of the larger).
    """
    d = as_int(d, "d", minimum=1)
    size = as_int(size, "size", minimum=1)
    seed = as_int(seed, "seed", minimum=0)
    mean = float(as_finite_array(mean, "mean", ndim=0))
    std = as_positive_float(std, "std")
    key = [seed, 0] if repetition is None else [seed, 2, as_int(repetition, "repetition", minimum=0)]
    return mean + std * np.random.default_rng(key).standard_normal((size, d))


def reference_excess(d: int, size: int, *, mean: float = 10.0, std: float = 1.0, seed: int = 0) -> float:
    """:func:`log_self_overlap_excess` of the fixed :func:`reference_sample`, cached.

    It costs ``O(M² d)`` (about half a second for ``M = 10⁴``, ``d = 100``) and
    is needed by every experiment with ``with_distance=True`` and a fixed
    reference sample, so it is computed once per ``(d, size, mean, std, seed)``.
    """
    d = as_int(d, "d", minimum=1)
    size = as_int(size, "size", minimum=1)
    seed = as_int(seed, "seed", minimum=0)
    mean = float(as_finite_array(mean, "mean", ndim=0))
    return _reference_excess_cached(d, size, mean, as_positive_float(std, "std"), seed)


@lru_cache(maxsize=8)
def _reference_excess_cached(d, size, mean, std, seed):
    return log_self_overlap_excess(reference_sample(d, size, mean=mean, std=std, seed=seed), std)


@lru_cache(maxsize=4)
def _fresh_references(d: int, size: int, repetitions: int, seed: int) -> tuple:
    """The fresh reference samples of :func:`transition_experiment`, one per repetition (they do not depend on ``N``)."""
    return tuple(reference_sample(d, size, seed=seed, repetition=r) for r in range(repetitions))


@lru_cache(maxsize=8)  # up to 26 MB each (16 repetitions, M = 4000, d = 50)
def _statistic_geometry(d: int, n: int, reference_size: int, repetitions: int, seed: int):
    """What the statistics of :func:`fresh_reference_statistics` need that does not depend on ``T`` or ``ℓ``.

    Per repetition ``r`` (training set :func:`training_set` ``(d, n, r)``, fresh
    reference :func:`reference_sample` ``(d, reference_size, repetition=r)``):
    the eigenvalues ``λ̂`` of ``S``, the mean coordinate variance ``σ̂²`` of
    :func:`lindiff.onestep.generator_variance`, and the squared coordinates of
    the training and reference points in the eigenbasis of ``S``, centered at
    ``x̄``. Read-only arrays of shapes ``(R, d)``, ``(R,)``, ``(R, n, d)``,
    ``(R, M, d)``.
    """
    lam = np.empty((repetitions, d))
    var = np.empty(repetitions)
    y_train = np.empty((repetitions, n, d))
    y_ref = np.empty((repetitions, reference_size, d))
    refs = _fresh_references(d, reference_size, repetitions, seed)
    for r in range(repetitions):
        X, _ = training_set(d, n, r, seed=seed)
        lam[r], U = onestep.empirical_spectrum(X, return_vectors=True)
        var[r] = float(np.mean(np.var(X, axis=0, ddof=1)))
        xbar = X.mean(axis=0)
        y_train[r] = np.square((X - xbar) @ U)
        y_ref[r] = np.square((refs[r] - xbar) @ U)
    for a in (lam, var, y_train, y_ref):
        a.setflags(write=False)
    return lam, var, y_train, y_ref


def _log_overlaps(c: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """``ln ∫ N(x̄, Φ̂ diag(c_r) Φ̂ᵀ) q`` per repetition ``r``: ``c`` (R, d) with the kernel variance added."""
    quad = np.matmul(y2, (1.0 / c)[:, :, None])[:, :, 0]            # (R, points)
    log_norm = -0.5 * (c.shape[1] * math.log(2 * math.pi) + np.sum(np.log(c), axis=1))
    return logsumexp(log_norm[:, None] - 0.5 * quad, axis=1) - math.log(y2.shape[1])


def fresh_reference_statistics(d: int, n: int, T: float, noise_scale: float, reference_size: int,
                               repetitions: int, seed: int = 0) -> np.ndarray:
    """The statistics of :func:`transition_experiment` at one ``N``, variant ``"averaged"``, fresh references.

    Equals ``transition_experiment(d, [n], repetitions, reference_size=reference_size,
    T=T, noise_scale=noise_scale, seed=seed).statistics[0]`` (``mean = 10``,
    ``std = 1``), one value per training set, but the eigendecompositions and
    the projections of the points onto the eigenbases, which do not depend on
    ``T`` or ``ℓ``, are cached per ``(d, n, reference_size, repetitions,
    seed)``: a new ``T`` or ``ℓ`` costs one matrix product per repetition.
    This is what the explorable figure of the chapter "What memorization
    means" recomputes on every slider move.
    """
    d = as_int(d, "d", minimum=1)
    n = as_int(n, "n", minimum=2)
    m = as_int(reference_size, "reference_size", minimum=1)
    reps = as_int(repetitions, "repetitions", minimum=1)
    seed = as_int(seed, "seed", minimum=0)
    a, h = onestep.forward_coefficients(T, noise_scale)
    lam, var, y_train, y_ref = _statistic_geometry(d, n, m, reps, seed)
    v = a * a * var + h                                               # generator variance per repetition
    g = v[:, None] * (a * lam / (a * a * lam + h)) ** 2               # onestep.generated_spectrum
    return (_log_overlaps(g + kernel_bandwidth(n, d, 1.0) ** 2, y_train)
            - _log_overlaps(g + kernel_bandwidth(m, d, 1.0) ** 2, y_ref))


def _kl_to_isotropic(p: Gaussian, mean: float, std: float) -> float:
    """``KL(p ‖ N(mean·1, std² I))`` from the spectrum of ``p``.

    ``inf`` when an eigenvalue is exactly zero: the variants build their
    spectra with exact zeros on the ``d − N + 1`` missing directions, as
    :func:`lindiff.onestep.kl_to_target` does, so a tiny but positive
    eigenvalue just above ``N = d`` keeps its (large) finite KL.
    """
    g = p.eigvals
    if np.any(g <= 0):
        return math.inf
    m = g / std**2
    dm = p.mean - mean
    return float(0.5 * np.sum((m - 1.0) - np.log1p(m - 1.0)) + 0.5 * float(dm @ dm) / std**2)


def transition_experiment(d: int, n_values, repetitions: int, *, reference_size: int | None = 10_000,
                          T: float = 2.0, noise_scale: float = math.exp(-4), mean: float = 10.0,
                          std: float = 1.0, variant: str = "averaged", seed: int = 0,
                          fresh_reference: bool = True, with_kl: bool = False,
                          with_distance: bool = False) -> TransitionResult:
    """The memorization statistic over repeated training sets, for each ``N`` in ``n_values``.

    Data are ``N(mean·1, std² I_d)``. For each ``N`` and each repetition a
    training set is drawn (:func:`training_set`), the one-step model of
    :func:`generated_variant` is fitted at ``(T, noise_scale)``, and
    :func:`memorization_statistic` is evaluated against a reference sample
    of ``reference_size`` points (:func:`reference_sample`) with bandwidth
    scale ``std``. The probability of generalizing (definition
    ``def-memorization``) is estimated by
    :attr:`TransitionResult.p_generalizing`.

    Parameters
    ----------
    d : int
        Dimension.
    n_values : sequence of int
        Training-set sizes, each ``>= 2``.
    repetitions : int
        Training sets per size.
    reference_size : int or None
        Points of the reference sample (``M``). ``None``: the ``M → ∞``
        limit, in which the reference kernel density is the sampling
        distribution itself (:func:`log_overlap_gaussian`, equation
        ``eq-mem-population``); its self-overlap excess is then ``0``.
    T, noise_scale : float
        Diffusion time and noise scale ``ℓ`` of the one-step model.
    mean, std : float
        Sampling distribution ``N(mean·1, std² I)``; ``std`` is also the
        bandwidth scale.
    variant : {"averaged", "single_draw", "code"}
        See :data:`VARIANTS`.
    seed : int
        Seed of every draw (reference, training sets, fit noise).
    fresh_reference : bool
        ``True`` (default): a fresh reference sample for every repetition
        (shared by the sizes of that repetition), so that the probability is
        over the training set and the reference sample, as in the author's
        script. ``False``: one reference sample for the whole experiment.
    with_kl : bool
        Also record ``KL(p_G ‖ N(mean·1, std² I))`` per training set.
    with_distance : bool
        Also record the exact relative distance ``Δ/κ``. It needs the
        ``O(M² d)`` self-overlap of the reference sample (about 0.5 s for
        ``M = 10⁴``, ``d = 100``): once with ``fresh_reference=False``, once
        per repetition otherwise.

    Returns
    -------
    TransitionResult
    """
    d = as_int(d, "d", minimum=1)
    repetitions = as_int(repetitions, "repetitions", minimum=1)
    population = reference_size is None
    if not population:
        reference_size = as_int(reference_size, "reference_size", minimum=1)
    seed = as_int(seed, "seed", minimum=0)
    mean = float(as_finite_array(mean, "mean", ndim=0))
    std = as_positive_float(std, "std")
    T = as_positive_float(T, "T")
    noise_scale = as_positive_float(noise_scale, "noise_scale")
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if isinstance(n_values, (int, np.integer)) or not hasattr(n_values, "__len__"):
        raise TypeError("n_values must be a sequence of integers, e.g. [25, 50, 100]")
    ns = np.array([as_int(n, "n_values entries", minimum=2) for n in n_values], dtype=int)
    if ns.size == 0:
        raise ValueError("n_values must contain at least one training-set size")
    for flag, name in ((fresh_reference, "fresh_reference"), (with_kl, "with_kl"), (with_distance, "with_distance")):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {type(flag).__name__}")

    log_kappa = -0.5 * d * math.log(4.0 * math.pi * std * std)
    ln2 = math.log(2.0)
    target = Gaussian.from_eigh(np.full(d, mean), np.full(d, std * std), np.eye(d))
    if population:
        fresh_reference, x_ref = False, -math.inf
    else:
        eps_ref = kernel_bandwidth(reference_size, d, std)
    if not fresh_reference and not population:
        ref = reference_sample(d, reference_size, mean=mean, std=std, seed=seed)
        x_ref = reference_excess(d, reference_size, mean=mean, std=std, seed=seed) if with_distance else None

    shape = (ns.size, repetitions)
    stats = np.empty(shape)
    kls = np.empty(shape) if with_kl else None
    crefs = np.empty(shape)
    deltas, xrefs = (np.empty(shape), np.empty(shape)) if with_distance else (None, None)
    for r in range(repetitions):
        if fresh_reference:
            ref = reference_sample(d, reference_size, mean=mean, std=std, seed=seed, repetition=r)
            x_ref = log_self_overlap_excess(ref, std) if with_distance else None
        for i, n in enumerate(ns):
            n = int(n)
            X, rng = training_set(d, n, r, mean=mean, std=std, seed=seed)
            p = generated_variant(X, T, noise_scale, variant, rng)
            c_tr = log_overlap(p, X, kernel_bandwidth(n, d, std))
            c_ref = log_overlap_gaussian(p, target) if population else log_overlap(p, ref, eps_ref)
            stats[i, r] = c_tr - c_ref
            crefs[i, r] = c_ref - log_kappa
            if with_kl:
                kls[i, r] = _kl_to_isotropic(p, mean, std)
            if with_distance:
                xrefs[i, r] = x_ref
                deltas[i, r] = _signed_exp_sum(
                    [log_self_overlap_excess(X, std), x_ref, c_tr - log_kappa + ln2, c_ref - log_kappa + ln2],
                    [1.0, -1.0, -1.0, 1.0])
    return TransitionResult(d=d, n_values=ns, reference_size=reference_size, repetitions=repetitions,
                            variant=variant, T=T, noise_scale=noise_scale, mean=mean, std=std, seed=seed,
                            fresh_reference=bool(fresh_reference), statistics=stats, kl=kls, delta=deltas,
                            cross_reference=crefs, reference_excess=xrefs)
