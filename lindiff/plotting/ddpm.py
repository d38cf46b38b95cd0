"""Figures of the linear-DDPM chapters (``book/ddpm_denoisers.md``, ``book/ddpm_dynamics.md``).

Cheap figures take model parameters and compute what they draw. Figures that
summarize many training sets (``kl_ratio_figure``, ``dn_law_figure``,
``regularization_figure``, ``generalization_map_figure``, ``optima_figure``) take the arrays the chapter computed with
:func:`lindiff.ddpm.kl_scan`, so the numbers in the text and the curves in the
figure come from one computation.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib import ticker

from .. import ddpm
from . import STYLE, new_figure, styled

__all__ = [
    "spectra_figure",
    "transfer_figure",
    "losses_figure",
    "kl_ratio_figure",
    "dn_law_figure",
    "denoiser_explorer",
    "modes_figure",
    "regularization_figure",
    "generalization_map_figure",
    "optima_figure",
    "dynamics_explorer",
]

_COLORS = STYLE["axes.prop_cycle"].by_key()["color"]
TS_LABEL = r"KL(target$\Vert$samples)/$d$"
ST_LABEL = r"KL(samples$\Vert$target)/$d$"


def _color(i: int) -> str:
    return _COLORS[i % len(_COLORS)]


def _f(x):
    return (x - 1.0) - np.log1p(x - 1.0)


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def _tick_label(v, _pos=None) -> str:
    """Plain-text tick labels (``10⁻³``, ``0.1``, ``1``, ``100``): no mathtext, which is slow to lay out."""
    if v <= 0:
        return f"{v:g}"
    e = math.log10(v)
    if abs(e - round(e)) < 1e-9 and not -1 <= round(e) <= 2:
        return "10" + str(int(round(e))).translate(_SUPERSCRIPT)
    return f"{v:g}"


def _tidy(ax, minor: bool = True):
    """Readable, cheap tick labels on every log axis of ``ax``; ``minor=False`` also drops
    minor ticks, which halves the drawing time of a live widget."""
    for axis, scale, lim in ((ax.xaxis, ax.get_xscale(), ax.get_xlim()), (ax.yaxis, ax.get_yscale(), ax.get_ylim())):
        if scale == "log":
            span = max(lim) / min(lim)
            if span < 3:  # less than half a decade: label 1..9 x 10^n
                axis.set_major_locator(ticker.LogLocator(subs=np.arange(1.0, 10.0)))
            elif span < 30:
                axis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(ticker.FuncFormatter(_tick_label))
            axis.set_minor_formatter(ticker.NullFormatter())
            if not minor:
                axis.set_minor_locator(ticker.NullLocator())


def _done(fig, minor: bool = False):
    for ax in fig.axes:
        _tidy(ax, minor)
    return fig


@styled
def spectra_figure(d: int = 100, ks=(0.0, 0.5, 1.0, 1.5, 2.0), k_sample: float = 1.0,
                   ratios=(0.5, 4.0), seed: int = 0):
    """Left: power-law spectra ``lambda_nu = d nu^-k / sum_nu nu^-k``. Right: for ``k_sample``,
    the empirical spectrum of one training set per ``N/d`` in ``ratios`` (no-bias variant) and
    the variance the converged sampler gives each empirical direction, ``g(lambda_hat_nu)``."""
    fig, (ax0, ax1) = new_figure(2)
    nu = np.arange(1, d + 1)
    for i, k in enumerate(ks):
        ax0.loglog(nu, ddpm.power_law_spectrum(d, k), color=_color(i), label=f"$k = {k:g}$")
    ax0.set_xlabel(r"rank $\nu$")
    ax0.set_ylabel(r"eigenvalue $\lambda_\nu$ of $\Sigma$")
    ax0.set_title(rf"power laws, $\mathrm{{tr}}\,\Sigma = d = {d}$")
    ax0.legend()
    lam = ddpm.power_law_spectrum(d, k_sample)
    ax1.loglog(nu, lam, color="black", lw=2.2, label=r"$\lambda_\nu$ (target)")
    for i, r in enumerate(ratios):
        N = int(round(r * d))
        X, _ = ddpm.power_law_training_set(N, d, k_sample, np.random.default_rng(seed))
        fit = ddpm.empirical_spectrum(X, center=False)
        s, _ = ddpm.sampling_moments(fit)
        pos = fit.eigvals > 0
        ax1.loglog(nu[pos], fit.eigvals[pos], "o", ms=3, color=_color(i + 1),
                   label=rf"$\hat\lambda_\nu$, $N/d = {r:g}$")
        ax1.loglog(nu, s, "-", lw=1.0, color=_color(i + 1), alpha=0.8, label=rf"sampled $\tilde\lambda_\nu$, $N/d = {r:g}$")
    ax1.axhline(ddpm.linear_schedule()[0][0], color="gray", ls=":", lw=1)
    ax1.text(1.1, 1.5e-4, r"$\sigma_1^2=\beta_1$", color="gray", fontsize=8)
    ax1.set_ylim(5e-5, 3 * lam.max())
    ax1.set_xlabel(r"rank $\nu$")
    ax1.set_ylabel("variance along direction $\\nu$")
    ax1.set_title(f"one training set, $k = {k_sample:g}$")
    ax1.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 0.1))
    return _done(fig)


@styled
def transfer_figure(T: int = 1000, T_short: int = 100):
    """The sampler's transfer function ``g(c)`` (converged, no ridge): sampled variance of
    a direction whose empirical variance is ``c``. Left: ``g(c)/c`` for ``T`` steps and the
    continuum limit. Right: ``g(c)`` on log axes, also for ``T_short`` steps."""
    fig, (ax0, ax1) = new_figure(2)
    c = np.geomspace(1e-3, 1e2, 300)
    _, abars = ddpm.linear_schedule(T)
    g = ddpm.transfer_function(c, T)
    gc = ddpm.continuum_transfer(c, abars[-1])
    ax0.semilogx(c, g / c, label=f"$T = {T}$")
    ax0.semilogx(c, gc / c, "--", label=r"continuum ($T\to\infty$, same $\bar\alpha_T$)")
    ax0.axhspan(0.98, 1.02, color="gray", alpha=0.15, lw=0)
    marks = np.array([0.01, 0.1, 1.0, 20.0, 60.0])
    ax0.plot(marks, ddpm.transfer_function(marks, T) / marks, "o", color=_color(0))
    ax0.set_ylim(0.85, 1.15)
    ax0.set_xlabel(r"empirical variance $\hat\lambda$")
    ax0.set_ylabel(r"$g(\hat\lambda)/\hat\lambda$")
    ax0.set_title(r"$\pm 2\%$ band shaded")
    ax0.legend(loc="upper right")
    ax1.loglog(c, g, label=f"$T = {T}$")
    ax1.loglog(c, gc, "--", label="continuum")
    ax1.loglog(c, ddpm.transfer_function(c, T_short), color=_color(2), label=f"$T = {T_short}$")
    ax1.loglog(c, c, ":", color="black", lw=1, label=r"$g(\hat\lambda) = \hat\lambda$")
    ax1.axhline(ddpm.linear_schedule(T)[0][0], color="gray", ls=":", lw=1)
    ax1.set_xlabel(r"empirical variance $\hat\lambda$")
    ax1.set_ylabel(r"sampled variance $g(\hat\lambda)$")
    ax1.legend(loc="upper left")
    return _done(fig)


@styled
def losses_figure(d: int = 100, k: float = 1.0, steps=(1, 10, 100, 1000),
                  ratios=(0.25, 0.5, 1.0, 2.0, 4.0, 8.0), seeds=(0, 1, 2)):
    """Test (left) and train (right) loss per dimension against ``N/d`` at several steps ``t``
    (converged, no ridge, no-bias variant). Lines: deterministic equivalents; dots: the mean
    over training sets; dotted: the optimum ``L*_t/d`` of ``N = inf``."""
    fig, (ax0, ax1) = new_figure(2)
    _, abars = ddpm.linear_schedule()
    sel = abars[np.asarray(steps) - 1]
    lam = ddpm.power_law_spectrum(d, k)
    grid = np.unique(np.round(np.geomspace(0.1, 20, 80) * d).astype(int))
    tr_th, te_th = ddpm.deterministic_equivalent_losses(lam, grid, sel)
    sims = np.zeros((len(ratios), 2, len(steps)))
    for i, r in enumerate(ratios):
        N = int(round(r * d))
        for seed in seeds:
            X, target = ddpm.power_law_training_set(N, d, k, np.random.default_rng(seed))
            fit = ddpm.empirical_spectrum(X, center=False)
            w = ddpm.minimizer_weights(fit.eigvals, sel)
            sims[i, 0] += ddpm.test_loss(fit, target, w, sel) / len(seeds)
            sims[i, 1] += ddpm.train_loss(fit, w, sel) / len(seeds)
    opt = ddpm.optimal_loss(lam, sel) / d
    for j, t in enumerate(steps):
        col = _color(j)
        ax0.loglog(grid / d, te_th[:, j] / d, color=col, label=f"$t = {t}$")
        ax0.loglog(ratios, sims[:, 0, j] / d, "o", color=col, ms=4)
        ax1.loglog(grid / d, tr_th[:, j] / d, color=col, label=f"$t = {t}$")
        ax1.loglog(ratios, sims[:, 1, j] / d, "o", color=col, ms=4)
        for ax in (ax0, ax1):
            ax.axhline(opt[j], color=col, ls=":", lw=1)
    for ax, name in ((ax0, "test"), (ax1, "train")):
        ax.axvline(1.0, color="gray", lw=0.8)
        ax.set_xlabel("$N/d$")
        ax.set_ylabel(f"{name} loss / $d$")
    ax0.set_title(f"test, $k = {k:g}$, $d = {d}$")
    ax1.set_title("train (dotted: optimum $L^*_t/d$)")
    ax0.legend(loc="upper right")
    return _done(fig)


@styled
def kl_ratio_figure(ratios, kl, ks):
    """KL per dimension of the converged model against ``N/d``, both directions.

    Parameters
    ----------
    ratios : array, shape (R,)
    kl : array, shape (len(ks), R, 2)
        Mean over training sets of ``(t||s, s||t)`` per dimension.
    ks : sequence of float
    """
    ratios, kl = np.asarray(ratios, float), np.asarray(kl, float)
    fig, axes = new_figure(2)
    big = ratios > 1
    for j, (ax, lab) in enumerate(zip(axes, (TS_LABEL, ST_LABEL))):
        for i, k in enumerate(ks):
            ax.loglog(ratios, kl[i, :, j], "o-", ms=3, color=_color(i), label=f"$k = {k:g}$")
        ax.loglog(ratios[big], 0.25 / ratios[big], ":", color="black", lw=1, label=r"$d/(4N)$")
        ax.axvline(1.0, color="gray", lw=0.8)
        ax.set_xlabel("$N/d$")
        ax.set_ylabel(lab)
        ax.legend(loc="lower left")
        _tidy(ax)
        ax.set_xticks([r for r in (0.25, 0.5, 1, 2, 4, 8) if ratios.min() <= r <= ratios.max()])
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _p: f"{v:g}"))
    axes[0].set_title("target $\\Vert$ samples")
    axes[1].set_title("samples $\\Vert$ target")
    return _done(fig)


@styled
def dn_law_figure(gammas, excess, ks, d: int = 100, center: bool = False):
    """``N (KL - KL_inf) / d^2`` (= excess KL per dimension divided by ``gamma = d/N``)
    against ``q``, both directions. Dots: the model, one color per ``k``; solid: the exact
    Wishart expectation at this ``d``; dashed: the proportional limit; dotted: 1/4.

    Parameters
    ----------
    gammas : array, shape (Q,)
    excess : array, shape (len(ks), Q, 2)
        Mean excess KL per dimension over the optimum, ``(t||s, s||t)``.
    """
    gammas, excess = np.asarray(gammas, float), np.asarray(excess, float)
    fig, axes = new_figure(2)
    grid = np.linspace(0.005, gammas.max() * 1.05, 120)
    Ns = np.maximum(np.round(d / grid).astype(int), d + 3)
    exact = np.array([ddpm.wishart_kl_expectation(d, int(N), center=center) for N in Ns])
    prop = np.array(ddpm.proportional_kl_limit(grid)).T
    for j, (ax, lab) in enumerate(zip(axes, ("target $\\Vert$ samples", "samples $\\Vert$ target"))):
        ax.plot(d / Ns, exact[:, j] * Ns / d, color="black", label=f"exact Wishart, $d = {d}$")
        ax.plot(grid, prop[:, j] / grid, "--", color="gray", label="proportional limit")
        ax.axhline(0.25, color="black", ls=":", lw=1)
        for i, k in enumerate(ks):
            # distinct markers: the points of different k nearly coincide, which is the point
            marker, size, face = (("o", 8, "none"), ("s", 4.5, None), ("^", 5, None))[i % 3]
            ax.plot(gammas, excess[i, :, j] / gammas, marker, ms=size, mfc=face, mew=1.3, ls="none",
                    color=_color(i), label=f"model, $k = {k:g}$")
        ax.set_xlabel(r"$\gamma = d/N$")
        ax.set_ylabel(r"$N\,(\mathrm{KL}-\mathrm{KL}_\infty)/d^2$")
        ax.set_title(lab)
        ax.set_xlim(0, grid.max())
        ax.set_ylim(0.2, None)
    axes[0].legend(loc="upper left", fontsize=8)
    return _done(fig)


#: Hierarchies ``k`` over which the loss panel of :func:`denoiser_explorer` fixes its limits
#: (the chapter's slider covers 0 to 2.5).
_K_ENVELOPE = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5)


def _loss_grid(d: int) -> np.ndarray:
    return np.unique(np.round(np.geomspace(0.1, 10, 40) * d).astype(int))


@functools.lru_cache(maxsize=64)
def _loss_curves(k: float, t: int, d: int):
    """Converged test and train loss per dimension against ``N/d`` at step ``t``, and the optimum
    (deterministic equivalents, no bias); read-only, cached: the curves do not depend on the
    training set, so a move of the ``N/d`` slider recomputes nothing."""
    lam = ddpm.power_law_spectrum(d, k)
    sel = ddpm.linear_schedule()[1][t - 1 : t]
    tr, te = ddpm.deterministic_equivalent_losses(lam, _loss_grid(d), sel)
    te, tr = te[:, 0] / d, tr[:, 0] / d
    for arr in (te, tr):
        arr.setflags(write=False)
    return te, tr, float(ddpm.optimal_loss(lam, sel)[0] / d)


@functools.lru_cache(maxsize=64)
def _loss_range(t: int, d: int) -> tuple[float, float]:
    """Smallest and largest loss of :func:`_loss_curves` at step ``t`` over every ``k`` of
    :data:`_K_ENVELOPE`: the loss panel's limits then stay put while ``k`` moves (a live
    widget keeps the drawn axes), and each curve still spans most of the panel."""
    curves = [_loss_curves(k, t, d) for k in _K_ENVELOPE]
    return min(float(tr.min()) for _, tr, _ in curves), max(float(te.max()) for te, _, _ in curves)


@styled
def denoiser_explorer(k: float = 1.0, ratio: float = 0.5, t: int = 1, d: int = 100, seed: int = 0):
    """Explorable figure of ``book/ddpm_denoisers.md``. Left: target spectrum, the empirical
    spectrum of one training set of ``N = ratio d`` points and the sampled variances. Right:
    converged test and train loss per dimension at step ``t`` against ``N/d`` (deterministic
    equivalents), with this training set marked. No-bias variant, ``T = 1000``.

    The loss panel shows ``N/d`` from 0.1 to 10 and, at each step ``t``, the range of the
    losses over ``k`` from 0 to 2.5 (widened if this figure's curves or points leave it), so
    that its axes stay the same while ``k`` or ``N/d`` move."""
    if not 1 <= t <= 1000:
        raise ValueError(f"t must be a step in 1..1000, got {t}")
    N = int(round(ratio * d))
    if N < 2:
        raise ValueError(f"N = ratio * d must be at least 2, got {N}")
    t, d, k = int(t), int(d), float(k)
    fig, (ax0, ax1) = new_figure(2, width=4.0, height=3.45, top=0.7)
    nu = np.arange(1, d + 1)
    lam = ddpm.power_law_spectrum(d, k)
    X, target = ddpm.power_law_training_set(N, d, k, np.random.default_rng(seed))
    fit = ddpm.empirical_spectrum(X, center=False)
    s, _ = ddpm.sampling_moments(fit)
    pos = fit.eigvals > 0
    ax0.loglog(nu, lam, color="black", lw=2, label=r"target $\lambda_\nu$")
    ax0.loglog(nu[pos], fit.eigvals[pos], "o", ms=3, color=_color(1), label=r"empirical $\hat\lambda_\nu$")
    ax0.loglog(nu, s, color=_color(0), lw=1.2, label=r"sampled $\tilde\lambda_\nu$")
    ax0.set_ylim(5e-5, 200)
    ax0.set_xlabel(r"rank $\nu$")
    ax0.set_ylabel("variance")
    # plain-text titles: they change at every slider move, and parsing new mathtext
    # would cost a live update more than drawing the rest of the figure
    # (and at y = 1, where matplotlib puts them when nothing is drawn above the axes, but
    # without measuring every tick label again at each update to find that out)
    ax0.set_title(f"k = {k:g}, N/d = {ratio:g} ({d - fit.rank} null directions)", y=1.0)
    sel = ddpm.linear_schedule()[1][t - 1 : t]
    grid = _loss_grid(d)
    te, tr, opt = _loss_curves(k, t, d)
    w = ddpm.minimizer_weights(fit.eigvals, sel)
    te_here = ddpm.test_loss(fit, target, w, sel)[0] / d
    tr_here = ddpm.train_loss(fit, w, sel)[0] / d
    ax1.loglog(grid / d, te, color=_color(1), label="test (theory)")
    ax1.loglog(grid / d, tr, color=_color(0), label="train (theory)")
    ax1.axhline(opt, color="gray", ls=":", lw=1, label="optimum")
    ax1.plot([ratio], [te_here], "o", color=_color(1))
    ax1.plot([ratio], [tr_here], "o", color=_color(0))
    ax1.axvline(1.0, color="gray", lw=0.8)
    lo, hi = _loss_range(t, d)
    lo = min(lo, float(tr.min()), tr_here, te_here)
    hi = max(hi, float(te.max()), tr_here, te_here)
    pad = (hi / lo) ** 0.05  # a 5 % margin on the log scale, as autoscaling leaves
    ax1.set_ylim(lo / pad, hi * pad)
    ax1.set_xlim(min(0.08, 0.8 * ratio), max(12.5, 1.25 * ratio))
    ax1.set_xlabel("$N/d$")
    ax1.set_ylabel("loss / $d$ at step $t$")
    ax1.set_title(f"t = {t}: test {te_here:.3g}, train {tr_here:.3g}", y=1.0)
    # one legend above both panels, a row per panel (entries fill the columns first): one
    # block of text to lay out at each live update, and no curve hidden behind it
    (h0, l0), (h1, l1) = ax0.get_legend_handles_labels(), ax1.get_legend_handles_labels()
    order = [i for pair in zip(range(3), range(3, 6)) for i in pair]
    fig.legend([(h0 + h1)[i] for i in order], [(l0 + l1)[i] for i in order], loc="upper center",
               bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8)
    return _done(fig)


@styled
def modes_figure(cs=(0.0, 0.1, 1.0, 10.0), modes=((1, 5.0), (1, 0.1), (100, 0.0), (10, 0.0), (1, 0.0)),
                 lr: float = 0.05, ridge: float = 0.0):
    """Left: relaxation time ``1/(2 varpi_t)`` of gradient flow against step ``t`` for several
    empirical variances ``lambda_hat`` (``cs``). Right: ``w_t(tau) / w_t^*`` for a few modes
    ``(t, lambda_hat)``: the flow (lines) and gradient descent with learning rate ``lr`` at
    ``tau = lr n`` after ``n`` iterations (dots)."""
    fig, (ax0, ax1) = new_figure(2)
    _, abars = ddpm.linear_schedule()
    t = np.arange(1, 1001)
    r = ddpm.relaxation_rates(np.asarray(cs, float), abars, ridge)
    for i, c in enumerate(cs):
        ax0.loglog(t, 1 / (2 * r[:, i]), color=_color(i), label=rf"$\hat\lambda = {c:g}$")
    ax0.set_xlabel("step $t$")
    ax0.set_ylabel(r"relaxation time $1/(2\varpi_t)$")
    ax0.set_title("gradient-flow time scales")
    ax0.legend()
    taus = np.geomspace(1e-2, 1e5, 300)
    iters = np.unique(np.round(np.geomspace(1, 1e6, 25)).astype(int))
    for i, (step, c) in enumerate(modes):
        ab = abars[step - 1 : step]
        cc = np.array([c])
        wstar = ddpm.minimizer_weights(cc, ab, ridge)[0, 0]
        flow = np.array([ddpm.flow_weights(cc, ab, ridge, tau)[0, 0] for tau in taus])
        gd = np.array([ddpm.gd_weights(cc, ab, ridge, lr, int(n))[0, 0] for n in iters])
        ax1.semilogx(taus, flow / wstar, color=_color(i), label=rf"$t = {step}$, $\hat\lambda = {c:g}$")
        ax1.semilogx(lr * iters, gd / wstar, "o", ms=3, color=_color(i))
    ax1.set_xlabel(r"training time $\tau$ (dots: GD, $\tau = \varepsilon_{\rm lr} n$, " + rf"$\varepsilon_{{\rm lr}} = {lr:g}$)")
    ax1.set_ylabel(r"$w_t(\tau)/w_t^*$")
    ax1.set_title("one mode at a time, from $W = 0$")
    ax1.set_xlim(1e-2, 1e7)  # room for the legend at the lower right, after every curve has converged
    ax1.legend(loc="lower right", fontsize=8)
    return _done(fig)


@styled
def regularization_figure(ridges, kl_ridge, taus, kl_tau, ks):
    """KL per dimension against ridge (left) and training time (right), both directions
    (solid: target||samples, dashed: samples||target), one color per ``k``; the minimum
    of each curve is marked.

    Parameters
    ----------
    ridges : array, shape (R,)
    kl_ridge : array, shape (len(ks), R, 2)
    taus : array, shape (S,)
    kl_tau : array, shape (len(ks), S, 2)
    """
    fig, (ax0, ax1) = new_figure(2)
    for ax, x, kl in ((ax0, np.asarray(ridges), np.asarray(kl_ridge)), (ax1, np.asarray(taus), np.asarray(kl_tau))):
        for i, k in enumerate(ks):
            for j, ls in enumerate(("-", "--")):
                y = kl[i, :, j]
                ax.loglog(x, y, ls, color=_color(i), label=f"$k = {k:g}$" if j == 0 else None)
                m = int(np.argmin(y))
                ax.plot(x[m], y[m], "o" if j == 0 else "s", color=_color(i), ms=5, mfc="white" if j else None)
        ax.set_ylabel("KL / $d$  (solid: t$\\Vert$s, dashed: s$\\Vert$t)")
        ax.set_ylim(0.05, None)
    ax0.set_xlabel("ridge (converged training)")
    ax1.set_xlabel(r"training time $\tau$ (no ridge)")
    ax0.set_title("ridge")
    ax1.set_title("early stopping")
    ax0.legend(loc="upper center")
    return _done(fig)


@styled
def dynamics_explorer(ridge: float = 0.0, train_time: float = math.inf, k: float = 1.0,
                      ratio: float = 0.5, d: int = 100, seed: int = 0):
    """Explorable figure of ``book/ddpm_dynamics.md``. One training set (no-bias variant).
    Left: sampled variance ``lambda_tilde_nu`` along each empirical direction against the target variance
    ``v_nu^T Sigma v_nu`` there. Right: each direction's share of KL, ``f(rho/s)/2`` (target||samples)
    and ``f(s rho~)/2`` (samples||target)."""
    N = int(round(ratio * d))
    if N < 2:
        raise ValueError(f"N = ratio * d must be at least 2, got {N}")
    X, target = ddpm.power_law_training_set(N, d, k, np.random.default_rng(seed))
    fit = ddpm.empirical_spectrum(X, center=False)
    s, _ = ddpm.sampling_moments(fit, ridge=ridge, train_time=train_time)
    s0, _ = ddpm.sampling_moments(fit)
    rho, rho_inv = ddpm.direction_overlaps(fit, target)
    ts, st = ddpm.sampling_kl(fit, target, ridge=ridge, train_time=train_time)
    nu = np.arange(1, d + 1)
    fig, (ax0, ax1) = new_figure(2, width=4.0, height=3.1)
    ax0.semilogy(nu, rho, color="black", lw=2, label=r"target $v_\nu^\top\Sigma v_\nu$")
    ax0.semilogy(nu, s0, color="gray", lw=1, ls="--", label="sampled, unregularized")
    ax0.semilogy(nu, s, color=_color(0), lw=1.5, label=r"sampled $\tilde\lambda_\nu$")
    ax0.axvline(fit.rank + 0.5, color="gray", lw=0.8)
    ax0.set_ylim(5e-5, 3e3)
    ax0.set_xlabel(r"empirical direction $\nu$ (by $\hat\lambda_\nu$)")
    ax0.set_ylabel("variance along $v_\\nu$")
    tau_txt = r"\infty" if math.isinf(train_time) else f"{train_time:g}"
    ax0.set_title(f"ridge = {ridge:g}, $\\tau = {tau_txt}$")
    ax0.legend(loc="lower left", fontsize=8)
    ax1.semilogy(nu, np.maximum(0.5 * _f(rho / s), 1e-6), color=_color(1), label="target$\\Vert$samples")
    ax1.semilogy(nu, np.maximum(0.5 * _f(s * rho_inv), 1e-6), color=_color(2), label="samples$\\Vert$target")
    ax1.axvline(fit.rank + 0.5, color="gray", lw=0.8)
    ax1.set_ylim(1e-6, 1e5)
    ax1.set_xlabel(r"empirical direction $\nu$")
    ax1.set_ylabel("KL share of direction $\\nu$")
    ax1.set_title(f"KL/d: t$\\Vert$s {ts:.3g}, s$\\Vert$t {st:.3g}")
    ax1.legend(loc="upper left", fontsize=8)
    return _done(fig)


def _ratio_ticks(ax, ratios):
    """Readable ticks on a log N/d axis: 0.2, 0.5, 1, 2, 5 within the plotted range."""
    _tidy(ax)
    ax.set_xticks([v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10) if min(ratios) <= v <= max(ratios)])
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _p: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def _log_edges(x):
    """Cell edges of a log-spaced grid (geometric midpoints, extended by half a step at each end)."""
    lx = np.log(np.asarray(x, float))
    mid = 0.5 * (lx[1:] + lx[:-1])
    return np.exp(np.concatenate([[lx[0] - (mid[0] - lx[0])], mid, [lx[-1] + (lx[-1] - mid[-1])]]))


@styled
def generalization_map_figure(ratios, taus, kl_tau, tau_opt, ridges, kl_ridge, ridge_opt):
    """KL(target||samples)/d as heat maps in (N/d, tau) (left, no ridge) and (N/d, ridge)
    (right, converged), on a log color scale, with the optimum at each N/d drawn as a curve.

    Parameters
    ----------
    ratios : array, shape (R,)
    taus : array, shape (S,);  kl_tau : array, shape (R, S)
    tau_opt : array, shape (R,)
    ridges : array, shape (Q,);  kl_ridge : array, shape (R, Q)
    ridge_opt : array, shape (R,)
    """
    from matplotlib.colors import LogNorm

    ratios = np.asarray(ratios, float)
    fig, (ax0, ax1) = new_figure(2, width=4.3, right=0.9)
    lo = min(np.min(kl_tau), np.min(kl_ridge))
    hi = max(np.max(kl_tau[np.isfinite(kl_tau)]), np.max(kl_ridge[np.isfinite(kl_ridge)]))
    norm = LogNorm(vmin=lo, vmax=hi)
    for ax, y, kl, opt, name in ((ax0, taus, kl_tau, tau_opt, r"training time $\tau$ (no ridge)"),
                                 (ax1, ridges, kl_ridge, ridge_opt, "ridge (converged)")):
        mesh = ax.pcolormesh(_log_edges(ratios), _log_edges(y), np.asarray(kl, float).T, norm=norm,
                             cmap="viridis", shading="flat", rasterized=True)
        ax.plot(ratios, opt, "o-", color="white", ms=3.5, lw=1.5, label="optimum at each $N/d$")
        ax.axvline(1.0, color="white", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("$N/d$")
        ax.set_ylabel(name)
        ax.legend(loc="lower left", fontsize=8, facecolor="0.3", labelcolor="white", framealpha=0.6)
    ax0.set_title(r"early stopping: KL(target$\Vert$samples)/$d$")
    ax1.set_title("ridge: same color scale")
    cax = fig.add_axes([1 - 0.8 / fig.get_figwidth(), 0.18, 0.12 / fig.get_figwidth(), 0.7])
    fig.colorbar(mesh, cax=cax)
    for ax in (ax0, ax1):
        ax.grid(False)
        _ratio_ticks(ax, ratios)
    return fig


@styled
def optima_figure(ratios, tau_opt, ridge_opt, kl_tau_opt, kl_ridge_opt, kl_converged, kl_refit=None):
    """Left: the optimal training time and the optimal ridge against N/d, with 1/(2 ridge*)
    for comparison. Right: KL(target||samples)/d at each optimum, converged, and (optionally)
    the exact expectation for the refitted Gaussian (N > d + 1)."""
    ratios = np.asarray(ratios, float)
    fig, (ax0, ax1) = new_figure(2)
    ax0.loglog(ratios, tau_opt, "o-", ms=3.5, color=_color(0), label=r"optimal $\tau$")
    ax0.loglog(ratios, ridge_opt, "s-", ms=3.5, color=_color(1), label="optimal ridge")
    ax0.loglog(ratios, 1 / (2 * np.asarray(ridge_opt)), ":", color=_color(1), label=r"$1/(2\,\mathrm{ridge}^*)$")
    ax0.axvline(1.0, color="gray", lw=0.8)
    ax0.set_xlabel("$N/d$")
    ax0.set_ylabel("optimal value")
    ax0.set_title("where the optimum lies")
    ax0.legend(loc="center right", fontsize=8)
    ax1.loglog(ratios, kl_converged, "^-", ms=3.5, color="gray", label="converged, no ridge")
    ax1.loglog(ratios, kl_tau_opt, "o-", ms=3.5, color=_color(0), label=r"optimal $\tau$")
    ax1.loglog(ratios, kl_ridge_opt, "s-", ms=3.5, color=_color(1), label="optimal ridge")
    if kl_refit is not None:
        ok = np.isfinite(kl_refit)
        ax1.loglog(ratios[ok], np.asarray(kl_refit)[ok], ":", color="black", lw=1, label="refit, exact")
    ax1.axvline(1.0, color="gray", lw=0.8)
    ax1.set_xlabel("$N/d$")
    ax1.set_ylabel(TS_LABEL)
    ax1.set_title("KL at the optimum")
    ax1.legend(loc="upper right", fontsize=8)
    fig = _done(fig)
    for ax in (ax0, ax1):
        _ratio_ticks(ax, ratios)
    return fig
