"""Pure plotting functions: parameters in, a :class:`matplotlib.figure.Figure` out.

Each function draws one figure of the book. The same function draws the static
figure of a chapter, every frame of its explorable figure in the published
site and the live widget in ``jupyter lab`` (see :mod:`lindiff.widgets`), so
the three can never disagree. Figures are created with
:class:`matplotlib.figure.Figure` rather than ``pyplot``: no global state, and
nothing is displayed unless the caller displays it.
"""

from __future__ import annotations

import functools
import math

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from . import gaussian

__all__ = ["STYLE", "BookFigure", "styled", "new_figure", "kl_1d_figure"]

#: One shared style for every figure of the book.
STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 1.8,
    "axes.prop_cycle": mpl.cycler(
        color=["#1f5aa6", "#d1495b", "#2e8b57", "#edae49", "#6b4c9a", "#555555"]
    ),
}


class BookFigure(Figure):
    """A matplotlib figure that shows itself as PNG in a notebook.

    Figures built without ``pyplot`` are not known to the inline backend; the
    ``_repr_png_`` hook lets IPython (and so the site build) display them as
    images, the same way in every front end.
    """

    def _repr_png_(self) -> bytes:
        import io

        buf = io.BytesIO()
        with mpl.rc_context(STYLE):
            self.savefig(buf, format="png")
        return buf.getvalue()


def styled(func):
    """Decorator: run a plotting function inside the book's shared style."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.2):
    """A figure with a grid of axes, each panel ``width`` × ``height`` inches."""
    fig = BookFigure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()


@styled
def kl_1d_figure(shift: float = 0.0, var_ratio: float = 1.0) -> Figure:
    """KL in both directions between ``p = N(shift, var_ratio)`` and ``q = N(0, 1)``.

    Left: the two densities. Right: both directions of KL against the variance
    ratio at the chosen shift, with the chosen point marked. Used in the
    chapter "Notation and conventions" to show why the direction matters when
    one distribution is much narrower than the other.
    """
    fig, (ax0, ax1) = new_figure(2)
    q = gaussian.Gaussian(np.zeros(1), np.eye(1))
    x = np.linspace(-5, 5, 400)[:, None]
    p = gaussian.Gaussian(np.array([shift]), np.array([[var_ratio]]))
    ax0.plot(x[:, 0], np.exp(q.logpdf(x)), label=r"$q=\mathcal{N}(0,1)$")
    ax0.plot(x[:, 0], np.exp(p.logpdf(x)), label=rf"$p=\mathcal{{N}}({shift:g},{var_ratio:g})$")
    ax0.set_xlabel("$x$")
    ax0.set_ylabel("density")
    ax0.set_ylim(0, max(0.45, 1.05 / math.sqrt(2 * math.pi * var_ratio)))
    ax0.legend(loc="upper left")
    ratios = np.geomspace(1e-2, 1e2, 200)
    pq = [gaussian.kl_divergence(gaussian.Gaussian(np.array([shift]), np.array([[r]])), q) for r in ratios]
    qp = [gaussian.kl_divergence(q, gaussian.Gaussian(np.array([shift]), np.array([[r]]))) for r in ratios]
    (line_pq,) = ax1.loglog(ratios, np.maximum(pq, 1e-4), label=r"KL$(p\Vert q)$")
    (line_qp,) = ax1.loglog(ratios, np.maximum(qp, 1e-4), label=r"KL$(q\Vert p)$")
    ax1.plot([var_ratio], [max(gaussian.kl_divergence(p, q), 1e-4)], "o", color=line_pq.get_color())
    ax1.plot([var_ratio], [max(gaussian.kl_divergence(q, p), 1e-4)], "o", color=line_qp.get_color())
    ax1.set_xlabel("variance ratio $m$ of $p$ to $q$")
    ax1.set_ylabel("KL (nats)")
    ax1.set_ylim(1e-4, 1e3)
    ax1.legend(loc="upper center")
    return fig
