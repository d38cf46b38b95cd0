"""Figures of the chapters "The linear one-step denoiser" (``book/onestep_denoiser.md``)
and "An explicit KL formula" (``book/onestep_kl.md``).

Every function is pure: parameters (and, for the figures of simulation results,
the arrays computed in the chapter) in, a figure out. The two explorers
(:func:`denoiser_explorer`, :func:`kl_explorer`) are also the chapters' live
widgets, so they use closed forms and small cached draws only.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from .. import onestep
from . import STYLE, new_figure, plain_log_axis, styled

__all__ = [
    "spectra_figure",
    "hull_figure",
    "denoiser_explorer",
    "kl_vs_n_figure",
    "proportional_limit_figure",
    "time_noise_figure",
    "single_draw_figure",
    "kl_explorer",
]

#: Floor used to show exact zeros on a logarithmic axis.
_ZERO_FLOOR = 1e-4
_GRAY = "#999999"


# --------------------------------------------------------------------------- cached draws
@functools.lru_cache(maxsize=64)
def _training_set(d: int, n: int, target_std: float, seed: int):
    """A read-only training set from ``N(0, σ² I)`` and its spectrum (depends on the seed only)."""
    X = target_std * np.random.default_rng(seed).standard_normal((n, d))
    lam, U = onestep.empirical_spectrum(X, return_vectors=True)
    for arr in (X, lam, U):
        arr.setflags(write=False)
    return X, lam, U


@functools.lru_cache(maxsize=256)
def _simulated_kl(d: int, n: int, T: float, noise_scale: float, target_std: float, reps: int, seed: int):
    ks = onestep.kl_samples(d, [n], T, noise_scale, target_std, reps, np.random.default_rng(seed))[0]
    return float(np.mean(ks)), float(np.std(ks, ddof=1) / math.sqrt(reps)) if reps > 1 else 0.0


@functools.lru_cache(maxsize=16)
def _normals(d: int, n_samples: int, seed: int):
    """Two read-only blocks of standard normals for the 2-D view (depend on the seed only)."""
    z = np.random.default_rng(seed).standard_normal((2, n_samples, d))
    z.setflags(write=False)
    return z[0], z[1]


@functools.lru_cache(maxsize=64)
def _f_curve(xs: tuple, T: float, noise_scale: float, target_std: float) -> np.ndarray:
    """``F(1/x)`` at the ratios ``x = N/d`` in ``xs`` (the curve of the KL explorer)."""
    out = np.array([onestep.kl_proportional_limit(1.0 / x, T, noise_scale, target_std) for x in xs])
    out.setflags(write=False)
    return out


_T_GRID = tuple(np.linspace(0.1, 6, 60))


@functools.lru_cache(maxsize=64)
def _t_curves(gamma: float, noise_scale: float, target_std: float):
    """``F(γ)`` and ``KL_∞/d`` against ``T`` on :data:`_T_GRID` (right panel of the KL explorer)."""
    F = np.array([onestep.kl_proportional_limit(gamma, t, noise_scale, target_std) for t in _T_GRID])
    K = np.array([onestep.kl_infinite_data(1, t, noise_scale, target_std) for t in _T_GRID])
    for arr in (F, K):
        arr.setflags(write=False)
    return F, K


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5 or 7 times a power of ten that is ``>= x``.

    Axis limits rounded this way stay the same over many slider moves, so a
    live widget can reuse the drawn axes (``lindiff.widgets``).
    """
    k = math.floor(math.log10(x))
    for m in (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0):
        if m * 10.0**k >= x * (1 - 1e-12):
            return m * 10.0**k
    return 10.0 ** (k + 1)


def _decade_limits(lo: float, hi: float) -> tuple[float, float]:
    """Limits of a log axis rounded out to whole decades."""
    return 10.0 ** math.floor(math.log10(lo)), 10.0 ** math.ceil(math.log10(hi))


def _spectrum_panel(ax, lam, g, color, label=None, marker_every=1):
    """Eigenvalues of S (dots) and of Σ_G (line) against their rank, zeros on the floor."""
    k = np.arange(1, lam.size + 1)
    lam_d, g_d = lam[::-1], g[::-1]  # descending
    zero = lam_d <= 0
    ax.semilogy(k[~zero][::marker_every], lam_d[~zero][::marker_every], "o", ms=3, mfc="none",
                color=color, alpha=0.8)
    ax.semilogy(k[~zero], g_d[~zero], "-", color=color, label=label)
    if np.any(zero):
        ax.semilogy(k[zero], np.full(zero.sum(), _ZERO_FLOOR), "v", ms=3, color=color, alpha=0.8)
    _plain_log_ticks(ax.yaxis)


