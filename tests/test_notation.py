"""One notation for the whole book (CONTRIBUTING.md, "Notation").

``book/notation.md`` is the reference: every symbol the chapters share is in
one of its tables, with its one meaning. This file checks three things.

1. No page uses a *retired* symbol (``RETIRED``: the first edition's letters
   that now mean something else, or that were renamed). The only exception the
   plan allows is ``PER_FILE_EXCEPTIONS``: the kernel normalization
   :math:`\\kappa` of the memorization chapter (and its row in the notation page).
2. Every symbol of ``CHECKED_SYMBOLS`` is defined in a table of
   ``book/notation.md`` (a row whose first cell defines it), outside the clash
   table.
3. The clash table of ``book/notation.md`` (the table after the label
   ``(notation-clashes)=``) lists ``T`` and ``\\mu``, the two letters with one
   meaning in each part of the book, and ``REQUIRED_CLASHES``' other letters,
   whose second meaning a subscript or an argument tells apart.

Each checker is a plain function, and the first tests feed it planted strings,
so that every check is seen to fail on a bad page.

``PENDING_FILES`` names the chapters that other branches are revising right
now. Each is skipped with a message naming it and its current hits; the set is
emptied when those branches are merged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTATION = "book/notation.md"

#: Chapters being revised on other branches (skipped, with their hits in the
#: skip message). Empty this set when those branches are merged.
PENDING_FILES: set = set()

#: Retired usages: (regular expression, what was written, what to write now).
RETIRED = [
    (r"\\hat\s*\{?\s*M\b", r"\hat M", r"S_0 (uncentered second moment)"),
    (r"\\hat\s*\{?\s*c\s*\}?\s*_", r"\hat c_\nu", r"\hat\lambda_\nu (eigenvalues of S or S_0)"),
    (r"\\hat\s*\{?\s*C\b", r"\hat C", r"S (centered empirical covariance)"),
    (r"S_\{\\(?:rm|mathrm)\s*\{?nc\}?\}", r"S_{\rm nc}", r"S_0 (uncentered second moment)"),
    (r"\\hat\s*\{?\s*q\b", r"\hat q", r"\hat p (empirical Gaussian) or p_G (generated law)"),
    (r"x\^\s*\{?\s*\(?\s*\\mu", r"x^\mu", r"x_i (mu is never an index)"),
    (r"\\lambda_\s*\{?\s*r\b", r"\lambda_r", r"\mathrm{ridge}"),
    (r"(?<![\w\\])[qu]\s*=\s*d\s*/\s*N", r"q = d/N", r"\gamma = d/N"),
    (r"(?<![\w\\])a_t\s*\(", r"a_t(\nu)", r"\varphi_t(\nu) (per-step contraction)"),
    (r"(?<![\w\\])s_\s*\{?\s*\\nu", r"s_\nu", r"\tilde\lambda_\nu (sampled variance)"),
    (r"p_\{\s*\\(?:rm|mathrm)\s*\{?\s*emp", r"p_{\rm emp}", r"\hat p (empirical Gaussian)"),
    (r"(?<![\w\\])C_G\b", r"C_G", r"\Sigma_G (covariance of p_G)"),
    (r"(?<![\w\\])m_G\b", r"m_G", r"\mu_G (mean of p_G; m is the Stieltjes transform)"),
    (r"\\kappa(?![a-zA-Z])", r"\kappa", r"\omega_t (DDPM); kappa is the memorization kernel constant only"),
    # eta is the eta-transform only; these are the ways a learning rate appears
    (r"\\eta\s*(?:\\,|\\;|\\!)?\s*(?:K\b|r\b|r_|\\tau\b|\\nabla)", r"\eta K, \eta r (learning rate)",
     r"\varepsilon_{\rm lr}"),
    (r"\\eta\s*=\s*0?\.[0-9]", r"\eta = 0.05 (learning rate)", r"\varepsilon_{\rm lr}"),
    (r"\\eta\s*<\s*1\s*/", r"\eta < 1/max (learning rate)", r"\varepsilon_{\rm lr}"),
    (r"\\tau\s*(?:/|=)\s*\\eta(?![a-zA-Z])", r"\tau = \eta K (learning rate)", r"\varepsilon_{\rm lr}"),
    (r"(?i)(?:learning rate|step size|step)\s*\$\\eta(?![a-zA-Z])", r"step $\eta$ (learning rate)",
     r"\varepsilon_{\rm lr}"),
]

#: The only retired usages the plan allows, per file: kappa is the kernel
#: normalization of the memorization chapter, and the notation page defines it.
PER_FILE_EXCEPTIONS = {"book/memorization.md": {r"\kappa"}, NOTATION: {r"\kappa"}}

#: Symbols that must be defined in a table of notation.md (LaTeX as written there).
CHECKED_SYMBOLS = [
    # shared
    "d", "N", r"\gamma", "i", r"\bar x", "S", "S_0", r"\hat\lambda_\nu", r"v_\nu", r"\Sigma",
    r"\lambda_\nu", r"\nu", "k", r"\hat\sigma^2", r"\hat p", r"p_G", "g", r"\mathcal W_2",
    r"\mathrm{KL}", "H^2", r"\omega", r"\delta", "m", r"\eta", r"\varepsilon_{\rm lr}",
    r"\mathrm{ridge}", r"\tau", "n", "z", r"\epsilon", r"\epsilon_\theta", "p_N", r"\varrho_\nu",
    r"\lambda", r"\mathcal V", r"v_t", r"\sigma^2_{\rm post}", r"\mu_G", r"\Sigma_G", r"\tilde\lambda_\nu",
    # one-step model and memorization
    "T", r"\ell", "a", "h", "s", "r", "D", "y", "v", "K", "j", "p_S", r"\mu", r"\Delta", "M",
    r"\kappa", r"\Xi", r"\varsigma_n", "q_X", r"q_{\rm train}", r"q_{\rm ref}", r"\Gamma", r"\hat\Gamma",
    r"n_{\rm rep}", r"\zeta_\nu",
    # linear DDPM
    "t", r"\beta_t", r"\bar\alpha_t", r"\sigma_t", "W_t", "b_t", "p", r"\varphi_t",
    r"\omega_t", r"\varpi_t", "u_t", "H_t",
    # image patches
    r"\varsigma", "c", r"c_{\rm fit}", "c_2", r"\sigma_{\rm pix}", "m_4", r"\pi_i", r"\zeta", r"p^{(\zeta)}",
    # neural denoisers
    r"\phi_{\rm copy}",
]

#: Letters that the clash table must list: T and mu (one meaning per part of the
#: book), then the letters with a second, local meaning.
REQUIRED_CLASHES = ["T", r"\mu", "n", r"\delta", "v", r"\varsigma", r"\zeta", "q", "y", "m", "c"]
CLASH_LABEL = "(notation-clashes)="


# ---------------------------------------------------------------------------
# checkers
# ---------------------------------------------------------------------------


def retired_usages(text: str, rel: str = "") -> list[tuple[int, str, str]]:
    """Every retired usage in ``text``, as ``(line, what was written, what to write)``."""
    allowed = PER_FILE_EXCEPTIONS.get(rel, set())
    hits = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for pattern, old, new in RETIRED:
            if old not in allowed and re.search(pattern, line):
                hits.append((lineno, old, new))
    return hits


def _tables(text: str) -> list[list[str]]:
    """The markdown tables of ``text``, each as the list of its body rows' first cells."""
    tables, rows, in_table = [], [], False
    for line in text.splitlines() + [""]:
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append(cells[0])
            in_table = True
        elif in_table:
            # drop the header and the |---| separator
            tables.append([r for r in rows[2:]])
            rows, in_table = [], False
    return tables


