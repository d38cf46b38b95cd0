"""Pure plotting functions: parameters in, a :class:`matplotlib.figure.Figure` out.

One submodule per chapter (``lindiff.plotting.notation``, ...) holds that
chapter's figures; this package holds the shared style. Each function draws
one figure of the book. The same function draws the static
figure of a chapter, every frame of its explorable figure in the published
site and the live widget in ``jupyter lab`` (see :mod:`lindiff.widgets`), so
the three can never disagree. Figures are created with
:class:`matplotlib.figure.Figure` rather than ``pyplot``: no global state, and
nothing is displayed unless the caller displays it.
"""

from __future__ import annotations

import functools

import matplotlib as mpl
import matplotlib.ticker as mticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.mathtext import MathTextParser

__all__ = ["STYLE", "BookFigure", "styled", "new_figure", "plain_log_ticks", "plain_log_axis"]

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


# One mathtext parser for every figure of the book. Matplotlib caches parsed
# math per parser, and each new renderer makes a new parser, so every redraw of
# a widget re-parsed its labels (about a third of an update). Parsing depends
# only on the output type, so sharing the parser changes nothing drawn.
_SHARED_MATHTEXT = MathTextParser("path")


class _Canvas(FigureCanvasAgg):
    def get_renderer(self):
        renderer = super().get_renderer()
        renderer.mathtext_parser = _SHARED_MATHTEXT
        return renderer


class BookFigure(Figure):
    """A matplotlib figure that shows itself as PNG in a notebook.

    Figures built without ``pyplot`` are not known to the inline backend; the
    ``_repr_png_`` hook lets IPython (and so the site build) display them as
    images, the same way in every front end.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _Canvas(self)

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


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 4.2, height: float = 3.2, *,
               left: float = 0.75, right: float = 0.2, bottom: float = 0.6, top: float = 0.35,
               wspace: float = 0.85, hspace: float = 0.8):
    """A figure with a grid of axes, each panel ``width`` × ``height`` inches.

    Margins and gaps are fixed, in inches, rather than computed by a layout
    engine: constrained layout measured about 60 % of the drawing time of a
    two-panel figure, and a live widget redraws on every slider move. The
    defaults leave room for tick labels and an axis label on every side;
    widen ``left`` or ``bottom`` for long labels.

    Returns
    -------
    fig : BookFigure
    axes : ndarray of Axes, flattened row by row
    """
    fig_w = ncols * width
    fig_h = nrows * height
    fig = BookFigure(figsize=(fig_w, fig_h))
    panel_w = (fig_w - left - right - (ncols - 1) * wspace) / ncols
    panel_h = (fig_h - bottom - top - (nrows - 1) * hspace) / nrows
    fig.subplots_adjust(left=left / fig_w, right=1 - right / fig_w, bottom=bottom / fig_h, top=1 - top / fig_h,
                        wspace=wspace / panel_w, hspace=hspace / panel_h)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes.ravel()


def _decade(v, _pos=None) -> str:
    return f"{v:g}" if 1e-3 <= v <= 1e3 else f"{v:.0e}".replace("e-0", "e-").replace("e+0", "e")


def plain_log_axis(axis, minor: bool = True) -> None:
    """Label the decades of one log axis as plain text (``0.01``, ``100``, ``1e-6``).

    Matplotlib's default ``10^k`` labels go through the mathtext parser at every
    draw; ``minor=False`` also drops the minor ticks, each of which costs two
    line artists and a label. Together they were most of a live widget's update
    time (0.2 s → 0.085 s for the notation widget).
    """
    if axis.get_scale() != "log":
        return
    axis.set_major_formatter(mticker.FuncFormatter(_decade))
    axis.set_minor_formatter(mticker.NullFormatter())
    if not minor:
        axis.set_minor_locator(mticker.NullLocator())


def plain_log_ticks(ax, x: bool = True, y: bool = True, minor: bool = True) -> None:
    """:func:`plain_log_axis` for the x and/or y axis of ``ax`` (log axes only)."""
    for axis, on in ((ax.xaxis, x), (ax.yaxis, y)):
        if on:
            plain_log_axis(axis, minor)
