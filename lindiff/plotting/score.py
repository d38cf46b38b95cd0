"""Figures of the chapter "Denoisers, scores and the empirical Gaussian" (``book/score_view.md``).

:func:`score_field_figure` is the chapter's explorable figure: in ``d = 2`` it
compares the denoiser of the empirical Gaussian (what both linear models learn,
theorem ``thm-score-empirical-gaussian``) with the exact denoiser of the
empirical distribution, together with samples of the samplers they drive.
:func:`transfer_figure` puts the generated-variance maps of every sampler of
the chapter side by side.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from matplotlib.ticker import FixedLocator

from .. import ddpm, empirical, onestep, score, steps
from . import new_figure, plain_log_ticks, styled

__all__ = ["score_field_figure", "transfer_figure"]

_LIN, _EXACT, _DATA = "#1f5aa6", "#d1495b", "#edae49"
_LIM = 3.2
_GRID = np.linspace(-_LIM + 0.35, _LIM - 0.35, 13)
_N_SAMPLES = 300
_T_STEPS = 1000


@functools.lru_cache(maxsize=1)
def _schedule():
    betas, ab = ddpm.linear_schedule(_T_STEPS)
    one_minus = -np.expm1(np.cumsum(np.log1p(-betas)))
    one_minus[0] = betas[0]
    return ab, one_minus


@functools.lru_cache(maxsize=16)
def _model(n: int, seed: int):
    """Training set, its empirical Gaussian and samples of both samplers (independent of t)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((10, 2)) * np.array([1.4, 0.9])
    X = X[:n]
    p_hat = score.empirical_gaussian(X)
    lin = ddpm.sampling_distribution(X, T=_T_STEPS).sample(_N_SAMPLES, np.random.default_rng(seed + 1))
    exact = empirical.empirical_ddpm_samples(X, _N_SAMPLES, np.random.default_rng(seed + 2), T=_T_STEPS)
    return X, p_hat, lin, exact


def _support(ax, p_hat):
    """The support of the empirical Gaussian: a line (rank 1) or its 2σ ellipse (rank 2)."""
    w, V = p_hat.eigvals, p_hat.eigvecs
    if p_hat.rank == 1:
        u = V[:, -1]
        s = np.array([-3 * _LIM, 3 * _LIM])
        ax.plot(p_hat.mean[0] + s * u[0], p_hat.mean[1] + s * u[1], color=_LIN, lw=1.0, ls="--",
                label=r"support of $\hat p$")
    else:
        th = np.linspace(0, 2 * math.pi, 90)
        circ = np.stack([np.cos(th), np.sin(th)])
        pts = p_hat.mean[:, None] + V @ (2 * np.sqrt(w)[:, None] * circ)
        ax.plot(pts[0], pts[1], color=_LIN, lw=1.0, ls="--", label=r"$2\sigma$ ellipse of $\hat p$")


@styled
def score_field_figure(n: int = 2, t: int = 100, seed: int = 20):
    """Denoising fields at step ``t`` of the linear DDPM schedule, in ``d = 2``, and the samples.

    ``n`` training points are drawn from ``N(0, diag(1.4², 0.9²))`` with
    ``numpy.random.default_rng(seed)`` (nested in ``n``). The arrows start at a
    noisy point ``x`` and point along ``h ∇ ln p_t(x) = a E[x_0 | x] − x``
    (Tweedie), with ``a = sqrt(ᾱ_t)``, ``h = 1 − ᾱ_t``, drawn at 40 % of their
    length. Left: the score of the empirical Gaussian ``N(x̄, S)`` noised to
    ``t``, i.e. the converged linear DDPM with tied bias; its samples (300,
    from the exact law of ``ddpm.sampling_distribution``). Right: the score of
    the empirical distribution (the Gaussian mixture), i.e. the exact
    empirical denoiser, and 300 samples of its DDPM sampler
    (``empirical.empirical_ddpm_samples``). The samples do not depend on ``t``.
    """
    if not isinstance(n, (int, np.integer)) or not 2 <= n <= 10:
        raise ValueError(f"n must be an integer in [2, 10] (the training points shown), got {n!r}")
    if not isinstance(t, (int, np.integer)) or not 1 <= t <= _T_STEPS:
        raise ValueError(f"t must be an integer step in [1, {_T_STEPS}], got {t!r}")
    X, p_hat, lin, exact = _model(int(n), int(seed))
    ab, one_minus = _schedule()
    a, h = math.sqrt(ab[t - 1]), float(one_minus[t - 1])
    xx, yy = np.meshgrid(_GRID, _GRID)
    x = np.stack([xx.ravel(), yy.ravel()], axis=1)
    fields = (
        h * score.gaussian_score(x, p_hat, a, h),
        a * empirical.empirical_denoiser(x, X, ab[t - 1], h) - x,
    )
    fig, axes = new_figure(2, width=3.5, height=3.55, left=0.45, bottom=0.45, top=0.55, wspace=0.35)
    titles = (r"linear: score of $\hat p_t$, $\hat p = \mathcal{N}(\bar x, S)$",
              r"exact: score of $p_{\rm emp}$ noised to $t$")
    for ax, f, samples, color, title in zip(axes, fields, (lin, exact), (_LIN, _EXACT), titles):
        # zorder 2 (a quiver's default is 1, below the axis artists at 1.5): the
        # arrows are clipped to the axes, so nothing drawn changes, but the live
        # widget can then keep the ticks and labels of the unchanged axes
        ax.quiver(x[:, 0], x[:, 1], 0.4 * f[:, 0], 0.4 * f[:, 1], color=color, alpha=0.5,
                  angles="xy", scale_units="xy", scale=1.0, width=0.006, zorder=2)
        # hollow rings for the data, so that samples sitting on a training point stay visible
        ax.plot(X[:, 0], X[:, 1], "o", mfc="none", mec="k", mew=1.0, ms=9, label="training points")
        ax.plot(samples[:, 0], samples[:, 1], ".", color=color, ms=3, alpha=0.7, label="samples")
        # the panel title is the x-axis label, placed on top (these axes need no x label):
        # an axis label belongs to the axes that a live update keeps, so it is not drawn
        # again at each slider move (matplotlib lays text out glyph by glyph)
        ax.set_xlabel(title, fontsize=9, labelpad=6)
        ax.xaxis.set_label_position("top")
        ax.set_xlim(-_LIM, _LIM)
        ax.set_ylim(-_LIM, _LIM)
        # locators rather than set_xticks, which makes the tick artists at once: a live
        # update that keeps these axes' pixels then never makes them
        ax.xaxis.set_major_locator(FixedLocator([-2, 0, 2]))
        ax.yaxis.set_major_locator(FixedLocator([-2, 0, 2]))
        ax.set_aspect("equal")
        ax.grid(False)
    _support(axes[0], p_hat)
    copy_dist = np.sqrt(((exact[:, None, :] - X[None, :, :]) ** 2).sum(-1)).min(axis=1).max()
    axes[1].text(0.03, 0.03, f"every sample within {copy_dist:.2f}\nof a training point (copies)",
                 transform=axes[1].transAxes, fontsize=7.5, va="bottom")
    axes[0].legend(loc="lower left", fontsize=7.5, frameon=True, framealpha=0.85)
    # plain and short: this line changes at every slider move; parsing a new math string
    # costs more than drawing the rest of the figure, and each glyph drawn costs time
    fig.text(0.5, 0.965, f"N = {n}, t = {t}: \u1fb1\u209c = {ab[t - 1]:.3g}, 1 \u2212 \u1fb1\u209c = {h:.3g}",
             ha="center", va="top", fontsize=9)
    return fig