def _plain_log_ticks(axis):
    """Plain decade labels and no minor ticks: cheap to redraw in a live widget."""
    plain_log_axis(axis, minor=False)


def _plain_log_labels(*axes):
    """Plain decade labels (``0.01``, ``1e-6``) on every log axis of ``axes``, minor ticks unlabeled.

    Matplotlib's ``10^k`` labels go through the math parser at every draw; on
    the log-log figures of these chapters that was most of their drawing time.
    """
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            plain_log_axis(axis, minor=True)


# --------------------------------------------------------------------------- chapter 1
@styled
def spectra_figure(d: int = 100, ns=(50, 200, 1000), T: float = 2.0, noise_scale: float = math.exp(-4),
                   target_std: float = 1.0, seed: int = 0):
    """Spectrum of the generated covariance for several training-set sizes.

    Left: eigenvalues ``λ̂_ν`` of ``S`` (circles; exact zeros as triangles on the
    floor) and ``g_ν`` of ``Σ_G`` (lines) against their rank, for each ``N`` in
    ``ns`` (one training set each, nested draws of one seed). Right: the map
    ``λ̂ ↦ g(λ̂)`` of equation ``eq-onestep-gk`` with the eigenvalues on it,
    against the identity; the population point ``(σ², rσ²)`` is marked.
    """
    fig, (ax0, ax1) = new_figure(2, width=4.4)
    s, r = onestep.signal_to_noise(T, noise_scale, target_std)
    sig2 = target_std**2
    X_all, _, _ = _training_set(d, max(ns), target_std, seed)
    colors = STYLE["axes.prop_cycle"].by_key()["color"]
    grid = np.geomspace(1e-3, 30, 300) * sig2
    for i, n in enumerate(ns):
        X = X_all[:n]
        lam = onestep.empirical_spectrum(X)
        v = onestep.generator_variance(X, T, noise_scale)
        g = onestep.generated_spectrum(lam, T, noise_scale, v)
        c = colors[i % len(colors)]
        _spectrum_panel(ax0, lam / sig2, g / sig2, c, label=f"$N={n}$")
        ax1.loglog(grid / sig2, onestep.generated_spectrum(grid, T, noise_scale, v) / sig2, color=c, lw=1.2,
                   label=f"$N={n}$")
        pos = lam > 0
        ax1.loglog(lam[pos] / sig2, g[pos] / sig2, "o", ms=3, mfc="none", color=c, alpha=0.8)
    for ax in (ax0, ax1):
        ax.axhline(1.0, color=_GRAY, ls=":", lw=1, label=r"$\sigma^2$" if ax is ax0 else None)
        ax.axhline(r, color="k", ls="--", lw=1, label=rf"$r\sigma^2$, $r={r:.3f}$" if ax is ax0 else None)
    ax0.plot([], [], "v", ms=3, color=_GRAY, label="exact zeros of $S$")
    ax0.set_ylim(_ZERO_FLOOR / 2, 20)
    ax0.set_xlabel(r"rank $\nu$ (descending)")
    ax0.set_ylabel(r"eigenvalue $/\sigma^2$")
    ax0.set_title(r"$\hat\lambda_\nu$ of $S$ (circles), $g_\nu$ of $\Sigma_G$ (lines)")
    ax0.legend(loc="lower left", bbox_to_anchor=(0.0, 0.1), fontsize=8, ncol=2)
    ax1.loglog(grid / sig2, grid / sig2, color=_GRAY, lw=1, label=r"$g=\hat\lambda$")
    ax1.plot([1.0], [r], "k*", ms=9, label=r"$(\sigma^2, r\sigma^2)$")
    ax1.set_xlim(1e-3, 30)
    ax1.set_ylim(1e-5, 30)
    ax1.set_xlabel(r"$\hat\lambda/\sigma^2$")
    ax1.set_ylabel(r"$g(\hat\lambda)/\sigma^2$")
    ax1.set_title(rf"the map $\hat\lambda\mapsto g(\hat\lambda)$ ($T={T:g}$, $\ell={noise_scale:.3g}$)")
    ax1.legend(loc="lower right")
    _plain_log_labels(ax1)
    return fig


