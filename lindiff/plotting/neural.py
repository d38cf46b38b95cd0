"""Figures of the chapter "Trained neural denoisers against the linear theory" (``book/neural_denoisers.md``).

Every function takes results that the chapter computed or loaded from the
results file of ``python -m lindiff.neural`` (a list of record dicts, see
:func:`lindiff.neural.run_experiments`); none of them trains a network. The
explorer (:func:`samples_explorer`) therefore redraws in a few tens of
milliseconds.
"""

from __future__ import annotations

import math

import numpy as np

from . import STYLE, new_figure, plain_log_ticks, styled

__all__ = [
    "select",
    "curve",
    "linear_check_figure",
    "measures_figure",
    "directions_figure",
    "capacity_figure",
    "samples_explorer",
]

_COLORS = STYLE["axes.prop_cycle"].by_key()["color"]
COLOR = {"linear": _COLORS[0], "empirical": _COLORS[1], "mlp": _COLORS[2], "epochs": _COLORS[3],
         "target": "black", "held-out": _COLORS[5]}
LABEL = {"linear": "linear DDPM (exact)", "empirical": "exact empirical (copier)", "mlp": "MLP",
         "epochs": "MLP, author's epochs"}
MEASURES = {"copy_fraction": "copy fraction", "nn_ratio": "NN distance / held-out NN distance",
            "kl_ts": "Gaussian-fit KL(target ‖ fit) / d"}


def select(records, **where) -> list:
    """The records whose fields equal every ``where`` value (``None`` values are ignored)."""
    return [r for r in records if all(v is None or r.get(k) == v for k, v in where.items())]


def _value(r, measure):
    if measure == "nn_ratio":
        return r["nn_median"] / r["held_out_nn_median"]
    return r[measure]


def curve(records, measure: str, **where):
    """``(N values, mean, standard deviation over seeds)`` of ``measure`` for the matching records.

    ``measure`` is a record key or ``"nn_ratio"`` (median nearest-neighbor
    distance of the samples over that of held-out points).
    """
    rows = select(records, **where)
    ns = sorted({r["N"] for r in rows})
    vals = [[_value(r, measure) for r in rows if r["N"] == n] for n in ns]
    mean = np.array([np.mean(v) for v in vals])
    sd = np.array([np.std(v) for v in vals])
    return np.array(ns), mean, sd


@styled
def linear_check_figure(exact_var, trained_var, stat_exact, stat_estimates: dict):
    """Left: sampled variance per eigen-direction, trained linear network against the closed form.

    Right: the sample estimate of the memorization statistic against its exact
    value on the linear DDPM, for several sample sizes (mean ± sd over repeated
    sample sets), ``stat_estimates = {n: array of estimates}``.
    """
    fig, (ax0, ax1) = new_figure(2, width=3.9, height=3.0, left=0.8)
    lo, hi = min(np.min(exact_var), np.min(trained_var)), max(np.max(exact_var), np.max(trained_var))
    ax0.plot([lo, hi], [lo, hi], color="gray", lw=1)
    ax0.plot(exact_var, trained_var, "o", color=COLOR["linear"], ms=5)
    ax0.set_xlabel("closed form $\\tilde\\lambda_\\nu$")
    ax0.set_ylabel("trained network, sample variance")
    ax0.set_title("linear ε-predictor trained by Adam", y=1.0)
    ns = sorted(stat_estimates)
    m = [np.mean(stat_estimates[n]) for n in ns]
    s = [np.std(stat_estimates[n]) for n in ns]
    ax1.errorbar(ns, m, yerr=s, marker="o", color=COLOR["mlp"], capsize=3, label="sample estimate")
    ax1.axhline(stat_exact, color=COLOR["linear"], ls="--", label="exact (closed form)")
    ax1.set_xscale("log")
    plain_log_ticks(ax1, y=False)
    ax1.set_xlabel("samples $n$")
    ax1.set_ylabel("memorization statistic $\\Gamma$")
    ax1.set_title("linear DDPM, d = 64", y=1.0)
    ax1.legend(loc="lower right")
    return fig


def _transition_axes(ax, d_marker=True):
    ax.set_xscale("log")
    ax.set_xlabel("$N/d$")
    if d_marker:
        ax.axvline(1.0, color="gray", lw=0.8)
    plain_log_ticks(ax, y=False)


