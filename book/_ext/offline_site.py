"""Sphinx extension: keep the built site free of references to other hosts.

Jupyter Book 1 always loads ``sphinx_thebe``, which injects (twice, a
JavaScript error) a script naming a CDN copy of thebe and a thebe configuration
pointing at a public Binder. The book runs no remote kernels, so both are
dropped from every page. Any remaining script or stylesheet that would load
from another host is reported as a warning, which fails the ``-W`` build.

It also loads ``lindiff-mathjax-shim.js`` (in ``book/_static``), which maps the
MathJax 2 call of the ipywidgets HTML manager onto the MathJax 3 API.
"""

from __future__ import annotations

import re

from sphinx.util import logging

logger = logging.getLogger(__name__)

_THEBE_CONFIG = re.compile(r'<script type="text/x-thebe-config">.*?</script>', re.S)
_EXTERNAL = re.compile(r"^(https?:)?//", re.I)


def _is_thebe(asset) -> bool:
    body = getattr(asset, "attributes", {}).get("body", "") or ""
    return "THEBE_JS_URL" in body or "thebe" in str(getattr(asset, "filename", asset) or "")


def _filter_page(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if not assets:
            continue
        kept = [a for a in assets if not _is_thebe(a)]
        for a in kept:
            name = str(getattr(a, "filename", a) or "")
            if _EXTERNAL.match(name):
                logger.warning("page %s would load %s from another host (the site must work offline)",
                               pagename, name)
        context[key] = kept
    if "body" in context:
        context["body"] = _THEBE_CONFIG.sub("", context["body"])


def setup(app):
    # run after the theme and sphinx_thebe have filled the context
    app.connect("html-page-context", _filter_page, priority=900)
    # deferred, after MathJax (priority 500): lets the widget manager typeset
    app.add_js_file("lindiff-mathjax-shim.js", defer="defer", priority=510)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
