"""Figures of the appendix "Reproducing the author's script" (``book/appendix_author_script.md``).

:func:`terms_figure` draws the parts of the script's ``Δ`` from a
:class:`~lindiff.author_script.ScriptRun`; :func:`rounding_figure`, the explorable
figure, draws the float32 rounding of the script's self term for every size ``n``.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import author_script as script
from . import new_figure, plain_log_ticks, styled

__all__ = ["terms_figure", "rounding_figure"]

_MEM, _GEN = "#d1495b", "#1f5aa6"  # memorizing (Δ < 0) and generalizing (Δ > 0), as in the memorization chapter


@styled
def terms_figure(run):
    """The three parts of the script's ``Δ`` at each ``N``, relative to the self term.

    ``Δ = (e^self_N − e^self_M) − e^cross_train + e^cross_ref`` (equation
    ``eq-script-delta``), each part divided by the self term. Dots: the two cross terms
    of each repetition of ``run`` (the reference one where the run computed it in full:
    pass a run with ``shortcuts=False`` to see all of them). Bars: the float32
    difference of the self terms (:func:`lindiff.author_script.self_term`), with its sign.

    Parameters
    ----------
    run : ScriptRun
    """
    if not isinstance(run, script.ScriptRun):
        raise TypeError(f"run must be a lindiff.author_script.ScriptRun, got {type(run).__name__}")
    fig, (ax,) = new_figure(1, width=5.6, height=3.4, right=1.9)
    s = script.self_term(run.reference_size, run.d, run.std)
    rng = np.random.default_rng(0)
    for k, n in enumerate(run.n_values):
        x = np.full(run.repetitions, float(k))
        jitter = rng.uniform(-0.1, 0.1, run.repetitions)
        ct = run.cross_train[k] / s
        ax.plot(x - 0.18 + jitter, ct, "o", ms=2.5, alpha=0.5, color=_MEM,
                label="$e^{\\rm cross}_{\\rm train}$" if k == 0 else None)
        cr = run.cross_reference[k] / s
        ok = np.isfinite(cr)
        ax.plot(x[ok] + 0.18 + jitter[ok], cr[ok], "o", ms=2.5, alpha=0.5, color=_GEN,
                label="$e^{\\rm cross}_{\\rm ref}$" if k == 0 else None)
        r = (script.self_term(int(n), run.d, run.std) - s) / s
        ax.plot([k - 0.35, k + 0.35], [abs(r), abs(r)], "-", color="k", lw=2.2,
                label="$|e^{\\rm self}_N - e^{\\rm self}_M|$ (float32)" if k == 0 else None)
        ax.annotate("+" if r > 0 else "−", (k + 0.38, abs(r)), va="center", fontsize=11)
    ax.set_yscale("log")
    plain_log_ticks(ax, x=False, minor=False)
    ax.set_xticks(range(run.n_values.size), [str(n) for n in run.n_values])
    ax.set_xlim(-0.6, run.n_values.size - 0.4)
    ax.set_xlabel("$N$")
    ax.set_ylabel("size relative to the self term")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


@styled
def rounding_figure(d: int = 100, reference_size: int = 10_000, n_max: int = 300, marked=(25, 50, 75, 100)):
    """Float32 rounding of the script's self term for every size ``n`` (the explorable figure).

    Each dot is the relative rounding of the self term ``e^self_n`` for ``n = 2 … n_max``
    (:func:`lindiff.author_script.self_term_rounding`), the dashed line the same for the
    reference size ``M``. Where the cross terms are negligible, ``Δ`` has the sign of
    ``e^self_N − e^self_M``: blue above the line (the script prints "Δ > 0"), red below.
    Larger markers: the sizes in ``marked``.
    """
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    if not isinstance(n_max, (int, np.integer)) or n_max < 3:
        raise ValueError(f"n_max must be an integer >= 3, got {n_max!r}")
    ns = np.arange(2, n_max + 1)
    r = script.self_term_rounding(ns, d) * 1e6
    r_ref = script.self_term_rounding(reference_size, d) * 1e6
    above = r > r_ref
    fig, (ax,) = new_figure(1, width=5.6, height=3.0, right=0.3)
    ax.plot(ns[above], r[above], "o", ms=2.2, color=_GEN, label="Δ > 0")
    ax.plot(ns[~above], r[~above], "o", ms=2.2, color=_MEM, label="Δ < 0")
    ax.axhline(r_ref, color="k", ls="--", lw=1.0, label=f"reference, M = {reference_size:,}")
    for n in marked:
        if 2 <= n <= n_max:
            rn = r[n - 2]
            ax.plot([n], [rn], "s", ms=7, mfc="none", color=_GEN if rn > r_ref else _MEM, mew=1.5)
            ax.annotate(str(n), (n, rn), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8)
    ax.set_xscale("log")
    plain_log_ticks(ax, y=False, minor=False)
    # symmetric limits from a short list of round values (the rounding is centered on 0 and its size
    # grows with d): moving M then keeps the axes, and a live update keeps their pixels
    half = max(1.15 * max(float(np.max(np.abs(r))), abs(float(r_ref))), 1e-3)
    half = next((v * 10.0**e for e in range(math.floor(math.log10(half)), math.floor(math.log10(half)) + 2)
                 for v in (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0) if v * 10.0**e >= half), half)
    ax.set_ylim(-half, half)
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel("training-set size n")
    ax.set_ylabel("relative rounding × 10⁶")
    ax.set_title(f"d = {d}: {int(above.sum())} of {ns.size} sizes round above the reference", fontsize=9)
    ax.legend(fontsize=7.5, loc="lower left", ncols=3)
    return fig
