"""lindiff.widgets: live and precomputed explorers built from one plotting function."""

import ipywidgets as w
import numpy as np
import pytest

from lindiff import widgets
from lindiff.plotting import new_figure, styled
from lindiff.plotting.notation import kl_1d_figure


@styled
def line_figure(slope=1.0, offset=0.0):
    if slope == 0:
        raise ValueError("slope must be nonzero")
    fig, (ax,) = new_figure()
    x = np.linspace(0, 1, 5)
    ax.plot(x, slope * x + offset)
    return fig


def stacks(widget):
    out = [widget] if isinstance(widget, w.Stack) else []
    for c in getattr(widget, "children", ()):
        out += stacks(c)
    return out


def leaves(widget):
    if isinstance(widget, w.HTML) and "lindiff-frame" in widget.value:
        return [widget]
    out = []
    for c in getattr(widget, "children", ()):
        out += leaves(c)
    return out


def test_static_explorer_has_one_distinct_frame_per_combination(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    box = widgets.explore(line_figure, {"slope": widgets.Choice([1.0, 2.0, 3.0], default=2.0),
                                        "offset": widgets.Choice([0.0, 0.5])})
    frames = leaves(box)
    assert len(frames) == 6
    assert len({f.value for f in frames}) == 6  # every combination draws a different figure
    sliders = [c for c in box.children[0].children if isinstance(c, w.SelectionSlider)]
    assert [s.description for s in sliders] == ["slope", "offset"]
    assert sliders[0].index == 1  # the default value
    # each Stack level starts at its slider's position
    top = box.children[2]
    assert isinstance(top, w.Stack) and top.selected_index == 1


def test_static_explorer_links_each_slider_to_its_stack_level(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    box = widgets.explore(line_figure, {"slope": widgets.Choice([1.0, 2.0]),
                                        "offset": widgets.Choice([0.0, 0.5, 1.0])})
    sliders = box.children[0].children
    top, inner = box.children[2], [s for s in stacks(box) if s is not box.children[2]]
    assert len(inner) == 2 and len(box.links) == 3
    for link in box.links:
        assert link.source[1] == "index" and link.target[1] == "selected_index"
    assert {id(l.target[0]) for l in box.links if l.source[0] is sliders[0]} == {id(top)}
    assert {id(l.target[0]) for l in box.links if l.source[0] is sliders[1]} == {id(s) for s in inner}


def test_static_explorer_shows_message_for_invalid_combination(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    box = widgets.explore(line_figure, {"slope": widgets.Choice([0.0, 1.0], default=1.0)})
    htmls = [c for c in box.children[2].children]
    assert "slope must be nonzero" in htmls[0].value
    assert "lindiff-frame" in htmls[1].value


def test_too_many_frames_is_refused(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    with pytest.raises(ValueError, match="frames"):
        widgets.explore(line_figure, {"slope": widgets.Choice(list(range(1, 10))),
                                      "offset": widgets.Choice(list(range(10)))})


def test_live_explorer_redraws_on_slider_change(monkeypatch):
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    calls = []

    def plot(**kw):
        calls.append(kw)
        return line_figure(**kw)

    box = widgets.explore(plot, {"slope": widgets.Choice([1.0, 2.0], live_values=[1.0, 1.5, 2.0, 0.0])},
                          fixed={"offset": 0.25})
    assert calls[-1] == {"offset": 0.25, "slope": 2.0}  # middle of live_values by default
    slider = box.children[0].children[0]
    slider.value = 1
    assert calls[-1]["slope"] == 1.5
    slider.value = 3  # slope 0 is rejected by the plot: no exception escapes
    assert calls[-1]["slope"] == 0.0


def test_bad_controls():
    with pytest.raises(ValueError, match="at least one"):
        widgets.explore(line_figure, {})
    with pytest.raises(TypeError, match="Choice"):
        widgets.explore(line_figure, {"slope": [1, 2]})
    with pytest.raises(ValueError, match="default"):
        widgets.Choice([1, 2], default=3)


def test_frames_are_small_and_decodable():
    from io import BytesIO

    from PIL import Image

    png = widgets.render_png(kl_1d_figure(0.5, 0.25))
    img = Image.open(BytesIO(png))
    assert img.size == (672, 256)
    assert len(png) < 40_000
    assert widgets.time_update(kl_1d_figure, {"shift": 0.5, "var_ratio": 0.25}, repeat=3) > 0


def test_single_valued_control_is_fixed_in_the_site_not_a_dead_slider(monkeypatch):
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    box = widgets.explore(line_figure, {"slope": widgets.Choice([2.0], live_values=[1.0, 2.0, 3.0]),
                                        "offset": widgets.Choice([0.0, 0.5])})
    sliders = box.children[0].children
    assert [s.description for s in sliders] == ["offset"]
    assert "slope = 2.0 here" in box.children[1].value
    assert len(leaves(box)) == 2 and len(box.links) == 1
