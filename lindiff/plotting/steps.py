"""Figures of the chapter "How many diffusion steps?" (``book/diffusion_steps.md``).

Each function draws one figure from parameters, or from a
:class:`lindiff.steps.StepsSimulation` that the chapter computes once and
shares between figures. Nothing here computes theory: the numbers come from
:mod:`lindiff.steps`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from .. import onestep, steps
from . import new_figure, plain_log_ticks, styled

__all__ = [
    "spectrum_figure",
    "population_kl_figure",
    "steps_curves_figure",
    "optimal_steps_figure",
    "wasserstein_figure",
    "steps_explorer",
    "EXPLORER_STEPS",
    "EXPLORER_W2_LIMITS",
    "EXPLORER_STATISTIC_LIMITS",
]

L0 = math.exp(-4.0)  # the book's default noise scale
#: Numbers of steps drawn by :func:`steps_explorer` (``math.inf``: the limit).
EXPLORER_STEPS = (1, 2, 3, 5, 10, 20, 30, 50, 100, 200, math.inf)


def _finite(ks):
    return [k for k in ks if k != math.inf]


def _k_label(k) -> str:
    if k is None:
        return "none"
    return "∞" if k == math.inf else f"{k:g}"


@styled
def spectrum_figure(T: float = 2.0, noise_scale: float = L0, target_std: float = 1.0,
                    steps_list=(1, 2, 5, 20), lam_max: float = 3.0):
    """Generated variance ``g_K(λ̂)`` of one eigen-direction against its empirical variance ``λ̂``.

    One curve per number of steps, the ``K → ∞`` limit, and the diagonal
    ``g = λ̂`` (the empirical Gaussian ``N(x̄, S)``). The generator input has the
    variance ``v = a_T² σ² + h_T`` of the forward marginal of ``p_S``. Every curve
    starts at ``g_K(0) = 0``: a direction without empirical variance is never
    filled, whatever ``K`` (theorem ``thm-steps-hull``).
    """
    fig, (ax,) = new_figure(1, width=4.4, height=3.2)
    a, h = onestep.forward_coefficients(T, noise_scale)
    v = a * a * target_std**2 + h
    lam = np.linspace(0.0, lam_max, 301)
    ax.plot(lam, lam, ":", color="#555555", label=r"$g=\hat\lambda$ (empirical Gaussian)")
    for K in steps_list:
        ax.plot(lam, steps.generated_spectrum(lam, T, noise_scale, v, K), label=f"$K={K}$")
    ax.plot(lam, steps.limit_spectrum(lam, T, noise_scale, v), "--", color="black", lw=1.2,
            label=r"$K\to\infty$")
    ax.set_xlabel(r"empirical variance $\hat\lambda$ of a direction")
    ax.set_ylabel(r"generated variance $g_K(\hat\lambda)$")
    ax.set_xlim(0, lam_max)
    ax.set_ylim(0, None)
    ax.set_title(f"$T={T:g}$, $\\ell={noise_scale:.3g}$, $v={v:.3g}$")
    ax.legend(loc="upper left")
    return fig


@styled
def population_kl_figure(T_values=(1.0, 2.0, 3.0), noise_scale: float = L0, target_std: float = 1.0,
                         k_max: int = 1000):
    """KL per dimension of the ``K``-step sampler with infinitely many data, and its variance deficit.

    Left: ``KL/d`` against ``K`` (log–log) for several diffusion times, with a
    ``K⁻²`` guide. Right: ``K (1 − g_K/σ²)`` against ``K`` on a log axis; the
    straight lines of slope ``2 ℓ T / σ²`` per unit of ``ln K`` are the
    logarithmic factor of the deficit (equation ``eq-steps-deficit-asymptotic``).
    """
    fig, (ax0, ax1) = new_figure(2, width=3.5, height=2.9)
    Ks = np.unique(np.round(np.geomspace(1, k_max, 40)).astype(int))
    sigma2 = target_std**2
    for T in T_values:
        a, h = onestep.forward_coefficients(T, noise_scale)
        c = np.array([steps.generated_spectrum(np.array([sigma2]), T, noise_scale, a * a * sigma2 + h, int(K))[0]
                      for K in Ks])
        kl = [steps.kl_per_dim_infinite_data(int(K), T, noise_scale, target_std) for K in Ks]
        (line,) = ax0.loglog(Ks, kl, label=f"$T={T:g}$")
        ax1.semilogx(Ks, Ks * (1 - c / sigma2), color=line.get_color(), label=f"$T={T:g}$")
        ref = Ks[Ks >= 20]
        ax1.semilogx(ref, ref[-1] * (1 - c[-1] / sigma2) + 2 * noise_scale * T / sigma2 * np.log(ref / ref[-1]),
                     ":", color="black", lw=1.0)
    k_ref = np.array([10.0, float(k_max)])
    top = steps.kl_per_dim_infinite_data(10, max(T_values), noise_scale, target_std)
    ax0.loglog(k_ref, 3 * top * (k_ref / 10.0) ** -2, ":", color="black", lw=1.0, label=r"$\propto K^{-2}$")
    ax0.set_xlabel("number of steps $K$")
    ax0.set_ylabel(r"KL$(p_G^K\Vert p_S)/d$, $N=\infty$")
    ax0.legend(loc="lower left")
    ax1.set_xlabel("number of steps $K$")
    ax1.set_ylabel(r"$K\,(1-g_K/\sigma^2)$")
    ax1.set_title(r"dotted: slope $2\ell T/\sigma^2$ per unit of $\ln K$", fontsize=9)
    ax1.legend(loc="upper left")
    return fig


def _mean_se(x, axis=0):
    x = np.asarray(x, dtype=float)
    return x.mean(axis=axis), x.std(axis=axis, ddof=1) / math.sqrt(x.shape[axis])


@styled
def steps_curves_figure(sim: steps.StepsSimulation, n_show=(200, 400, 1000)):
    """Mean KL and mean memorization statistic against ``K`` for a few training-set sizes.

    Left: ``E KL`` (log–log), with the ``K → ∞`` value as a dashed line.
    Right: the mean statistic with a band of ±2 standard errors; above zero the
    generated law is closer to the training set than to a fresh sample.
    """
    fig, (ax0, ax1) = new_figure(2, width=3.5, height=2.9)
    ks = list(sim.steps)
    fin = np.array(_finite(ks), dtype=float)
    idx = [ks.index(k) for k in _finite(ks)]
    for n in n_show:
        i = int(np.flatnonzero(sim.n == n)[0])
        kl_m = sim.kl[:, i, :].mean(axis=0)
        st_m, st_se = _mean_se(sim.statistic[:, i, :])
        if np.all(np.isfinite(kl_m)):
            (line,) = ax0.loglog(fin, kl_m[idx], "o-", ms=3, label=f"$N={n}$")
            if math.inf in ks:
                ax0.axhline(kl_m[ks.index(math.inf)], ls="--", lw=1.0, color=line.get_color())
            color = line.get_color()
        else:
            color = None
        (l1,) = ax1.semilogx(fin, st_m[idx], "o-", ms=3, color=color, label=f"$N={n}$")
        ax1.fill_between(fin, st_m[idx] - 2 * st_se[idx], st_m[idx] + 2 * st_se[idx], color=l1.get_color(),
                         alpha=0.15, lw=0)
    ax0.set_xlabel("number of steps $K$")
    ax0.set_ylabel("mean KL (nats)")
    ax0.yaxis.set_minor_formatter(NullFormatter())
    ax0.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax0.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
    ax0.set_title(r"dashed: $K\to\infty$", fontsize=9)
    ax0.legend(loc="upper right")
    ax1.axhline(0.0, color="black", lw=0.8)
    ax1.set_xlabel("number of steps $K$")
    ax1.set_ylabel(r"mean memorization statistic $\Gamma$")
    ax1.set_title("above 0: closer to the training set", fontsize=9)
    ax1.legend(loc="center right", bbox_to_anchor=(1.0, 0.7))
    return fig


def _category_axis(ax, ks):
    """y axis with one level per entry of ``[None] + ks`` (``None``: no admissible ``K``, ``inf``: the limit)."""
    levels = [None] + list(ks)
    ax.set_yticks(range(len(levels)))
    ax.set_yticklabels([_k_label(k) for k in levels])
    return {k: i for i, k in enumerate(levels)}


@styled
def optimal_steps_figure(sim: steps.StepsSimulation, k_show=(1, 3, 10, 50, math.inf)):
    """The trade-off against the training-set size ``N`` and our choice of ``K``.

    Left: the mean memorization statistic against ``N`` for several ``K``;
    each curve crosses zero at a larger ``N`` the more steps are taken.
    Right: ``K*``, the largest ``K`` of the grid before the mean statistic
    reaches zero (definition ``def-steps-criterion``): "none" when every ``K``
    of the grid memorizes, ``∞`` when none does.
    """
    fig, (ax0, ax1) = new_figure(2, width=3.5, height=2.9)
    ks = list(sim.steps)
    mean, se = _mean_se(sim.statistic)
    for k in k_show:
        j = ks.index(k)
        (line,) = ax0.plot(sim.n, mean[:, j], "o-", ms=3, label=f"$K={_k_label(k)}$")
        ax0.fill_between(sim.n, mean[:, j] - 2 * se[:, j], mean[:, j] + 2 * se[:, j], color=line.get_color(),
                         alpha=0.12, lw=0)
    ax0.axhline(0.0, color="black", lw=0.8)
    ax0.set_yscale("symlog", linthresh=1.0)      # large positive values for N <= d, the crossings near 0
    ax0.set_xlabel("training-set size $N$")
    ax0.set_ylabel(r"mean memorization statistic $\Gamma$")
    ax0.legend(loc="upper right", fontsize=8)
    pos = _category_axis(ax1, ks)
    best = [steps.largest_generalizing_steps(ks, mean[i]) for i in range(len(sim.n))]
    ax1.step(sim.n, [pos[b] for b in best], where="mid", color="#1f5aa6")
    ax1.plot(sim.n, [pos[b] for b in best], "o", color="#1f5aa6", ms=4)
    ax1.set_xlabel("training-set size $N$")
    ax1.set_ylabel(r"our choice $K^*$")
    ax1.set_ylim(-0.5, len(ks) + 0.5)
    return fig


@styled
def wasserstein_figure(n_values, steps_grid, w2_target, w2_empirical, d: int):
    """2-Wasserstein distances of the ``K``-step law against ``K``, one curve per training-set size.

    Left: mean ``𝒲₂²(p_G^K, p_S)/d``; the open circle marks the ``K`` of the
    grid with the smallest mean (``math.inf`` is drawn at the right edge).
    Right: mean ``𝒲₂²(p_G^K, N(x̄, S))/d``, the distance to the empirical
    Gaussian of the training set. No reference sample, no kernel width.

    Parameters
    ----------
    n_values : sequence of int
        Training-set sizes ``N`` (one curve each).
    steps_grid : sequence
        The numbers of steps ``K`` (increasing, possibly ending with ``math.inf``).
    w2_target, w2_empirical : array_like, shape (repetitions, len(n_values), len(steps_grid))
        ``𝒲₂`` (not squared) per training set, from :func:`lindiff.steps.wasserstein_to_target`
        and :func:`lindiff.steps.wasserstein_to_empirical`.
    d : int
        Dimension (the distances are shown per dimension).
    """
    ks = list(steps_grid)
    fin = _finite(ks)
    x = np.array([float(k) for k in fin] + ([fin[-1] * 4.0] if math.inf in ks else []))
    wt = np.mean(np.asarray(w2_target, dtype=float) ** 2, axis=0) / d
    we = np.mean(np.asarray(w2_empirical, dtype=float) ** 2, axis=0) / d
    fig, (ax0, ax1) = new_figure(2, width=3.5, height=2.9)
    for i, n in enumerate(n_values):
        (line,) = ax0.semilogx(x, wt[i], "o-", ms=3, label=f"$N={n}$")
        j = int(np.argmin(wt[i]))
        ax0.plot([x[j]], [wt[i, j]], "o", ms=8, mfc="none", mec=line.get_color(), mew=1.5)
        ax1.loglog(x, we[i], "o-", ms=3, color=line.get_color(), label=f"$N={n}$")
    for ax in (ax0, ax1):
        ax.set_xticks(x)
        ax.set_xticklabels([_k_label(k) for k in fin] + (["∞"] if math.inf in ks else []), fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel("number of steps $K$")
    ax0.set_ylabel(r"$\mathcal{W}_2^2(p_G^K, p_S)/d$")
    ax0.set_title("circles: smallest mean", fontsize=9)
    ax1.set_ylabel(r"$\mathcal{W}_2^2(p_G^K, \mathcal{N}(\bar x, S))/d$")
    ax1.set_title("distance to the empirical Gaussian", fontsize=9)
    ax1.legend(loc="lower left", fontsize=7.5)
    return fig


#: Fixed axes of :func:`steps_explorer`, chosen to hold every curve of the chapter's explorer (``d = 100``,
#: 8 training sets, every live value of ``N/d`` and ``T``): mean ``𝒲₂²/d`` to ``p_S`` from about ``1.1e-3``
#: to 1.1 on a log axis (the distance to ``N(x̄, S)`` falls below its bottom at large ``K`` for ``T ≥ 2.5``
#: and ``N ≥ 3d``: the ``K``-step law is then almost the empirical Gaussian), the mean
#: statistic ± 2 standard errors from about −6 to 21 on a symmetric-log axis. Fixed axes let a live
#: update keep the pixels of the ticks and grid.
EXPLORER_W2_LIMITS = (1e-3, 10.0)
EXPLORER_STATISTIC_LIMITS = (-8.0, 30.0)
_STATISTIC_TICKS = (-5, -1, 0, 1, 5, 20)


@functools.lru_cache(maxsize=64)
def _explorer_data(n: int, d: int, T: float, noise_scale: float, repetitions: int, seed: int):
    """Curves of the explorer, cached: moving only the ``K`` slider redraws without recomputing.

    :func:`lindiff.steps.simulate_seeded` keeps the reference draws between calls, so a new ``N`` or
    ``T`` costs one simulation without them.
    """
    sim = steps.simulate_seeded(n, d, T, noise_scale, EXPLORER_STEPS, 10.0, 1.0, repetitions, seed)
    return sim.kl[:, 0, :], sim.statistic[:, 0, :], sim.w2_target[:, 0, :], sim.w2_empirical[:, 0, :]


@styled
def steps_explorer(steps_marked: int = 10, ratio: float = 4.0, T: float = 2.0, d: int = 100,
                   noise_scale: float = L0, repetitions: int = 8, seed: int = 0):
    """Explorable figure: quality and memorization against ``K`` at ``N = ratio · d``.

    Left: mean ``𝒲₂²/d`` of the ``K``-step law to the target ``p_S`` (solid)
    and to the empirical Gaussian ``N(x̄, S)`` (dashed), finite also for
    ``N ≤ d``, on a log axis. Right: mean memorization statistic ``Γ`` ± 2
    standard errors over ``repetitions`` training sets (``M = 10⁴``), on a
    symmetric-log axis (linear within ±1). The marked ``K`` is the slider's;
    the green dashed line is our choice ``K*`` (definition
    ``def-steps-criterion``), the purple dotted line the ``K`` with the
    smallest mean ``𝒲₂`` to the target. The title gives the mean KL at the
    marked ``K``. Results for one ``(N, T)`` are cached; the axis limits are
    fixed (:data:`EXPLORER_W2_LIMITS`, :data:`EXPLORER_STATISTIC_LIMITS`,
    widened only if the distance to ``p_S`` or the statistic leaves them; the
    distance to ``N(x̄, S)`` may leave the bottom) and the labels are plain
    text (no mathtext), which keeps a live redraw fast.
    """
    if steps_marked not in EXPLORER_STEPS:
        raise ValueError(f"steps_marked must be one of {_finite(EXPLORER_STEPS)}, got {steps_marked!r}")
    n = int(round(ratio * d))
    if n < 2:
        raise ValueError(f"ratio · d must give at least 2 training points, got N = {n}")
    kl, stat, w2t, w2e = _explorer_data(n, d, float(T), float(noise_scale), int(repetitions), int(seed))
    ks = list(EXPLORER_STEPS)
    fin = np.array(_finite(ks), dtype=float)
    idx = [ks.index(k) for k in _finite(ks)]
    jm = ks.index(steps_marked)
    st_m, st_se = _mean_se(stat)
    best = steps.largest_generalizing_steps(ks, st_m)
    wt, we = np.mean(w2t**2, axis=0) / d, np.mean(w2e**2, axis=0) / d
    k_w = ks[int(np.argmin(wt))]
    fig, (ax0, ax1) = new_figure(2, width=3.5, height=2.8)
    ax0.loglog(fin, wt[idx], "o-", ms=3, color="#1f5aa6")
    ax0.loglog(fin, we[idx], "--", color="#555555", lw=1.2)
    ax0.plot([steps_marked], [wt[jm]], "o", ms=9, mfc="none", mec="#d1495b", mew=2)
    ax0.set_xlabel("number of steps K")
    # the key in the axis label, not in a legend: a live update keeps the labels of an unchanged axes
    # but draws a legend's text again
    ax0.set_ylabel("mean W₂²/d to p_S (dashed: to N(x̄, S))", fontsize=8)
    bottom = min(EXPLORER_W2_LIMITS[0], 10.0 ** math.floor(math.log10(float(wt[idx].min()))))
    top = max(EXPLORER_W2_LIMITS[1], 10.0 ** math.ceil(math.log10(1.5 * float(wt[idx].max()))))
    ax0.set_ylim(bottom, top)
    lo_band, hi_band = st_m[idx] - 2 * st_se[idx], st_m[idx] + 2 * st_se[idx]
    ax1.semilogx(fin, st_m[idx], "o-", ms=3, color="#1f5aa6")
    # the band above the grid (zorder 1.6): the axis is then below every data artist and a live
    # update keeps its pixels
    ax1.fill_between(fin, lo_band, hi_band, color="#1f5aa6", alpha=0.15, lw=0, zorder=1.6)
    ax1.plot([steps_marked], [st_m[jm]], "o", ms=9, mfc="none", mec="#d1495b", mew=2)
    ax1.axhline(0.0, color="black", lw=0.8)
    ax1.set_yscale("symlog", linthresh=1.0)
    lo = min(EXPLORER_STATISTIC_LIMITS[0], 2.0 * float(lo_band.min()))
    hi = max(EXPLORER_STATISTIC_LIMITS[1], 2.0 * float(hi_band.max()))
    ax1.set_ylim(lo, hi)
    # a locator, not set_yticks: no tick objects are built unless the axis is drawn
    ax1.yaxis.set_major_locator(FixedLocator([t for t in _STATISTIC_TICKS if lo <= t <= hi]))
    ax1.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}".replace("-", "−")))
    ax1.yaxis.set_minor_locator(NullLocator())
    ax1.set_xlabel("number of steps K")
    ax1.set_ylabel("mean statistic Γ")
    plain_log_ticks(ax0, minor=False)   # no mathtext tick labels, no minor ticks: a faster redraw
    plain_log_ticks(ax1, y=False, minor=False)
    for ax in (ax0, ax1):
        if best is not None and best < math.inf:
            ax.axvline(best, color="#2e8b57", ls="--", lw=1.2)
        if k_w < math.inf:
            ax.axvline(k_w, color="#7b3294", ls=":", lw=1.4)
    kl_m = kl.mean(axis=0)
    kl_text = f"KL = {kl_m[jm]:.3g}" if np.isfinite(kl_m[jm]) else "KL = ∞ (N ≤ d)"
    star = {None: "none", math.inf: "∞"}.get(best, f"{best}")
    # one short line: every glyph of the title is drawn again at each live update
    fig.suptitle(f"N = {n}, T = {T:g}, K = {steps_marked}: {kl_text}, Γ = {st_m[jm]:+.2f};  "
                 f"K* = {star}, min W₂ at K = {_k_label(k_w)}", fontsize=9)
    return fig
