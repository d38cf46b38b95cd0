"""The book and the library use American spelling (CONTRIBUTING.md, "Spelling").

The checker splits a text into words (identifiers are split at underscores,
digits and camelCase humps, so a British stem inside ``snake_case``,
``name2`` or ``CamelCase`` is caught) and flags every word that matches a British form in the list below.
The list is built from explicit stems, not from a bare ``-ise`` ending, so that
*precise*, *noise*, *raise*, *otherwise*, *exercise*, *rise*, *advise*,
*promise*, *premise* and *wise* are never flagged.

Exempt, each for a stated reason (``EXEMPT`` below):

* citation keys inside ``{cite:…}`` roles: they are identifiers of
  ``references.bib``, which is not checked (titles there keep their spelling);
* the title of any entry of ``references.bib`` quoted in the text: a cited
  title keeps the spelling of its authors;
* the literal names of third-party APIs listed in ``EXEMPT_LITERALS``;
* the word lists of this file, between the ``spelling: off`` and
  ``spelling: on`` marker comments.

A failure lists ``file:line: word`` for every hit.

``PENDING_FILES`` names the files that other branches are revising right now.
Each is skipped with a message naming it and its current hits; the set is
emptied when those branches are merged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Files being revised on other branches (skipped, with their hits in the skip
#: message). Empty this set when those branches are merged.
PENDING_FILES: set = set()

#: The files the rule covers (globs relative to the repository root).
CHECKED_GLOBS = [
    "book/*.md",
    "book/_ext/*.py",
    "lindiff/**/*.py",
    "tests/*.py",
    "conftest.py",
    "README.md",
    "CONTRIBUTING.md",
    "_config.yml",
    "_toc.yml",
]

# spelling: off  (the word lists below are British on purpose)

#: Stems whose British forms end in -ise, -ised, -ising, -iser, -isation, ...
ISE_STEMS = (
    "memor minim maxim regular normal general optim parametr parameter character summar "
    "standard initial random discret symmetr stabil penal factor vector special diagonal "
    "orthogonal linear marginal local central visual util real organ recogn categor priorit "
    "emphas synthes hypothes formal ideal parallel serial token trivial rational final quant "
    "binar canonical equal digit critic apolog custom author amort polar harmon neutral modern "
    "mechan econom sanit capital raster"
).split()
ISE_SUFFIXES = "ise ised ises ising iser isers isable isation isations".split()

#: Whole-word British forms (regular expressions, matched against one lowercase word).
BRITISH_WORDS = [
    # -ise/-isation of the stems above, with the usual prefixes (unregularised, renormalised)
    r"(?:un|re|non|de|pre|over|under|sub|super|mis|dis|ir)?(?:%s)(?:%s)"
    % ("|".join(ISE_STEMS), "|".join(ISE_SUFFIXES)),
    # any -isation (American English has -ization; improvisation is the one exception)
    r"(?!improvisation)[a-z]+isations?",
    # -our
    r"(?:un|mis|dis)?(?:colour|behaviour|neighbour|favour|labour|honour|flavour|humour|vigour"
    r"|rigour|endeavour|armour|odour|vapour|rumour|harbour|savour|parlour|clamour|tumour)[a-z]*",
    # -re
    r"(?:de|re|un)?centr(?:e|es|ed|ing)",
    r"(?:milli|centi|kilo)?metres?",
    r"(?:fibre|litre|calibre|lustre|sombre|meagre|theatre)s?",
    # doubled l
    r"(?:un|re|mis)?(?:model|label|travel|signal|level|tunnel|channel|fuel|marshal|counsel)"
    r"l(?:ed|ing|er|ers)",
    # -yse (not "analyses": the plural of analysis is American too)
    r"(?:re)?(?:analy|paraly|cataly|dialy)s(?:e|ed|ing|er|ers)",
    # single words
    r"grey(?:s|ed|ing|ish|ness|scale|er|est)?",
    r"(?:licence|defence|offence|pretence)s?",
    r"catalogue[sd]?",
    r"judgements?",
    r"artefacts?",
    r"programmes?",
    r"ageing",
    r"practis(?:e|ed|es|ing)",
    r"sceptic[a-z]*",
]

#: Planted British words: the checker must flag each of them.
PLANTED_BRITISH = [
    "memorisation", "memorise", "minimiser", "maximise", "regularisation", "unregularised",
    "normalised", "renormalise", "generalisation", "optimiser", "parametrisation",
    "characterise", "summarise", "centred", "centre", "behaviour", "colour", "colours",
    "neighbour", "neighbouring", "favour", "favourable", "modelling", "modelled", "labelled",
    "analyse", "analysed", "analysing", "grey", "initialisation", "standardised",
    "symmetrised", "discretisation", "visualisation", "judgement", "artefact",
]

#: Planted code: identifiers are split at underscores, digits and camelCase humps.
PLANTED_CODE = "import numpy\n\nw = ddpm.minimiser_weights(x)\nclass CentredFit: pass\nv = centred4\n"
PLANTED_CODE_HITS = [(3, "minimiser"), (4, "Centred"), (5, "centred")]

#: A planted citation: the key and the quoted title are exempt, the last line is not.
PLANTED_TITLE = "Memorisation, convergence and generalisation in generative models"
PLANTED_CITATION = (
    "As {cite:t}`maillard2026memorisation` show,\n"
    f'the paper "{PLANTED_TITLE}"\n'
    'is cited; cmap="Greys" is an API name, but a grey line is not.\n'
)
PLANTED_CITATION_HITS = [(3, "grey")]

# spelling: on

#: Words that end like the British forms but are American English: never flagged.
AMERICAN_LOOKALIKES = [
    "precise", "noise", "raise", "otherwise", "exercise", "rise", "advise", "promise",
    "premise", "wise", "pairwise", "likewise", "concise", "expertise", "surprise", "comprise",
    "compromise", "revise", "supervise", "devise", "analyses", "analysis", "realistic",
    "organism", "central", "centered", "symmetric", "emphasis", "hypotheses", "parameters",
    "memorization", "minimizer", "regularization", "normalized", "behavior", "color",
    "neighbor", "favor", "modeling", "labeled", "analyze", "gray", "improvisation",
    "totally", "metric", "parametric", "diameter", "millimeter", "quantiles", "criticism",
]

#: Literal strings that are names in a third-party API, not our prose.
EXEMPT_LITERALS = {
    '"Greys"': "matplotlib's name of a colormap (cmap=...)",
    "'Greys'": "matplotlib's name of a colormap (cmap=...)",
}

#: Files that carry word lists of their own, and the markers around them.
EXEMPT_REGIONS = {"tests/test_spelling.py": ("# spelling: off", "# spelling: on")}

_BRITISH = re.compile("|".join(f"(?:{p})" for p in BRITISH_WORDS))
_RUN = re.compile(r"[A-Za-z]+")
_HUMP = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+")
_CITE = re.compile(r"\{cite(?::[a-z]+)?\}`[^`]*`")


def _blank(match: re.Match) -> str:
    """The matched text with every character but a newline turned into a space."""
    return re.sub(r"[^\n]", " ", match.group(0))


def bib_titles(bib: str) -> list[str]:
    """The titles of ``references.bib`` (braces removed)."""
    titles = re.findall(r"^\s*title\s*=\s*\{(.*)\},?\s*$", bib, flags=re.M)
    return [re.sub(r"[{}]", "", t).strip() for t in titles]


def strip_exempt(text: str, titles: list[str] = (), regions: tuple[str, str] | None = None) -> str:
    """``text`` with the exempt parts blanked, line numbers preserved."""
    text = _CITE.sub(_blank, text)
    for title in titles:
        words = title.split()
        if words:
            pattern = r"\s+".join(re.escape(w) for w in words)
            text = re.sub(pattern, _blank, text, flags=re.I)
    for literal in EXEMPT_LITERALS:
        text = re.sub(re.escape(literal), _blank, text)
    if regions is not None:
        start, end = (re.escape(m) for m in regions)
        text = re.sub(f"{start}.*?{end}", _blank, text, flags=re.S)
    return text


def british_words(text: str) -> list[tuple[int, str]]:
    """Every British spelling in ``text``, as ``(line number, word)``."""
    hits = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for run in _RUN.findall(line):
            for word in _HUMP.findall(run):
                if _BRITISH.fullmatch(word.lower()):
                    hits.append((lineno, word))
    return hits


def checked_files() -> list[str]:
    files = set()
    for pattern in CHECKED_GLOBS:
        files |= {str(p.relative_to(ROOT)) for p in ROOT.glob(pattern) if p.is_file()}
    return sorted(files)


def hits_in(rel: str) -> list[str]:
    """``file:line: word`` for every British spelling in the repository file ``rel``."""
    titles = bib_titles((ROOT / "references.bib").read_text(encoding="utf-8"))
    text = strip_exempt((ROOT / rel).read_text(encoding="utf-8"), titles, EXEMPT_REGIONS.get(rel))
    return [f"{rel}:{line}: {word}" for line, word in british_words(text)]


# ---------------------------------------------------------------------------
# the checker itself: it must flag planted words and spare the look-alikes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("word", PLANTED_BRITISH)
def test_checker_flags_british_words(word):
    assert british_words(f"a sentence with {word} in it") == [(1, word)]
    assert british_words(word.capitalize()) == [(1, word.capitalize())]


@pytest.mark.parametrize("word", AMERICAN_LOOKALIKES)
def test_checker_spares_american_words(word):
    assert british_words(f"a sentence with {word} in it") == []


def test_checker_splits_identifiers_and_reports_lines():
    assert british_words(PLANTED_CODE) == PLANTED_CODE_HITS


def test_citation_keys_titles_and_api_names_are_exempt():
    assert len(british_words(PLANTED_CITATION)) == 5
    assert british_words(strip_exempt(PLANTED_CITATION, [PLANTED_TITLE])) == PLANTED_CITATION_HITS


def test_exempt_regions_keep_line_numbers():
    start, end = EXEMPT_REGIONS["tests/test_spelling.py"]
    text = f"{start}\n{PLANTED_BRITISH[0]}\n{end}\n{PLANTED_BRITISH[1]}\n"
    assert british_words(strip_exempt(text, regions=(start, end))) == [(4, PLANTED_BRITISH[1])]


def test_pending_files_exist():
    missing = sorted(f for f in PENDING_FILES if not (ROOT / f).is_file())
    assert not missing, f"PENDING_FILES lists files that do not exist: {missing}"


# ---------------------------------------------------------------------------
# the repository
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("rel", checked_files())
def test_american_spelling(rel):
    hits = hits_in(rel)
    if rel in PENDING_FILES:
        pytest.skip(f"{rel} is being revised on another branch (PENDING_FILES); "
                    f"{len(hits)} British spellings remain: {'; '.join(hits[:20])}")
    assert not hits, "British spellings (use American; see CONTRIBUTING.md):\n" + "\n".join(hits)
