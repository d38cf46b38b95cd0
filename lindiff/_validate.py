"""Input checks shared by every public function of :mod:`lindiff`.

Each helper raises ``TypeError`` for the wrong kind of object and ``ValueError``
for a value outside the accepted range; the message always names the parameter
and says what is accepted, so a reader calling the library with their own
numbers learns what went wrong without reading the source.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "as_finite_array",
    "as_data_matrix",
    "as_positive_float",
    "as_nonnegative_float",
    "as_int",
    "as_generator",
]


def _is_real_scalar(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def as_finite_array(x, name: str, ndim: int | None = None) -> np.ndarray:
    """Return ``x`` as a float array, checking dimensionality and finiteness."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite numbers (no nan or inf)")
    return arr


def as_data_matrix(X, name: str = "X", min_rows: int = 2) -> np.ndarray:
    """Return a training set as an ``(N, d)`` float array with ``N >= min_rows``."""
    arr = as_finite_array(X, name, ndim=2)
    n, d = arr.shape
    if d < 1:
        raise ValueError(f"{name} must have at least one column (dimension d >= 1), got shape {arr.shape}")
    if n < min_rows:
        raise ValueError(
            f"{name} must have at least {min_rows} rows (training points N >= {min_rows}), got N = {n}"
        )
    return arr


def _as_real(x, name: str) -> float:
    if not _is_real_scalar(x) and not (isinstance(x, np.ndarray) and x.ndim == 0):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    return float(x)


def as_positive_float(x, name: str, allow_inf: bool = False) -> float:
    """Return ``x`` as a float in ``(0, inf)`` (or ``(0, inf]`` with ``allow_inf``)."""
    val = _as_real(x, name)
    upper = "inf]" if allow_inf else "inf)"
    if math.isnan(val) or val <= 0 or (math.isinf(val) and not allow_inf):
        raise ValueError(f"{name} must be in (0, {upper}, got {x!r}")
    return val


def as_nonnegative_float(x, name: str, allow_inf: bool = False) -> float:
    """Return ``x`` as a float in ``[0, inf)`` (or ``[0, inf]`` with ``allow_inf``)."""
    val = _as_real(x, name)
    upper = "inf]" if allow_inf else "inf)"
    if math.isnan(val) or val < 0 or (math.isinf(val) and not allow_inf):
        raise ValueError(f"{name} must be in [0, {upper}, got {x!r}")
    return val


def as_int(x, name: str, minimum: int) -> int:
    """Return ``x`` as a Python int ``>= minimum``; floats are refused."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {type(x).__name__} {x!r}")
    val = int(x)
    if val < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {val}")
    return val


def as_generator(rng, name: str = "rng") -> np.random.Generator:
    """Require an explicit :class:`numpy.random.Generator` (every random draw is seeded)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator, e.g. numpy.random.default_rng(0); "
            f"got {type(rng).__name__}"
        )
    return rng
