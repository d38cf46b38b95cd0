"""Browser tests of the built site: offline, typeset, decoded, explorable.

Run by ``make test-browser`` after the site is built (``make test`` does both).
Playwright drives Debian's chromium (``CHROMIUM``, default /usr/bin/chromium);
a browser is never downloaded. The site is served on 127.0.0.1 only, and every
request the page makes is recorded, so a single request to another host fails.
"""

from __future__ import annotations

import functools
import http.server
import os
import socketserver
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

SITE = Path(__file__).resolve().parent.parent / "_build" / "html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def site_pages() -> list[str]:
    if not SITE.is_dir():
        return []
    skip = {"_static", "_sources", "_images"}
    return sorted(
        str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
        if not skip.intersection(p.relative_to(SITE).parts)
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


@pytest.fixture(scope="module")
def base_url():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built site at {SITE}: run `make book` first")
    server = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"chromium not found at {CHROMIUM}: `sudo apt-get install -y chromium` "
                    "or set CHROMIUM=/path/to/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_page(browser, url):
    """Load ``url``; return the page and the lists of requests, failures and errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(90_000)  # generous: CI machines can be busy
    requests, failed, errors = [], [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="networkidle")
    # MathJax 3 typesets asynchronously; wait for it when the page loads it
    page.evaluate("() => (window.MathJax && MathJax.startup) ? MathJax.startup.promise : null")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    return page, requests, failed, errors


def visible_frames(explorer) -> list[str]:
    return explorer.evaluate(
        "el => Array.from(el.querySelectorAll('img.lindiff-frame'))"
        ".filter(i => i.offsetParent !== null).map(i => i.src)"
    )


def test_site_has_pages():
    pages = site_pages()
    assert "index.html" in pages and "book/preface.html" in pages, f"site not built at {SITE}"
    assert len(pages) >= 3


@pytest.mark.parametrize("page_path", site_pages())
def test_page_renders_offline(browser, base_url, page_path):
    html = (SITE / page_path).read_text(encoding="utf-8")
    page, requests, failed, errors = open_page(browser, f"{base_url}/{page_path}")
    try:
        # 1. nothing leaves 127.0.0.1
        foreign = [u for u in requests
                   if urlparse(u).scheme not in ("data", "blob", "about") and urlparse(u).hostname != "127.0.0.1"]
        assert not foreign, f"requests to other hosts: {foreign}"
        missing = [(s, u) for s, u in failed if not u.endswith("/favicon.ico")]
        assert not missing, f"failed requests: {missing}"
        assert not errors, f"JavaScript errors: {errors}"
        # 2. math is typeset by the locally served MathJax
        n_math = page.locator(".math").count()
        if n_math:
            assert page.locator("mjx-container").count() >= n_math
            raw = page.evaluate(
                "Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container')).length")
            assert raw == 0, f"{raw} math elements left untypeset"
        # 3. every image is decoded
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
        assert not broken, f"images not decoded: {broken}"
        # 4. every embedded widget view is rendered by the local widget manager
        n_views = html.count('application/vnd.jupyter.widget-view+json')
        if n_views:
            rendered = page.locator(".widget-subarea > *").count()
            assert rendered >= n_views - html.count("application/vnd.jupyter.widget-state+json"), \
                "widget views were not rendered"
            assert page.locator(".jupyter-widgets").count() > 0
        # 5. explorable figures: each slider changes the frame shown
        explorers = page.locator(".lindiff-explorer")
        for i in range(explorers.count()):
            ex = explorers.nth(i)
            handles = ex.locator(".noUi-handle")
            assert handles.count() >= 1, "explorer without sliders"
            for j in range(handles.count()):
                before = visible_frames(ex)
                assert len(before) == 1, "an explorer must show exactly one frame"
                handle = handles.nth(j)
                handle.focus()
                now = int(float(handle.get_attribute("aria-valuenow")))
                top = int(float(handle.get_attribute("aria-valuemax")))
                page.keyboard.press("ArrowLeft" if now == top else "ArrowRight")
                for _ in range(40):  # the swap is immediate; allow a loaded machine 2 s
                    after = visible_frames(ex)
                    if after != before:
                        break
                    page.wait_for_timeout(50)
                assert len(after) == 1 and after != before, f"slider {j} of explorer {i} did not change the figure"
    finally:
        page.close()
