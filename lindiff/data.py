"""Real data: grayscale patches of images that ship with matplotlib.

Chapter ``book/image_patches.md`` (equations ``eq-data-*``) uses everything
here. Three images of matplotlib's installed ``mpl-data/sample_data`` folder
are available (:data:`SAMPLE_IMAGES`), so the book works offline and needs no
dependency beyond matplotlib and Pillow (which matplotlib requires):

* ``"photograph"``: ``grace_hopper.jpg``, a portrait, 512 × 600 pixels, RGB
  (the chapter's main data set);
* ``"mri"``: ``s1045.ima.gz``, a sagittal MRI slice of a head, 256 × 256
  pixels, 16-bit, about half of it exactly black background;
* ``"terrain"``: ``jacksboro_fault_dem.npz``, a digital elevation model (an
  "image" of a landscape, heights in meters), 403 × 344 samples.

Pipeline
--------
1. :func:`load_grayscale`: the image as floats in ``[0, 1]`` (the photograph:
   Pillow's ``"L"`` conversion, the ITU-R 601-2 luma
   ``0.299 R + 0.587 G + 0.114 B``, rounded to 8 bits, divided by 255; the
   others: divided by their maximum (MRI) or mapped linearly from
   ``[min, max]`` (terrain)).
2. :func:`extract_patches`: every overlapping ``p × p`` patch (stride 1),
   flattened row by row into a vector of ``d = p²`` pixels.
3. :func:`standardize` (equation ``eq-data-standardize``): subtract the
   per-pixel mean over the pool and divide by one global scale ``σ_pix`` with
   ``σ_pix² = tr Σ_raw / d`` (``Σ_raw`` the pool covariance, normalized by the
   number of patches), so the standardized pool has mean exactly 0 and
   ``tr Σ = d``.
4. :func:`patch_pool` bundles the three (cached per image and patch size)
   into a :class:`PatchPool`, whose mean and covariance define the Gaussian
   surrogate of the chapter.

Training and held-out sets are drawn from the pool with a seeded
``numpy.random.Generator`` (:func:`sample_patches`, :func:`held_out_patches`).
:func:`fit_power_law` fits ``λ_ν ∝ ν^(−k)`` to a spectrum by least squares in
log–log coordinates (equation ``eq-data-powerlaw``). The fourth-moment theory
of the ``d/N`` law: :func:`contrast_moments` (the moments of the implied
scale-mixture contrast ``ς``) and :func:`refit_kl_coefficients` (the first
two coefficients of the expected KL of the refitted Gaussian in powers of
``γ = d/N``, equation ``eq-data-next-order``). Two statistics beyond second
moments close the module: :func:`nearest_neighbor_distances` and
:func:`difference_kurtosis`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._validate import as_data_matrix, as_finite_array, as_generator, as_int, as_positive_float
from .gaussian import Gaussian, kl_divergence

__all__ = [
    "SAMPLE_IMAGE",
    "SAMPLE_IMAGES",
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
    "refit_kl",
    "contrast_moments",
    "refit_kl_coefficients",
    "nearest_neighbor_distances",
    "horizontal_differences",
    "excess_kurtosis",
    "difference_kurtosis",
]

#: File name of the photograph in matplotlib's ``mpl-data/sample_data`` folder.
SAMPLE_IMAGE = "grace_hopper.jpg"

#: The images of matplotlib's ``mpl-data/sample_data`` folder that :func:`patch_pool` accepts:
#: name -> file name.
SAMPLE_IMAGES = {
    "photograph": SAMPLE_IMAGE,
    "mri": "s1045.ima.gz",
    "terrain": "jacksboro_fault_dem.npz",
}


def _check_image_name(image) -> str:
    if not isinstance(image, str) or image not in SAMPLE_IMAGES:
        raise ValueError(f"image must be one of {sorted(SAMPLE_IMAGES)}, got {image!r}")
    return image


# --------------------------------------------------------------------------- the images
def sample_image_path(image: str = "photograph") -> Path:
    """Path of a sample image inside matplotlib's installed data (no download).

    ``matplotlib.cbook.get_sample_data`` only looks up the installed
    ``mpl-data/sample_data`` folder; it never touches the network.
    """
    from matplotlib import cbook

    return Path(cbook.get_sample_data(SAMPLE_IMAGES[_check_image_name(image)], asfileobj=False))


def _read_image(image: str) -> np.ndarray:
    path = sample_image_path(image)
    if image == "photograph":
        from PIL import Image

        with Image.open(path) as im:
            return np.asarray(im.convert("L"), dtype=float) / 255.0
    if image == "mri":
        import gzip

        # 256 × 256 unsigned 16-bit integers, as matplotlib's own MRI example reads them
        with gzip.open(path) as f:
            raw = np.frombuffer(f.read(), dtype=np.uint16).reshape(256, 256).astype(float)
        return raw / raw.max()
    with np.load(path) as npz:  # terrain: heights in meters
        z = npz["elevation"].astype(float)
    return (z - z.min()) / (z.max() - z.min())


@functools.lru_cache(maxsize=len(SAMPLE_IMAGES))
def _image(image: str) -> np.ndarray:
    gray = _read_image(image)
    gray.setflags(write=False)
    return gray


def _photograph() -> np.ndarray:
    return _image("photograph")


_photograph.cache_clear = _image.cache_clear  # tests clear the cache through this name


def load_grayscale(image: str = "photograph") -> np.ndarray:
    """A sample image in grayscale, floats in ``[0, 1]``, shape (rows, columns).

    ``"photograph"`` (default): shape ``(600, 512)``, Pillow's ``"L"`` mode,
    luma ``0.299 R + 0.587 G + 0.114 B`` rounded to 8 bits, divided here by
    255. ``"mri"``: shape ``(256, 256)``, the 16-bit values divided by their
    maximum. ``"terrain"``: shape ``(344, 403)``, elevations mapped linearly
    from ``[min, max]`` to ``[0, 1]``. Each file is read once per process; the
    returned array is a fresh, writable copy.
    """
    return _image(_check_image_name(image)).copy()


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
    """All standardized ``p × p`` patches of an image, and the Gaussian surrogate they define.

    Attributes
    ----------
    size : int
        Patch side ``p``; the dimension is ``d = p²``.
    patches : ndarray, shape (n, d)
        Standardized patches (:func:`standardize`), read-only.
    positions : ndarray of int, shape (n, 2)
        Top-left pixel ``(row, column)`` of each patch in the image.
    pixel_mean : ndarray, shape (d,)
        Per-pixel mean of the raw patches (intensity in ``[0, 1]``).
    scale : float
        Global scale: raw patch ``= pixel_mean + scale · standardized patch``.
    image_shape : tuple of int
        Shape ``(H, W)`` of the image.
    image : str
        Name of the image in :data:`SAMPLE_IMAGES`.
    """

    size: int
    patches: np.ndarray
    positions: np.ndarray
    pixel_mean: np.ndarray
    scale: float
    image_shape: tuple
    image: str = "photograph"

    @property
    def dim(self) -> int:
        """Dimension ``d = p²``."""
        return int(self.patches.shape[1])

    def __len__(self) -> int:
        return int(self.patches.shape[0])

    @functools.cached_property
    def population(self) -> Gaussian:
        """``N(0, Σ)`` with ``Σ = (1/n) Σ_i x_i x_iᵀ``, the mean and covariance of the whole pool.

        The Gaussian surrogate of the pool: every KL of the chapter is to this
        Gaussian, not to the (non-Gaussian) distribution of the patches. Its
        mean is exactly 0 and ``tr Σ = d`` by construction. The
        eigendecomposition is computed once and reused by every KL.
        """
        Z = self.patches
        cov = (Z.T @ Z) / Z.shape[0]
        w, V = np.linalg.eigh(0.5 * (cov + cov.T))
        return Gaussian.from_eigh(np.zeros(self.dim), np.clip(w, 0.0, None), V)

    @functools.cached_property
    def whitened_sq_norms(self) -> np.ndarray:
        """``|Σ^(−1/2) x_i|²`` for every patch of the pool (read-only), ``Σ`` the surrogate covariance.

        The squared norms of the whitened patches, whose moments enter
        theorem ``thm-data-dn-coefficient`` (``m_4`` is the mean of their
        squares) and :func:`contrast_moments`. Computed in blocks of rows, so
        that the whitened pool (as large as the pool) is never held in memory.
        """
        pop = self.population
        T = pop.eigvecs / np.sqrt(pop.eigvals)  # x -> Σ^(−1/2) x in the eigenbasis (the mean is 0)
        out = np.empty(len(self))
        step = 16_384
        for a in range(0, len(self), step):
            Wb = self.patches[a:a + step] @ T
            out[a:a + step] = np.einsum("ij,ij->i", Wb, Wb)
        out.setflags(write=False)
        return out

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
def _cached_pool(size: int, max_patches: int | None, seed: int, image: str = "photograph") -> PatchPool:
    img = _image(image)
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
    return PatchPool(size, Z, positions, mean, scale, (H, W), image)


def patch_pool(size: int = 8, max_patches: int | None = None, seed: int = 0,
               image: str = "photograph") -> PatchPool:
    """The standardized pool of ``size × size`` patches of an image (cached per argument).

    Parameters
    ----------
    size : int
        Patch side ``p``, at most the smaller side of the image
        (512 for the photograph); ``d = p²``.
    max_patches : int, optional
        Keep only this many patch positions, drawn without replacement with
        ``numpy.random.default_rng(seed)``; ``None`` (default) keeps all
        ``(600 − p + 1)(512 − p + 1)`` overlapping patches (299 465 for ``p = 8``).
        Standardization uses the kept patches only. A pool larger than
        5·10⁷ numbers (patches × pixels, about 400 MB; ``p >= 14`` without
        ``max_patches``) raises ``ValueError``.
    seed : int
        Seed of the subsampling (unused without ``max_patches``).
    image : str
        A key of :data:`SAMPLE_IMAGES`: ``"photograph"`` (default), ``"mri"``
        or ``"terrain"``.

    Returns
    -------
    PatchPool
        Shared between calls with the same arguments (its arrays are read-only).
    """
    image = _check_image_name(image)
    H, W = _image(image).shape
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
    return _cached_pool(size, max_patches, seed, image)


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

    Neighboring patches of the pool overlap (a shift by one pixel keeps
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


# --------------------------------------------------------------------------- the d/N law for non-Gaussian data
def refit_kl(X, population: Gaussian) -> tuple:
    """Both KLs per dimension between the refitted Gaussian ``p̂ = N(x̄, S)`` of ``X`` and ``population``.

    The object of theorem ``thm-data-dn-coefficient`` of ``book/image_patches.md``:
    ``S`` is the centered empirical covariance (normalized by ``N``). Computed
    in the whitened basis of ``population`` (which must have a density), where
    ``population`` is ``N(0, I)`` and ``p̂`` is ``N(w̄, S_w)``:
    ``KL(p̂ ‖ p) = ½(tr S_w − d − ln det S_w + |w̄|²)`` and
    ``KL(p ‖ p̂) = ½(tr S_w⁻¹ − d + ln det S_w + w̄ᵀ S_w⁻¹ w̄)``.

    Returns
    -------
    (ts, st) : tuple of float
        ``KL(population ‖ p̂)/d`` and ``KL(p̂ ‖ population)/d`` in nats;
        both ``inf`` when ``S`` is singular (``N <= d``: ``p̂`` is degenerate).
    """
    if not isinstance(population, Gaussian):
        raise TypeError(f"population must be a lindiff.Gaussian, got {type(population).__name__}")
    if population.is_degenerate:
        raise ValueError("population must have a positive definite covariance")
    X = as_data_matrix(X, "X", min_rows=2)
    d = population.dim
    if X.shape[1] != d:
        raise ValueError(f"X must have d = {d} columns (the dimension of population), got {X.shape[1]}")
    # whitening map x -> Σ^(−1/2)(x − μ), in the eigenbasis of Σ
    Wt = ((X - population.mean) @ population.eigvecs) / np.sqrt(population.eigvals)
    wbar = Wt.mean(axis=0)
    C = Wt - wbar
    lam, V = np.linalg.eigh(C.T @ C / X.shape[0])
    if lam.min() <= 1e-12 * lam.max():  # rank-deficient S (rounding-level threshold)
        return math.inf, math.inf
    st = 0.5 * (float(np.sum(lam)) - d - float(np.sum(np.log(lam))) + float(wbar @ wbar))
    proj = V.T @ wbar
    ts = 0.5 * (float(np.sum(1.0 / lam)) - d + float(np.sum(np.log(lam))) + float(np.sum(proj**2 / lam)))
    return ts / d, st / d


def contrast_moments(whitened=None, orders=(2, 3), *, sq_norms=None, dim: int | None = None) -> np.ndarray:
    """Moments ``E ς^n`` of the contrast ``ς`` implied by whitened data, for each ``n`` in ``orders``.

    For a Gaussian scale mixture ``w = √ς z`` (``z ~ N(0, I_d)`` independent of
    ``ς``, ``E ς = 1``), ``E|w|^(2n) = E ς^n · d(d + 2)⋯(d + 2n − 2)``. This
    function inverts that relation on data: it returns
    ``mean(|w_i|^(2n)) / (d(d + 2)⋯(d + 2n − 2))``. For Gaussian data every
    moment is 1 (up to sampling error); ``n = 2`` gives ``m_4 / (d(d + 2))``
    with ``m_4 = E|w|⁴`` of theorem ``thm-data-dn-coefficient``.
    Chapter ``book/image_patches.md`` (section "How far is N = ∞?").

    Parameters
    ----------
    whitened : array_like, shape (n, d), optional
        Whitened points ``w_i = Σ^(−1/2)(x_i − μ)``.
    orders : sequence of int
        Orders ``n >= 1``.
    sq_norms : array_like, shape (n,), optional
        Instead of ``whitened``: the squared norms ``|w_i|²`` (for example
        :attr:`PatchPool.whitened_sq_norms`), with ``dim = d``.
    dim : int, optional
        The dimension ``d``; required with ``sq_norms``.

    Returns
    -------
    ndarray of float, shape (len(orders),)
    """
    if (whitened is None) == (sq_norms is None):
        raise ValueError("pass exactly one of whitened and sq_norms")
    if whitened is not None:
        W = as_data_matrix(whitened, "whitened", min_rows=1)
        d = W.shape[1]
        r = np.einsum("ij,ij->i", W, W) / d
    else:
        if dim is None:
            raise ValueError("dim (the dimension d) is required with sq_norms")
        d = as_int(dim, "dim", minimum=1)
        r = as_finite_array(sq_norms, "sq_norms", ndim=1)
        if r.size < 1 or np.any(r < 0):
            raise ValueError("sq_norms must be a non-empty 1-D array of non-negative numbers")
        r = r / d
    ords = [as_int(n, "orders", minimum=1) for n in np.atleast_1d(orders).tolist()]
    out = []
    for n in ords:
        # E|w|^(2n) / (d(d+2)...(d+2n-2)), with |w|^(2n) = d^n (|w|²/d)^n to avoid overflow
        norm = math.prod((d + 2 * j) / d for j in range(n))
        out.append(float(np.mean(r**n)) / norm)
    return np.array(out)


def refit_kl_coefficients(e2: float, e3: float, e4: float | None = None) -> dict:
    """Coefficients of the expected KL per dimension of the refitted Gaussian in powers of ``γ = d/N``.

    Equation ``eq-data-next-order`` of ``book/image_patches.md`` (ours): for
    i.i.d. data from a Gaussian scale mixture ``w = √ς g`` with contrast
    moments ``E ς = 1``, ``E ς² = e2``, ``E ς³ = e3``, ``E ς⁴ = e4``, and the
    refitted Gaussian ``p̂ = N(x̄, S)``, in the proportional limit
    ``d, N → ∞`` with ``γ = d/N``,

    * ``KL(p ‖ p̂) / d = c γ + c2_ts γ² + c3_ts γ³ + O(γ⁴)`` (population ‖ samples),
    * ``KL(p̂ ‖ p) / d = c γ + c2_st γ² + c3_st γ³ + O(γ⁴)`` (samples ‖ population),

    with ``c = e2/4``,
    ``c2_ts = 3 e2²/4 − e3/3``, ``c3_ts = 3 e4/8 − 2 e2 e3 + 25 e2³/12``,
    ``c2_st = e2²/4 − e3/6``, ``c3_st = e4/8 − e2 e3/2 + 5 e2³/12``.
    Gaussian data (all moments 1): ``c = 1/4``, ``c2 = 5/12, 1/12``,
    ``c3 = 11/24, 1/24``, the expansion of the Marchenko–Pastur limit.

    Derivation: in the whitened basis ``S = I + E``; the limit spectrum of
    ``S`` is a compound free Poisson law whose free cumulants are
    ``γ^(n−1) E ς^n``, so ``(1/d) tr Eⁿ`` is a sum over non-crossing
    partitions of ``n`` without singletons, each block of size ``j``
    contributing ``γ^(j−1) E ς^j``. Insert these into the series
    ``KL(p̂ ‖ p) = ½ Σ_ν (e_ν − ln(1 + e_ν))`` and
    ``KL(p ‖ p̂) = ½ Σ_ν (1/(1 + e_ν) − 1 + ln(1 + e_ν))`` over the
    eigenvalues ``e_ν`` of ``E``. At finite ``d`` the first coefficient is
    ``c`` of theorem ``thm-data-dn-coefficient``, ``e2/4 + (2 e2 + 1)/(4d)``.

    For heavy-tailed contrasts the series is asymptotic only for ``γ`` well
    below ``e2/e3`` and ``e3/e4``; the terms grow with the moments.

    Parameters
    ----------
    e2, e3 : float
        ``E ς²`` and ``E ς³``, with ``e2 >= 1`` and ``e3 >= e2²``.
    e4 : float, optional
        ``E ς⁴``, with ``e2 e4 >= e3²``; if omitted, only ``(c, c2)`` are returned.

    Returns
    -------
    dict
        ``{"ts": (c, c2_ts[, c3_ts]), "st": (c, c2_st[, c3_st])}``.

    Raises
    ------
    ValueError
        If the moments violate the inequalities of a contrast with mean 1
        (Jensen and Cauchy–Schwarz: ``e2 >= 1``, ``e3 >= e2²``, ``e2 e4 >= e3²``).
    """
    e2 = as_positive_float(e2, "e2")
    e3 = as_positive_float(e3, "e3")
    # a small tolerance: moments estimated from data satisfy the inequalities only up to rounding
    tol = 1.0 - 1e-9
    if e2 < tol:
        raise ValueError(f"e2 = E[contrast^2] must be >= 1 for a contrast of mean 1, got {e2!r}")
    if e3 < e2 * e2 * tol:
        raise ValueError(f"e3 = E[contrast^3] must be >= e2^2 = {e2 * e2!r}, got {e3!r}")
    c = 0.25 * e2
    ts = [c, 0.75 * e2 * e2 - e3 / 3.0]
    st = [c, 0.25 * e2 * e2 - e3 / 6.0]
    if e4 is not None:
        e4 = as_positive_float(e4, "e4")
        if e2 * e4 < e3 * e3 * tol:
            raise ValueError(f"e4 = E[contrast^4] must be >= e3^2 / e2 = {e3 * e3 / e2!r}, got {e4!r}")
        ts.append(0.375 * e4 - 2.0 * e2 * e3 + 25.0 / 12.0 * e2**3)
        st.append(0.125 * e4 - 0.5 * e2 * e3 + 5.0 / 12.0 * e2**3)
    return {"ts": tuple(ts), "st": tuple(st)}


# --------------------------------------------------------------------------- beyond second moments
def nearest_neighbor_distances(points, reference, k: int = 1) -> np.ndarray:
    """Euclidean distance from each row of ``points`` to the nearest row (or ``k`` nearest rows) of ``reference``.

    ``O(n m d)`` through one matrix product; rounding below zero is clipped
    before the square root. Used with ``reference`` = the training set: a
    model that copies training points has distances near 0. With ``k = 2``
    the two columns give the copy criterion of ``book/neural_denoisers.md``
    (definition ``def-neural-copy``): a sample copies when its nearest
    distance is below a third of its second-nearest.

    Returns
    -------
    ndarray, shape (n,) for ``k = 1``, else (n, k)
        Sorted ascending along the last axis.
    """
    P = as_finite_array(points, "points", ndim=2)
    R = as_finite_array(reference, "reference", ndim=2)
    k = as_int(k, "k", minimum=1)
    if P.shape[0] < 1 or R.shape[0] < 1:
        raise ValueError("points and reference must each contain at least one row")
    if P.shape[1] != R.shape[1]:
        raise ValueError(f"points and reference must have the same dimension, got {P.shape[1]} and {R.shape[1]}")
    if k > R.shape[0]:
        raise ValueError(f"k must be at most the number of reference rows {R.shape[0]}, got {k}")
    center = R.mean(axis=0)  # centering first keeps |a|² + |b|² − 2a·b accurate
    P, R = P - center, R - center
    sq = np.einsum("ij,ij->i", P, P)[:, None] + np.einsum("ij,ij->i", R, R)[None, :] - 2.0 * (P @ R.T)
    if k == 1:
        return np.sqrt(np.maximum(sq.min(axis=1), 0.0))
    part = np.sort(np.partition(sq, k - 1, axis=1)[:, :k], axis=1)
    return np.sqrt(np.maximum(part, 0.0))


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