@styled
def hull_figure(ns=(2, 10), T: float = 2.0, noise_scale: float = math.exp(-4), target_std: float = 1.0,
                seed: int = 4, n_samples: int = 400):
    """The affine-hull collapse in ``d = 2`` (proposition ``prop-onestep-hull``).

    One panel per ``N`` in ``ns``: training points from ``p_S = N(0, σ² I_2)``,
    samples of the generated distribution of the noise-averaged fit, and fresh
    samples of ``p_S``. For ``N = 2 ≤ d`` every generated sample lies on the line
    through the two training points (their affine hull, drawn dashed), while
    fresh data scatter around it; for ``N > d`` the generated law has full rank.
    """
    ns = tuple(int(n) for n in ns)
    if not ns or min(ns) < 2:
        raise ValueError(f"ns must be training-set sizes >= 2, got {ns!r}")
    fig, axes = new_figure(len(ns), width=3.4, height=3.4)
    rng = np.random.default_rng(seed)
    lim = 3.2 * target_std
    for ax, n in zip(axes, ns):
        X = target_std * rng.standard_normal((n, 2))
        p = onestep.generated_distribution(X, T, noise_scale)
        gen = p.sample(n_samples, rng)
        fresh = target_std * rng.standard_normal((n_samples, 2))
        ax.plot(fresh[:, 0], fresh[:, 1], ".", ms=4, color=_GRAY, alpha=0.6, label="fresh samples of $p_S$")
        ax.plot(gen[:, 0], gen[:, 1], ".", ms=4, color="#1f5aa6", alpha=0.6, label="samples of $p_G$")
        if n <= 2:  # the affine hull is the line through the points
            u = X[1] - X[0]
            u = u / np.linalg.norm(u)
            ends = X.mean(axis=0) + np.outer([-2 * lim, 2 * lim], u)
            ax.plot(ends[:, 0], ends[:, 1], "--", color="k", lw=0.8, label="affine hull")
        ax.plot(X[:, 0], X[:, 1], "o", ms=6, color="#edae49", mec="k", mew=0.6, label="training points")
        ax.set_title(f"$d=2$, $N={n}$: rank $\\Sigma_G = {p.rank}$")
        ax.set_aspect("equal")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.legend(loc="lower left", fontsize=7.5, frameon=True, framealpha=0.9)
    return fig


