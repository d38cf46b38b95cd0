"""Figures of the chapter "Real data: natural-image patches" (``book/image_patches.md``).

Figures of simulation results take the arrays the chapter computed, so the
numbers in the text and the curves come from one computation. The explorer
(:func:`patches_explorer`) is the chapter's widget: it computes what it draws
from :mod:`lindiff.data` and the two linear models, with every expensive piece
(the patch pool per patch size, the training sets, the KL curves) cached.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib import ticker
from matplotlib.patches import Rectangle

from .. import data, ddpm, empirical, onestep
from . import STYLE, new_figure, plain_log_ticks, styled

__all__ = [
    "MODELS",
    "photo_spectrum_figure",
    "images_figure",
    "kl_curves_figure",
    "dn_law_figure",
    "memorization_figure",
    "copying_figure",
    "tails_figure",
    "smoothed_figure",
    "patches_explorer",
]

#: Models offered by :func:`patches_explorer`.
MODELS = ("one-step", "linear DDPM", "smoothed, ζ = 0.03", "exact empirical")
#: Smoothing level of the smoothed empirical denoiser in the explorer (``def-data-smoothed``).
EXPLORER_SMOOTHING = 0.03
#: Parameters of the one-step model in this chapter (the book's defaults).
ONESTEP_T, ONESTEP_NOISE = 2.0, math.exp(-4)

_COLORS = STYLE["axes.prop_cycle"].by_key()["color"]
_MODEL_COLOR = {"one-step": _COLORS[2], "linear DDPM": _COLORS[0], "exact empirical": _COLORS[1],
                "smoothed, ζ = 0.03": "#e07b39",
                "held-out": _COLORS[5], "Gaussian": _COLORS[4], "real patches": "black",
                "training set": _COLORS[3]}


_plain = plain_log_ticks
_NONLINEAR = ("exact empirical", "smoothed, ζ = 0.03")


def _mosaic(intensity: np.ndarray, size: int, ncols: int, pad: int = 1) -> np.ndarray:
    """Tile flattened ``size × size`` patches into one image, ``pad`` white pixels between them."""
    n = intensity.shape[0]
    nrows = math.ceil(n / ncols)
    step = size + pad
    out = np.ones((nrows * step + pad, ncols * step + pad))
    for i, patch in enumerate(np.clip(intensity, 0.0, 1.0)):
        r, c = divmod(i, ncols)
        out[pad + r * step: pad + r * step + size, pad + c * step: pad + c * step + size] = patch.reshape(size, size)
    return out


def _show_patches(ax, pool, Z, ncols, title):
    ax.imshow(_mosaic(pool.to_intensity(Z), pool.size, ncols), cmap="gray", vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_axis_off()  # no ticks to lay out: most of the drawing time of an image panel
    # an explicit y skips matplotlib's automatic title placement (it measures every tick label)
    ax.set_title(title, y=1.0)


# --------------------------------------------------------------------------- the data
@styled
def photo_spectrum_figure(pool, k: float, amplitude: float, nu_min: int, nu_max: int, train_positions=None):
    """Left: the photograph, with the patches of a training set outlined. Middle: 32 random
    patches of the pool. Right: the eigenvalues of the surrogate covariance against their
    rank, and the power law ``A ν^(−k)`` fitted on ``nu_min <= ν <= nu_max`` (solid over the
    fit range, dotted outside)."""
    fig, (ax0, ax1, ax2) = new_figure(3, width=3.3, height=3.3, wspace=0.9, left=0.3)
    img = data.load_grayscale(pool.image)
    ax0.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax0.grid(False)
    ax0.set_xticks([])
    ax0.set_yticks([])
    if train_positions is not None:
        for r, c in np.asarray(train_positions):
            ax0.add_patch(Rectangle((c - 0.5, r - 0.5), pool.size, pool.size, fill=False, lw=0.8,
                                    ec=_COLORS[3]))
    ax0.set_title(f"{img.shape[1]} × {img.shape[0]} pixels")
    idx = np.random.default_rng(0).choice(len(pool), 32, replace=False)
    _show_patches(ax1, pool, pool.patches[idx], 8, f"{pool.size} × {pool.size} patches")
    lam = pool.spectrum
    nu = np.arange(1, lam.size + 1)
    ax2.loglog(nu, lam, "o", ms=3.5, color=_COLORS[0], label=r"surrogate $\lambda_\nu$")
    fit = (nu >= nu_min) & (nu <= nu_max)
    ax2.loglog(nu[fit], amplitude * nu[fit] ** -k, color="black", lw=1.5, label=rf"fit $\nu^{{-{k:.2f}}}$")
    ax2.loglog(nu, amplitude * nu**-k, ":", color="black", lw=1)
    ax2.set_xlabel(r"rank $\nu$")
    ax2.set_ylabel("eigenvalue")
    ax2.legend(loc="lower left")
    _plain(ax2)
    return fig


@styled
def images_figure(pools: dict, fits: dict, nu_min: int = 2, nu_max: int | None = None):
    """One panel per image (the image, with its name), and a last panel with the spectra of the
    surrogate covariances of their patch pools against rank, each with its fitted power law
    (``fits[name] = (k, amplitude)``, drawn on ``nu_min <= ν <= nu_max``)."""
    names = list(pools)
    fig, axes = new_figure(len(names) + 1, width=2.7, height=2.9, wspace=0.35, left=0.2, right=0.25)
    colors = dict(zip(names, (_COLORS[0], _COLORS[3], _COLORS[2], _COLORS[4])))
    for ax, name in zip(axes, names):
        ax.imshow(data.load_grayscale(pools[name].image), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(name, y=1.0, color=colors[name])
    ax = axes[-1]
    pos = ax.get_position()
    ax.set_position([pos.x0 + 0.2 * pos.width, pos.y0, 0.8 * pos.width, pos.height])  # room for the tick labels
    for name in names:
        lam = pools[name].spectrum
        nu = np.arange(1, lam.size + 1)
        k, amp = fits[name]
        top = lam.size if nu_max is None else nu_max
        fit = (nu >= nu_min) & (nu <= top)
        ax.loglog(nu, lam, "o", ms=2.5, color=colors[name], label=rf"{name}, $k = {k:.2f}$")
        ax.loglog(nu[fit], amp * nu[fit] ** -k, color=colors[name], lw=1)
    ax.set_xlabel(r"rank $\nu$")
    ax.set_title(r"eigenvalues $\lambda_\nu$ of $\Sigma$", y=1.0)
    ax.legend(loc="lower left", fontsize=7)
    _plain(ax)
    return fig


@styled
def kl_curves_figure(ns, d: int, kl_onestep, kl_ts, kl_st, limits: dict, gauss_ts=None):
    """KL per dimension to the Gaussian surrogate against ``N/d``, mean ± sd over training sets.

    Parameters
    ----------
    ns : array, shape (K,)
        Training-set sizes.
    kl_onestep, kl_ts, kl_st : arrays, shape (K, R)
        ``KL(generated ‖ surrogate)/d`` of the one-step model, and the two directions of the
        linear DDPM (``t‖s`` = surrogate ‖ samples, ``s‖t``), one column per training set.
        ``inf`` entries (one-step, ``N <= d``) are drawn as an arrow at the top.
    limits : dict
        ``N → ∞`` values, keys ``"one-step"``, ``"ts"``, ``"st"`` (dashed lines).
    gauss_ts : array, shape (K, R), optional
        ``t‖s`` of the linear DDPM on Gaussian data with the surrogate's covariance.
    """
    ns = np.asarray(ns, float)
    r = ns / d
    fig, (ax,) = new_figure(1, width=6.0, height=4.0, left=0.95)
    series = [(kl_ts, _MODEL_COLOR["linear DDPM"], "-", "o", "DDPM, surrogate ‖ samples", "ts"),
              (kl_st, _MODEL_COLOR["linear DDPM"], "--", "s", "DDPM, samples ‖ surrogate", "st"),
              (kl_onestep, _MODEL_COLOR["one-step"], "-", "^", "one-step, generated ‖ surrogate", "one-step")]
    if gauss_ts is not None:
        series.append((gauss_ts, _MODEL_COLOR["Gaussian"], ":", "o", "DDPM on Gaussian data, surrogate ‖ samples", None))
    for arr, color, ls, marker, label, key in series:
        arr = np.asarray(arr, float)
        finite = np.all(np.isfinite(arr), axis=1)
        m = np.where(finite, np.mean(np.where(np.isfinite(arr), arr, 0), axis=1), np.nan)
        sd = np.where(finite, np.std(np.where(np.isfinite(arr), arr, 0), axis=1), np.nan)
        ax.errorbar(r[finite], m[finite], yerr=sd[finite], color=color, ls=ls, marker=marker, ms=3.5,
                    mfc="none" if ls == ":" else None, capsize=2, lw=1.4, label=label)
        if key is not None and key in limits:
            ax.axhline(limits[key], color=color, ls=(0, (1, 3)), lw=1)
        if not np.all(finite):
            x_inf = r[~finite]
            ax.plot(x_inf, np.full(x_inf.size, 1.5e3), marker=r"$\uparrow$", ms=9, ls="none", color=color)
    ax.axvline(1.0, color="gray", lw=0.8)
    ax.text(1.06, 5e-4, "N = d", color="gray", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 3e3)
    ax.set_xlabel("$N/d$")
    ax.set_ylabel("KL / $d$ (nats)")
    ax.legend(loc="upper right", fontsize=8)
    _plain(ax)
    return fig


@styled
def dn_law_figure(qs, excess_ts, excess_st, gauss_ts, gauss_st, fits: dict, predicted: float,
                  predicted_gauss: float):
    """The ``d/N`` law: excess KL per dimension over the ``N → ∞`` value, divided by ``γ = d/N``.

    Left: surrogate ‖ samples; right: samples ‖ surrogate. Filled dots: patches; open dots:
    Gaussian data with the surrogate's covariance (mean ± standard error over training sets).
    Lines: the fits ``c_fit + c2 γ`` of ``excess/γ`` (``fits[(name, direction)] = (c_fit, c2)``),
    the fourth-moment prediction ``predicted`` for the patches and ``predicted_gauss`` for
    Gaussian data, and 1/4.

    Parameters
    ----------
    qs : array, shape (Q,)
        The values of ``γ``.
    excess_ts, excess_st, gauss_ts, gauss_st : arrays, shape (Q, R)
    """
    qs = np.asarray(qs, float)
    fig, axes = new_figure(2, width=3.9, height=3.2)
    grid = np.linspace(0, qs.max() * 1.08, 50)
    for ax, (direction, patches, gauss) in zip(axes, (("ts", excess_ts, gauss_ts), ("st", excess_st, gauss_st))):
        for arr, name, face in ((patches, "patches", None), (gauss, "Gaussian", "none")):
            arr = np.asarray(arr, float) / qs[:, None]
            color = _MODEL_COLOR["linear DDPM"] if name == "patches" else _MODEL_COLOR["Gaussian"]
            ax.errorbar(qs, arr.mean(axis=1), yerr=arr.std(axis=1, ddof=1) / math.sqrt(arr.shape[1]), fmt="o",
                        ms=5, mfc=face, color=color, capsize=2, label=f"{name}")
            a, b = fits[(name, direction)]
            ax.plot(grid, a + b * grid, color=color, lw=1)
        ax.axhline(predicted, color=_MODEL_COLOR["linear DDPM"], ls="--", lw=1, label="4th-moment prediction")
        ax.axhline(predicted_gauss, color=_MODEL_COLOR["Gaussian"], ls="--", lw=1)
        ax.axhline(0.25, color="black", ls=":", lw=1, label="1/4")
        ax.set_xlim(0, grid.max())
        ax.set_ylim(0, None)
        ax.set_xlabel(r"$\gamma = d/N$")
        ax.set_ylabel(r"$(\mathrm{KL}-\mathrm{KL}_\infty)/(d\,\gamma)$")
    axes[0].set_title(r"surrogate $\Vert$ samples")
    axes[1].set_title(r"samples $\Vert$ surrogate")
    axes[0].legend(loc="upper left", fontsize=8)
    return fig


@styled
def memorization_figure(ns, stats: dict, d: int, std: float, stds=None, stats_std=None, n_std=None):
    """The memorization statistic against held-out patches (positive: memorizing).

    Left: against ``N/d`` at bandwidth scale ``std``, mean ± sd over training sets, one curve per
    model (``stats[name]`` has shape ``(len(ns), R)``). Right (optional): against the bandwidth
    scale ``stds`` at ``N = n_std`` (``stats_std[name]`` has shape ``(len(stds), R)``), symlog axis.
    """
    ns = np.asarray(ns, float)
    two = stds is not None
    fig, axes = new_figure(2 if two else 1, width=3.9, height=3.2)
    ax = axes[0]
    for name, arr in stats.items():
        arr = np.asarray(arr, float)
        ax.errorbar(ns / d, arr.mean(axis=1), yerr=arr.std(axis=1), marker="o", ms=3.5, capsize=2,
                    color=_MODEL_COLOR[name], label=name)
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(1.0, color="gray", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("$N/d$")
    ax.set_ylabel("memorization statistic")
    ax.set_title(f"bandwidth scale std = {std:.3g}")
    ax.legend(loc="upper right", fontsize=8)
    _plain(ax)
    if two:
        ax = axes[1]
        for name, arr in stats_std.items():
            arr = np.asarray(arr, float)
            ax.errorbar(stds, arr.mean(axis=1), yerr=arr.std(axis=1), marker="o", ms=3.5, capsize=2,
                        color=_MODEL_COLOR[name], label=name)
        ax.axhline(0, color="black", lw=0.8)
        ax.axvline(std, color="gray", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_xlabel("bandwidth scale std")
        ax.set_ylabel("memorization statistic")
        ax.set_title(f"$N = {n_std}$ ($N/d = {n_std / d:g}$)")
        _plain(ax, y=False)
    return fig


@styled
def copying_figure(pool, train, samples: dict, distances: dict, n_show: int = 8):
    """Generated patches next to their nearest training patch, and the distances.

    For each entry of ``samples`` (name → standardized patches, shape ``(n, d)``), the first
    ``n_show`` patches in rows 1 and 3, each above its nearest training patch (rows 2 and 4).
    Right: histograms of ``distances[name]`` (distance to the nearest training patch, log axis).
    """
    names = list(samples)
    fig, axes = new_figure(len(names) + 1, width=2.5, height=2.6, wspace=0.7, left=0.25, right=0.45, bottom=0.65,
                           top=0.35)
    train = np.asarray(train, float)
    half = n_show // 2
    for ax, name in zip(axes, names):
        S = np.asarray(samples[name], float)[:n_show]
        sq = ((S[:, None, :] - train[None, :, :]) ** 2).sum(-1)
        nearest = train[np.argmin(sq, axis=1)]
        # pairs of rows: samples, then the nearest training patch of each, right below it
        rows = np.concatenate([S[:half], nearest[:half], S[half:], nearest[half:]])
        _show_patches(ax, pool, rows, half, name)
        ax.text(0.5, -0.03, "rows 1, 3: samples\nrows 2, 4: nearest training patch", transform=ax.transAxes,
                ha="center", va="top", fontsize=7)
    ax = axes[-1]
    edges = np.geomspace(min(np.min(v) for v in distances.values()) * 0.8,
                         max(np.max(v) for v in distances.values()) * 1.2, 40)
    for name, dist in distances.items():
        ax.hist(dist, bins=edges, histtype="step", lw=1.5, color=_MODEL_COLOR.get(name, "black"), label=name)
    ax.set_xscale("log")
    ax.set_xlabel("distance to nearest training patch")
    ax.set_ylabel("count")
    ax.legend(loc="upper right", fontsize=7)
    _plain(ax)
    return fig


@styled
def tails_figure(differences: dict, kurtosis: dict):
    """Histograms (log density) of horizontal pixel differences, one per source, with the
    excess kurtosis of each in the legend; a Gaussian of the same variance as the first
    source for reference."""
    fig, (ax,) = new_figure(1, width=6.4, height=3.4, right=2.7)
    first = np.asarray(next(iter(differences.values())), float).ravel()
    lim = np.quantile(np.abs(first), 0.999) * 1.1
    edges = np.linspace(-lim, lim, 61)
    for name, vals in differences.items():
        h, _ = np.histogram(np.asarray(vals).ravel(), bins=edges, density=True)
        mid = 0.5 * (edges[1:] + edges[:-1])
        ax.semilogy(mid[h > 0], h[h > 0], color=_MODEL_COLOR.get(name, "black"), lw=1.5,
                    label=f"{name}: {kurtosis[name]:.1f}")
    x = np.linspace(-lim, lim, 200)
    s2 = first.var()
    ax.semilogy(x, np.exp(-x * x / (2 * s2)) / math.sqrt(2 * math.pi * s2), ":", color="black", lw=1,
                label="Gaussian, same variance")
    ax.set_ylim(1e-4, None)
    ax.set_xlabel("horizontal pixel difference (standardized units)")
    ax.set_ylabel("density")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="excess kurtosis",
              title_fontsize=8)
    return fig


@styled
def smoothed_figure(pool, samples: dict, measures: dict, n_show: int = 8):
    """Samples of the smoothed empirical denoiser at several smoothing levels, and measures against the level.

    Left: one row of ``n_show`` patches per entry of ``samples`` (smoothing level ``ζ`` → standardized
    patches), top to bottom in the order given. Right: ``measures[name]`` (arrays over the levels
    of ``samples``) against ``ζ``: the copy fraction, the nearest-neighbor ratio (median distance to
    the nearest training patch over that of held-out patches) and the excess kurtosis of pixel
    differences (right axis), on a symmetric-log ``ζ`` axis so that ``ζ = 0`` is drawn.
    """
    zetas = np.array(list(samples), float)
    fig, (ax0, ax1) = new_figure(2, width=3.9, height=3.3, wspace=0.9, left=0.75, right=0.8)
    rows = np.concatenate([np.asarray(samples[z], float)[:n_show] for z in samples])
    _show_patches(ax0, pool, rows, n_show, "samples, one row per $\\zeta$")
    size = pool.size + 1
    for i, z in enumerate(samples):
        ax0.text(-1.0, 1 + i * size + pool.size / 2, f"{z:g}", ha="right", va="center", fontsize=8)
    styles = {"copy fraction": ("o", "-", _MODEL_COLOR["exact empirical"]),
              "nearest-neighbor ratio": ("s", "--", _MODEL_COLOR["linear DDPM"])}
    for name, (marker, ls, color) in styles.items():
        ax1.plot(zetas, measures[name], marker=marker, ls=ls, color=color, ms=4, label=name)
    ax1.axhline(1.0, color="gray", lw=0.8, ls=":")
    ax1.set_xscale("symlog", linthresh=0.01)
    ax1.set_xlim(-0.001, 1.3)
    ax1.set_xlabel(r"smoothing level $\zeta$")
    ax1.set_ylabel("copy fraction, nearest-neighbor ratio")
    ax2 = ax1.twinx()
    ax2.plot(zetas, measures["excess kurtosis"], marker="^", ls=":", color="black", ms=4, label="excess kurtosis")
    ax2.set_ylabel("excess kurtosis of pixel differences")
    ax2.set_ylim(0, None)
    ax2.grid(False)
    handles = ax1.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax1.legend(handles, [h.get_label() for h in handles], loc="center left", fontsize=7)
    return fig


# --------------------------------------------------------------------------- the explorer
_N_SHOW = 16
_CURVE_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0)
_CURVE_SEEDS = 3


@functools.lru_cache(maxsize=64)
def _sets(size: int, n: int, seed: int):
    pool = data.patch_pool(size)
    X, R = data.training_and_held_out(pool, n, 64, seed)
    for arr in (X, R):
        arr.setflags(write=False)
    return X, R


def _onestep_kl(X, pop) -> float:
    return data.kl_to_population(onestep.generated_distribution(X, ONESTEP_T, ONESTEP_NOISE), pop) / pop.dim


@functools.lru_cache(maxsize=8)
def _kl_curves(size: int):
    """Mean KL/d against N/d for both linear models (``_CURVE_SEEDS`` training sets each)."""
    pool = data.patch_pool(size)
    d, pop = pool.dim, pool.population
    ratios = np.array([r for r in _CURVE_RATIOS if round(r * d) >= 2])
    one, ts, st = (np.empty((ratios.size, _CURVE_SEEDS)) for _ in range(3))
    for i, r in enumerate(ratios):
        for s in range(_CURVE_SEEDS):
            X, _ = data.training_and_held_out(pool, int(round(r * d)), seed=100 + s)
            one[i, s] = _onestep_kl(X, pop) if r > 1 else math.inf
            ts[i, s], st[i, s] = ddpm.sampling_kl(ddpm.empirical_spectrum(X), pop)
    return ratios, one.mean(axis=1), ts.mean(axis=1), st.mean(axis=1)


@functools.lru_cache(maxsize=128)
def _model(size: int, n: int, model: str, seed: int):
    """Samples of ``model`` trained on the explorer's training set, and its KL/d (or distances)."""
    pool = data.patch_pool(size)
    X, R = _sets(size, n, seed)
    rng = np.random.default_rng([seed, n, size, MODELS.index(model)])
    pop = pool.population
    if model in _NONLINEAR:
        if model == "exact empirical":
            S = empirical.empirical_ddpm_samples(X, _N_SHOW, rng)
        else:
            S = empirical.smoothed_ddpm_samples(X, _N_SHOW, rng, EXPLORER_SMOOTHING)
        lin = ddpm.sampling_distribution(X).sample(64, rng)
        dist = {model: np.median(data.nearest_neighbor_distances(S, X)),
                "linear DDPM": np.median(data.nearest_neighbor_distances(lin, X)),
                "held-out": np.median(data.nearest_neighbor_distances(R, X))}
        return S, dist
    if model == "one-step":
        g = onestep.generated_distribution(X, ONESTEP_T, ONESTEP_NOISE)
        kl = (data.kl_to_population(g, pop) / pool.dim,)
    else:
        g = ddpm.sampling_distribution(X)
        kl = ddpm.sampling_kl(ddpm.empirical_spectrum(X), pop)
    return g.sample(_N_SHOW, rng), kl


