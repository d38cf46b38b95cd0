"""The take-away formats: the whole book as one PDF, each chapter as a notebook.

* ``test_notebook_conversion`` needs no build (it runs with the unit tests):
  each MyST chapter converts to a valid ``.ipynb`` with the same cells.
* The tests marked ``site`` read the built site (``make book`` or the -W build
  of ``make test``): every notebook page offers its ``.ipynb`` in the download
  menu, and the file is there, valid, without outputs, with the ``.md``'s cells.
* The tests of the PDF (also marked ``site``) read ``_build/pdf/lindiff.pdf`` (``make pdf``): a
  page for every chapter, each chapter's title, typeset math (no TeX source
  left), figures and numbered equations, a table of contents, and the site's
  link to it. They are skipped when the PDF was not built, unless
  ``LINDIFF_REQUIRE_PDF=1`` (set by ``make test-pdf``, which builds it first).

The PDF's text is read with pypdf (pure Python, pinned in requirements.txt):
no PDF tool (poppler, mupdf) is installed, and chromium cannot extract text.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
PDF = ROOT / "_build" / "pdf" / "lindiff.pdf"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import takeaway  # noqa: E402  (the Sphinx extension that writes the notebooks)

# --- the book, from _toc.yml and the first heading of each page -----------------


def toc_pages() -> list[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [ch["file"] for ch in part.get("chapters", [])]
    return pages


def first_heading(page: str) -> str:
    for line in (ROOT / f"{page}.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise AssertionError(f"{page}.md has no level-1 heading")


def notebook_pages() -> list[str]:
    return [p for p in toc_pages() if takeaway.is_myst_notebook(ROOT / f"{p}.md")]


def cells(nb) -> list[tuple]:
    """What a reader runs: each cell's type, source and tags."""
    return [(c.cell_type, c.source, tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def test_book_has_notebooks():
    # guards the parametrizations below against an empty list
    assert len(notebook_pages()) >= 10


@pytest.mark.parametrize("page", notebook_pages())
def test_notebook_conversion(page, tmp_path):
    import jupytext
    import nbformat

    md = ROOT / f"{page}.md"
    text = takeaway.notebook_json(md)
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert "jupytext" not in nb.metadata and nb.metadata.kernelspec.name == "python3"
    assert cells(jupytext.read(md)) == cells(nb)
    assert any(c.cell_type == "code" for c in nb.cells)
    assert takeaway.notebook_json(md) == text, "the conversion must be deterministic"


# --- the notebooks of the built site ------------------------------------------------

needs_site = pytest.mark.skipif(not (SITE / "index.html").is_file(), reason="site not built (make book)")


@pytest.mark.site
@needs_site
@pytest.mark.parametrize("page", notebook_pages())
def test_site_offers_notebook(page):
    import jupytext
    import nbformat

    ipynb = SITE / "_sources" / f"{page}.ipynb"
    assert ipynb.is_file(), f"{ipynb} missing"
    nb = nbformat.read(ipynb, as_version=4)
    nbformat.validate(nb)
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    back = jupytext.read(ipynb)  # what a reader's jupytext makes of the download
    assert cells(back) == cells(jupytext.read(ROOT / f"{page}.md"))
    # the download menu of the page links to it
    html = (SITE / f"{page}.html").read_text(encoding="utf-8")
    assert re.search(r'href="[./]*_sources/' + re.escape(page) + r'\.ipynb"', html), \
        f"{page}.html offers no .ipynb download"


@pytest.mark.site
@needs_site
def test_plain_pages_offer_no_notebook():
    plain = [p for p in toc_pages() if p not in notebook_pages()]
    for page in plain:
        assert not (SITE / "_sources" / f"{page}.ipynb").exists()
        assert not re.search(r'href="[^"]*\.ipynb"', site_html(page)), f"{page} links to a notebook"


# --- the PDF ------------------------------------------------------------------------


def _pdf_or_skip() -> Path:
    if not PDF.is_file():
        if os.environ.get("LINDIFF_REQUIRE_PDF", "") not in ("", "0"):
            pytest.fail(f"{PDF} was not built")
        pytest.skip("the PDF was not built (make pdf)")
    return PDF


@functools.lru_cache(maxsize=1)
def pdf_text() -> tuple[str, ...]:
    """The text of each page, whitespace collapsed, typographic quotes made plain."""
    from pypdf import PdfReader

    reader = PdfReader(_pdf_or_skip())
    out = []
    for page in reader.pages:
        out.append(norm(page.extract_text() or ""))
    return tuple(out)


def norm(s: str) -> str:
    """Compatibility form (the ligature "ﬀ" is "ff"), plain quotes, no markup, blanks collapsed."""
    s = unicodedata.normalize("NFKC", s)
    s = s.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    return " ".join(s.replace("`", "").split())


def squeeze(s: str) -> str:
    """Without any blank: chromium drops the space at a line break inside a bookmark title."""
    return "".join(norm(s).split())


def site_html(page: str) -> str:
    return (SITE / f"{page}.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reader():
    from pypdf import PdfReader

    return PdfReader(_pdf_or_skip())


@pytest.mark.site
def test_pdf_outline_has_every_chapter_on_its_own_page(reader):
    """The bookmarks name every chapter, in book order, each on a later page than the one before."""
    top = [(" ".join(str(o.title).split()), reader.get_destination_page_number(o) + 1)
           for o in reader.outline if not isinstance(o, list)]
    titles = [first_heading(p) for p in toc_pages()]
    found = []
    for t in titles:
        hits = [(title, page) for title, page in top if squeeze(t) in squeeze(title)]
        assert hits, f"chapter {t!r} is not in the PDF outline {[x for x, _ in top]}"
        found.append(hits[0][1])
    assert found == sorted(found) and len(set(found)) == len(found), f"chapter start pages {found}"
    assert len(reader.pages) > found[-1], "the last chapter has no page"


@pytest.mark.site
def test_pdf_text_has_every_chapter_title():
    text = pdf_text()
    body = " ".join(text)
    for page in toc_pages():
        title = norm(first_heading(page))
        assert title in body, f"the PDF text lacks the title of {page}: {title!r}"
    # the table of contents (second page) lists them all
    contents = next(t for t in text[:4] if t.startswith("Contents"))
    for page in toc_pages():
        assert norm(first_heading(page)) in contents, f"{page} missing from the table of contents"


@pytest.mark.site
def test_pdf_contents_give_each_chapter_its_page_and_link(reader):
    """The contents page: each chapter's page number is where its bookmark points, and its link goes there.

    The numbers are filled in after the book is printed (``lindiff._build_tools``), so
    this checks that the front matter put in place matches the book it precedes.
    """
    text = pdf_text()
    k = next(i for i, t in enumerate(text[:4]) if t.startswith("Contents"))
    contents = text[k]
    starts = {squeeze(" ".join(str(o.title).split())): reader.get_destination_page_number(o) + 1
              for o in reader.outline if not isinstance(o, list)}
    dests = reader.named_destinations
    targets = []
    for annot in reader.pages[k].get("/Annots", []):
        a = annot.get_object()
        if a.get("/Subtype") == "/Link" and "/Dest" in a:
            name = str(a["/Dest"])
            assert name in dests, f"the contents link to {name}, which the PDF does not define"
            targets.append(reader.get_destination_page_number(dests[name]) + 1)
    pages = []
    for page in toc_pages():
        title = norm(first_heading(page))
        start = next(p for t, p in starts.items() if squeeze(title) in t)
        m = re.search(re.escape(title) + r" (\d+)", contents)
        assert m, f"no page number after {title!r} in the contents: {contents!r}"
        assert int(m.group(1)) == start, f"{title!r}: page {m.group(1)} in the contents, {start} in the outline"
        pages.append(start)
    assert targets == pages, f"the contents link to pages {targets}, the chapters start on {pages}"


@pytest.mark.site
def test_pdf_page_contents_are_indirect_streams(reader):
    """Every page draws from streams that are indirect objects, as the PDF standard requires.

    pypdf reads a stream written inline in a page, but PDFium (the viewer in
    Chrome) draws such a page blank; the front matter, put in place after printing,
    once was.
    """
    from pypdf.generic import ArrayObject, IndirectObject

    for i, page in enumerate(reader.pages):
        raw = page.raw_get("/Contents")
        refs = list(raw) if isinstance(raw, ArrayObject) else [raw]
        assert refs and all(isinstance(r, IndirectObject) for r in refs), \
            f"page {i + 1}: /Contents is {type(raw).__name__}, not a reference to a stream"


def headings_with_simple_math() -> list[tuple[str, str]]:
    """(page, math) for every heading of the book with inline math of letters and "/" only ($K$, $d/N$)."""
    found = []
    for page in toc_pages():
        fenced = False
        for line in (ROOT / f"{page}.md").read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                fenced = not fenced
            elif not fenced and re.match(r"#{1,6} ", line):
                found += [(page, m) for m in re.findall(r"\$([A-Za-z/ ]+)\$", line)]
    return found


@pytest.mark.site
def test_pdf_bookmarks_are_the_headings(reader):
    """Each bookmark carries its heading's text once, with its math.

    chromium's own bookmark names repeat part of many headings ("1.1. 1.1. Symbols
    shared…Symbols shared…") and drop the math; ``lindiff._build_tools.finish_pdf``
    renames them after the headings as the page shows them.
    """
    from lindiff._build_tools import outline

    titles = [title for _, title, _ in outline(_pdf_or_skip().read_bytes())]
    assert len(titles) >= 100, f"only {len(titles)} bookmarks"
    for t in titles:
        assert not re.match(r"(\d+(?:\.\d+)*\.) \1", t), f"bookmark with a repeated section number: {t!r}"
        assert not re.search(r"(.{12,})\1", squeeze(t)), f"bookmark with repeated text: {t!r}"
    joined = [squeeze(t) for t in titles]
    math = headings_with_simple_math()
    assert len(math) >= 5, "the headings lost their math"
    for page, m in math:
        assert any(squeeze(m) in t for t in joined), f"the math {m!r} of a heading of {page} is in no bookmark"


@pytest.mark.site
def test_pdf_has_no_raw_tex():
    body = " ".join(pdf_text())
    # a reference whose text came from a heading with math once printed "The K\\to\\infty limit"
    for raw in ("\\frac", "$$", "\\begin{", "\\mathbb", "\\sigma", "\\left(", "\\infty", "\\to", "\\gamma",
                "\\hat", "\\lambda", "\\mathrm", "\\mathcal", "\\sqrt", "\\tilde", "\\alpha", "\\beta"):
        assert raw not in body, f"untypeset TeX {raw!r} in the PDF, e.g. {body[body.find(raw) - 80: body.find(raw) + 80]!r}"


@pytest.mark.site
@needs_site
def test_pdf_has_numbered_equations_and_figures(reader):
    """Every equation number and figure caption of the site is in the PDF, and every image."""
    body = " ".join(pdf_text())
    html = "".join(site_html(p) for p in toc_pages())
    eqnos = set(re.findall(r'class="eqno">\((\d+\.\d+)\)', html))
    figs = set(re.findall(r'caption-number">Fig\. (\d+\.\d+)', html))
    assert len(eqnos) >= 20 and len(figs) >= 5, "the site lost its numbered equations or figures"
    assert eqnos <= set(re.findall(r"\((\d+\.\d+)\)", body)), "equation numbers missing from the PDF"
    assert figs <= set(re.findall(r"Fig\. ?(\d+\.\d+)", body)), "figure numbers missing from the PDF"
    # the figures of the pages, and one drawn frame for each explorable figure
    n_static = len(re.findall(r'<img [^>]*src="(?:\.\./)*_images/', html))
    n_views = html.count("application/vnd.jupyter.widget-view+json")
    n_images = sum(len(p.images) for p in reader.pages)
    assert n_images >= n_static + n_views, f"{n_images} images in the PDF, {n_static} + {n_views} on the site"


@pytest.mark.site
@needs_site
def test_site_links_to_pdf():
    """The site carries a copy of the PDF, and every page's download menu links to it."""
    _pdf_or_skip()
    copy = SITE / "lindiff.pdf"
    assert copy.is_file() and copy.read_bytes() == PDF.read_bytes(), "_build/html/lindiff.pdf is missing or stale"
    for page in toc_pages():
        html = (SITE / f"{page}.html").read_text(encoding="utf-8")
        assert re.search(r'href="[./]*lindiff\.pdf"', html), f"{page}.html has no link to the PDF"
        assert "download-pdf-button" not in html, f"{page}.html still offers the theme's print-this-page .pdf"


if __name__ == "__main__":  # a summary of the PDF, for the report
    from pypdf import PdfReader

    r = PdfReader(PDF)
    print(json.dumps({"pages": len(r.pages), "bytes": PDF.stat().st_size}))