def _heads(cell: str) -> list[str]:
    """The symbols a first cell defines: the left side of each ``$...$`` fragment."""
    heads = []
    for frag in re.findall(r"\$([^$]+)\$", cell):
        head = re.split(r"=|\\in\b|\\sim\b|\\propto\b|\\le\b|\\ge\b", frag, maxsplit=1)[0]
        head = re.sub(r"\\[,;!]|\s+", "", head)
        heads.append(head)
    return heads


def _split_clash_section(text: str) -> tuple[str, str]:
    """``(text without the clash table, text from CLASH_LABEL to the end of that table)``."""
    if CLASH_LABEL not in text:
        return text, ""
    before, after = text.split(CLASH_LABEL, 1)
    lines = after.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("|")), len(lines))
    end = next((i for i in range(start, len(lines)) if not lines[i].lstrip().startswith("|")), len(lines))
    return before + "".join(lines[end:]), "".join(lines[:end])


def defines(symbol: str, head: str) -> bool:
    """``head`` (the left side of a table cell's formula) defines ``symbol``.

    The head may add an argument or a square: ``g(\\hat\\lambda)`` defines ``g``,
    ``\\sigma_t^2`` defines ``\\sigma_t``.
    """
    sym = symbol.replace(" ", "")
    return bool(re.fullmatch(re.escape(sym) + r"(?:\^\{?2\}?)?(?:\(.*\))?", head))