@styled
def denoiser_explorer(d: int = 100, n: int = 50, T: float = 2.0, noise_scale: float = math.exp(-4),
                      target_std: float = 1.0, seed: int = 0, n_samples: int = 300):
    """One training set, its generated distribution and a 2-D view of both.

    Left: eigenvalues of ``S`` and of ``Σ_G`` (as in :func:`spectra_figure`).
    Right: training points, generated samples and fresh samples of ``p_S``,
    centered at ``x̄`` and projected on the top eigenvector of ``S`` (horizontal)
    and on the eigenvector of its *smallest* eigenvalue (vertical). For
    ``N ≤ d`` that direction is orthogonal to the affine hull of the training
    set: the training points and every generated sample sit on the horizontal
    axis, while fresh data spread across it.
    """
    if n < 2:
        raise ValueError(f"N must be >= 2 (got {n})")
    X, lam, U = _training_set(int(d), int(n), float(target_std), int(seed))
    a, h = onestep.forward_coefficients(T, noise_scale)
    _, r = onestep.signal_to_noise(T, noise_scale, target_std)
    v = onestep.generator_variance(X, T, noise_scale)
    g = onestep.generated_spectrum(lam, T, noise_scale, v)
    sig2 = target_std**2
    fig, (ax0, ax1) = new_figure(2, width=4.4, height=3.55, top=0.7)
    # plain-text labels: mathtext parsing would dominate the cost of a live update
    _spectrum_panel(ax0, lam / sig2, g / sig2, "#1f5aa6", label="Σ_G")
    ax0.plot([], [], "o", ms=3, mfc="none", color="#1f5aa6", label="S")
    ax0.axhline(1.0, color=_GRAY, ls=":", lw=1, label="σ²")
    ax0.axhline(r, color="k", ls="--", lw=1, label=f"rσ², r = {r:.3f}")
    top = max(float(lam.max() / sig2), float(g.max() / sig2), 1.0)
    ax0.set_ylim(_ZERO_FLOOR / 2, _decade_limits(1.0, 3 * top)[1])  # whole decades: reusable axes
    ax0.set_xlabel("rank ν (descending)")
    ax0.set_ylabel("eigenvalues of S and Σ_G / σ²")
    n_zero = int(np.sum(lam <= 0))
    # titles at y = 1, where matplotlib puts them when nothing is drawn above the axes, but
    # without measuring every tick label again at each update of a live widget to find that out
    ax0.set_title(f"d = {d}, N = {n}: " + (f"{n_zero} zero eigenvalues" if n_zero else "full rank"), y=1.0)
    # 2-D view: basis (top, bottom) eigenvectors of S; coordinates relative to x̄
    xbar = X.mean(axis=0)
    basis = U[:, [-1, 0]]
    z, z_fresh = _normals(int(d), int(n_samples), int(seed) + 1)
    gen = (z * np.sqrt(g)) @ U.T  # generated samples minus x̄ (the mean is exactly x̄)
    fresh = target_std * z_fresh - xbar  # p_S has mean 0 here
    show = X[: min(n, n_samples)] - xbar
    # markers as lines (zorder 2, above the axes): a live widget can then keep the drawn axes
    ax1.plot(*(fresh @ basis).T, "o", ms=2.4, mew=0, color=_GRAY, alpha=0.5, label="p_S")
    ax1.plot(*(show @ basis).T, "x", ms=3.8, mew=1, color="#d1495b", label="training")
    ax1.plot(*(gen @ basis).T, "o", ms=2.4, mew=0, color="#1f5aa6", alpha=0.6, label="generated")
    lim = _nice_ceil(3.5 * math.sqrt(max(float(lam[-1]), sig2)))
    ax1.set_xlim(-lim, lim)
    ax1.set_ylim(-lim, lim)  # same scale on both axes
    for axis in (ax0.xaxis, ax1.xaxis, ax1.yaxis):  # few ticks: each one costs drawing time
        axis.set_major_locator(MaxNLocator(nbins=4))
    # the static words in the axis labels, which a live update keeps; the title is drawn again
    ax1.set_xlabel("2-D view: top eigenvector of S")
    ax1.set_ylabel("bottom eigenvector of S")
    ax1.set_title(f"T = {T:g}, ℓ = {noise_scale:.3g}", y=1.0)
    # one legend for both panels, above them, with short entries: matplotlib lays text out
    # glyph by glyph, and the legend is drawn again at each live update
    (h0, l0), (h1, l1) = ax0.get_legend_handles_labels(), ax1.get_legend_handles_labels()
    fig.legend(h0 + h1, l0 + l1, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncol=4, fontsize=8, markerscale=1.5)
    return fig


# --------------------------------------------------------------------------- chapter 2
def _mean_se(kl):
    kl = np.asarray(kl, dtype=float)
    mean = kl.mean(axis=1)
    se = kl.std(axis=1, ddof=1) / math.sqrt(kl.shape[1]) if kl.shape[1] > 1 else np.zeros_like(mean)
    return mean, se