@styled
def patches_explorer(n_train: int = 128, size: int = 8, model: str = "linear DDPM", seed: int = 0):
    """Explorable figure of ``book/image_patches.md``.

    Left: 16 held-out patches of the photograph, next to 16 patches generated by ``model``
    (one of :data:`MODELS`) trained on ``n_train`` patches of side ``size``. Right: for the two
    linear models, KL per dimension to the Gaussian surrogate against ``N/d`` (mean of three
    training sets) with this training set marked; for the two nonlinear denoisers (the exact
    empirical one and the smoothed one at ``ζ = 0.03``), which are not Gaussian, the median
    distance of their samples to the nearest training patch, against the linear DDPM and
    held-out patches.
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    n_train = int(n_train)
    pool = data.patch_pool(size)
    d = pool.dim
    if not 2 <= n_train <= 4096:
        raise ValueError(f"n_train must be in [2, 4096], got {n_train}")
    X, R = _sets(size, n_train, seed)
    S, info = _model(size, n_train, model, seed)
    # one image axis for both mosaics: every extra axis costs tick objects on each redraw
    fig, (ax0, ax2) = new_figure(2, width=3.8, height=2.9)
    W_IN, H_IN = 7.6, 2.9  # place the two panels by hand (inches): a wide image, a square plot
    ax0.set_position([0.1 / W_IN, 0.15 / H_IN, 4.4 / W_IN, 2.35 / H_IN])
    ax2.set_position([5.3 / W_IN, 0.6 / H_IN, 2.1 / W_IN, 1.95 / H_IN])
    left = _mosaic(pool.to_intensity(R[:_N_SHOW]), size, 4)
    right = _mosaic(pool.to_intensity(S), size, 4)
    gap = np.full((left.shape[0], max(2, size // 2)), np.nan)  # transparent gap between the two
    ax0.imshow(np.hstack([left, gap, right]), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax0.set_axis_off()
    ax0.text(left.shape[1] / 2, -0.5, "held-out patches", ha="center", va="bottom", fontsize=10)
    ax0.text(left.shape[1] + gap.shape[1] + right.shape[1] / 2, -0.5, f"{model}, N = {n_train}", ha="center",
             va="bottom", fontsize=10)
    if model in _NONLINEAR:
        names = list(info)
        ax2.bar(range(3), [info[k] for k in names], color=[_MODEL_COLOR[k] for k in names])
        ax2.set_xticks(range(3))
        ax2.set_xticklabels([model.split(",")[0].split()[0], "linear", "held-out"], fontsize=8)
        ax2.set_yscale("log")
        ax2.set_ylim(0.01, 30)
        ax2.set_ylabel("median distance to nearest\ntraining patch", fontsize=8)
        ax2.set_title(f"{info[model]:.2f} vs held-out {info['held-out']:.2f}", y=1.0)
        ax2.yaxis.set_major_locator(ticker.FixedLocator([0.01, 0.1, 1.0, 10.0]))
        ax2.yaxis.set_major_formatter(ticker.FixedFormatter(["0.01", "0.1", "1", "10"]))
        ax2.yaxis.set_minor_locator(ticker.NullLocator())
        return fig
    ratios, one, ts, st = _kl_curves(size)
    here = n_train / d
    if model == "one-step":
        fin = np.isfinite(one)
        ax2.loglog(ratios[fin], one[fin], color=_MODEL_COLOR["one-step"], marker="^", ms=3)
        ax2.axvspan(ratios.min() * 0.8, 1.0, color="0.9", lw=0)
        ax2.text(0.5, 2.0, "KL = ∞", ha="center", fontsize=8, color="0.4")
        value = info[0]
        if math.isfinite(value):
            ax2.plot([here], [value], "o", color="black")
        ax2.set_title(("gen ‖ surrogate: KL/d = " + (f"{value:.3g}" if math.isfinite(value) else "∞")), y=1.0)
    else:
        ax2.loglog(ratios, ts, color=_MODEL_COLOR["linear DDPM"], marker="o", ms=3)
        ax2.loglog(ratios, st, color=_MODEL_COLOR["linear DDPM"], ls="--", marker="s", ms=3)
        j = min(4, ratios.size - 1)
        ax2.text(ratios[j], ts[j] * 3, "surrogate ‖ samples", fontsize=7, color=_MODEL_COLOR["linear DDPM"])
        ax2.text(ratios[j], st[j] * 0.15, "samples ‖ surrogate", fontsize=7, color=_MODEL_COLOR["linear DDPM"],
                 va="top")
        ax2.plot([here, here], list(info), "o", color="black")
        ax2.set_title(f"KL/d = {info[0]:.3g}, {info[1]:.3g}", y=1.0)
    ax2.axvline(1.0, color="gray", lw=0.8)
    ax2.set_xlim(ratios.min() * 0.8, ratios.max() * 1.25)
    ax2.set_ylim(1e-2, 1e3)
    ax2.set_xlabel(f"N/d  (d = {d})")
    ax2.set_ylabel("KL / d", fontsize=8)
    # fixed ticks with fixed labels: tick layout is most of the drawing time of a live update
    ax2.xaxis.set_major_locator(ticker.FixedLocator([1.0, 10.0]))
    ax2.xaxis.set_major_formatter(ticker.FixedFormatter(["1", "10"]))
    ax2.yaxis.set_major_locator(ticker.FixedLocator([0.01, 1.0, 100.0]))
    ax2.yaxis.set_major_formatter(ticker.FixedFormatter(["0.01", "1", "100"]))
    for axis in (ax2.xaxis, ax2.yaxis):
        axis.set_minor_locator(ticker.NullLocator())
    return fig
