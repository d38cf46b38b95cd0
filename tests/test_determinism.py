"""Two independent executions of the book state identical numbers.

``make test`` executes every page twice: once under nbval (which records the
glued values, see ``conftest.py``) and once in the site build. Every
``{glue:text}`` number in the HTML must equal the nbval value formatted the
same way. A page whose numbers depend on an unseeded random draw, the clock or
the order of a dict fails here.
"""

import json
import re
from pathlib import Path

import pytest
from myst_nb.core.variables import format_plain_text

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "_build" / "nbval-glue.json"
HTML = ROOT / "_build" / "html"
ROLE = re.compile(r"\{glue:text\}`([A-Za-z0-9_]+)(?::([^`]*))?`")
FENCE = re.compile(r"^(```+|~~~+)", re.M)


def prose(md: str) -> str:
    """The page without its code cells (glue roles in code are not rendered)."""
    out, inside, fence = [], False, ""
    for line in md.splitlines():
        m = FENCE.match(line)
        if m and not inside and line.startswith("```{code-cell}"):
            inside, fence = True, m.group(1)
            continue
        if inside and line.strip() == fence:
            inside = False
            continue
        if not inside:
            out.append(line)
    return "\n".join(out)


def pages_with_glue():
    return sorted(p for p in (ROOT / "book").glob("*.md") if ROLE.search(prose(p.read_text())))


@pytest.mark.parametrize("md", pages_with_glue(), ids=lambda p: p.stem)
def test_glued_numbers_identical_in_nbval_run_and_site_build(md):
    if not RECORD.is_file():
        pytest.fail(f"{RECORD} missing: run the notebooks first (make test-notebooks)")
    page = f"book/{md.stem}"
    recorded = json.loads(RECORD.read_text()).get(page)
    assert recorded, f"nbval recorded no glued values for {page}"
    html_file = HTML / "book" / f"{md.stem}.html"
    assert html_file.is_file(), f"{html_file} missing: build the site first"
    shown = re.findall(r'<span class="pasted-text">([^<]*)</span>', html_file.read_text())
    roles = ROLE.findall(prose(md.read_text()))
    assert len(shown) == len(roles)
    expected = [format_plain_text(recorded[name], fmt or "") for name, fmt in roles]
    clock = [name.startswith("time_") for name, _ in roles]
    assert [s for s, c in zip(shown, clock) if not c] == [e for e, c in zip(expected, clock) if not c]
