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

A live update must stay under 0.1 s (:func:`time_update`). Most of a redraw is
matplotlib drawing axes: tick marks, tick labels, grid lines, axis labels and
titles. A slider move usually changes only the curves, so the live widget
draws through a :class:`LiveRenderer`, which keeps the pixels of those static
parts and redraws only the data when the new figure's axes are the same
(limits, ticks and their labels, axis labels, titles). A value already shown is
not recomputed at all: its frame is kept (:func:`explore`).
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import statistics
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

__all__ = ["Choice", "explore", "static_mode", "render_png", "LiveRenderer", "measure_updates", "time_update",
           "time_registered", "MAX_FRAMES", "LIVE_FRAMES_KEPT"]

#: Environment variable that switches :func:`explore` to precomputed frames.
STATIC_ENV = "LINDIFF_STATIC_WIDGETS"

#: Upper bound on the number of frames of one explorable figure (site size).
MAX_FRAMES = 64

#: Frames a live widget keeps, so that moving a slider back costs nothing.
LIVE_FRAMES_KEPT = 128

# every explorer made in this kernel, with its fixed parameters and controls,
# so that the benchmarks can time its updates (see time_registered)
_REGISTRY: list[tuple[Callable, dict, dict]] = []


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

    With ``colors`` set, the image is reduced to a palette of that many colors
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

    The live widget draws through a :class:`LiveRenderer` (axes whose limits,
    ticks and labels did not change are not redrawn) and keeps the last
    :data:`LIVE_FRAMES_KEPT` frames by control values: moving a slider back to
    a value already shown displays the kept frame without calling ``plot``
    (which must therefore be pure, as the static frames already assume).
    """
    if not controls:
        raise ValueError("controls must name at least one parameter to explore")
    for name, c in controls.items():
        if not isinstance(c, Choice):
            raise TypeError(f"controls[{name!r}] must be a lindiff.widgets.Choice, got {type(c).__name__}")
    fixed = dict(fixed or {})
    _REGISTRY.append((plot, fixed, dict(controls)))
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
    from IPython.display import Image, display

    names = list(controls)
    sliders = [_slider(n, controls[n], live=True) for n in names]
    out = w.Output()
    renderer = LiveRenderer()
    # frames already shown, by control values: the plotting function is pure,
    # so a value seen before is displayed again without recomputing anything
    frames: OrderedDict[tuple, tuple[str, Any]] = OrderedDict()

    def frame(values: tuple):
        if values in frames:
            frames.move_to_end(values)
            return frames[values]
        kwargs = dict(fixed, **dict(zip(names, values)))
        try:
            result = ("png", renderer.render(plot(**kwargs)))
        except ValueError as exc:
            result = ("message", _message_html(f"This combination cannot be drawn: {exc}"))
        frames[values] = result
        if len(frames) > LIVE_FRAMES_KEPT:
            frames.popitem(last=False)
        return result

    def redraw(*_):
        values = tuple(controls[n].options(live=True)[s.value] for n, s in zip(names, sliders))
        kind, data = frame(values)
        with out:
            out.clear_output(wait=True)
            display(Image(data=data, format="png") if kind == "png" else w.HTML(data))

    for s in sliders:
        s.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox(sliders, layout=w.Layout(flex_flow="row wrap")), out])
    box.add_class("lindiff-explorer")
    box.renderer, box.frames = renderer, frames  # kept for inspection (tests, benchmarks)
    return box


# --------------------------------------------------------------------------- live drawing
@contextlib.contextmanager
def _hidden(artists):
    """Hide ``artists`` for the duration of the block (visibility restored after)."""
    shown = [a for a in artists if a.get_visible()]
    for a in shown:
        a.set_visible(False)
    try:
        yield
    finally:
        for a in shown:
            a.set_visible(True)


def _text_signature(t):
    return (t.get_text(), t.get_visible(), str(t.get_color()), hash(t.get_fontproperties()), tuple(t.get_position()),
            t.get_ha(), t.get_va(), t.get_rotation())


def _axis_signature(axis):
    if not axis.get_visible():
        return None
    parts = [axis.get_scale(), axis.get_inverted(), tuple(axis.get_view_interval()), _text_signature(axis.label),
             axis.get_label_position(), axis.get_ticks_position(),
             # tick styles (direction, sizes, colors, grid on/off and its style)
             repr(sorted(getattr(axis, "_major_tick_kw", {}).items())),
             repr(sorted(getattr(axis, "_minor_tick_kw", {}).items()))]
    for ticker in (axis.major, axis.minor):
        locs = [float(x) for x in ticker.locator()]
        parts += [tuple(locs), tuple(ticker.formatter.format_ticks(locs)), ticker.formatter.get_offset()]
    return tuple(parts)


def _static_parts(fig):
    """Split a figure into the parts a live update may reuse, with a signature of each.

    Returns ``(signature, axes)`` where ``axes`` lists, per axes, a pair
    ``(signature, static artists)``. The static artists of an axes are its
    background and the artists of matplotlib's drawing order (children sorted
    by ``zorder``) that come before its first data artist: usually the axis
    objects (ticks, tick labels, grid lines, axis labels) of axes that show
    only lines, whose ``zorder`` (1.5) is below that of lines (2). Everything
    else (data, spines after data, titles, legends, texts) is redrawn at each
    update in the same order as a full draw, so the image equals a full draw
    pixel for pixel. A signature describes everything the static artists draw.
    The result is ``None`` when nothing may be reused: a layout engine moves
    the axes at draw time, or a title's position depends on the axes (a y
    offset text such as ``1e-5``, or ticks or a label above the axes).

    The signature covers what the book's plotting functions vary with their
    parameters: positions, limits, scales, tick positions and labels, axis
    labels, offset texts and ``tick_params`` styles. Styles set directly on
    individual tick-label texts are not in it, so a plotting function must not
    make them depend on a slider (none does: ``tests/test_widgets.py``
    compares the live and full drawings of every chapter's widget).
    """
    if fig.get_layout_engine() is not None:
        return None
    fig_sig = (tuple(fig.bbox.bounds), fig.dpi, str(fig.patch.get_facecolor()), fig.patch.get_visible(),
               len(fig.axes))
    parts = []
    for ax in fig.axes:
        axes_objects = list(getattr(ax, "_axis_map", {"x": ax.xaxis, "y": ax.yaxis}).values())
        reusable = {id(a) for a in axes_objects + list(ax.spines.values())}
        # the drawing order of Axes.draw: children by zorder (stable sort), patch first
        order = [a for a in ax.get_children() if a is not ax.patch and a.get_visible() and not a.get_animated()]
        if not (ax.axison and ax.get_frame_on()):
            order = [a for a in order if not any(a is sp for sp in ax.spines.values())]
        if not ax.axison:
            order = [a for a in order if not any(a is x for x in axes_objects)]
        order.sort(key=lambda a: a.zorder)
        static = [ax.patch] if ax.axison and ax.get_frame_on() else []
        for a in order:
            if id(a) not in reusable:
                break
            static.append(a)
        axis_sigs = tuple(_axis_signature(x) for x in axes_objects)  # runs the formatters (offset texts)
        titled = any(t.get_text() for t in (ax.title, getattr(ax, "_left_title", ax.title),
                                            getattr(ax, "_right_title", ax.title)))
        if titled and (ax.yaxis.major.formatter.get_offset() or ax.xaxis.get_label_position() == "top"
                       or ax.xaxis.get_ticks_position() in ("top", "unknown")):
            return None
        sig = (type(ax).__name__, tuple(ax.get_position().bounds), ax.axison, ax.get_frame_on(),
               str(ax.patch.get_facecolor()), ax.get_xlim(), ax.get_ylim(), axis_sigs, len(static),
               tuple((k, sp.get_visible()) for k, sp in ax.spines.items()))
        parts.append((sig, static))
    return fig_sig, parts


def _extent(artists, renderer, fig, margin: int = 3):
    """Pixel rectangle ``(row0, row1, col0, col1)`` of the image that ``artists`` cover."""
    from matplotlib.transforms import Bbox

    boxes = []
    for a in artists:
        bb = a.get_tightbbox(renderer) if hasattr(a, "get_tightbbox") else a.get_window_extent(renderer)
        if bb is not None and bb.width >= 0 and bb.height >= 0:
            boxes.append(bb)
    h, w = int(round(fig.bbox.height)), int(round(fig.bbox.width))
    if not boxes:
        return (0, 0, 0, 0)
    bb = Bbox.union(boxes)
    col0, col1 = max(0, int(bb.x0) - margin), min(w, int(bb.x1) + 1 + margin)
    row0, row1 = max(0, h - int(bb.y1) - 1 - margin), min(h, h - int(bb.y0) + margin)
    return (row0, row1, col0, col1)


def _disjoint(kept, drawn) -> bool:
    """Whether no rectangle of ``kept`` meets one of ``drawn``.

    Kept rectangles may overlap each other (twin axes share their area): all
    of them are copied from the same kept image, which holds both.
    """
    kept = [r for r in kept if r[0] < r[1] and r[2] < r[3]]
    drawn = [r for r in drawn if r[0] < r[1] and r[2] < r[3]]
    for a in kept:
        for b in drawn:
            if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]:
                return False
    return True


def _encode_png(renderer) -> bytes:
    from PIL import Image

    w, h = int(renderer.width), int(renderer.height)
    img = Image.frombuffer("RGBA", (w, h), renderer.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    # fast zlib level: the frame goes to a local front end, not over a network
    img.save(buf, format="png", compress_level=1)
    return buf.getvalue()


class LiveRenderer:
    """Draws the successive figures of one live widget, reusing unchanged axes.

    Each figure is drawn in two passes: its static parts (see
    :func:`_static_parts`: axes backgrounds, ticks, tick labels, grid lines,
    axis labels), whose pixels are kept, then the rest on top. When the next
    figure has an axes whose static parts have the same signature (same
    position, limits, scales, tick positions and labels, axis labels and tick
    styles), the kept pixels of that axes are copied instead of drawn; only
    the changed axes are drawn, then the data, spines, titles and legends of
    all. Either way the image equals a full draw (``fig.savefig`` in the
    book's style) pixel for pixel (tested). Axes whose pixels would overlap
    are never mixed: then every axes is drawn.

    The plotting function stays pure and unaware of this: it builds a new
    figure for every call, exactly as for the static frames of the site.

    Attributes
    ----------
    full_draws, partial_draws, reused_draws : int
        How many figures were drawn in full, with some axes copied, and with
        every axes copied.
    """

    def __init__(self):
        self._fig_sig = None
        self._prev = None        # (figure, its parts, its renderer) whose static pixels are kept
        self._extents = {}       # pixel rectangles of the kept axes, computed when first needed
        self._background = None  # the kept pixels (rows x columns x RGBA)
        self.full_draws = self.partial_draws = self.reused_draws = 0

    def _extent_of(self, i):
        if i not in self._extents:
            fig, parts, renderer = self._prev
            self._extents[i] = _extent(parts[i][1], renderer, fig)
        return self._extents[i]

    def render(self, fig) -> bytes:
        """PNG bytes of ``fig`` (at its own dpi), as a live update displays them."""
        import matplotlib as mpl
        import numpy as np
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from .plotting import STYLE

        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        with mpl.rc_context(STYLE):  # as BookFigure._repr_png_ draws
            split = _static_parts(fig)
            renderer = canvas.get_renderer()
            if split is None:
                canvas.draw()
                self._fig_sig, self._prev, self._extents, self._background = None, None, {}, None
                self.full_draws += 1
                return _encode_png(renderer)
            fig_sig, parts = split
            all_static = [a for _, static in parts for a in static]
            old_parts = self._prev[1] if self._prev is not None and fig_sig == self._fig_sig else None
            keep = [old_parts is not None and sig == old[0] for (sig, _), old in zip(parts, old_parts or [])] \
                or [False] * len(parts)
            pixels = np.asarray(renderer.buffer_rgba())
            if parts and all(keep):
                pixels[...] = self._background
                self.reused_draws += 1
                # the kept pixels are those of the new figure's static parts too (same signatures)
                extents = self._extents
            else:
                redraw = [i for i, k in enumerate(keep) if not k]
                self._draw_static(fig, canvas, renderer, parts, redraw)
                extents = {}
                if any(keep):
                    extents = {i: self._extent_of(i) for i, k in enumerate(keep) if k}
                    new = {i: _extent(parts[i][1], renderer, fig) for i in redraw}
                    if _disjoint(list(extents.values()), list(new.values())):
                        for i, (r0, r1, c0, c1) in extents.items():
                            pixels[r0:r1, c0:c1] = self._background[r0:r1, c0:c1]
                        extents.update(new)
                        self.partial_draws += 1
                    else:  # overlapping axes: draw the static parts of every axes
                        self._draw_static(fig, canvas, renderer, parts, range(len(parts)))
                        extents = {}
                        self.full_draws += 1
                else:
                    self.full_draws += 1
                self._background = pixels.copy()
            self._fig_sig, self._prev, self._extents = fig_sig, (fig, parts, renderer), dict(extents)
            with _hidden(all_static + [fig.patch]):
                fig.draw(renderer)
        return _encode_png(renderer)

    @staticmethod
    def _draw_static(fig, canvas, renderer, parts, which):
        """Draw the figure background and the static parts of the axes ``which`` only."""
        which = set(which)
        shown_ids = {id(a) for i in which for a in parts[i][1]}
        others = [ax.patch for i, ax in enumerate(fig.axes) if i not in which]
        # the titles are hidden here: placing them (which measures every tick
        # label) is left to the pass that draws them
        auto = [(ax, ax._autotitlepos) for ax in fig.axes if hasattr(ax, "_autotitlepos")]
        try:
            for ax, _ in auto:
                ax._autotitlepos = False
            with _hidden([a for a in _all_drawn(fig) if id(a) not in shown_ids] + others):
                canvas.draw()
        finally:
            for ax, value in auto:
                ax._autotitlepos = value


def _all_drawn(fig):
    """The artists a figure draws on top of its patch: figure children and axes children."""
    out = [a for a in fig.get_children() if a is not fig.patch and a not in fig.axes]
    for ax in fig.axes:
        out += [a for a in ax.get_children() if a is not ax.patch]
    return out


# --------------------------------------------------------------------------- timing
#: At most this many slider moves per control are timed (spread over its live values).
MOVES_PER_CONTROL = 10


def _moves(controls: dict, fixed: dict) -> tuple[dict, list[dict]]:
    """The default live parameters, and slider moves from them to other live values of each control.

    Every control is moved alone, to each of its other live values in order,
    or to :data:`MOVES_PER_CONTROL` of them evenly spread when it has more.
    """
    start = dict(fixed, **{n: c.initial(live=True) for n, c in controls.items()})
    moves = []
    for n, c in controls.items():
        others = [v for v in c.options(live=True) if v != start[n]]
        if len(others) > MOVES_PER_CONTROL:
            step = (len(others) - 1) / (MOVES_PER_CONTROL - 1)
            others = [others[round(i * step)] for i in range(MOVES_PER_CONTROL)]
        moves += [dict(start, **{n: v}) for v in others]
    return start, moves


def _full_png(fig) -> bytes:
    """The PNG of a full redraw, as the live widget displayed figures before :class:`LiveRenderer`."""
    return fig._repr_png_() if hasattr(fig, "_repr_png_") else render_png(fig, colors=None)


def measure_updates(plot: Callable, start: dict, moves: Sequence[dict] = (), repeat: int = 7,
                    full_redraw: bool = False) -> dict:
    """Wall and CPU time of the live updates of an explorer, as a slider move costs them.

    The figure at ``start`` is drawn first (the widget's initial display, not
    timed). Each update then calls ``plot`` and renders the figure through one
    :class:`LiveRenderer`, as the live widget does, but without the kept frames
    of :func:`explore` (every update is computed and drawn). ``moves`` are the
    parameters of the successive updates; without them the figure at ``start``
    is updated ``repeat`` times. Values the plotting function rejects
    (``ValueError``) are skipped.

    With ``full_redraw``, each update is timed twice more, once the plotting
    function's own caches are warm from the first call: through a second
    :class:`LiveRenderer` that follows the same moves, and the obvious way,
    the figure drawn in full and encoded (``fig.savefig``), as the live widget
    did before it kept unchanged axes. Both warm timings pay the same
    computation, so they compare the drawing alone.

    Returns
    -------
    dict
        ``wall_s`` and ``cpu_s`` (medians over the updates, seconds; CPU time
        is :func:`time.process_time`, which other processes on a busy machine
        do not inflate), ``updates`` (how many), ``reused`` and ``partial``
        (how many kept the pixels of every axes, of some axes); with
        ``full_redraw`` also ``warm_wall_s``, ``warm_cpu_s``,
        ``full_redraw_wall_s`` and ``full_redraw_cpu_s``.
    """
    renderer, warm_renderer = LiveRenderer(), LiveRenderer()
    renderer.render(plot(**start))
    if full_redraw:
        warm_renderer.render(plot(**start))
    times = {"": [], "warm_": [], "full_redraw_": []}

    def timed(key, update):
        w0, c0 = time.perf_counter(), time.process_time()
        update()
        times[key].append((time.perf_counter() - w0, time.process_time() - c0))

    for kwargs in (list(moves) or [start] * repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            fig = plot(**kwargs)  # the first call at these values: the plotting function's caches are cold
        except ValueError:
            continue
        renderer.render(fig)
        times[""].append((time.perf_counter() - w0, time.process_time() - c0))
        if full_redraw:
            timed("warm_", lambda: warm_renderer.render(plot(**kwargs)))
            timed("full_redraw_", lambda: _full_png(plot(**kwargs)))
    if not times[""]:
        raise ValueError("measure_updates: the plotting function rejected every update")
    out = {"updates": len(times[""]), "reused": renderer.reused_draws, "partial": renderer.partial_draws}
    for key, pairs in times.items():
        if pairs:
            out[f"{key}wall_s"] = statistics.median(w for w, _ in pairs)
            out[f"{key}cpu_s"] = statistics.median(c for _, c in pairs)
    return out


def time_update(plot: Callable, kwargs: dict, repeat: int = 7, clock: str = "wall") -> float:
    """Median time (s) of one live widget update at ``kwargs``: compute, draw and encode.

    ``clock="cpu"`` gives the process CPU time instead of the wall time (use
    it on a shared machine). See :func:`measure_updates`; the benchmarks and
    the appendix "Reproducing this book" report both.
    """
    if clock not in ("wall", "cpu"):
        raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    return measure_updates(plot, kwargs, repeat=repeat)[f"{clock}_s"]


def time_registered(repeat: int = 7, full_redraw: bool = False) -> list[dict]:
    """Median update time of every explorer created so far in this kernel.

    Each explorer starts at its default (live) parameters; the updates move
    one slider at a time to each of its other live values (every one a new
    value, so nothing is served from kept frames). Returns, in creation order,
    ``{"plot": name, "median_s": wall seconds, "median_cpu_s": CPU seconds,
    "updates": n, "reused": k, "partial": j}`` (see :func:`measure_updates`),
    with ``full_redraw`` also ``"warm_s"``, ``"warm_cpu_s"``, ``"full_redraw_s"`` and
    ``"full_redraw_cpu_s"``.
    Used by ``lindiff.bench``; ``repeat`` is the number of updates of an
    explorer with a single live value.
    """
    rows = []
    for plot, fixed, controls in _REGISTRY:
        start, moves = _moves(controls, fixed)
        m = measure_updates(plot, start, moves, repeat, full_redraw)
        row = {"plot": getattr(plot, "__name__", repr(plot)), "median_s": m["wall_s"], "median_cpu_s": m["cpu_s"],
               "updates": m["updates"], "reused": m["reused"], "partial": m["partial"]}
        if full_redraw:
            row.update(warm_s=m["warm_wall_s"], warm_cpu_s=m["warm_cpu_s"],
                       full_redraw_s=m["full_redraw_wall_s"], full_redraw_cpu_s=m["full_redraw_cpu_s"])
        rows.append(row)
    return rows
