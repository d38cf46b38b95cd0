"""Figures of the chapter "Notation and conventions" (``book/notation.md``)."""

from __future__ import annotations

import math

import numpy as np

from .. import gaussian
from . import new_figure, plain_log_ticks, styled

__all__ = ["kl_1d_figure", "singular_pair_figure"]


@styled
def kl_1d_figure(shift: float = 0.0, var_ratio: float = 1.0) -> Figure:
    """KL in both directions between ``p = N(shift, var_ratio)`` and ``q = N(0, 1)``.

    Left: the two densities. Right: both directions of KL against the variance
    ratio at the chosen shift, with the chosen point marked. Used in the
    chapter "Notation and conventions" to show why the direction matters when
    one distribution is much narrower than the other.
    """
    fig, (ax0, ax1) = new_figure(2)
    q = gaussian.Gaussian(np.zeros(1), np.eye(1))
    x = np.linspace(-5, 5, 400)[:, None]
    p = gaussian.Gaussian(np.array([shift]), np.array([[var_ratio]]))
    ax0.plot(x[:, 0], np.exp(q.logpdf(x)), label=r"$q=\mathcal{N}(0,1)$")
    ax0.plot(x[:, 0], np.exp(p.logpdf(x)), label=rf"$p=\mathcal{{N}}({shift:g},{var_ratio:g})$")
    ax0.set_xlabel("$x$")
    ax0.set_ylabel("density")
    ax0.set_ylim(0, max(0.45, 1.05 / math.sqrt(2 * math.pi * var_ratio)))
    ax0.legend(loc="upper left")
    # the curves from the one-dimensional closed form ½(f(m) + δ²/…), the marked
    # points from the library's general routine
    ratios = np.geomspace(1e-2, 1e2, 200)
    pq = 0.5 * (gaussian.f_kl(ratios) + shift**2)
    qp = 0.5 * (gaussian.f_kl(1.0 / ratios) + shift**2 / ratios)
    (line_pq,) = ax1.loglog(ratios, np.maximum(pq, 1e-4), label=r"KL$(p\Vert q)$")
    (line_qp,) = ax1.loglog(ratios, np.maximum(qp, 1e-4), label=r"KL$(q\Vert p)$")
    ax1.plot([var_ratio], [max(gaussian.kl_divergence(p, q), 1e-4)], "o", color=line_pq.get_color())
    ax1.plot([var_ratio], [max(gaussian.kl_divergence(q, p), 1e-4)], "o", color=line_qp.get_color())
    plain_log_ticks(ax1, minor=False)
    ax1.set_xlabel(r"variance ratio $\varrho$ of $p$ to $q$")
    ax1.set_ylabel("KL (nats)")
    ax1.set_ylim(1e-4, 1e3)
    ax1.legend(loc="upper center")
    return fig


@styled
def singular_pair_figure(length: float = 2.0, thickness: float = 0.05, n_points: int = 400) -> Figure:
    """A segment against a blob in the plane: mutually singular laws, and W₂ across the limit.

    ``p = N(0, diag(length², thickness))`` against the blob ``q = N(0, I₂)``.
    Left: samples of ``q`` (gray), of ``p`` at the chosen ``thickness``
    (colored) and of the degenerate limit ``thickness = 0`` (a segment on the
    first axis, black). Right: KL in both directions, ``H²`` and ``W₂²``
    against ``thickness``, from the library's general routines, with their
    values at ``thickness = 0`` (KL infinite, ``H² = 1``, ``W₂²`` finite) as
    dotted lines. Used in the chapter "Notation and conventions" to show what
    mutually singular means and why ``W₂`` stays finite.
    """
    if not (length > 0 and math.isfinite(length)):
        raise ValueError(f"length must be positive and finite, got {length!r}")
    if not (0 < thickness <= 10):
        raise ValueError(f"thickness must be in (0, 10], got {thickness!r}")
    fig, (ax0, ax1) = new_figure(2)
    rng = np.random.default_rng(0)
    # the same standard draws for every panel and every thickness: only the scale changes
    z = rng.standard_normal((n_points, 2))
    blob = rng.standard_normal((n_points, 2))
    ax0.plot([-2.5 * length, 2.5 * length], [0, 0], "-", lw=1.5, color="black",
             label=r"support of the segment ($\varrho=0$)")
    ax0.plot(blob[:, 0], blob[:, 1], ".", ms=3, color="#999999", alpha=0.6, label="blob $q$")
    ax0.plot(length * z[:, 0], math.sqrt(thickness) * z[:, 1], ".", ms=3, alpha=0.8,
             label=rf"$p$, thickness $\varrho={thickness:g}$")
    lim = 3.2 * max(length, 1.0)
    ax0.set_xlim(-lim, lim)
    ax0.set_ylim(-lim * 0.75, lim * 0.75)
    ax0.set_xlabel("$x_1$")
    ax0.set_ylabel("$x_2$")
    ax0.legend(loc="upper left")

    q = gaussian.Gaussian(np.zeros(2), np.eye(2))
    grid = np.geomspace(1e-4, 10, 60)
    rows = []
    for rho in grid:
        p = gaussian.Gaussian(np.zeros(2), np.diag([length**2, rho]))
        rows.append((gaussian.kl_divergence(p, q), gaussian.kl_divergence(q, p),
                     gaussian.hellinger2(p, q), gaussian.wasserstein2(p, q) ** 2))
    kl_pq, kl_qp, h2, w2sq = np.array(rows).T
    seg = gaussian.Gaussian(np.zeros(2), np.diag([length**2, 0.0]))
    w2_limit = gaussian.wasserstein2(seg, q) ** 2
    ax1.loglog(grid, kl_pq, label=r"KL$(p\Vert q)$")
    ax1.loglog(grid, kl_qp, label=r"KL$(q\Vert p)$")
    (line_h2,) = ax1.loglog(grid, h2, label="$H^2$")
    (line_w2,) = ax1.loglog(grid, w2sq, label=r"$\mathcal{W}_2^2$")
    ax1.axhline(1.0, color=line_h2.get_color(), ls=":", lw=1)
    ax1.axhline(w2_limit, color=line_w2.get_color(), ls=":", lw=1)
    ax1.axvline(thickness, color="#999999", lw=1)
    ax1.text(1.5e-4, 1.5e-2, rf"at $\varrho=0$: KL $=\infty$, $H^2=1$, $\mathcal{{W}}_2^2={w2_limit:.3g}$",
             fontsize=8)
    plain_log_ticks(ax1, minor=False)
    ax1.set_xlabel(r"thickness $\varrho$ (variance of $p$ across the segment)")
    ax1.set_ylabel("divergence or distance")
    ax1.set_ylim(1e-2, 1e4)
    ax1.legend(loc="upper right")
    return fig