def undefined_symbols(notation_text: str, symbols=CHECKED_SYMBOLS) -> list[str]:
    """The symbols of ``symbols`` that no table of the page (outside the clash table) defines."""
    outside, _ = _split_clash_section(notation_text)
    heads = [h for table in _tables(outside) for cell in table for h in _heads(cell)]
    return [s for s in symbols if not any(defines(s, h) for h in heads)]


def missing_clashes(notation_text: str, required=REQUIRED_CLASHES) -> list[str]:
    """The letters of ``required`` that the clash table does not list."""
    _, section = _split_clash_section(notation_text)
    tables = _tables(section)
    if not tables:
        return list(required)
    heads = [h for cell in tables[0] for h in _heads(cell)]
    return [s for s in required if not any(defines(s, h) for h in heads)]


# ---------------------------------------------------------------------------
# the checkers on planted strings
# ---------------------------------------------------------------------------

PLANTED_PAGE = """\
# A page

| symbol | meaning |
|---|---|
| $\\gamma = d/N$ | aspect ratio |
| $S$ | covariance |

(notation-clashes)=
## Clashes

| symbol | one | other |
|---|---|---|
| $T$ | time | steps |

## Next section

| symbol | meaning |
|---|---|
| $\\varphi_t(\\nu)$ | contraction |
"""


@pytest.mark.parametrize("line, old", [
    (r"the second moment $\hat M$", r"\hat M"),
    (r"eigenvalues $\hat c_\nu$", r"\hat c_\nu"),
    (r"with $\hat{C} = S$", r"\hat C"),
    (r"$S_{\rm nc} = X^\top X/N$", r"S_{\rm nc}"),
    (r"the refit $\hat q$", r"\hat q"),
    (r"points $x^\mu$", r"x^\mu"),
    (r"points $x^{(\mu)}$", r"x^\mu"),
    (r"a ridge $\lambda_r$", r"\lambda_r"),
    (r"with $q = d/N$", r"q = d/N"),
    (r"factor $a_t(\nu)$", r"a_t(\nu)"),
    (r"variances $s_\nu$", r"s_\nu"),
    (r"the law $p_{\rm emp}$", r"p_{\rm emp}"),
    (r"$\kappa = 1 - \bar\alpha_t$", r"\kappa"),
    (r"$p_G = \mathcal N(m_G, C_G)$", r"C_G"),
    (r"$p_G = \mathcal N(m_G, C_G)$", r"m_G"),
    (r"after $K$ steps, $\tau = \eta K$", r"\eta K, \eta r (learning rate)"),
    (r"after $K$ steps, $\tau = \eta K$", r"\tau = \eta K (learning rate)"),
    (r"$(1 - 2\eta\,r_t(\nu))^K$", r"\eta K, \eta r (learning rate)"),
    (r"$(1 - 2\eta r)^{\tau/\eta}$", r"\tau = \eta K (learning rate)"),
    (r"with $\eta = 0.05$ by", r"\eta = 0.05 (learning rate)"),
    (r"converges if $\eta < 1/\max_{t,\nu} r_t(\nu)$", r"\eta < 1/max (learning rate)"),
    (r"Gradient descent with step $\eta$ gives", r"step $\eta$ (learning rate)"),
])
def test_retired_usages_are_flagged(line, old):
    hits = retired_usages(f"first line\n{line}\n")
    assert (2, old) in [(n, o) for n, o, _ in hits]


