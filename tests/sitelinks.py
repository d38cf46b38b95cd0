"""Check the internal links of the built site: every local href/src and #anchor.

Usage: ``python tests/sitelinks.py _build/html`` (``make linkcheck``). Exit
status 1 and one line per broken link when anything is wrong.

Why not linkchecker: run as root it drops its privileges to ``nobody``
(unconditionally), and ``nobody`` can neither read a site nor a venv that lives
under a private (0700) folder, such as root's home or a ``mktemp -d`` folder.
This checker reads the files as whoever runs it, opens no socket, and also
checks what linkchecker does not by default: ``#anchors`` and the ``url(...)``
references of the site's own style sheets.

What counts as broken:

- a local reference (``href``, ``src``, ``srcset``, ``poster``, ``data``, and
  ``url()``/``@import`` in the style sheets the pages use) to a file that does
  not exist, or that lies outside the site folder;
- a ``#fragment`` that names no ``id`` (or ``<a name>``) in the target page;
- a resource the browser would load from another host (``<script src>``,
  ``<img src>``, ``<link rel=stylesheet>``, CSS ``url()``): the site works
  offline. Plain ``<a href="https://...">`` links to other sites are fine, and
  are not followed (no network).

Resources that JavaScript loads at run time (MathJax fonts, widget state) are
invisible here; the browser tests (tests/test_site.py) catch those.
"""

from __future__ import annotations

import re
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# attributes that hold a URL, per tag ("*": any tag)
URL_ATTRS = {"href", "src", "poster", "data"}
# tags whose URL the browser loads as a resource (not a navigation)
RESOURCE_TAGS = {"img", "script", "iframe", "source", "video", "audio", "embed", "object", "track", "input"}
RESOURCE_RELS = {"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest", "apple-touch-icon"}
NON_FILE_SCHEMES = {"mailto", "tel", "javascript", "data", "blob", "about"}
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


class _Page(HTMLParser):
    """Collects the ids (anchors) of a page and the URLs it refers to."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, bool]] = []  # (tag.attr, url, is_resource)

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        rels = set(a.get("rel", "").lower().split())
        for attr in URL_ATTRS & a.keys():
            if tag == "meta" or (attr == "data" and tag != "object"):
                continue
            resource = tag in RESOURCE_TAGS or (tag == "link" and bool(rels & RESOURCE_RELS))
            self.refs.append((f"{tag}.{attr}", a[attr].strip(), resource))
        for attr in ("srcset", "imagesrcset"):
            if attr in a:
                for candidate in a[attr].split(","):
                    if candidate.strip():
                        self.refs.append((f"{tag}.{attr}", candidate.split()[0], True))

    handle_startendtag = handle_starttag


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    page.close()
    return page


def check_site(root: Path) -> tuple[list[str], int]:
    """Return (problems, number of references checked) for the site at ``root``."""
    root = root.resolve()
    if not (root / "index.html").is_file():
        return [f"{root}: no index.html (build the site first)"], 0
    pages: dict[Path, _Page] = {}

    def page(path: Path) -> _Page:
        if path not in pages:
            pages[path] = _parse(path)
        return pages[path]

    problems: list[str] = []
    stylesheets: set[Path] = set()
    n = 0

    def check(src: Path, where: str, url: str, resource: bool):
        nonlocal n
        n += 1
        shown = f"{src.relative_to(root)}: {where}={url!r}"
        parts = urlsplit(url)
        if url in ("", "#") or parts.scheme in NON_FILE_SCHEMES:
            return
        if parts.scheme or parts.netloc:  # another host (http:, https:, //host)
            if parts.scheme == "file":
                problems.append(f"{shown}: file: URL (works on one machine only)")
            elif resource:
                problems.append(f"{shown}: resource loaded from another host (the site must work offline)")
            return
        target = src
        if parts.path:
            if parts.path.startswith("/"):
                problems.append(f"{shown}: absolute path (breaks when the site is not at the server root)")
                return
            target = (src.parent / unquote(parts.path)).resolve()
            if root != target and root not in target.parents:
                problems.append(f"{shown}: points outside the site folder")
                return
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{shown}: no such file {target.relative_to(root)}")
                return
            if target.suffix == ".css":
                stylesheets.add(target)
        if parts.fragment and target.suffix == ".html":
            fragment = unquote(parts.fragment)
            if fragment not in page(target).ids:
                problems.append(f"{shown}: no id {fragment!r} in {target.relative_to(root)}")

    # the pages: every HTML file but the theme's template snippets in _static/
    for html in sorted(root.rglob("*.html")):
        if "_static" in html.relative_to(root).parts:
            continue
        for where, url, resource in page(html).refs:
            check(html, where, url, resource)
    # the style sheets the pages use, and those they import
    done: set[Path] = set()
    while todo := sorted(set(stylesheets) - done):
        for css in todo:
            done.add(css)
            text = CSS_COMMENT.sub("", css.read_text(encoding="utf-8", errors="replace"))
            for m in CSS_URL.finditer(text):
                url = m.group(2) if m.group(2) is not None else m.group(4)
                check(css, "css url", url.strip(), True)
    return problems, n


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/sitelinks.py SITE_FOLDER", file=sys.stderr)
        return 2
    start = time.perf_counter()
    problems, n = check_site(Path(argv[0]))
    for line in problems:
        print(line)
    took = time.perf_counter() - start
    if problems:
        print(f"{len(problems)} broken internal links ({n} references checked in {took:.1f} s)")
        return 1
    print(f"internal links OK: {n} references checked in {took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
