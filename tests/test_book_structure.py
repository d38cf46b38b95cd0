"""The chapters follow the template of CONTRIBUTING.md (the parts a machine can check)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOT_CHAPTERS = {"book/preface", "book/notation", "book/references", "book/reproducing", "book/related_work"}


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for ch in part.get("chapters", []):
            files.append(ch["file"])
            files += [s["file"] for s in ch.get("sections", [])]
    return files


def is_myst_notebook(text):
    return text.startswith("---") and "format_name: myst" in text[:2000]


def code_cells(text):
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S)


CHAPTERS = [f for f in toc_files() if f not in NOT_CHAPTERS]


def test_toc_and_book_folder_agree():
    listed = set(toc_files())
    for f in listed:
        assert (ROOT / f"{f}.md").is_file(), f"_toc.yml lists {f} but {f}.md does not exist"
    on_disk = {str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / "book").glob("*.md")}
    assert on_disk == listed, f"pages not in _toc.yml: {sorted(on_disk - listed)}"


@pytest.mark.parametrize("page", [f for f in toc_files() if is_myst_notebook((ROOT / f"{f}.md").read_text())])
def test_notebook_pages_assert_their_numbers_and_glue_what_they_cite(page):
    text = (ROOT / f"{page}.md").read_text()
    cells = code_cells(text)
    hidden = [c for c in cells if re.search(r":tags: \[[^\]]*remove-cell", c)]
    assert any(("assert" in c) for c in hidden), f"{page}: no hidden assertion cell"
    used = set(re.findall(r"\{glue:[a-z]*\}`([A-Za-z0-9_]+)", text))
    glued = set(re.findall(r"glue\(\s*[\"']([A-Za-z0-9_]+)[\"']", text))
    # a table glued in a loop, glue(f"tab_kl_{key}", ...): its names match the f-string's pattern
    patterns = [re.compile(re.sub(r"\\\{[^}]*\\\}", "[A-Za-z0-9_]+", re.escape(f)) + "$")
                for f in re.findall(r"glue\(\s*f[\"']([A-Za-z0-9_{}\[\]\.]+)[\"']", text)]
    missing = {n for n in used - glued if not any(p.match(n) for p in patterns)}
    assert not missing, f"{page}: glued names used but never computed: {sorted(missing)}"
    assert "np.random.seed(" not in text, f"{page}: use np.random.default_rng(seed), not the global seed"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_follows_template(page):
    text = (ROOT / f"{page}.md").read_text()
    assert is_myst_notebook(text), f"{page}: chapters are MyST notebooks"
    assert re.search(r"^\(\S+\)=\s*$", text, flags=re.M), f"{page}: missing a page label like (label)="
    for needle, what in [
        ("Learning objectives", "learning objectives"),
        ("{prf:", "a prf block (definition, theorem or proof)"),
        (":label: eq-", "a labeled equation"),
        ("name: fig-", "a captioned, named figure"),
        ("explore(", "an explorable figure"),
        ("{exercise}", "an exercise"),
        ("solution-start", "a solution"),
        ("## Summary", "a summary"),
    ]:
        assert needle in text, f"{page}: missing {what} (see CONTRIBUTING.md)"


def test_no_private_helpers_in_chapters():
    for f in toc_files():
        text = (ROOT / f"{f}.md").read_text()
        for cell in code_cells(text):
            assert not re.search(r"lindiff\.\w+\._\w+|from lindiff\.\w*\s+import\s+_", cell), \
                f"{f}: chapters use the public API only"


def test_no_bare_ref_to_a_heading_with_math():
    """A bare {ref}`label` to a heading with math shows the TeX source ("The K\\to\\infty limit").

    Sphinx takes the link text of a bare reference from the heading's source, so
    on the site and in the PDF the math comes out as raw TeX. Such references
    are written as Markdown links, [The $K\\to\\infty$ limit](#label), whose text is typeset.
    """
    math_headings = {}
    for f in toc_files():
        lines = (ROOT / f"{f}.md").read_text().splitlines()
        for above, line in zip(lines, lines[1:]):
            label = re.fullmatch(r"\((\S+)\)=", above.strip())
            if label and re.match(r"#{1,6} .*\$", line):
                math_headings[label.group(1)] = f
    assert math_headings, "no labeled heading with math found: the check would check nothing"
    for f in toc_files():
        for n, line in enumerate((ROOT / f"{f}.md").read_text().splitlines(), 1):
            for label in re.findall(r"\{ref\}`([^`<>]+)`", line):
                assert label not in math_headings, \
                    f"{f}.md:{n}: bare {{ref}}`{label}` to a heading with math in {math_headings[label]}.md"
