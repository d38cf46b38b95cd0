"""The internal-link checker of ``make linkcheck`` (tests/sitelinks.py) finds every kind of broken link.

A tiny site is written to a temporary folder: it passes as written, and each
test breaks it in one way and asserts that exactly that problem is reported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sitelinks import check_site  # noqa: E402

INDEX = """<!DOCTYPE html><html><head>
<link rel="stylesheet" href="_static/site.css?v=1">
<link rel="preconnect" href="https://example.org">
<script src="_static/app.js"></script>
</head><body>
<a href="book/ch1.html#sec-a">chapter 1</a>
<a href="book/">the book folder</a>
<a href="#top" id="top">top</a> <a href="#">nothing</a>
<a href="https://arxiv.org/abs/2411.17807">a paper</a> <a href="mailto:a@b.c">mail</a>
<img src="_images/fig%201.png" srcset="_images/fig%201.png 1x, _images/fig2.png 2x">
<img src="data:image/png;base64,AAAA">
</body></html>"""
CH1 = """<html><body><section id="sec-a"><a name="old-anchor"></a>
<a href="../index.html#top">home</a> <a href="ch1.html#old-anchor">self</a></section></body></html>"""
CSS = """/* url(commented-out.woff) is ignored */
@font-face { src: url("fonts/a.woff2") format("woff2"), url(fonts/a.woff); }
@import 'more.css';
.x { background: url(data:image/svg+xml;base64,AAAA); }"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    files = {
        "index.html": INDEX,
        "book/ch1.html": CH1,
        "book/index.html": "<html></html>",
        "_static/site.css": CSS,
        "_static/more.css": "",
        "_static/app.js": "",
        "_static/fonts/a.woff2": "",
        "_static/fonts/a.woff": "",
        "_images/fig 1.png": "",
        "_images/fig2.png": "",
        # not checked: theme template snippets, style sheets no page uses
        "_static/macros.html": "<link href=\"{{ pathto('_static/x.css', 1) }}\">",
        "_static/unused.css": ".y { background: url(missing.png); }",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def edit(path: Path, old: str, new: str):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_intact_site_passes(site):
    problems, n = check_site(site)
    assert problems == []
    assert n >= 15  # every kind of reference above was seen


@pytest.mark.parametrize("file, old, new, expected", [
    ("index.html", "book/ch1.html#sec-a", "book/ch2.html#sec-a", "no such file book/ch2.html"),
    ("index.html", "book/ch1.html#sec-a", "book/ch1.html#sec-b", "no id 'sec-b' in book/ch1.html"),
    ("book/ch1.html", "ch1.html#old-anchor", "ch1.html#new-anchor", "no id 'new-anchor'"),
    ("book/ch1.html", "../index.html#top", "../../index.html", "outside the site folder"),
    ("index.html", "_static/app.js", "https://cdn.example.org/app.js", "another host"),
    ("index.html", "_static/site.css?v=1", "/_static/site.css", "absolute path"),
    ("index.html", 'href="#top"', 'href="#bottom"', "no id 'bottom' in index.html"),
    ("index.html", "fig2.png 2x", "fig3.png 2x", "no such file _images/fig3.png"),
    ("index.html", "fig%201.png\"", "fig1.png\"", "no such file _images/fig1.png"),
    ("_static/site.css", "url(fonts/a.woff)", "url(fonts/b.woff)", "no such file _static/fonts/b.woff"),
    ("_static/site.css", "'more.css'", "'less.css'", "no such file _static/less.css"),
    ("_static/site.css", "url(fonts/a.woff)", "url(https://fonts.example.org/a.woff)", "another host"),
])
def test_each_kind_of_broken_link_is_reported(site, file, old, new, expected):
    edit(site / file, old, new)
    problems, _ = check_site(site)
    assert len(problems) == 1 and expected in problems[0], problems


def test_removed_page_breaks_every_link_to_it(site):
    (site / "book" / "index.html").unlink()
    problems, _ = check_site(site)
    assert problems == ["index.html: a.href='book/': no such file book/index.html"]


def test_command_line_exit_status(site):
    script = Path(__file__).resolve().parent / "sitelinks.py"
    ok = subprocess.run([sys.executable, script, str(site)], capture_output=True, text=True)
    assert ok.returncode == 0 and "internal links OK" in ok.stdout
    edit(site / "book" / "ch1.html", 'id="sec-a"', 'id="sec-z"')
    bad = subprocess.run([sys.executable, script, str(site)], capture_output=True, text=True)
    assert bad.returncode == 1 and "no id 'sec-a'" in bad.stdout
    missing = subprocess.run([sys.executable, script, str(site / "nowhere")], capture_output=True, text=True)
    assert missing.returncode == 1 and "no index.html" in missing.stdout