@styled
def transfer_figure(T: int = 1000, onestep_time: float = 2.0, noise_scale: float = math.exp(-4), K: int = 10):
    """Generated variance ``g(λ̂)/λ̂`` of a direction of empirical variance ``λ̂``, for every sampler.

    Left, the linear DDPM (``T`` steps, linear schedule, start ``N(0, I)``):
    ancestral sampling with ``σ_t² = β_t`` and with ``σ_t² = β̃_t``, the exact
    reverse SDE of the empirical Gaussian from ``N(0, 1)`` (the continuum
    limit: prior mismatch only), DDIM and the probability-flow ODE. Right, the
    one-step model (``T = onestep_time``, ``ℓ = noise_scale``, start
    ``N(a x̄, v I)`` with ``σ̂² = 1``): one step, ``K`` steps, the ``K → ∞``
    limit (the reverse SDE) and the PF-ODE. The dotted line ``g = λ̂`` is the
    empirical Gaussian itself.
    """
    lam = np.geomspace(1e-2, 1e2, 161)
    betas, ab = ddpm.linear_schedule(T)
    ab_prev = np.concatenate([[1.0], ab[:-1]])
    beta_tilde = betas * (1 - ab_prev) / (1 - ab)
    w = ddpm.flow_weights(lam, ab)                       # train_time = inf: the minimizer
    aT, hT = math.sqrt(ab[-1]), 1 - ab[-1]
    left = {
        r"ancestral, $\sigma_t^2=\beta_t$": ddpm.transfer_function(lam, T),
        r"ancestral, $\sigma_t^2=\tilde\beta_t$": ddpm.sampler_variances(w, betas, ab, sigma2=beta_tilde)[0],
        "reverse SDE (continuum)": score.reverse_sde_transfer(lam, aT, hT, 1.0),
        "DDIM": score.ddim_transfer(lam, T),
        "PF-ODE": score.pf_ode_transfer(lam, aT, hT, 1.0),
    }
    a, h = onestep.forward_coefficients(onestep_time, noise_scale)
    v = a * a + h
    right = {
        "one step": onestep.generated_spectrum(lam, onestep_time, noise_scale, v),
        rf"$K = {K}$ steps": steps.generated_spectrum(lam, onestep_time, noise_scale, v, K),
        r"$K\to\infty$ = reverse SDE": score.reverse_sde_transfer(lam, a, h, v),
        "PF-ODE": score.pf_ode_transfer(lam, a, h, v),
    }
    fig, axes = new_figure(2, width=4.1, height=3.3, top=0.4)
    styles = ["-", "--", "-", "-.", ":"]
    for ax, curves, title in ((axes[0], left, rf"linear DDPM, $T = {T}$ steps, start $\mathcal{{N}}(0, I)$"),
                              (axes[1], right, rf"one-step model, $T = {onestep_time:g}$, start $\mathcal{{N}}(a\bar x, vI)$")):
        for i, (name, g) in enumerate(curves.items()):
            ax.plot(lam, g / lam, ls=styles[i % len(styles)], label=name)
        ax.axhline(1.0, color="k", lw=0.8, ls=":")
        ax.set_xscale("log")
        plain_log_ticks(ax, y=False, minor=False)
        ax.set_xlabel(r"empirical variance $\hat\lambda$")
        ax.set_title(title, fontsize=9)
        ax.legend(loc="lower left", fontsize=7.5)
    axes[0].set_ylabel(r"$g(\hat\lambda)/\hat\lambda$")
    axes[0].set_ylim(0.5, 1.15)
    axes[1].set_ylim(0.0, 3.0)
    axes[1].legend(loc="upper right", fontsize=7.5)
    return fig
