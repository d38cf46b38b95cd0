"""Explorable figures: one pure plotting function, two front ends.

:func:`explore` turns a plotting function of :mod:`lindiff.plotting` into

* a **live widget** in a running kernel (``jupyter lab``, nbval): ipywidgets
  sliders whose callback redraws the figure; and
* a **precomputed explorer** in the published site, where no kernel runs:
  the figure is rendered at build time for every combination of the slider
  values, the frames are nested in ipywidgets ``Stack`` containers, and each
  slider is connected to its ``Stack`` level with ``jslink``. Linked widgets
  update in the browser by the ipywidgets HTML manager alone, so moving a
  slider swaps the frame with no kernel and no request to another host.

The site build selects the second form by setting the environment variable
``LINDIFF_STATIC_WIDGETS=1`` (the ``Makefile`` does this). Both forms call the
same plotting function with the same values, so the static frames cannot
disagree with the live widget.
"""

from __future__ import annotations

import base64
import io
import itertools
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = ["Choice", "explore", "static_mode", "render_png", "time_update", "time_registered", "MAX_FRAMES"]

#: Environment variable that switches :func:`explore` to precomputed frames.
STATIC_ENV = "LINDIFF_STATIC_WIDGETS"

#: Upper bound on the number of frames of one explorable figure (site size).
MAX_FRAMES = 64

# every explorer made in this kernel, with its default (live) parameters, so
# that the benchmarks can time one update of each (see time_registered)
_REGISTRY: list[tuple[Callable, dict]] = []


def static_mode() -> bool:
    """True while the site is being built (``LINDIFF_STATIC_WIDGETS=1``)."""
    return os.environ.get(STATIC_ENV, "") not in ("", "0")