@pytest.mark.parametrize("line", [
    r"the eta-transform $\eta(\omega) = \mathbb E\,1/(1+\omega u)$",
    r"$\gamma s\,\eta^2 + (1 + (1-\gamma)s)\,\eta - 1 = 0$ and $\eta'(s)$",
    r"The quadratic gives $1/\eta = 1+\omega-\gamma\omega(1-\eta) = 1+\omega-\Phi/4$ and",
    r"$\eta\to 0$, so $-\ln\eta-\ln\omega\to\ln(1-\gamma)$, with $\eta = 2/(b + a_+a_-)$",
    r"Write $\eta = 1 - \mu_1\omega + \mu_2\omega^2$, and $0 < \eta < 1$",
    r"$\hat\lambda_\nu$, $S_0$, $\hat p$, $\gamma = d/N$, $\mathrm{ridge}$, $\varphi_t(\nu)$",
    r"$\tilde\lambda_\nu$, $\omega_t = 1 - \bar\alpha_t + \mathrm{ridge}$, $\hat\mu$, $x_i$",
    r"the SNR $s = a^2\sigma^2/h$ and $\sigma_t z_t$",
])
def test_current_notation_is_not_flagged(line):
    assert retired_usages(line) == []


def test_kappa_is_allowed_in_memorization_only():
    text = r"$\kappa = (4\pi\sigma^2)^{-d/2}$"
    assert retired_usages(text, "book/memorization.md") == []
    assert [o for _, o, _ in retired_usages(text, "book/diffusion_steps.md")] == [r"\kappa"]


def test_undefined_symbols_on_a_planted_page():
    assert undefined_symbols(PLANTED_PAGE, [r"\gamma", "S", r"\varphi_t"]) == []
    assert defines(r"\sigma_t", r"\sigma_t^2") and defines("g", r"g(\hat\lambda)")
    assert not defines("S", "S_0") and not defines(r"\lambda_\nu", r"\hat\lambda_\nu")
    # T is only in the clash table, which does not define symbols
    assert undefined_symbols(PLANTED_PAGE, ["T", r"\omega", "S_0"]) == ["T", r"\omega", "S_0"]


def test_missing_clashes_on_a_planted_page():
    assert missing_clashes(PLANTED_PAGE, ["T"]) == []
    assert missing_clashes(PLANTED_PAGE, ["T", r"\mu"]) == [r"\mu"]
    assert missing_clashes(PLANTED_PAGE.replace(CLASH_LABEL, ""), ["T"]) == ["T"]


def test_pending_files_exist():
    missing = sorted(f for f in PENDING_FILES if not (ROOT / f).is_file())
    assert not missing, f"PENDING_FILES lists files that do not exist: {missing}"


# ---------------------------------------------------------------------------
# the book
# ---------------------------------------------------------------------------


def test_notation_page_defines_every_checked_symbol():
    text = (ROOT / NOTATION).read_text(encoding="utf-8")
    missing = undefined_symbols(text)
    assert not missing, f"{NOTATION}: no table defines {missing}"


def test_notation_page_lists_the_clashes():
    text = (ROOT / NOTATION).read_text(encoding="utf-8")
    assert CLASH_LABEL in text, f"{NOTATION}: the clash table needs the label {CLASH_LABEL}"
    missing = missing_clashes(text)
    assert not missing, f"{NOTATION}: the clash table does not list {missing}"


@pytest.mark.parametrize("rel", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "book").glob("*.md")))
def test_no_retired_notation(rel):
    hits = [f"{rel}:{n}: {old} -> {new}"
            for n, old, new in retired_usages((ROOT / rel).read_text(encoding="utf-8"), rel)]
    if rel in PENDING_FILES:
        pytest.skip(f"{rel} is being revised on another branch (PENDING_FILES); "
                    f"{len(hits)} retired usages remain: {'; '.join(hits[:20])}")
    assert not hits, "retired notation (see book/notation.md):\n" + "\n".join(hits)


def test_singular_pair_figure_of_the_notation_page():
    """The page's segment-and-blob figure draws, and rejects a thickness it cannot show."""
    from lindiff.plotting.notation import singular_pair_figure

    fig = singular_pair_figure(length=2.0, thickness=0.05)
    assert len(fig.axes) == 2
    for bad in [0.0, -1.0, 11.0, float("nan")]:
        with pytest.raises(ValueError, match="thickness"):
            singular_pair_figure(thickness=bad)
    with pytest.raises(ValueError, match="length"):
        singular_pair_figure(length=0.0)
