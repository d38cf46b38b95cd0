"""Print the book to one PDF (``make pdf``), with Debian's chromium.

Usage::

    python -m lindiff._build_tools pdf _build/singlehtml _build/pdf/lindiff.pdf

The input is the single page build of the book (``jupyter-book build .
--builder singlehtml``). Playwright drives the system's chromium
(``CHROMIUM``, default ``/usr/bin/chromium``; never a downloaded browser),
serves the page on 127.0.0.1, refuses every request to another host, waits
until MathJax has typeset every formula, every image is decoded and every
explorable figure is drawn, then prints A4 pages with:

* a title page and a table of contents with page numbers (the book is printed
  once, the contents with blank numbers; the PDF's outline then tells on which
  page each chapter starts, and the front matter alone is printed again with
  the numbers and put in place of the first pages, see
  :func:`finish_pdf`);
* each chapter on a new page; exercise solutions opened (a PDF has no
  buttons); code the site hides behind "Show code cell source" left out
  (its output stays); the site's navigation, sidebars and buttons left out;
* the PDF outline (bookmarks, named after the headings as the page shows them)
  and tagged text, and a page number in the footer.

Why chromium and not LaTeX: no TeX installation is available (or wanted: a TeX
Live able to build a Jupyter Book is over 1 GB), and Jupyter Book's own
``pdfhtml`` builder downloads a Chromium through pyppeteer, which fails offline.
Printing the HTML also keeps the book exactly as the site shows it: the same
MathJax, equation numbers, figures and glued numbers.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import socketserver
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

# Layout for print. The site's navigation, buttons and sidebars are dropped;
# each chapter (a document of the single page build) starts a new page.
PRINT_CSS = r"""
@page { size: A4; margin: 18mm 16mm 18mm 16mm; }
html { font-size: 10pt; }
.bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-header-article,
.bd-footer, .bd-footer-article, .bd-footer-content, .prev-next-area, .skip-link,
.headerlink, .toggle-button, .search-button, .theme-switch-button,
#pst-back-to-top, .bd-search, .header-article-items, .sidebar-toggle,
.copybtn, .bd-toc, #jb-print-docs-body { display: none !important; }
.bd-main, .bd-content, .bd-article-container, .bd-article, .bd-container, .bd-page-width {
  max-width: none !important; width: 100% !important; padding: 0 !important; margin: 0 !important; }