@styled
def kl_vs_n_figure(ns, kl, d: int = 100, T: float = 2.0, noise_scale: float = math.exp(-4),
                   target_std: float = 1.0, ns_single=None, kl_single=None):
    """Expected ``KL(p_G‖p_S)`` against ``N`` (chapter "An explicit KL formula").

    ``kl`` has shape ``(len(ns), reps)`` (for example from
    :func:`lindiff.onestep.kl_samples`); the mean ± 2 standard errors is shown
    for the averaged fit, the mean for the single-draw fit (``kl_single`` at
    ``ns_single``), with ``KL_∞``, the large-``N`` expansion and ``d·F(d/N)``.
    """
    ns = np.asarray(ns)
    fig, (ax,) = new_figure(1, width=7.0, height=4.0)
    mean, se = _mean_se(kl)
    fin = np.isfinite(mean)
    kl_inf = onestep.kl_infinite_data(d, T, noise_scale, target_std)
    x_lo, x_hi = 0.5 * d, 1.3 * ns.max()
    ax.axvspan(x_lo, d, color="#f3d3d8", alpha=0.6, lw=0)
    ax.text(math.sqrt(x_lo * d), 1e3, "$N\\leq d$:\nKL $=+\\infty$", ha="center", va="center", fontsize=9,
            color="#7a1f2b")
    ax.axvline(d, color="#7a1f2b", lw=1)
    grid = np.unique(np.geomspace(d + 1, x_hi, 300).astype(int))
    mp = [d * onestep.kl_proportional_limit(d / m, T, noise_scale, target_std) for m in grid]
    ax.loglog(grid, mp, color="#2e8b57", lw=1.2, label=r"$d\,F(d/N)$ (proportional limit)")
    big = grid[grid >= 3 * d]
    ax.loglog(big, [onestep.kl_large_n(d, int(m), T, noise_scale, target_std) for m in big], ":", color="k",
              lw=1.5, label="large-$N$ expansion")
    ax.axhline(kl_inf, color="k", ls="--", lw=1, label=rf"$\mathrm{{KL}}_\infty={kl_inf:.3f}$")
    ax.errorbar(ns[fin], mean[fin], yerr=2 * se[fin], fmt="o-", ms=4, color="#1f5aa6", capsize=2,
                label=f"noise-averaged fit, mean ± 2 s.e. ({kl.shape[1]} sets)")
    top = 1e4
    if kl_single is not None:
        ms_, _ = _mean_se(kl_single)
        ns_single = np.asarray(ns_single)
        ok = np.isfinite(ms_)
        ax.loglog(ns_single[ok], ms_[ok], "s--", ms=4, color="#d1495b", lw=1.2,
                  label=f"single-draw fit, mean ({np.asarray(kl_single).shape[1]} sets)")
        top = max(top, 3 * float(np.max(ms_[ok])))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(0.7 * kl_inf, top)
    ax.set_xlabel("training-set size $N$")
    ax.set_ylabel(r"$\mathrm{KL}(p_G\Vert p_S)$ (nats)")
    ax.set_title(rf"$d={d}$, $T={T:g}$, $\ell={noise_scale:.4g}$, $\sigma={target_std:g}$")
    ax.legend(loc="upper right", fontsize=8)
    _plain_log_labels(ax)
    return fig


@styled
def proportional_limit_figure(T: float = 2.0, noise_scale: float = math.exp(-4), target_std: float = 1.0,
                              sim=None):
    """``F(γ) = lim KL/d`` against ``γ = d/N``, with its tangent at ``γ = 0``.

    ``sim`` maps a dimension ``d`` to a pair ``(gammas, values)`` of simulated
    ``E KL/d`` (shown as markers).
    """
    fig, (ax,) = new_figure(1, width=6.0, height=3.8)
    s, _ = onestep.signal_to_noise(T, noise_scale, target_std)
    gam = np.linspace(0.0, 0.999, 400)
    F = np.array([onestep.kl_proportional_limit(g, T, noise_scale, target_std) for g in gam])
    F1 = onestep.kl_proportional_limit(1 - 1e-12, T, noise_scale, target_std)
    slope = (1 + 4 * s) / (2 * (1 + s) ** 3)
    ax.plot(gam, F, color="#2e8b57", label=r"$F(\gamma)$, closed form")
    ax.plot(gam, F[0] + slope * gam, ":", color="k", label=r"tangent $F(0)+F'(0)\gamma$ (large $N$)")
    ax.plot([1.0], [F1], "o", color="#2e8b57", mfc="white")
    ax.annotate(rf"$F(1^-)={F1:.4f}$" "\n" r"$F=+\infty$ for $\gamma\geq1$", (1.0, F1), (0.62, 0.9 * F1),
                fontsize=8, arrowprops=dict(arrowstyle="->", lw=0.8))
    markers = iter(["s", "^", "D", "v"])
    for dim, (g_sim, v_sim) in sorted((sim or {}).items()):
        ax.plot(g_sim, v_sim, next(markers), ms=5, mfc="none", ls="none", label=f"simulated $E\\,$KL$/d$, $d={dim}$")
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.1 * F1)
    ax.set_xlabel(r"$\gamma = d/N$")
    ax.set_ylabel(r"KL$/d$ (nats)")
    ax.set_title(rf"$T={T:g}$, $\ell={noise_scale:.4g}$, $\sigma={target_std:g}$ ($s={s:.4f}$)")
    ax.legend(loc="upper left", fontsize=8)
    return fig