@styled
def measures_figure(records, d: int, data: str = "gaussian", budgets=(2000, 8000), live=None, width: int = 128):
    """Three measures against ``N/d`` for the three models and both protocols.

    ``records`` come from the results file; ``live`` (optional) are records of
    the chapter's own run, drawn as open black circles on top. MLP curves:
    the fixed-steps protocol at each of ``budgets`` (darker = longer), and
    the author's fixed-epochs protocol.
    """
    fig, axes = new_figure(3, width=3.3, height=2.9, left=0.7, wspace=0.75)
    shades = np.linspace(0.45, 1.0, len(budgets))
    for ax, measure in zip(axes, MEASURES):
        series = [("linear", dict(model="linear"), COLOR["linear"], "-", LABEL["linear"]),
                  ("empirical", dict(model="empirical"), COLOR["empirical"], "-", LABEL["empirical"])]
        for steps, shade in zip(budgets, shades):
            color = tuple(shade * np.array(_rgb(COLOR["mlp"])) + (1 - shade) * np.ones(3))
            series.append(("mlp", dict(model="mlp", protocol="steps", steps=steps, width=width), color, "-",
                           f"MLP, {steps} steps"))
        series.append(("epochs", dict(model="mlp", protocol="epochs"), COLOR["epochs"], "--", LABEL["epochs"]))
        for _, where, color, ls, label in series:
            ns, m, sd = curve(records, measure, data=data, **where)
            if ns.size == 0:
                continue
            ax.errorbar(ns / d, m, yerr=sd, color=color, ls=ls, marker="o", ms=3, capsize=2, label=label)
        if live:
            for r in live:
                if r["data"] == data:
                    ax.plot(r["N"] / d, _value(r, measure), "o", mfc="none", mec="black", ms=8, mew=1.2)
        _transition_axes(ax)
        ax.set_title(MEASURES[measure], y=1.0)
        if measure in ("kl_ts", "nn_ratio"):
            ax.set_yscale("log")
            plain_log_ticks(ax, x=False)
        if measure == "nn_ratio":
            ax.axhline(1.0, color=COLOR["held-out"], lw=0.8, ls=":")
    axes[0].legend(loc="center right", fontsize=7)
    return fig


def _rgb(color):
    from matplotlib.colors import to_rgb

    return to_rgb(color)


@styled
def directions_figure(rows, d: int, steps: int = 8000, live=None):
    """Sampled variance along each eigen-direction of power-law data (``k = 1``), one panel per ``N``.

    ``rows``: the ``direction_variances`` entries of the results file (mean
    over seeds is drawn); ``live``: optional ``{N: variances}`` of the
    chapter's run, drawn as open circles.
    """
    ns = sorted({r["N"] for r in rows})
    fig, axes = new_figure(len(ns), width=3.8, height=3.0, left=0.75)
    nu = np.arange(1, d + 1)
    for ax, n in zip(axes, ns):
        sub = [r for r in rows if r["N"] == n]
        mean = lambda key: np.mean([r[key] for r in sub], axis=0)
        ax.loglog(nu, mean("target"), color=COLOR["target"], lw=1.2, label=r"target $\lambda_\nu$")
        ax.loglog(nu, mean("linear_exact"), color=COLOR["linear"], label="linear DDPM (exact)")
        ax.loglog(nu, mean(f"mlp_{steps}"), color=COLOR["mlp"], marker=".", ms=4, ls="none",
                  label=f"MLP, {steps} steps")
        ax.loglog(nu, mean("empirical"), color=COLOR["empirical"], lw=1, ls="--", label="exact empirical")
        if live and n in live:
            ax.loglog(nu, live[n], "o", mfc="none", mec="black", ms=4, mew=0.8, label="this run")
        if n <= d:
            ax.axvline(n - 1, color="gray", lw=0.8)   # beyond: directions the training set misses
        plain_log_ticks(ax, minor=False)
        ax.set_xlabel(r"eigen-direction $\nu$")
        ax.set_ylabel(r"sampled variance $\tilde\lambda_\nu$")
        ax.set_title(f"N = {n} (N/d = {n / d:g})", y=1.0)
    axes[0].legend(loc="lower left", fontsize=7)
    return fig


