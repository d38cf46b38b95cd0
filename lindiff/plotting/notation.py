"""Figures of the chapter "Notation and conventions" (``book/notation.md``)."""

from __future__ import annotations

import math

import numpy as np

from .. import gaussian
from . import new_figure, plain_log_ticks, styled

__all__ = ["kl_1d_figure"]


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
    ax1.set_xlabel("variance ratio $m$ of $p$ to $q$")
    ax1.set_ylabel("KL (nats)")
    ax1.set_ylim(1e-4, 1e3)
    ax1.legend(loc="upper center")
    return fig