@dataclass(frozen=True)
class Choice:
    """A slider over a finite list of parameter values.

    Parameters
    ----------
    values : sequence
        Values offered in the published site (one frame per combination, keep
        it short). Every value must be valid for the plotting function.
    default : optional
        Initial value; must be one of ``values`` (or of ``live_values``).
        Defaults to the middle of ``values``.
    label : str, optional
        Text shown next to the slider; defaults to the parameter name.
    live_values : sequence, optional
        A finer list for the live widget; defaults to ``values``.
    fmt : str
        Format for the value labels, e.g. ``"{:.2g}"``.
    """

    values: Sequence[Any]
    default: Any = None
    label: str | None = None
    live_values: Sequence[Any] | None = None
    fmt: str = "{}"

    def __post_init__(self):
        if len(self.values) < 1:
            raise ValueError("Choice.values must contain at least one value")
        options = list(self.live_values) if self.live_values is not None else list(self.values)
        if self.default is not None and self.default not in options and self.default not in self.values:
            raise ValueError(f"Choice.default {self.default!r} must be one of the offered values")

    def initial(self, live: bool):
        opts = self.options(live)
        if self.default is not None and self.default in opts:
            return self.default
        if self.default is not None:
            # default offered only in the other list: nearest by position
            return min(opts, key=lambda v: abs(v - self.default)) if _numeric(opts) else opts[0]
        return opts[len(opts) // 2]

    def options(self, live: bool) -> list:
        if live and self.live_values is not None:
            return list(self.live_values)
        return list(self.values)


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def render_png(fig, dpi: int = 80, colors: int | None = 128) -> bytes:
    """Render a matplotlib figure to PNG bytes (the frame format of the site).

    With ``colors`` set, the image is reduced to a palette of that many colours
    (Pillow, already a dependency of matplotlib): line plots lose nothing visible
    and the frames shrink about threefold, which keeps pages light.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    if colors is None:
        return buf.getvalue()
    from PIL import Image

    buf.seek(0)
    img = Image.open(buf).convert("RGB").quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _slider(name: str, choice: Choice, live: bool):
    import ipywidgets as w

    opts = choice.options(live)
    labels = [choice.fmt.format(v) for v in opts]
    return w.SelectionSlider(
        options=list(zip(labels, range(len(opts)))),
        value=opts.index(choice.initial(live)),
        description=choice.label or name,
        continuous_update=not live,
        style={"description_width": "initial"},
        layout=w.Layout(width="320px"),
    )


def _message_html(text: str) -> str:
    return (
        '<div style="padding:1em;border:1px solid #d1495b;color:#7a1f2b;max-width:40em">'
        f"{text}</div>"
    )


def explore(plot: Callable, controls: dict[str, Choice], fixed: dict | None = None, dpi: int = 80):
    """An explorable figure: ``plot(**fixed, **{name: value})`` under sliders.

    Parameters
    ----------
    plot : callable
        A pure plotting function returning a matplotlib ``Figure``.
    controls : dict of str to Choice
        One slider per keyword argument of ``plot``.
    fixed : dict, optional
        Keyword arguments passed unchanged.
    dpi : int
        Resolution of the frames in the published site.

    Returns
    -------
    ipywidgets.VBox
        Sliders above the figure. Display it (last expression of a cell).

    Notes
    -----
    A combination the plotting function rejects with ``ValueError`` shows the
    message instead of a traceback, in both forms.
    """
    if not controls:
        raise ValueError("controls must name at least one parameter to explore")
    for name, c in controls.items():
        if not isinstance(c, Choice):
            raise TypeError(f"controls[{name!r}] must be a lindiff.widgets.Choice, got {type(c).__name__}")
    fixed = dict(fixed or {})
    _REGISTRY.append((plot, dict(fixed, **{n: c.initial(live=True) for n, c in controls.items()})))
    if static_mode():
        return _static_explorer(plot, controls, fixed, dpi)
    return _live_explorer(plot, controls, fixed)


def _draw_html(plot, kwargs, dpi) -> str:
    try:
        fig = plot(**kwargs)
    except ValueError as exc:
        return _message_html(f"This combination cannot be drawn: {exc}")
    data = base64.b64encode(render_png(fig, dpi)).decode("ascii")
    return f'<img class="lindiff-frame" alt="figure frame" src="data:image/png;base64,{data}"/>'


def _static_explorer(plot, controls, fixed, dpi):
    import ipywidgets as w

    # a control with a single site value is not a slider here: it is fixed
    # (it may still offer several live values in a kernel)
    pinned = {n: c.options(live=False)[0] for n, c in controls.items() if len(c.options(live=False)) == 1}
    fixed = dict(fixed, **pinned)
    names = [n for n in controls if n not in pinned]
    grids = [controls[n].options(live=False) for n in names]
    n_frames = 1
    for g in grids:
        n_frames *= len(g)
    if n_frames > MAX_FRAMES:
        raise ValueError(
            f"explore would render {n_frames} frames; at most {MAX_FRAMES} keep the site light: "
            "offer fewer values per Choice"
        )
    sliders = [_slider(n, controls[n], live=False) for n in names]
    links = []

    def build(level: int, prefix: tuple):
        if level == len(names):
            kwargs = dict(fixed, **dict(zip(names, prefix)))
            return w.HTML(_draw_html(plot, kwargs, dpi))
        children = [build(level + 1, prefix + (v,)) for v in grids[level]]
        stack = w.Stack(children=children, selected_index=sliders[level].value)
        links.append(w.jslink((sliders[level], "index"), (stack, "selected_index")))
        return stack

    figure = build(0, ())
    pinned_text = "".join(f" {controls[n].label or n} = {controls[n].fmt.format(v)} here." for n, v in pinned.items())
    note = w.HTML(
        '<span class="lindiff-explore-note" style="font-size:85%;color:#555">'
        f"Precomputed frames: move the sliders to explore.{pinned_text} "
        "Run the notebook for the live widget and more values.</span>"
    )
    box = w.VBox([w.HBox(sliders, layout=w.Layout(flex_flow="row wrap")), note, figure])
    box.add_class("lindiff-explorer")
    box.links = links  # the browser-side connections, kept for inspection
    return box


def _live_explorer(plot, controls, fixed):
    import ipywidgets as w
    from IPython.display import display

    names = list(controls)
    sliders = [_slider(n, controls[n], live=True) for n in names]
    out = w.Output()

    def redraw(*_):
        kwargs = dict(fixed)
        for n, s in zip(names, sliders):
            kwargs[n] = controls[n].options(live=True)[s.value]
        try:
            fig = plot(**kwargs)
        except ValueError as exc:
            with out:
                out.clear_output(wait=True)
                display(w.HTML(_message_html(f"This combination cannot be drawn: {exc}")))
            return
        with out:
            out.clear_output(wait=True)
            display(fig)

    for s in sliders:
        s.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox(sliders, layout=w.Layout(flex_flow="row wrap")), out])
    box.add_class("lindiff-explorer")
    return box


def time_update(plot: Callable, kwargs: dict, repeat: int = 7) -> float:
    """Median wall time (s) of one live widget update: draw the figure and encode it.

    The encoding is what the live widget displays (``BookFigure._repr_png_``,
    or a plain PNG for other figures); the time is reported by the benchmarks
    and in the book's performance page.
    """
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fig = plot(**kwargs)
        fig._repr_png_() if hasattr(fig, "_repr_png_") else render_png(fig, colors=None)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def time_registered(repeat: int = 7) -> list[dict]:
    """Median update time of every explorer created so far in this kernel.

    Returns a list of ``{"plot": name, "median_s": seconds}`` in creation
    order, each timed by :func:`time_update` at the explorer's default
    (live) parameters. Used by ``lindiff.bench``.
    """
    return [{"plot": getattr(plot, "__name__", repr(plot)), "median_s": time_update(plot, kwargs, repeat)}
            for plot, kwargs in _REGISTRY]