@styled
def time_noise_figure(d: int = 100, ns=(150, 1000), T: float = 2.0, target_std: float = 1.0, seed: int = 0,
                      lambdas=(0.1, 1.0, 10.0)):
    """Effect of diffusion time and noise scale.

    Left: ``KL_∞/d`` against ``T`` for ``ℓ = ℓ₀ e^{−2T}`` (the author's
    parameterization, one curve per ``ℓ₀`` in ``lambdas``, with its ``T → ∞`` level) and for
    ``ℓ = 1``. Right: ``KL(p_G‖p_S)`` of one training set per ``N`` against
    ``ℓ`` at time ``T``, with its small-noise limit (equation
    ``eq-kl-small-noise``) and ``KL_∞(ℓ)``.
    """
    fig, (ax0, ax1) = new_figure(2, width=4.4)
    Ts = np.geomspace(0.05, 8, 120)
    for lam_ in lambdas:
        y = [onestep.kl_infinite_data(1, t, lam_ * math.exp(-2 * t), target_std) for t in Ts]
        (line,) = ax0.loglog(Ts, y, label=rf"$\ell=\ell_0 e^{{-2T}}$, $\ell_0={lam_:g}$")
        rr = 1 / (1 + lam_ / target_std**2)
        ax0.axhline(0.5 * (rr - 1 - math.log(rr)), color=line.get_color(), ls=":", lw=0.8)
    y1 = [onestep.kl_infinite_data(1, t, 1.0, target_std) for t in Ts]
    ax0.loglog(Ts, y1, "--", color="k", label=r"$\ell=1$")
    ax0.set_xlabel("diffusion time $T$")
    ax0.set_ylabel(r"$\mathrm{KL}_\infty/d$ (nats)")
    ax0.set_title(r"infinite data; dotted: $T\to\infty$ levels")
    ax0.legend(loc="upper left", fontsize=8)
    ells = np.geomspace(1e-8, 1e1, 37)
    for n in ns:
        X, _, _ = _training_set(d, n, target_std, seed)
        y = onestep.kl_noise_sweep(X, T, ells, 0.0, target_std)
        (line,) = ax1.loglog(ells, y, label=f"$N={n}$ (one training set)")
        ax1.axhline(onestep.kl_small_noise_limit(X, 0.0, target_std), color=line.get_color(), ls=":", lw=1)
    ax1.loglog(ells, [onestep.kl_infinite_data(d, T, e, target_std) for e in ells], "--", color="k",
               label=r"$\mathrm{KL}_\infty$")
    ax1.axvline(math.exp(-2 * T), color=_GRAY, lw=1, label=r"$\ell=e^{-2T}$")
    ax1.set_xlabel(r"noise scale $\ell$")
    ax1.set_ylabel(r"$\mathrm{KL}(p_G\Vert p_S)$ (nats)")
    ax1.set_title(rf"$d={d}$, $T={T:g}$; dotted: $\ell\to0$ limits")
    ax1.set_ylim(1e-2, None)
    ax1.legend(loc="upper left", fontsize=8)
    _plain_log_labels(ax0, ax1)
    return fig


@styled
def single_draw_figure(ns, kl_averaged, kl_single, d: int = 100):
    """KL of the averaged and single-draw fits just above ``N = d`` (every training set shown).

    Both arrays have shape ``(len(ns), reps)``; the horizontal axis is ``N − d``.
    """
    ns = np.asarray(ns)
    fig, (ax,) = new_figure(1, width=6.5, height=3.8)
    x = ns - d
    rng = np.random.default_rng(0)  # horizontal jitter of the dots only
    for kl, c, name in ((kl_averaged, "#1f5aa6", "noise-averaged"), (kl_single, "#d1495b", "single-draw")):
        kl = np.asarray(kl, dtype=float)
        jit = x[:, None] * np.exp(0.06 * rng.standard_normal(kl.shape))
        ax.loglog(jit.ravel(), kl.ravel(), ".", ms=3, color=c, alpha=0.35)
        ax.loglog(x, kl.mean(axis=1), "o-", ms=4, color=c, label=f"{name} fit, mean")
        ax.loglog(x, np.median(kl, axis=1), "--", color=c, lw=1, label=f"{name} fit, median")
    ax.set_xlabel(f"$N-d$ ($d={d}$)")
    ax.set_ylabel(r"$\mathrm{KL}(p_G\Vert p_S)$ (nats)")
    ax.set_title(f"dots: each of {np.asarray(kl_single).shape[1]} training sets")
    ax.legend(loc="upper right", fontsize=8)
    _plain_log_labels(ax)
    return fig