@styled
def capacity_figure(records, capacity_n, widths, checkpoints, d: int):
    """Copy fraction against optimizer steps: left for several ``N`` (width 128), right for several widths."""
    fig, (ax0, ax1) = new_figure(2, width=3.9, height=3.0, left=0.75)
    shades = _COLORS
    for i, n in enumerate(capacity_n):
        rows = select(records, data="gaussian", model="mlp", protocol="steps", N=n, width=128)
        steps = sorted({r["steps"] for r in rows})
        m = [np.mean([r["copy_fraction"] for r in rows if r["steps"] == s]) for s in steps]
        ax0.plot(steps, m, marker="o", ms=4, color=shades[i % len(shades)], label=f"N = {n} (N/d = {n / d:g})")
    ax0.set_title("width 128, mean over seeds", y=1.0)
    for i, n in enumerate(capacity_n):
        for j, w in enumerate(sorted(set(widths) | {128})):
            rows = select(records, data="gaussian", model="mlp", protocol="steps", N=n, width=w, seed=0,
                          steps=max(checkpoints))
            if rows:
                ax1.plot(w, rows[0]["copy_fraction"], marker="os^"[i % 3], ms=6, color=shades[i % len(shades)],
                         ls="none", label=f"N = {n}" if j == 0 else None)
    for ax in (ax0, ax1):
        ax.set_xscale("log")
        plain_log_ticks(ax, y=False, minor=False)
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel("copy fraction")
    ax0.set_xticks(list(checkpoints), [str(c) for c in checkpoints])
    all_widths = sorted(set(widths) | {128})
    ax1.set_xticks(all_widths, [str(w) for w in all_widths])
    ax0.set_xlabel("optimizer steps")
    ax1.set_xlabel("width")
    ax1.set_title(f"after {max(checkpoints)} steps, seed 0", y=1.0)
    ax0.legend(loc="upper left", fontsize=7)
    ax1.legend(loc="upper left", fontsize=7)
    return fig


def _mosaic(rows, size: int = 8, pad: int = 1):
    """Rows of flattened ``size × size`` images (a list of arrays of shape (k, size²)) tiled into one image."""
    ncols = max(len(r) for r in rows)
    step = size + pad
    out = np.full((len(rows) * step + pad, ncols * step + pad), np.nan)
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            out[pad + i * step: pad + i * step + size, pad + j * step: pad + j * step + size] = img.reshape(size, size)
    return out


@styled
def samples_explorer(frames: dict, training_sets: dict, records, d: int, data: str = "patches", N: int = 64,
                     steps: int = 2000, to_image=None):
    """The chapter's explorable figure, drawn from precomputed results (no training).

    Left: samples of the MLP trained on ``N`` points of ``data`` for ``steps``
    steps (top row), each above its nearest training point (bottom row).
    Right: the copy fraction against ``N/d`` for the three models, with the
    MLP at this ``steps`` and the current ``N`` marked.

    Parameters
    ----------
    frames : dict
        ``{(data, N, steps): (samples, nearest indices)}``.
    training_sets : dict
        ``{(data, N): X}``, the training sets of seed 0.
    records : list of dict
        The results file's records.
    to_image : dict, optional
        ``{data: callable}`` mapping points to pixel intensities in ``[0, 1]``
        (for patches, :meth:`lindiff.data.PatchPool.to_intensity`); default for
        any data: the affine map of ``[-3, 3]`` onto ``[0, 1]``.
    """
    key = (data, N, steps)
    if key not in frames:
        raise ValueError(f"no precomputed samples for data={data!r}, N={N}, steps={steps}")
    samples, nearest = frames[key]
    X = training_sets[(data, N)]
    show = (to_image or {}).get(data, lambda Z: (np.asarray(Z) + 3.0) / 6.0)
    fig, (ax0, ax1) = new_figure(2, width=3.6, height=2.9, left=0.7, wspace=0.8)
    img = _mosaic([np.clip(show(samples), 0, 1), np.clip(show(X[nearest]), 0, 1)])
    ax0.imshow(img, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax0.set_axis_off()
    ax0.set_title(f"MLP samples (top), nearest training points, N = {N}", y=1.0, fontsize=8)
    # a linear axis in log2(N/d) with fixed ticks: a log axis creates and measures many more
    # ticks, most of the redraw time of this panel
    for model, where, color, label in (("empirical", dict(model="empirical"), COLOR["empirical"], "copier"),
                                       ("linear", dict(model="linear"), COLOR["linear"], "linear DDPM"),
                                       ("mlp", dict(model="mlp", protocol="steps", steps=steps, width=128),
                                        COLOR["mlp"], f"MLP, {steps} steps")):
        ns, m, _ = curve(records, "copy_fraction", data=data, **where)
        ax1.plot(np.log2(ns / d), m, marker="o", ms=3, color=color, label=label)
        if model == "mlp" and N in ns:
            ax1.plot(math.log2(N / d), m[list(ns).index(N)], "o", ms=10, mfc="none", mec="black", mew=1.5)
    ticks = [0.25, 1, 4, 16]
    ax1.set_xticks(np.log2(ticks), [f"{t:g}" for t in ticks])
    ax1.set_yticks([0, 0.5, 1])
    ax1.axvline(0.0, color="gray", lw=0.8)
    ax1.set_xlabel("$N/d$")
    ax1.set_ylim(-0.03, 1.03)
    ax1.set_ylabel("copy fraction")
    ax1.set_title(f"{data}: copy fraction, mean over seeds", y=1.0, fontsize=9)
    ax1.legend(loc="center right", fontsize=7)
    return fig