.bd-main .bd-content .bd-article-container { max-width: none !important; }
/* the theme's print style hides the first h1 of each section, i.e. every chapter title */
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
.bd-article-container h1, .bd-article-container h2, .bd-article-container h3,
.bd-article-container h4 { color: #000 !important; }
h1 { font-size: 2rem; }
span[id^="document-"] + section, .lindiff-chapter-start { break-before: page; }
h1, h2, h3, h4 { break-after: avoid; }
figure, img, .cell_output, .math, mjx-container[display="true"], table, .admonition,
.proof, .exercise, .solution, .cell_input { break-inside: avoid; }
.toggle-hidden { display: block !important; visibility: visible !important; height: auto !important; }
a { color: inherit; text-decoration: none; }
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
mjx-container[display="true"] { overflow: visible !important; }
.lindiff-titlepage { height: 240mm; display: flex; flex-direction: column; justify-content: center;
  text-align: center; break-after: page; }
.lindiff-titlepage .lindiff-title { font-size: 2.4rem; font-weight: bold; margin-bottom: 2rem; }
.lindiff-titlepage p { font-size: 1.2rem; }
.lindiff-toc { break-after: page; }
.lindiff-toc .lindiff-toc-title { font-size: 1.8rem; font-weight: bold; margin-bottom: 1rem; }
.lindiff-toc .part { font-weight: bold; margin: 0.8rem 0 0.2rem; }
.lindiff-toc .entry { display: flex; align-items: baseline; margin: 0.15rem 0 0.15rem 1rem; }
.lindiff-toc .entry .title { flex: 0 1 auto; }
.lindiff-toc .entry .dots { flex: 1 1 auto; border-bottom: 1px dotted #888; margin: 0 0.4rem; }
/* a fixed width: filling the numbers in must not move anything (see print_book) */
.lindiff-toc .entry .page { flex: 0 0 3ch; text-align: right; font-variant-numeric: tabular-nums; }
"""

# Run in the page once everything is drawn and the print media applied: open what a
# reader would have to click, make each chapter's title a level-1 heading (the single
# page build nests the chapters one level down, inside the root page), shrink display
# formulas wider than the page, and add the title page and the table of contents.
# Returns the chapters in book order, [{doc, id, title}], and every heading the book
# shows, [level, text], in order: the text as a reader sees it, math included (from
# MathJax's assistive MathML), without the "#" of the heading links.
PREPARE_JS = r"""
(book) => {
  // code the page hides behind "Show code cell source" stays out of the book (its output stays)
  for (const d of Array.from(document.querySelectorAll('details.hide.above-input'))) d.remove();
  for (const d of document.querySelectorAll('details')) d.open = true;
  for (const e of document.querySelectorAll('.toggle-hidden')) e.classList.remove('toggle-hidden');
  const clean = h => Array.from(h.childNodes).filter(n => !(n.classList && n.classList.contains('headerlink')))
                          .map(n => n.textContent).join('').replace(/[\u2061-\u2064]/g, '')
                          .replace(/\s+/g, ' ').trim();
  const promote = (section) => {
    for (const h of Array.from(section.querySelectorAll('h2, h3, h4, h5, h6'))) {
      const level = Number(h.tagName[1]) - 1;
      const g = document.createElement('h' + level);
      for (const at of h.attributes) g.setAttribute(at.name, at.value);
      while (h.firstChild) g.appendChild(h.firstChild);
      h.replaceWith(g);
    }
  };
  const article = document.querySelector('article.bd-article');
  const rootSection = article.querySelector('section');
  const chapters = [];
  const rootH1 = rootSection.querySelector('h1');
  if (!rootSection.id) rootSection.id = 'lindiff-root';
  chapters.push({doc: book.root, id: rootSection.id, title: clean(rootH1)});
  rootSection.classList.add('lindiff-chapter-start');
  // each further document of the single page build starts with <span id="document-...">
  for (const marker of Array.from(document.querySelectorAll('span[id^="document-"]'))) {
    const section = marker.nextElementSibling;
    if (!section || section.tagName !== 'SECTION') continue;
    promote(section);
    const h1 = section.querySelector('h1');
    if (!h1) continue;
    chapters.push({doc: marker.id.slice('document-'.length), id: section.id, title: clean(h1)});
  }
  // display formulas wider than the text: scale them down rather than cut them off
  // (all widths read first, then all zooms set: a read after a write would lay the whole book out again)
  const widths = Array.from(document.querySelectorAll('mjx-container[display="true"]'))
                      .map(m => [m, m.parentElement.clientWidth, m.scrollWidth]);
  for (const [m, box, wide] of widths)
    if (box > 0 && wide > box) m.style.zoom = Math.max(0.5, (box - 4) / wide).toFixed(3);
  const toc = document.createElement('nav');
  toc.className = 'lindiff-toc';
  toc.innerHTML = '<div class="lindiff-toc-title">Contents</div>';
  let part = null;
  for (const ch of chapters) {
    const p = book.parts[ch.doc];
    if (p && p !== part) {
      const el = document.createElement('div');
      el.className = 'part'; el.textContent = p; toc.appendChild(el); part = p;
    }
    const a = document.createElement('a');
    a.className = 'entry'; a.href = '#' + ch.id;
    a.innerHTML = '<span class="title"></span><span class="dots"></span><span class="page">000</span>';
    a.querySelector('.title').textContent = ch.title;
    a.dataset.doc = ch.doc;
    toc.appendChild(a);
  }
  const title = document.createElement('div');
  title.className = 'lindiff-titlepage';
  title.innerHTML = '<div class="lindiff-title"></div><p class="author"></p><p class="date"></p>';
  title.querySelector('.lindiff-title').textContent = book.title;
  title.querySelector('.author').textContent = book.author;
  title.querySelector('.date').textContent = book.date;
  article.prepend(toc);
  article.prepend(title);
  const headings = Array.from(article.querySelectorAll(':is(h1, h2, h3, h4, h5, h6)'))
    .filter(h => h.getClientRects().length > 0).map(h => [Number(h.tagName[1]), clean(h)]);
  return {chapters, headings};
}
"""

SET_PAGES_JS = r"""
(pages) => {
  for (const a of document.querySelectorAll('.lindiff-toc a.entry'))
    a.querySelector('.page').textContent = pages[a.dataset.doc] || '';
}
"""

# Hide (True) or show again (False) everything after the title page and the contents.
FRONT_ONLY_JS = r"""
(hide) => {
  const article = document.querySelector('article.bd-article');
  for (const el of Array.from(article.children))
    if (!el.classList.contains('lindiff-titlepage') && !el.classList.contains('lindiff-toc'))
      el.style.display = hide ? 'none' : '';
}
"""

FOOTER = ('<div style="font-size:8pt;width:100%;text-align:center;color:#555;">'
          '<span class="pageNumber"></span></div>')


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def book_parts(toc_file: Path) -> tuple[str, dict[str, str]]:
    """The root document and {document: part caption} from Jupyter Book's ``_toc.yml``."""
    import yaml

    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    parts = {}
    for part in toc.get("parts", []):
        for ch in part.get("chapters", []):
            parts[ch["file"]] = part.get("caption", "")
    return toc["root"], parts


def outline(pdf: bytes) -> list[tuple[int, str, int]]:
    """(depth, title, 1-based page) of every entry of a PDF's outline (bookmarks), in order."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    entries = []

    def walk(items, depth):
        for it in items:
            if isinstance(it, list):
                walk(it, depth + 1)
            else:
                entries.append((depth, " ".join(str(it.title).split()), reader.get_destination_page_number(it) + 1))

    walk(reader.outline, 0)
    return entries


def chapter_pages(pdf: bytes, titles: list[str]) -> list[int]:
    """The page on which each chapter starts, from the top-level outline entries, in order."""
    # chromium drops the space at a line break of a title: compare without blanks
    top = [("".join(t.split()), p) for depth, t, p in outline(pdf) if depth == 0]
    pages, i = [], 0
    for title in titles:
        while i < len(top) and "".join(title.split()) not in top[i][0]:
            i += 1
        if i == len(top):
            raise RuntimeError(f"chapter {title!r} is not a top-level entry of the PDF outline {top}")
        pages.append(top[i][1])
    return pages


def finish_pdf(book: bytes, front: bytes, n_front: int, headings: list[tuple[int, str]]) -> bytes:
    """``book`` with its front matter filled in and its bookmarks named after the headings.

    * The first ``n_front`` pages are drawn as those of ``front`` (the same pages,
      page numbers filled in): each page's content stream and the resources it names
      (the fonts, subset to the glyphs it uses) come from ``front``; the page objects,
      their links and the tagged structure stay those of ``book``.
    * chromium names a bookmark after the text it drew for the heading, which repeats
      part of it in many headings ("1.1. 1.1. Symbols shared…Symbols shared…"),
      drops spaces at line breaks and drops the math. When the bookmarks follow the
      ``headings`` (level, text as the page shows it) one for one, level for level,
      they take those texts; otherwise they are left as they are (a warning is
      printed, and ``tests/test_pdf.py`` fails on the repeated text).

    Written as an incremental update of ``book``: its bytes are kept, the changed
    objects appended.
    """
    import io

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    new = PdfReader(io.BytesIO(front))
    if len(new.pages) != n_front:
        raise RuntimeError(f"the front matter printed on {len(new.pages)} pages, in the book on {n_front}")
    writer = PdfWriter(io.BytesIO(book), incremental=True)
    for i in range(n_front):
        src, dst = new.pages[i], writer.pages[i]
        for key in ("/Contents", "/Resources"):
            # raw_get: the reference itself, so that the clone is a new indirect object (a
            # stream must be one; written inline in the page, viewers draw a blank page)
            dst[NameObject(key)] = src.raw_get(key).clone(writer)

    items = []   # (depth, outline item) in document order

    def walk(node, depth):
        while node is not None:
            node = node.get_object()
            items.append((depth, node))
            if "/First" in node:
                walk(node["/First"], depth + 1)
            node = node.get("/Next")

    root = writer.root_object.get("/Outlines")
    if root is not None and "/First" in root.get_object():
        walk(root.get_object()["/First"], 0)
    if [d for d, _ in items] == [level - 1 for level, _ in headings]:
        for (_, item), (_, text) in zip(items, headings):
            item[NameObject("/Title")] = TextStringObject(text)
    else:
        print(f"warning: the PDF has {len(items)} bookmarks for {len(headings)} headings, or other levels; "
              "their names are chromium's", file=sys.stderr)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _wait_until_drawn(page, timeout_s: float = 600.0) -> None:
    """Wait for MathJax, fonts, images and every widget view of the page."""
    page.evaluate("() => (window.MathJax && MathJax.startup) ? MathJax.startup.promise : null")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    deadline = time.monotonic() + timeout_s
    while True:
        state = page.evaluate("""() => ({
          raw: Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container')).length,
          images: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length,
          views: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
          drawn: document.querySelectorAll('.widget-subarea > *').length,
        })""")
        if state["raw"] == 0 and state["images"] == 0 and state["drawn"] >= state["views"]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the page was not fully drawn after {timeout_s:.0f} s: {state}")
        page.wait_for_timeout(250)


def print_book(site: Path, out: Path, toc_file: Path, title: str, author: str) -> dict:
    """Print ``site/index.html`` (a single page build) to ``out``; return a summary."""
    from playwright.sync_api import sync_playwright

    site, out = Path(site), Path(out)
    root, parts = book_parts(toc_file)
    if not (site / f"{root}.html").is_file():
        raise FileNotFoundError(f"no single page build at {site}: run `jupyter-book build . --builder singlehtml`")
    # The single page is written at <root>.html (book/preface.html), but its links to
    # _static/ and _images/ are relative to the top folder: print a copy placed there.
    page_file = site / "lindiff-print.html"
    # The print style is in the page from the start, and the page opens at the width of
    # the printed text with print media: a style or width changed after loading lays out
    # (and redraws) the whole book again, measured at 19 s of the print's 124 s.
    html = (site / f"{root}.html").read_text(encoding="utf-8")
    if "</head>" not in html:
        raise ValueError(f"{site / f'{root}.html'} has no </head>")
    page_file.write_text(html.replace("</head>", f"<style>{PRINT_CSS}</style>\n</head>", 1), encoding="utf-8")
    if not os.access(CHROMIUM, os.X_OK):
        raise FileNotFoundError(f"chromium not found at {CHROMIUM} (`apt-get install chromium`, or set CHROMIUM)")
    book = {"root": root, "parts": parts, "title": title, "author": author,
            "date": time.strftime("%Y-%m-%d", time.gmtime())}
    server = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{page_file.name}"
    foreign: list[str] = []

    def route(r):
        u = urlparse(r.request.url)
        if u.scheme in ("data", "blob", "about") or u.hostname == "127.0.0.1":
            return r.continue_()
        foreign.append(r.request.url)
        return r.abort()

    timing = {}
    t0 = time.perf_counter()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 673, "height": 1000})  # A4 text width at 96 dpi
                page.emulate_media(media="print")
                page.set_default_timeout(600_000)
                page.route("**/*", route)
                page.goto(url, wait_until="networkidle")
                _wait_until_drawn(page)
                timing["load_and_typeset_s"] = round(time.perf_counter() - t0, 1)
                t = time.perf_counter()
                prepared = page.evaluate(PREPARE_JS, book)
                chapters, headings = prepared["chapters"], [tuple(h) for h in prepared["headings"]]
                page.evaluate("() => document.fonts.ready.then(() => true)")
                timing["prepare_s"] = round(time.perf_counter() - t, 1)
                options = dict(format="A4", print_background=True, outline=True, tagged=True,
                               display_header_footer=True, header_template="<span></span>",
                               footer_template=FOOTER, prefer_css_page_size=True)
                t = time.perf_counter()
                pdf = page.pdf(**options)   # 1: the whole book, the contents with blank page numbers
                timing["print_s"] = round(time.perf_counter() - t, 1)
                t = time.perf_counter()
                found = chapter_pages(pdf, [ch["title"] for ch in chapters])
                timing["outline_s"] = round(time.perf_counter() - t, 1)
                pages = {ch["doc"]: str(p) for ch, p in zip(chapters, found)}
                page.evaluate(SET_PAGES_JS, pages)
                # 2: only the front matter again, now with the numbers. The contents' layout does
                # not depend on them (a fixed-width column), so its pages keep their place and
                # their links; printing these two pages instead of the whole book saves a minute.
                t = time.perf_counter()
                page.evaluate(FRONT_ONLY_JS, True)
                front = page.pdf(**options)
                page.evaluate(FRONT_ONLY_JS, False)
                pdf = finish_pdf(pdf, front, found[0] - 1, headings)   # title page and contents
                if chapter_pages(pdf, [ch["title"] for ch in chapters]) != found:
                    raise RuntimeError("the chapters moved when the table of contents was filled in")
                timing["front_matter_s"] = round(time.perf_counter() - t, 1)
            finally:
                browser.close()
    finally:
        server.shutdown()
        page_file.unlink(missing_ok=True)
    if foreign:
        raise RuntimeError(f"the book requested other hosts: {foreign}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    from pypdf import PdfReader
    import io

    return {"pdf": str(out), "bytes": len(pdf), "pdf_pages": len(PdfReader(io.BytesIO(pdf)).pages),
            "chapters": len(chapters), "chapter_pages": pages, **timing,
            "seconds": round(time.perf_counter() - t0, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lindiff._build_tools", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pdf", help="print the single page build to one PDF")
    p.add_argument("site", type=Path, help="folder of the single page build")
    p.add_argument("out", type=Path, help="the PDF to write")
    p.add_argument("--toc", type=Path, default=Path("_toc.yml"))
    p.add_argument("--config", type=Path, default=Path("_config.yml"))
    args = ap.parse_args(argv)
    import yaml

    cfg = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    summary = print_book(args.site, args.out, args.toc, cfg.get("title", ""), cfg.get("author", ""))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
