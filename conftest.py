"""pytest configuration: collect the book's MyST notebooks with nbval.

nbval only collects ``.ipynb`` files, and the repository commits only MyST
``.md`` notebooks (their ``.ipynb`` pairs are git-ignored). The hook below reads
each MyST notebook under ``book/`` with jupytext and hands it to nbval, so
``pytest --nbval-lax book`` executes every page exactly as the site build does.
Outputs are not compared (the ``.md`` stores none): a page fails when a cell
raises, in particular a hidden ``remove-cell`` assertion.
"""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import pytest

ROOT = Path(__file__).parent


def _is_myst_notebook(path: Path) -> bool:
    if path.suffix != ".md" or ROOT / "book" not in path.parents:
        return False
    head = path.read_text(encoding="utf-8")[:2000]
    return head.startswith("---") and "format_name: myst" in head


def pytest_collect_file(file_path: Path, parent):
    opt = parent.config.option
    if getattr(opt, "nbval", False) or getattr(opt, "nbval_lax", False):
        if _is_myst_notebook(Path(file_path)):
            return MystNotebook.from_parent(parent, path=file_path)
    return None


try:
    from nbval.plugin import IPyNbFile
except ImportError:  # nbval missing: the unit tests still run
    IPyNbFile = None

if IPyNbFile is not None:
    import jupytext
    import nbval.plugin

    class _JupytextReader:
        """Stands in for ``nbformat`` inside nbval's collector: reads MyST."""

        @staticmethod
        def read(path, as_version=4):
            return jupytext.read(path)

    class MystNotebook(IPyNbFile):
        """An nbval notebook read from a MyST ``.md`` file."""

        def collect(self):
            self.compare_outputs = False  # the .md stores no outputs
            with mock.patch.object(nbval.plugin, "nbformat", _JupytextReader):
                return list(super().collect())


# --- glued numbers, recorded for the determinism test ---------------------------
# Every number a page states is glued (myst_nb.glue). While nbval executes the
# pages, the glued values are recorded here; tests/test_determinism.py compares
# them with the numbers in the HTML of the site build, an independent second
# execution. Identical numbers = the book is deterministic.
GLUE_RECORD = ROOT / "_build" / "nbval-glue.json"
_glued: dict[str, dict[str, str]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    yield
    outputs = getattr(item, "test_outputs", None)
    if not outputs or IPyNbFile is None or not isinstance(item.parent, MystNotebook):
        return
    page = str(Path(item.parent.path).relative_to(ROOT).with_suffix(""))
    for out in outputs:
        scrap = (out.get("metadata") or {}).get("scrapbook")
        if scrap:
            prefix = scrap.get("mime_prefix", "")
            text = out.get("data", {}).get(prefix + "text/plain")
            if text is not None:
                _glued.setdefault(page, {})[scrap["name"]] = text


def pytest_sessionfinish(session):
    if _glued:
        GLUE_RECORD.parent.mkdir(parents=True, exist_ok=True)
        old = json.loads(GLUE_RECORD.read_text()) if GLUE_RECORD.is_file() else {}
        old.update(_glued)
        GLUE_RECORD.write_text(json.dumps(old, indent=1, sort_keys=True))


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives chromium through the built site (make test-browser)")
    config.addinivalue_line("markers", "site: checks the built site against the nbval run (make test-browser)")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
