"""Real data: grayscale patches of the photograph that ships with matplotlib.

Chapter ``book/image_patches.md`` (equations ``eq-data-*``) uses everything
here. The photograph (``grace_hopper.jpg``, 512 × 600 pixels, RGB) is part of
matplotlib's installed ``mpl-data`` folder, so the book works offline and needs
no dependency beyond matplotlib and Pillow (which matplotlib requires).

Pipeline
--------
1. :func:`load_grayscale`: the photograph as floats in ``[0, 1]`` (Pillow's
   ``"L"`` conversion, the ITU-R 601-2 luma ``0.299 R + 0.587 G + 0.114 B``,
   rounded to 8 bits, divided by 255).
2. :func:`extract_patches`: every overlapping ``p × p`` patch (stride 1),
   flattened row by row into a vector of ``d = p²`` pixels.
3. :func:`standardize` (equation ``eq-data-standardize``): subtract the
   per-pixel mean over the pool and divide by one global scale ``s`` with
   ``s² = tr C / d`` (``C`` the pool covariance, normalized by the number of
   patches), so the standardized pool has mean exactly 0 and ``tr Σ = d``.
4. :func:`patch_pool` bundles the three (cached per patch size) into a
   :class:`PatchPool`, whose mean and covariance define the population
   Gaussian of the chapter.

Training and held-out sets are drawn from the pool with a seeded
``numpy.random.Generator`` (:func:`sample_patches`, :func:`held_out_patches`).
:func:`fit_power_law` fits ``λ_ν ∝ ν^(−k)`` to a spectrum by least squares in
log–log coordinates (equation ``eq-data-powerlaw``). Two statistics beyond
second moments close the module: :func:`nearest_neighbor_distances` and
:func:`difference_kurtosis`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._validate import as_data_matrix, as_finite_array, as_generator, as_int
from .gaussian import Gaussian, kl_divergence

__all__ = [
    "SAMPLE_IMAGE",
    "sample_image_path",
    "load_grayscale",
    "extract_patches",
    "standardize",
    "PatchPool",
    "patch_pool",
    "sample_patches",
    "held_out_patches",
    "training_and_held_out",
    "fit_power_law",
    "kl_to_population",
    "nearest_neighbor_distances",
    "horizontal_differences",
    "excess_kurtosis",
    "difference_kurtosis",
]

#: File name of the photograph in matplotlib's ``mpl-data/sample_data`` folder.
SAMPLE_IMAGE = "grace_hopper.jpg"


# --------------------------------------------------------------------------- the photograph
def sample_image_path() -> Path:
    """Path of the sample photograph inside matplotlib's installed data (no download).

    ``matplotlib.cbook.get_sample_data`` only looks up the installed
    ``mpl-data/sample_data`` folder; it never touches the network.
    """
    from matplotlib import cbook

    return Path(cbook.get_sample_data(SAMPLE_IMAGE, asfileobj=False))


@functools.lru_cache(maxsize=1)
def _photograph() -> np.ndarray:
    from PIL import Image

    with Image.open(sample_image_path()) as im:
        gray = np.asarray(im.convert("L"), dtype=float) / 255.0
    gray.setflags(write=False)
    return gray


def load_grayscale() -> np.ndarray:
    """The sample photograph in grayscale, floats in ``[0, 1]``, shape ``(600, 512)`` (rows, columns).

    Pillow's ``"L"`` mode: luma ``0.299 R + 0.587 G + 0.114 B`` rounded to
    8 bits, divided here by 255. The file is read once per process; the
    returned array is a fresh, writable copy.
    """
    return _photograph().copy()


def _as_image(image) -> np.ndarray:
    img = as_finite_array(image, "image", ndim=2)
    if min(img.shape) < 1:
        raise ValueError(f"image must be a non-empty 2-D array, got shape {img.shape}")
    return img


def _as_patch_size(size, shape) -> int:
    size = as_int(size, "size", minimum=1)
    if size > min(shape):
        raise ValueError(f"size must be at most the smaller image side {min(shape)}, got {size}")
    return size


def extract_patches(image, size: int) -> np.ndarray:
    """Every overlapping ``size × size`` patch of ``image`` (stride 1), flattened row by row.

    Parameters
    ----------
    image : array_like, shape (H, W)
    size : int
        Patch side ``p``, ``1 <= p <= min(H, W)``.

    Returns
    -------
    ndarray, shape ((H − p + 1)(W − p + 1), p²)
        Row ``i·(W − p + 1) + j`` is the patch whose top-left pixel is
        ``(i, j)``; its entry ``a·p + b`` is ``image[i + a, j + b]``.
    """
    img = _as_image(image)
    size = _as_patch_size(size, img.shape)
    windows = np.lib.stride_tricks.sliding_window_view(img, (size, size))
    out = windows.reshape(-1, size * size)  # copies the strided view, unless it is one patch
    return out.copy() if np.may_share_memory(out, img) else out


def _check_rows(X, name="patches", min_rows=2):
    return as_data_matrix(X, name, min_rows=min_rows)


def standardize(patches):
    """Remove the per-pixel mean and divide by one global scale (equation ``eq-data-standardize``).

    ``z = (x − m) / s`` with ``m`` the mean of the rows and
    ``s² = tr C / d``, where ``C = (1/n) Σ (x_i − m)(x_i − m)ᵀ``. Afterwards
    the rows have mean exactly 0 and covariance of trace exactly ``d``
    (mean pixel variance 1). One global scale, not one per pixel, keeps the
    relative variances of the pixels, hence the shape of the spectrum.

    Returns
    -------
    Z : ndarray, shape (n, d)
    mean : ndarray, shape (d,)
        ``m``, in the units of ``patches``.
    scale : float
        ``s``; ``x = m + s z`` undoes the map.

    Raises
    ------
    ValueError
        If all rows are equal (``tr C = 0``: there is nothing to standardize).
    """
    X = _check_rows(patches)
    mean = X.mean(axis=0)
    Z = X - mean
    var = float(np.einsum("ij,ij->", Z, Z)) / (Z.shape[0] * Z.shape[1])
    if not var > 0:
        raise ValueError("patches must not all be equal: their covariance has zero trace")
    scale = math.sqrt(var)
    Z /= scale
    return Z, mean, scale


# --------------------------------------------------------------------------- the pool
@dataclass(frozen=True, eq=False)
class PatchPool:
    """All standardized ``p × p`` patches of the photograph, and the population they define.

    Attributes
    ----------
    size : int
        Patch side ``p``; the dimension is ``d = p²``.
    patches : ndarray, shape (n, d)
        Standardized patches (:func:`standardize`), read-only.
    positions : ndarray of int, shape (n, 2)
        Top-left pixel ``(row, column)`` of each patch in the photograph.
    pixel_mean : ndarray, shape (d,)
        Per-pixel mean of the raw patches (intensity in ``[0, 1]``).
    scale : float
        Global scale: raw patch ``= pixel_mean + scale · standardized patch``.
    image_shape : tuple of int
        Shape ``(H, W)`` of the photograph.
    """

    size: int
    patches: np.ndarray
    positions: np.ndarray
    pixel_mean: np.ndarray
    scale: float
    image_shape: tuple

    @property
    def dim(self) -> int:
        """Dimension ``d = p²``."""
        return int(self.patches.shape[1])

    def __len__(self) -> int:
        return int(self.patches.shape[0])

    @functools.cached_property
    def population(self) -> Gaussian:
        """``N(0, Σ)`` with ``Σ = (1/n) Σ_i z_i z_iᵀ``, the mean and covariance of the whole pool.

        Its mean is exactly 0 and ``tr Σ = d`` by construction. The
        eigendecomposition is computed once and reused by every KL.
        """
        Z = self.patches
        cov = (Z.T @ Z) / Z.shape[0]
        w, V = np.linalg.eigh(0.5 * (cov + cov.T))
        return Gaussian.from_eigh(np.zeros(self.dim), np.clip(w, 0.0, None), V)

    @property
    def spectrum(self) -> np.ndarray:
        """Eigenvalues of the population covariance, descending (``ν = 1`` is the largest)."""
        return self.population.eigvals[::-1].copy()

    def to_intensity(self, Z) -> np.ndarray:
        """Standardized patches back to raw intensities ``pixel_mean + scale · Z`` (not clipped)."""
        Z = as_finite_array(Z, "Z")
        if Z.shape[-1] != self.dim:
            raise ValueError(f"Z must have last dimension d = {self.dim}, got shape {Z.shape}")
        return self.pixel_mean + self.scale * Z


#: Largest pool (patches × pixels) that patch_pool builds: 5·10⁷ floats, about 400 MB.
_MAX_POOL_ENTRIES = 50_000_000


@functools.lru_cache(maxsize=8)
def _cached_pool(size: int, max_patches: int | None, seed: int) -> PatchPool:
    img = _photograph()
    H, W = img.shape
    n_all = (H - size + 1) * (W - size + 1)
    if max_patches is not None and max_patches < n_all:
        keep = np.sort(np.random.default_rng(seed).choice(n_all, max_patches, replace=False))
    else:
        keep = np.arange(n_all)
    rows, cols = np.divmod(keep, W - size + 1)
    positions = np.stack([rows, cols], axis=1)
    if keep.size == n_all:
        raw = extract_patches(img, size)
    else:  # copy only the kept windows out of the strided view
        windows = np.lib.stride_tricks.sliding_window_view(img, (size, size))
        raw = windows[rows, cols].reshape(keep.size, size * size)
    # standardize in place (raw is our own copy): the same arithmetic as standardize(), without a
    # second array of the pool's size
    mean = raw.mean(axis=0)
    raw -= mean
    scale = math.sqrt(float(np.einsum("ij,ij->", raw, raw)) / raw.size)
    raw /= scale
    Z = raw
    for arr in (Z, positions, mean):
        arr.setflags(write=False)
    return PatchPool(size, Z, positions, mean, scale, (H, W))


def patch_pool(size: int = 8, max_patches: int | None = None, seed: int = 0) -> PatchPool:
    """The standardized pool of ``size × size`` patches of the photograph (cached per argument).

    Parameters
    ----------
    size : int
        Patch side ``p`` in ``[1, 512]``; ``d = p²``.
    max_patches : int, optional
        Keep only this many patch positions, drawn without replacement with
        ``numpy.random.default_rng(seed)``; ``None`` (default) keeps all
        ``(600 − p + 1)(512 − p + 1)`` overlapping patches (299 465 for ``p = 8``).
        Standardization uses the kept patches only. A pool larger than
        5·10⁷ numbers (patches × pixels, about 400 MB; ``p >= 14`` without
        ``max_patches``) raises ``ValueError``.
    seed : int
        Seed of the subsampling (unused without ``max_patches``).

    Returns
    -------
    PatchPool
        Shared between calls with the same arguments (its arrays are read-only).
    """
    H, W = _photograph().shape
    size = _as_patch_size(size, (H, W))
    seed = as_int(seed, "seed", minimum=0)
    if max_patches is not None:
        max_patches = as_int(max_patches, "max_patches", minimum=2)
    n_kept = (H - size + 1) * (W - size + 1)
    if max_patches is not None:
        n_kept = min(n_kept, max_patches)
    if n_kept * size * size > _MAX_POOL_ENTRIES:
        raise ValueError(
            f"a pool of {n_kept} patches of size {size} would hold {n_kept * size * size:.2e} numbers "
            f"(limit {_MAX_POOL_ENTRIES:.0e}, about 400 MB): pass max_patches <= {_MAX_POOL_ENTRIES // (size * size)}"
        )
    return _cached_pool(size, max_patches, seed)


def _check_pool(pool) -> PatchPool:
    if not isinstance(pool, PatchPool):
        raise TypeError(f"pool must be a lindiff.data.PatchPool (from patch_pool), got {type(pool).__name__}")
    return pool


def sample_patches(pool: PatchPool, n: int, rng: np.random.Generator, return_indices: bool = False):
    """``n`` distinct patches of the pool, drawn uniformly without replacement.

    Parameters
    ----------
    pool : PatchPool
    n : int
        ``1 <= n <= len(pool)``.
    rng : numpy.random.Generator
    return_indices : bool
        Also return the pool indices of the drawn rows (for :func:`held_out_patches`).

    Returns
    -------
    X : ndarray, shape (n, d)
        A writable copy of the drawn rows.
    indices : ndarray of int, shape (n,), only with ``return_indices=True``
    """
    pool = _check_pool(pool)
    n = as_int(n, "n", minimum=1)
    rng = as_generator(rng)
    if n > len(pool):
        raise ValueError(f"n must be at most the pool size {len(pool)}, got {n}")
    idx = rng.choice(len(pool), size=n, replace=False)
    X = pool.patches[idx].copy()
    return (X, idx) if return_indices else X


def held_out_patches(pool: PatchPool, exclude, n: int, rng: np.random.Generator, return_indices: bool = False):
    """``n`` pool patches that share **no pixel** with any patch of ``exclude``.

    Neighbouring patches of the pool overlap (a shift by one pixel keeps
    ``p(p − 1)`` of the ``p²`` pixels), so a held-out set drawn from the
    whole pool would contain near-copies of training patches. Here every
    position within ``p − 1`` pixels (in both directions) of an excluded
    position is removed first, then ``n`` of the remaining patches are drawn
    without replacement.

    Parameters
    ----------
    pool : PatchPool
    exclude : array_like of int
        Pool indices of the training patches.
    n : int
    rng : numpy.random.Generator
    return_indices : bool

    Returns
    -------
    X : ndarray, shape (n, d)
    indices : ndarray of int, only with ``return_indices=True``
    """
    pool = _check_pool(pool)
    n = as_int(n, "n", minimum=1)
    rng = as_generator(rng)
    ex = np.asarray(exclude)
    if ex.ndim != 1 or (ex.size and not np.issubdtype(ex.dtype, np.integer)):
        raise TypeError("exclude must be a 1-D array of pool indices (integers)")
    if ex.size and (ex.min() < 0 or ex.max() >= len(pool)):
        raise ValueError(f"exclude must contain pool indices in [0, {len(pool) - 1}]")
    p = pool.size
    H, W = pool.image_shape
    grid = np.zeros((H - p + 1, W - p + 1), dtype=np.int32)
    if ex.size:
        r, c = pool.positions[ex, 0], pool.positions[ex, 1]
        # box dilation by ±(p − 1) with a 2-D difference array: O(H W), no loop over pixels
        diff = np.zeros((grid.shape[0] + 1, grid.shape[1] + 1), dtype=np.int32)
        r0, r1 = np.maximum(r - p + 1, 0), np.minimum(r + p, grid.shape[0])
        c0, c1 = np.maximum(c - p + 1, 0), np.minimum(c + p, grid.shape[1])
        np.add.at(diff, (r0, c0), 1)
        np.add.at(diff, (r0, c1), -1)
        np.add.at(diff, (r1, c0), -1)
        np.add.at(diff, (r1, c1), 1)
        grid = np.cumsum(np.cumsum(diff, axis=0), axis=1)[:-1, :-1]
    allowed = np.flatnonzero(grid[pool.positions[:, 0], pool.positions[:, 1]] == 0)
    if n > allowed.size:
        raise ValueError(f"n must be at most {allowed.size}, the pool patches that overlap no excluded patch; got {n}")
    idx = allowed[rng.choice(allowed.size, size=n, replace=False)]
    X = pool.patches[idx].copy()
    return (X, idx) if return_indices else X


def training_and_held_out(pool: PatchPool, n_train: int, n_held_out: int = 0, seed: int = 0):
    """A training set and a held-out set of the pool, both determined by ``(seed, n_train)``.

    Draws ``n_train`` patches (:func:`sample_patches`) and then ``n_held_out``
    patches sharing no pixel with them (:func:`held_out_patches`), with
    ``numpy.random.default_rng([seed, n_train])``: the chapter and its widget
    get the same sets for the same arguments.

    Returns
    -------
    X : ndarray, shape (n_train, d)
    R : ndarray, shape (n_held_out, d)
        Empty (shape ``(0, d)``) for ``n_held_out = 0``.
    """
    pool = _check_pool(pool)
    n_train = as_int(n_train, "n_train", minimum=1)
    n_held_out = as_int(n_held_out, "n_held_out", minimum=0)
    rng = np.random.default_rng([as_int(seed, "seed", minimum=0), n_train])
    X, idx = sample_patches(pool, n_train, rng, return_indices=True)
    if n_held_out == 0:
        return X, np.empty((0, pool.dim))
    return X, held_out_patches(pool, idx, n_held_out, rng)


# --------------------------------------------------------------------------- spectrum
def fit_power_law(eigvals, nu_min: int = 2, nu_max: int | None = None):
    """Fit ``λ_ν = A ν^(−k)`` by least squares on ``(ln ν, ln λ_ν)``, ``nu_min <= ν <= nu_max``.

    Equation ``eq-data-powerlaw``. The eigenvalues are sorted in descending
    order first, so ``ν = 1`` is the largest. The default range starts at
    ``ν = 2``: for image patches ``λ_1`` is the mean brightness of the patch,
    far above the power law of the other directions.

    Parameters
    ----------
    eigvals : array_like, shape (d,)
        Positive eigenvalues (any order).
    nu_min, nu_max : int
        Fit range, ``1 <= nu_min < nu_max <= d``; ``nu_max`` defaults to ``d``.

    Returns
    -------
    k : float
        The exponent (``λ`` decays like ``ν^(−k)``).
    amplitude : float
        ``A``.
    """
    lam = as_finite_array(eigvals, "eigvals", ndim=1)
    d = lam.size
    if d < 2 or np.any(lam <= 0):
        raise ValueError("eigvals must be a 1-D array of at least 2 positive numbers")
    nu_min = as_int(nu_min, "nu_min", minimum=1)
    nu_max = d if nu_max is None else as_int(nu_max, "nu_max", minimum=2)
    if not nu_min < nu_max <= d:
        raise ValueError(f"need 1 <= nu_min < nu_max <= d = {d}, got nu_min = {nu_min}, nu_max = {nu_max}")
    lam = np.sort(lam)[::-1][nu_min - 1:nu_max]
    x = np.log(np.arange(nu_min, nu_max + 1, dtype=float))
    slope, intercept = np.polyfit(x, np.log(lam), 1)
    return float(-slope), float(math.exp(intercept))


def kl_to_population(p: Gaussian, population: Gaussian) -> float:
    """``KL(p ‖ population)`` in nats for a population with a density (equation ``eq-kl-gauss``).

    :func:`lindiff.kl_divergence` with a check that ``population`` is
    non-degenerate. A model spectrum known in closed form
    (:meth:`Gaussian.from_eigh`) keeps its tiny eigenvalues: on image patches
    the one-step model at ``N = d + 1`` has ``g_min / g_max`` near ``1e-17``,
    accurate to about ``1e-5`` relative because it comes from the eigenvalues
    of ``S``, and the KL is finite; it is ``inf`` only for exact zeros.

    Raises
    ------
    ValueError
        If ``population`` is degenerate (it must have a density) or the dimensions differ.
    """
    for g, name in ((p, "p"), (population, "population")):
        if not isinstance(g, Gaussian):
            raise TypeError(f"{name} must be a lindiff.Gaussian, got {type(g).__name__}")
    if p.dim != population.dim:
        raise ValueError(f"p and population must have the same dimension, got {p.dim} and {population.dim}")
    if population.is_degenerate:
        raise ValueError("population must have a positive definite covariance")
    return kl_divergence(p, population)


# --------------------------------------------------------------------------- beyond second moments
def nearest_neighbor_distances(points, reference) -> np.ndarray:
    """Euclidean distance from each row of ``points`` to the nearest row of ``reference``.

    ``O(n m d)`` through one matrix product; rounding below zero is clipped
    before the square root. Used with ``reference`` = the training set: a
    model that copies training points has distances near 0.
    """
    P = as_finite_array(points, "points", ndim=2)
    R = as_finite_array(reference, "reference", ndim=2)
    if P.shape[0] < 1 or R.shape[0] < 1:
        raise ValueError("points and reference must each contain at least one row")
    if P.shape[1] != R.shape[1]:
        raise ValueError(f"points and reference must have the same dimension, got {P.shape[1]} and {R.shape[1]}")
    center = R.mean(axis=0)  # centring first keeps |a|² + |b|² − 2a·b accurate
    P, R = P - center, R - center
    sq = np.einsum("ij,ij->i", P, P)[:, None] + np.einsum("ij,ij->i", R, R)[None, :] - 2.0 * (P @ R.T)
    return np.sqrt(np.maximum(sq.min(axis=1), 0.0))


def horizontal_differences(patches, size: int) -> np.ndarray:
    """Differences ``x[a, b+1] − x[a, b]`` of horizontally adjacent pixels inside each patch.

    ``patches`` holds flattened ``size × size`` patches (row by row, as
    :func:`extract_patches`). Returns shape ``(n, size·(size − 1))``.
    """
    X = as_finite_array(patches, "patches", ndim=2)
    size = as_int(size, "size", minimum=2)
    if X.shape[1] != size * size:
        raise ValueError(f"patches must have size² = {size * size} columns, got {X.shape[1]}")
    sq = X.reshape(-1, size, size)
    return (sq[:, :, 1:] - sq[:, :, :-1]).reshape(X.shape[0], -1)


def excess_kurtosis(values) -> float:
    """``E(x − m)⁴ / (E(x − m)²)² − 3`` over all entries: 0 for a Gaussian, > 0 for heavy tails.

    Raises ``ValueError`` for fewer than two values or constant values (the
    kurtosis is undefined there).
    """
    x = as_finite_array(values, "values").ravel()
    if x.size < 2:
        raise ValueError("values must contain at least two numbers")
    c = x - x.mean()
    m2 = float(np.mean(c * c))
    if not m2 > 0:
        raise ValueError("values must not all be equal (zero variance: kurtosis undefined)")
    return float(np.mean(c**4)) / (m2 * m2) - 3.0


def difference_kurtosis(patches, size: int) -> float:
    """Excess kurtosis of the horizontal pixel differences of ``patches``.

    Natural images are mostly smooth with occasional edges, so these
    differences are heavy-tailed (large positive value); for any Gaussian
    model of the patches they are Gaussian (value 0 up to sampling error).
    """
    return excess_kurtosis(horizontal_differences(patches, size))
