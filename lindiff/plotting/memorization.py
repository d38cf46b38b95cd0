"""Figures of the chapter "What memorization means" (``book/memorization.md``).

Each function draws one figure from data computed by :mod:`lindiff.memorization`
(most take a :class:`~lindiff.memorization.TransitionResult`) or by
:mod:`lindiff.measures` (:func:`measures_figure`), except
:func:`statistic_histogram`, which runs its own small experiment so that it can
serve as the explorable figure.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import memorization as mem
from .. import onestep
from . import new_figure, styled

__all__ = [
    "kernel_density_figure",
    "overlap_terms_figure",
    "transition_figure",
    "reference_size_figure",
    "measures_figure",
    "statistic_histogram",
    "HISTOGRAM_RANGE",
]

_MEM, _GEN = "#d1495b", "#1f5aa6"  # memorizing (statistic > 0) and generalizing (< 0)


def _kde_grid(points, eps, xx, yy):
    """Kernel density of 2-D ``points`` with bandwidth ``eps`` on a grid."""
    d2 = (xx[..., None] - points[:, 0]) ** 2 + (yy[..., None] - points[:, 1]) ** 2
    return np.exp(-d2 / (2 * eps**2)).mean(axis=-1) / (2 * math.pi * eps**2)


@styled
def kernel_density_figure(n_train: int = 2, n_reference: int = 200, seed: int = 0):
    """Kernel densities ``q_X`` of a training set and of a reference sample in ``d = 2``.

    Both sets are drawn from ``N(0, I_2)``; each kernel has the width
    ``ς_n = σ n^(−1/d)`` of :func:`lindiff.memorization.kernel_bandwidth`, so the
    few training points get wide kernels and the many reference points narrow
    ones. Samples of the one-step model fitted on the training set (``T = 2``,
    ``ℓ = e^{-4}``) are overlaid: for ``n_train ≤ 2`` they lie on the line
    through the training points.
    """
    rng = np.random.default_rng(seed)
    train = rng.standard_normal((n_train, 2))
    ref = rng.standard_normal((n_reference, 2))
    p = onestep.generated_distribution(train, 2.0, math.exp(-4))
    gen = p.sample(300, rng)
    g = np.linspace(-3.2, 3.2, 121)
    xx, yy = np.meshgrid(g, g)
    fig, axes = new_figure(2, width=3.6, height=3.4)
    for ax, pts, name in ((axes[0], train, "training set"), (axes[1], ref, "reference sample")):
        eps = mem.kernel_bandwidth(len(pts), 2, 1.0)
        ax.contourf(xx, yy, _kde_grid(pts, eps, xx, yy), levels=12, cmap="Greys")
        big = len(pts) <= 20
        ax.plot(pts[:, 0], pts[:, 1], "o", color="#edae49", mec="k", mew=0.6, ms=7 if big else 2.5,
                label=f"{name} ($n={len(pts)}$)")
        ax.plot(gen[:, 0], gen[:, 1], ".", color=_MEM, ms=2, alpha=0.5, label="samples of $p_G$")
        ax.set_title(rf"$q_X$ of the {name}, $\varsigma_n = {eps:.2f}$")
        ax.set_aspect("equal")
        ax.set_xlim(g[0], g[-1])
        ax.set_ylim(g[0], g[-1])
        ax.grid(False)
        ax.legend(loc="lower left", fontsize=7.5, frameon=True, framealpha=0.9)
    return fig


@styled
def overlap_terms_figure(spread, terms: dict, delta):
    """The four log integrals of ``Δ`` and its sign against the variance ``g`` of ``p = N(μ1, g I)``.

    Parameters
    ----------
    spread : array_like
        Variances ``g/σ²``.
    terms : dict of array_like
        ``cross_train``, ``cross_ref`` (``o_train``, ``o_ref``: one value per
        ``g``) and ``excess_train``, ``excess_ref`` (``Λ_train``, ``Λ_ref``:
        scalars), all relative to ``ln κ``, as returned by
        :func:`lindiff.memorization.relative_distance`.
    delta : array_like
        ``Δ/κ`` per ``g``.
    """
    c = np.asarray(spread, dtype=float)
    ct, cr = np.asarray(terms["cross_train"]), np.asarray(terms["cross_ref"])
    stat, delta = ct - cr, np.asarray(delta, dtype=float)
    disagree = np.sign(delta) == np.sign(stat)
    fig, (ax0, ax1) = new_figure(2, width=4.0, height=3.2)
    ax0.semilogx(c, ct + math.log(2), label=r"$\ln(2\int p\,q_{\rm train}/\kappa)$")
    ax0.semilogx(c, cr + math.log(2), label=r"$\ln(2\int p\,q_{\rm ref}/\kappa)$")
    ax0.axhline(terms["excess_ref"], color="k", ls="--", lw=1.2, label=r"$\Lambda_{\rm ref}$ (self-overlap excess)")
    ax0.axhline(terms["excess_train"], color="0.5", ls=":", lw=1.2, label=r"$\Lambda_{\rm train}$")
    ax0.set_xlabel(r"variance $g/\sigma^2$ of $p=\mathcal{N}(\mu\mathbf{1}, g I)$")
    ax0.set_ylabel("log of the term (units of $\\kappa$)")
    ax0.legend(fontsize=7.5, loc="lower left")
    ax1.semilogx(c, stat, color="k", label="statistic $\\Gamma = \\ln\\int p\\,q_{\\rm train} - \\ln\\int p\\,q_{\\rm ref}$")
    ax1.axhline(0, color="0.4", lw=0.8)
    for ax in (ax0, ax1):
        if disagree.any():
            ax.axvspan(c[disagree].min(), c[-1], color="0.85", zorder=0)
    sign = np.where(delta > 0, 1.0, -1.0)
    ax1.plot(c, 0.5 * sign, "o", ms=3.5, color=_GEN, label=r"sign of $\Delta$ (shown at $\pm 1/2$)")
    ax1.set_xlabel(r"variance $g/\sigma^2$")
    ax1.set_ylabel("statistic / sign")
    ax1.set_title("shaded: the signs disagree", fontsize=9)
    ax1.legend(fontsize=7.5, loc="lower right")
    return fig


def _n_over_d(res):
    return res.n_values / res.d


@styled
def transition_figure(result, kl_limit: float):
    """Statistic, probability of generalizing and KL against ``N/d`` for one experiment.

    Parameters
    ----------
    result : TransitionResult
        From :func:`lindiff.memorization.transition_experiment` with ``with_kl=True``.
    kl_limit : float
        ``KL_∞`` (:func:`lindiff.onestep.kl_infinite_data`), drawn as a line.
    """
    if result.kl is None:
        raise ValueError("result must carry KL values: run transition_experiment(..., with_kl=True)")
    x = _n_over_d(result)
    fig, (ax0, ax1, ax2) = new_figure(3, width=3.3, height=3.0)
    rng = np.random.default_rng(0)
    for xi, row in zip(x, result.statistics):
        jitter = xi * np.exp(0.06 * rng.standard_normal(row.size))
        ax0.scatter(jitter, row, s=6, c=np.where(row > 0, _MEM, _GEN), alpha=0.6, lw=0)
    ax0.semilogx(x, result.mean_statistic, "k-", lw=1.4, label="mean")
    ax0.axhline(0, color="0.4", lw=0.8)
    ax0.set_ylabel(r"memorization statistic $\Gamma$")
    ax0.legend(loc="upper right")
    ax1.errorbar(x, result.p_generalizing, yerr=result.std_error, fmt="o-", color=_GEN, ms=4, capsize=2)
    ax1.set_xscale("log")
    ax1.set_ylim(-0.05, 1.05)
    ax1.set_ylabel("P(generalizing)")
    kl = result.kl
    finite = np.all(np.isfinite(kl), axis=1)
    ax2.loglog(x[finite], kl[finite].mean(axis=1), "o-", color="k", ms=4, label=r"mean KL$(p_G\Vert p_S)$")
    top = 2 * kl[finite].max() if finite.any() else 100.0
    ax2.plot(x[~finite], np.full((~finite).sum(), top), "^", color=_MEM, ms=6, label="$+\\infty$ (degenerate $p_G$)")
    ax2.axhline(kl_limit, color="0.4", ls="--", lw=1.2, label=r"KL$_\infty$")
    ax2.set_ylabel("KL (nats)")
    ax2.legend(loc="lower left", fontsize=7.5)
    for ax in (ax0, ax1, ax2):
        ax.axvline(1.0, color="0.5", ls=":", lw=1.2)
        ax.set_xlabel("$N/d$")
    ax0.set_title(f"$d={result.d}$, $M={result.reference_size}$, {result.repetitions} training sets per $N$",
                  fontsize=8.5, loc="left")
    return fig


def _transition_axes(ax0, ax1, statistic_label: str) -> None:
    """Axes of a transition figure: P(generalizing) (left) and the statistic (right) against N/d."""
    for ax in (ax0, ax1):
        ax.set_xscale("log")
        ax.axvline(1.0, color="0.5", ls=":", lw=1.2)
        ax.set_xlabel("$N/d$")
    ax0.set_ylim(-0.05, 1.05)
    ax0.set_ylabel("P(generalizing)")
    ax1.axhline(0, color="0.4", lw=0.8)
    ax1.set_yscale("symlog", linthresh=1.0)
    ax1.set_ylabel(statistic_label)


@styled
def reference_size_figure(results):
    """The same training sets judged against reference samples of different sizes ``M``.

    ``results``: :class:`~lindiff.memorization.TransitionResult` objects that
    differ in ``reference_size`` (``None`` is the ``M → ∞`` limit, the
    sampling distribution itself).
    """
    fig, (ax0, ax1) = new_figure(2, width=4.0, height=3.1)
    for res in results:
        label = "$M=\\infty$ ($p_S$)" if res.reference_size is None else f"$M$ = {res.reference_size:,}"
        x = _n_over_d(res)
        style = "s--" if res.reference_size is None else "o-"
        ax0.plot(x, res.p_generalizing, style, ms=4, label=label)
        ax1.plot(x, res.mean_statistic, style, ms=4, label=label)
    _transition_axes(ax0, ax1, "mean statistic")
    ax0.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, 0.93))
    return fig


@styled
def measures_figure(n_over_d, w2_relative, outside, distance_ratio, copy_ratio):
    """The convention-light measures of :mod:`lindiff.measures` against ``N/d``.

    Left: ``𝒲₂²(p_G, p_S) / tr Σ`` (mean ± one standard deviation over
    training sets) and its lower bound, the fraction ``tr(Π_⊥Σ)/tr Σ`` of the
    target variance outside the support of ``p_G`` (proposition
    ``prop-mem-w2-span``). Right: the nearest-neighbor ratios, the distance of
    a sample to its nearest training point relative to that of a fresh draw
    (:func:`lindiff.measures.distance_ratio`) and the nearest over the
    second-nearest distance (copying when below ``1/3``).

    Parameters
    ----------
    n_over_d : array_like, shape (k,)
    w2_relative, outside, distance_ratio, copy_ratio : array_like, shape (k, repetitions)
        One value per training set.
    """
    x = np.asarray(n_over_d, dtype=float)
    w2 = np.asarray(w2_relative, dtype=float)
    fig, (ax0, ax1) = new_figure(2, width=4.0, height=3.1)
    m, sd = w2.mean(axis=1), w2.std(axis=1)
    ax0.plot(x, m, "o-", color="k", ms=4, label=r"$\mathcal{W}_2^2(p_G, p_S)/\operatorname{tr}\Sigma$")
    ax0.fill_between(x, m - sd, m + sd, color="k", alpha=0.12, lw=0)
    ax0.plot(x, np.asarray(outside, dtype=float).mean(axis=1), "s--", color=_MEM, ms=4,
             label=r"$\operatorname{tr}(\Pi_\perp\Sigma)/\operatorname{tr}\Sigma$ (lost dimensions)")
    ax0.set_ylim(0, None)
    ax0.set_ylabel("fraction of the target variance")
    ax0.legend(loc="upper right", fontsize=7.5)
    ax1.plot(x, np.mean(distance_ratio, axis=1), "o-", color=_GEN, ms=4,
             label="nearest training point, relative to a fresh draw")
    ax1.plot(x, np.mean(copy_ratio, axis=1), "^-", color="0.35", ms=4, label="nearest / second nearest")
    ax1.axhline(1.0, color="0.4", lw=0.8)
    ax1.axhline(1.0 / 3.0, color=_MEM, ls=":", lw=1.2, label="copy threshold 1/3")
    ax1.set_ylim(0, 1.1)
    ax1.set_ylabel("median distance ratio")
    ax1.legend(loc="lower right", fontsize=7.5)
    for ax in (ax0, ax1):
        ax.set_xscale("log")
        ax.axvline(1.0, color="0.5", ls=":", lw=1.2)
        ax.set_xlabel("$N/d$")
    return fig


#: x range of :func:`statistic_histogram`: it holds every statistic of the chapter's explorer (``d = 50``,
#: 16 training sets, every live value of ``N/d``, ``T``, ``ℓ`` and ``M``: from about −7.3 to 9.7), so the
#: axes stay put while the sliders move and a live update redraws only the bars.
HISTOGRAM_RANGE = (-8.0, 10.0)


@styled
def statistic_histogram(n_over_d: float = 2.0, T: float = 2.0, noise_scale: float = math.exp(-4),
                        reference_size: int = 1000, d: int = 50, repetitions: int = 16, seed: int = 0):
    """Histogram of the memorization statistic over repeated training sets (the explorable figure).

    The result of :func:`lindiff.memorization.transition_experiment` at
    ``N = round(n_over_d · d)`` with a fresh reference sample of
    ``reference_size`` points per training set (the same training sets,
    reference samples and statistics, from
    :func:`lindiff.memorization.fresh_reference_statistics`, which caches
    what does not depend on ``T`` and ``ℓ``), and the fraction of training
    sets that generalize. The bins (width 1/4) and the axis limits are fixed
    (:data:`HISTOGRAM_RANGE`, widened to whole units only if a statistic falls
    outside it), so that every slider value shares one set of axes.
    """
    n = int(round(n_over_d * d))
    if n < 2:
        raise ValueError(f"n_over_d · d must give N >= 2 training points, got N = {n}")
    stats = mem.fresh_reference_statistics(d, n, T, noise_scale, reference_size, repetitions, seed)
    p_generalizing = float(np.mean(stats < 0))  # as TransitionResult.p_generalizing
    lo = min(HISTOGRAM_RANGE[0], math.floor(stats.min()))
    hi = max(HISTOGRAM_RANGE[1], math.ceil(stats.max()))
    bins = np.linspace(lo, hi, int(round(4 * (hi - lo))) + 1)
    fig, (ax,) = new_figure(1, width=4.8, height=2.8)
    # one filled outline per histogram (as many pixels as bars, a third of the drawing time), above
    # the grid (zorder 2), so that a live update keeps the pixels of the ticks and grid lines
    ax.stairs(np.histogram(stats[stats < 0], bins)[0], bins, fill=True, color=_GEN, alpha=0.8, zorder=2,
              label="generalizing (statistic < 0)")
    ax.stairs(np.histogram(stats[stats >= 0], bins)[0], bins, fill=True, color=_MEM, alpha=0.8, zorder=2,
              label="memorizing (statistic > 0)")
    ax.axvline(0, color="k", lw=1)
    ax.set_xlabel("memorization statistic")
    ax.set_ylabel("training sets")
    # plain text, not mathtext: a new math string costs a parse on every slider move
    ax.set_title(f"d = {d}, N = {n}, T = {T:g}, ℓ = {noise_scale:.3g}, M = {reference_size}\n"
                 f"P(generalizing) = {p_generalizing:.2f} over {repetitions} training sets", fontsize=9)
    ax.set_xlim(lo, hi)
    ax.set_ylim(0, 1.3 * repetitions)  # fixed, with room for the legend above the tallest possible bar
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper center", ncol=2, fontsize=8)
    return fig
