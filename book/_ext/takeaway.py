"""Sphinx extension: the take-away formats of the book (notebooks and the PDF).

Notebooks
    sphinx-book-theme 1.3.0 shows an ``.ipynb`` entry in a page's download menu
    only when ``context["ipynb_source"]`` is set, and it sets that itself only
    when a launch button (Binder, Colab, ...) is configured, which this offline
    book has none of. So, for every page written from a MyST notebook (a ``.md``
    with a jupytext header and a kernel), this extension writes the notebook,
    converted by jupytext from the ``.md`` and without outputs, to
    ``_sources/<page>.ipynb`` (beside the ``.md`` that Sphinx copies there) and
    sets ``ipynb_source`` before the theme builds its buttons. A reader gets the
    chapter as a notebook to run, not the executed copy of the build.

The whole book as one PDF
    ``make pdf`` prints the single-page build (``--builder singlehtml``) to
    ``_build/pdf/lindiff.pdf`` (see ``lindiff/_build_tools.py``). When that file
    exists at the start of an HTML build, the build copies it to
    ``_build/html/lindiff.pdf`` and every page's download menu links to it. The
    link depends on a config value (``lindiff_book_pdf``, rebuilt on "html"), so
    the appearance of the PDF rewrites the pages without re-reading, hence
    without re-executing, any notebook.

Single page build
    myst-nb attaches the ipywidgets state of a notebook to that notebook's own
    page. In the single page build there is one page, so the states of all the
    notebooks are attached to it; otherwise the explorable figures would print
    as empty boxes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

PDF_NAME = "lindiff.pdf"

# The theme opens every download link in a new tab, where a browser shows a
# notebook as JSON text and the PDF in its viewer: make these two save the file.
_SAVE_LINKS_JS = (
    "document.addEventListener('DOMContentLoaded', () => {"
    " for (const a of document.querySelectorAll("
    "'a.btn-download-notebook-button, a.btn-download-book-pdf-button')) {"
    " a.setAttribute('download', ''); a.removeAttribute('target'); } });"
)


def book_pdf(outdir: str | Path) -> Path:
    """Where ``make pdf`` writes the book: ``_build/pdf/lindiff.pdf`` beside ``_build/html``."""
    return Path(outdir).parent / "pdf" / PDF_NAME


def is_myst_notebook(path: Path) -> bool:
    """True for a MyST Markdown notebook: a ``.md`` whose jupytext header names a kernel."""
    if path.suffix != ".md" or not path.is_file():
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    if not head.startswith("---"):
        return False
    header = head.split("\n---", 1)[0]
    return "format_name: myst" in header and "kernelspec:" in header


def notebook_json(path: Path) -> str:
    """The notebook of a MyST ``.md``, as ``.ipynb`` JSON with no outputs.

    jupytext reads the ``.md`` (cells, their tags and the kernel); the text
    representation header, which only makes sense for the ``.md``, is dropped so
    that the downloaded notebook is a plain notebook with no pairing.
    """
    import jupytext
    import nbformat

    nb = jupytext.read(path)
    nb.metadata.pop("jupytext", None)
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"  # stable ids: the same .md gives the same file
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    return nbformat.writes(nb)


def _config_inited(app, config):
    # the value enters the HTML build's config hash: a PDF that appears (or
    # disappears) rewrites every page, and nothing is re-read or re-executed
    config.lindiff_book_pdf = PDF_NAME if book_pdf(app.outdir).is_file() else ""


def _add_notebook(app, pagename, templatename, context, doctree):
    if app.builder.name not in ("html", "dirhtml") or pagename not in app.env.all_docs:
        return
    source = Path(app.env.doc2path(pagename))
    if not is_myst_notebook(source):
        return
    target = Path(app.outdir) / "_sources" / (pagename + ".ipynb")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(notebook_json(source), encoding="utf-8")
    context["ipynb_source"] = pagename + ".ipynb"


def _add_pdf_link(app, pagename, templatename, context, doctree):
    if app.builder.name not in ("html", "dirhtml") or not app.config.lindiff_book_pdf:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            # the theme's ".pdf" prints only this page, through the browser's dialog and
            # without the book's print layout: the book's PDF takes its place
            group["buttons"] = [b for b in group["buttons"] if b.get("label") != "download-pdf-button"]
            group["buttons"].append({
                "type": "link",
                "url": context["pathto"](app.config.lindiff_book_pdf, 1),
                "text": "book .pdf",
                "tooltip": "Download the whole book as one PDF",
                "icon": "fas fa-book",
                "label": "download-book-pdf-button",
            })


def _all_widget_states(app, pagename, templatename, context, doctree):
    """Single page build: attach every notebook's widget state to the one page."""
    if app.builder.name != "singlehtml" or pagename != app.config.root_doc:
        return
    from myst_nb.sphinx_ import NbMetadataCollector

    for docname in sorted(app.env.all_docs):
        if docname == pagename:
            continue  # myst-nb adds the root page's own files
        for path, kwargs in NbMetadataCollector.get_js_files(app.env, docname).values():
            app.add_js_file(path, **kwargs)


def _share_html_visitors(app):
    """Single page build: use the HTML visitors of nodes that have no single-page ones.

    Sphinx looks the visitors up under the builder's name, and falls back to its
    format ("html") only when no extension registered any visitor for
    "singlehtml". Some do (sphinx-proof, sphinx-exercise), so myst-nb's
    hidden-cell node would be an "unknown node type" in the single page build.
    """
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def _copy_pdf(app, exception):
    if exception is not None or app.builder.name not in ("html", "dirhtml"):
        return
    if app.config.lindiff_book_pdf:
        pdf = book_pdf(app.outdir)
        if pdf.is_file():
            shutil.copyfile(pdf, Path(app.outdir) / PDF_NAME)
        else:
            logger.warning("the book PDF %s disappeared during the build", pdf)


def setup(app):
    app.add_config_value("lindiff_book_pdf", "", "html")
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", _share_html_visitors)
    # before sphinx-book-theme builds the header buttons (priority 501)
    app.connect("html-page-context", _add_notebook, priority=450)
    # after it: append to its download menu
    app.connect("html-page-context", _add_pdf_link, priority=600)
    # myst-nb adds a page's own js files at the default priority (500)
    app.connect("html-page-context", _all_widget_states, priority=400)
    app.connect("build-finished", _copy_pdf)
    app.add_js_file(None, body=_SAVE_LINKS_JS)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
