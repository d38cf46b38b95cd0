"""Figures of the appendix "Random-matrix tools" (``book/appendix_rmt.md``).

Every function is pure: parameters in, a figure out; the random draws are
seeded and cached, so the static figures, the frames of the explorable figure
and the live widget show the same matrices.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import rmt
from ..ddpm import power_law_spectrum
from ..wishart import wishart_eigenvalues
from . import new_figure, plain_log_axis, styled

__all__ = ["mp_figure", "edges_figure", "deterministic_equivalent_figure"]

_GRAY = "#999999"


# --------------------------------------------------------------------------- cached draws
@functools.lru_cache(maxsize=64)
def _isotropic_eigenvalues(d: int, n: int, seed: int) -> np.ndarray:
    """Eigenvalues (ascending) of ``S₀ = ZᵀZ/N`` for one ``N × d`` standard normal ``Z``.

    For ``N >= d`` from the bidiagonal model of ``Wishart_d(N, I)``; for
    ``N < d`` the ``N`` nonzero ones are those of ``Z Zᵀ ~ Wishart_N(d, I)``,
    padded with the ``d − N`` exact zeros.
    """
    rng = np.random.default_rng(seed)
    if n >= d:
        ev = wishart_eigenvalues(d, n, rng)[0] / n
    else:
        ev = np.concatenate([np.zeros(d - n), wishart_eigenvalues(n, d, rng)[0] / n])
    ev.setflags(write=False)
    return ev


_X_TOPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
_Y_TOPS = (0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0)


def _round_up(x: float, tops) -> float:
    """The smallest of ``tops`` (times a power of 10) that is at least ``x > 0``."""
    scale = 10.0 ** math.floor(math.log10(x / tops[0]))
    return next((t * scale for t in tops if t * scale >= x), tops[0] * scale * 10.0)


def _check_gamma_d(gamma, d):
    if not (isinstance(d, (int, np.integer)) and d >= 2):
        raise ValueError(f"d must be an integer >= 2, got {d!r}")
    if not (isinstance(gamma, (int, float)) and 0 < gamma <= d / 2):
        raise ValueError(f"gamma must be in (0, d/2] so that N = d/gamma >= 2, got {gamma!r}")


# --------------------------------------------------------------------------- figures
@styled
def mp_figure(gamma: float = 0.25, d: int = 400, seed: int = 0):
    """Eigenvalues of one Wishart matrix against the Marchenko–Pastur law, and two of its transforms.

    Left: histogram of the eigenvalues of ``S₀ = ZᵀZ/N`` (``N = d/γ``,
    rounded) with the density ``eq-rmt-mp-density`` and the edges
    ``(1 ± √γ)²``; for ``γ > 1`` the ``d − N`` zero eigenvalues (the atom) are
    counted in the title, not drawn. Right: ``η(ω)`` (left axis) and ``𝒱(ω)``
    (right axis) in closed form, with the same averages over the ``d``
    eigenvalues of the draw (dots).
    """
    _check_gamma_d(gamma, d)
    n = max(int(round(d / gamma)), 2)
    ev = _isotropic_eigenvalues(int(d), n, int(seed))
    g = d / n  # the ratio actually drawn
    lo, hi = rmt.mp_edges(g)
    fig, (ax0, ax1) = new_figure(2, width=4.3, right=0.75, wspace=1.2)

    nonzero = ev[ev > 0]
    # axis limits from a short list of round values, so that neighboring slider values share the axes
    # (a live update then keeps their pixels) while every bulk still fills most of the panel
    x_top = _round_up(max(hi * 1.08 + 0.05, 1.001 * float(ev[-1])), _X_TOPS)   # every eigenvalue is counted
    bins = np.linspace(0.0, x_top, 36)
    counts, edges = np.histogram(nonzero, bins=bins)
    width = edges[1] - edges[0]
    # one step patch instead of 35 bars, above the grid (zorder 1.6): few artists, and the axis stays
    # below every data artist, which a live update needs to keep its pixels
    ax0.stairs(counts / (d * width), edges, fill=True, color="#1f5aa6", alpha=0.35, zorder=1.6)
    u = np.linspace(max(lo, 1e-4), hi, 300)
    ax0.plot(u, rmt.mp_density(u, g), color="#d1495b")
    for edge in (lo, hi):
        ax0.axvline(edge, color="k", ls="--", lw=0.8)
    top = float(np.max(rmt.mp_density(np.linspace(max(lo, 0.02), hi, 200), g)))
    ax0.set_xlim(0.0, x_top)
    ax0.set_ylim(0, _round_up(1.25 * max(top, float(np.max(counts)) / (d * width)), _Y_TOPS))
    for axis in (ax0.xaxis, ax0.yaxis):   # few tick labels: this panel is redrawn when γ moves
        axis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    # the key in the axis labels, not in a legend: a live update keeps the labels of an unchanged axes
    # but draws a legend's text again
    ax0.set_xlabel("eigenvalue of S₀ / σ²  (line: Marchenko–Pastur)")
    ax0.set_ylabel("density of the eigenvalues")
    atom = f", {d - n} zeros (atom)" if n < d else ""
    ax0.set_title(f"d = {d}, N = {n}, γ = {g:.3g}{atom}")

    om = np.geomspace(1e-2, 1e3, 60)
    omd = om[::6]
    ax1.semilogx(om, rmt.mp_eta(om, g), color="#1f5aa6", label="η(ω)")
    ax1.semilogx(omd, np.mean(1.0 / (1.0 + omd[:, None] * ev[None, :]), axis=1), "o", ms=4, mfc="none",
                 color="#1f5aa6")
    ax1.set_ylim(0, 1.05)
    ax1.set_xlabel("ω   (lines: closed forms; symbols: this draw)")   # an axis label, kept by a live update
    ax1.set_ylabel("η(ω) = E 1/(1+ωλ)", color="#1f5aa6")
    plain_log_axis(ax1.xaxis, minor=False)
    ax2 = ax1.twinx()
    ax2.plot(om, rmt.mp_shannon(om, g), color="#2e8b57", label=r"$\mathcal{V}(\omega)$")
    ax2.plot(omd, np.mean(np.log1p(omd[:, None] * ev[None, :]), axis=1), "s", ms=4, mfc="none", color="#2e8b57")
    ax2.set_ylabel(r"$\mathcal{V}(\omega)$ = E ln(1+ωλ)", color="#2e8b57")
    ax2.set_ylim(0, 7.5)   # 𝒱(10³) ≤ ln(1 + 10³) ≈ 6.9 for every γ: fixed, like the axes of η
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    return fig


def _extremes(d: int, n: int, reps: int, seed) -> np.ndarray:
    """Smallest and largest eigenvalue of ``S/σ²`` for ``reps`` centered training sets of ``n`` points."""
    return rmt.wishart_extreme_eigenvalues(d, n - 1, np.random.default_rng(seed), reps) / n


@styled
def edges_figure(gammas=(0.25, 0.5), dims=(25, 50, 100, 200, 400, 800, 1600, 3200), reps: int = 8, seed: int = 0):
    """Extreme eigenvalues of ``S/σ²`` against ``d``: the Bai–Yin edges, and the boundary ``N = d + 1``.

    ``S`` is the centered empirical covariance of ``N`` points of ``N(μ, σ² I_d)``
    (``N S/σ² ~ Wishart_d(N − 1, I)``, drawn by
    :func:`lindiff.rmt.wishart_extreme_eigenvalues`). Left: for each ``γ`` in
    ``gammas`` and ``N = d/γ``, the smallest and largest eigenvalue with the
    edges ``(1 ∓ √γ)²`` (dashed). Right: the smallest eigenvalue at
    ``N = d + 1``, which falls like ``d⁻²``. Markers: median over ``reps``
    draws; bars: their range.
    """
    dims = [int(x) for x in dims]
    fig, (ax0, ax1) = new_figure(2, width=4.2)
    colors = ["#1f5aa6", "#d1495b", "#6b4c9a"]
    for j, g in enumerate(gammas):
        ext = np.array([_extremes(dd, max(int(round(dd / g)), dd + 1), reps, [seed, j, dd]) for dd in dims])
        lo, hi = rmt.mp_edges(g)
        for col, edge in ((0, lo), (1, hi)):
            q = np.percentile(ext[:, :, col], [0, 50, 100], axis=1)
            ax0.errorbar(dims, q[1], yerr=[q[1] - q[0], q[2] - q[1]], fmt="o-", ms=4, lw=1, color=colors[j],
                         label=f"γ = {g:g}" if col == 0 else None)
            ax0.axhline(edge, color=colors[j], ls="--", lw=0.8)
    ax0.set_xscale("log")
    ax0.set_ylim(0, None)
    ax0.set_ylabel("smallest and largest eigenvalue of S/σ²")
    ax0.set_title("N = d/γ; dashed: (1 ∓ √γ)²")
    ax0.legend(loc="center right", fontsize=8)
    ext = np.array([_extremes(dd, dd + 1, reps, [seed, len(gammas), dd]) for dd in dims])
    q = np.percentile(ext[:, :, 0], [0, 50, 100], axis=1)
    ax1.errorbar(dims, q[1], yerr=[q[1] - q[0], q[2] - q[1]], fmt="o-", ms=4, lw=1, color="#2e8b57",
                 label="smallest, N = d + 1")
    dd = np.array(dims, dtype=float)
    ax1.plot(dd, q[1][0] * (dd[0] / dd) ** 2, ":", color="k", lw=1, label="∝ d⁻²")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    plain_log_axis(ax1.yaxis, minor=False)
    ax1.set_ylabel("smallest eigenvalue of S/σ²")
    ax1.set_title("the boundary case: γ → 1")
    ax1.legend(loc="lower left", fontsize=8)
    for ax in (ax0, ax1):
        plain_log_axis(ax.xaxis, minor=False)
        ax.set_xlabel("dimension d")
    return fig


@styled
def deterministic_equivalent_figure(d: int = 200, k: float = 1.0, ratios=(0.5, 2.0), seeds=(0, 1, 2)):
    """Resolvent traces for a power-law ``Σ`` against their deterministic equivalents.

    Left: ``tr(S₀ + z)⁻¹/d``; right: ``tr Σ(S₀ + z)⁻¹/d``, against ``z``, for
    ``N = ratio · d`` points of ``N(0, Σ)`` with ``Σ`` the power law
    :func:`lindiff.ddpm.power_law_spectrum` ``(d, k)``. Lines: equation
    ``eq-rmt-deteq``; symbols: the mean over the seeded training sets.
    """
    lam = power_law_spectrum(d, k)
    z = np.geomspace(1e-3, 10.0, 40)
    zs = z[::4]
    fig, (ax0, ax1) = new_figure(2, width=4.2)
    colors = ["#1f5aa6", "#d1495b", "#2e8b57"]
    for j, ratio in enumerate(ratios):
        n = int(round(ratio * d))
        de = rmt.deterministic_equivalent(lam, n, z)
        sims = []
        for seed in seeds:
            X = np.random.default_rng(seed).standard_normal((n, d)) * np.sqrt(lam)
            c, V = np.linalg.eigh(X.T @ X / n)
            rho = lam @ V**2
            r = 1.0 / (np.maximum(c, 0.0)[None, :] + zs[:, None])
            sims.append([r.sum(1), (r * rho).sum(1)])
        sims = np.mean(sims, axis=0) / d
        for ax, theory, sim in ((ax0, de.trace / d, sims[0]), (ax1, de.trace_sigma / d, sims[1])):
            ax.loglog(z, theory, color=colors[j], label=f"N/d = {ratio:g}")
            ax.loglog(zs, sim, "o", ms=4, mfc="none", color=colors[j])
    for ax in (ax0, ax1):
        ax.set_xlabel("ω")
        plain_log_axis(ax.xaxis, minor=False)
        plain_log_axis(ax.yaxis, minor=False)
        ax.legend(loc="upper right", fontsize=8)
    ax0.set_ylabel("tr (S₀ + ω)⁻¹ / d")
    ax1.set_ylabel("tr Σ(S₀ + ω)⁻¹ / d")
    ax0.set_title(f"power law k = {k:g}, d = {d}")
    ax1.set_title(f"symbols: mean of {len(seeds)} training sets")
    return fig