@styled
def kl_explorer(n_over_d: float = 2.0, T: float = 2.0, noise_scale: float = math.exp(-4), d: int = 100,
                target_std: float = 1.0, reps: int = 4, seed: int = 0):
    """The KL curve with a chosen point marked (the chapter's explorable figure).

    Left: ``KL/d`` against ``N/d`` from the proportional limit ``F(d/N)``, with
    ``KL_∞/d`` and a simulated ``E KL/d`` at ``d`` (``reps`` training sets) at the
    chosen ``N/d``. Right: ``F(d/N)`` and ``KL_∞/d`` against ``T`` at the chosen
    ``ℓ`` and ``N/d``; the circle marks the chosen point in both. No legend: the
    key is in the axis labels, which a live update keeps, while a legend is laid
    out again at every update.
    """
    if not n_over_d > 1.0:
        raise ValueError(f"N/d must be > 1: for N <= d the KL is +inf (got {n_over_d})")
    gamma = 1.0 / n_over_d
    fig, (ax0, ax1) = new_figure(2, width=4.4, height=3.45, top=0.6)
    # plain-text labels and few ticks: mathtext parsing would dominate a live update
    x = np.geomspace(1.0 + 1e-6, 200, 120)
    F = _f_curve(tuple(x), float(T), float(noise_scale), float(target_std))  # cached per (T, ℓ, σ)
    F0 = onestep.kl_infinite_data(1, T, noise_scale, target_std)
    Fg = onestep.kl_proportional_limit(gamma, T, noise_scale, target_std)
    ax0.semilogx(x, F, color="#2e8b57", label="F(d/N), large d")
    ax0.axhline(F0, color="k", ls="--", lw=1, label="KL∞/d")
    ax0.plot([n_over_d], [Fg], "o", ms=10, mfc="none", mec="#2e8b57", mew=2)  # the chosen point
    n = max(int(round(n_over_d * d)), d + 1)
    m, se = _simulated_kl(d, n, float(T), float(noise_scale), float(target_std), reps, seed)
    ax0.errorbar([n / d], [m / d], yerr=[2 * se / d], fmt="x", color="#1f5aa6", ms=7, mew=2, zorder=5)
    # the legend shows the marker alone: an errorbar entry is several artists to lay out at every
    # update. Short legend and title texts: matplotlib draws text glyph by glyph, so every
    # character redrawn at each live update costs time
    ax0.plot([], [], "x", color="#1f5aa6", ms=7, mew=2, label=f"simulated, d = {d}")
    top = _nice_ceil(1.15 * max(F[0], m / d))
    ax0.set_ylim(0, top)  # rounded: reusable axes across slider moves
    _plain_log_ticks(ax0.xaxis)
    # only the ticks inside the panel, and few: the left panel is drawn again at every move of
    # T or ℓ, and matplotlib makes (then hides) a tick artist for each location of a locator
    ax0.xaxis.set_major_locator(FixedLocator([1.0, 10.0, 100.0]))
    ax0.yaxis.set_major_locator(FixedLocator([y for y in MaxNLocator(nbins=4).tick_values(0, top) if y <= top]))
    ax0.set_xlabel(f"N/d   (×: simulated, d = {d})", fontsize=8)
    ax0.set_ylabel("KL/d (nats)")
    # y = 1: the title stays where matplotlib would put it (nothing is drawn above these
    # axes), without measuring every tick label again at each update to find that out
    ax0.set_title(f"N = {n}: F({gamma:.3g}) = {Fg:.4f}, KL∞/d = {F0:.4f}", y=1.0, fontsize=9)
    F_T, K_T = _t_curves(float(gamma), float(noise_scale), float(target_std))
    ax1.plot(_T_GRID, F_T, color="#2e8b57")
    ax1.plot(_T_GRID, K_T, "--", color="k")
    ax1.plot([T], [Fg], "o", ms=10, mfc="none", mec="#2e8b57", mew=2)
    ax1.set_yscale("log")
    ax1.set_ylim(*_decade_limits(float(min(K_T.min(), F_T.min())), float(max(K_T.max(), F_T.max()))))
    _plain_log_ticks(ax1.yaxis)
    ax1.set_ylabel("KL/d (nats)")
    ax1.set_title(f"N/d = {n_over_d:g}, ℓ = {noise_scale:.3g}", y=1.0, fontsize=9)
    # the key in the (kept) axis labels, not in a legend: laying out a legend at every live update
    # costs more than its text
    ax1.set_xlabel("diffusion time T   (solid: F(d/N); dashed: KL∞/d)", fontsize=8)
    return fig
