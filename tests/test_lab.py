"""JupyterLab in chromium: the chapters open as notebooks, run, and their widgets are live.

``make test`` runs this file as its own stage, after the site tests. It starts
the server exactly as ``make lab`` does (``make lab``, with the port and token
passed in Jupyter's own ``JUPYTER_PORT`` and ``JUPYTER_TOKEN``), and drives it
with Playwright and Debian's chromium (``CHROMIUM``; a browser is never
downloaded). Then:

* every chapter listed in ``_toc.yml``, opened from the file browser, opens as a
  notebook (jupytext), with the cells of its ``.md`` file;
* one chapter (``book/notation.md``, small) runs with *Run All Cells*, every code
  cell executes and no output is an error (or any stderr);
* moving each slider of its live widget redraws the figure (through the kernel);
* no request leaves 127.0.0.1 and no news prompt appears (the settings overrides
  that ``make setup`` writes turn the news feed off).

The server's user-level state goes to a temporary folder (settings, workspaces,
runtime files), so a reader's own JupyterLab settings cannot change the result
and the test leaves nothing behind. The test settings switch off autosave: the
chapters are never written, and ``book/*.md`` is compared byte for byte before
and after. The server (and with it every kernel) is stopped even when a test
fails.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import jupytext
import pytest
import yaml
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
RUN_CHAPTER = "book/notation.md"
# generous waits for a busy 2-core machine; every wait ends as soon as its DOM state is reached
SERVER_START_S = 120
WAIT_MS = int(os.environ.get("LAB_TEST_WAIT_MS", 120_000))
# user settings of the test server (the reader's own are not read)
TEST_SETTINGS = {"docmanager-extension/plugin": {"autosave": False}}


def toc_chapters() -> list[str]:
    """Every file of ``_toc.yml`` (root, chapters, sections), as ``book/<name>.md``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [f"{f}.md" for f in files]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never a proxy


def _api(base: str, token: str, path: str, method: str = "GET"):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with _DIRECT.open(req, timeout=10) as r:
        body = r.read()
        return json.loads(body) if body else None


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _processes_with_arg(text: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in proc.joinpath("cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(proc.name))
        except OSError:
            pass
    return pids


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The server of ``make lab`` on a free port with a random token; stopped afterwards."""
    tmp = tmp_path_factory.mktemp("lab")
    for name, values in TEST_SETTINGS.items():
        path = tmp / "settings" / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ,
               JUPYTER_PORT=str(port), JUPYTER_TOKEN=token, JUPYTER_PORT_RETRIES="0",
               JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"))
    before = {p: p.read_bytes() for p in (ROOT / "book").glob("*.md")}
    log_path = tmp / "lab.log"
    base = f"http://127.0.0.1:{port}"

    def log_tail() -> str:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])

    with open(log_path, "w") as log:
        proc = subprocess.Popen([os.environ.get("MAKE", "make"), "--no-print-directory", "lab",
                                 "LAB_FLAGS=--no-browser"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + SERVER_START_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"`make lab` exited with status {proc.returncode}:\n{log_tail()}")
                try:
                    _api(base, token, "/api/status")
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"`make lab` did not answer on port {port} in {SERVER_START_S} s:\n{log_tail()}")
                    time.sleep(0.25)
            yield {"base": base, "token": token, "log": log_path}
        finally:
            # SIGTERM to make alone: make passes it on to jupyter and waits for it, and
            # jupyter shuts its kernels down (a second SIGTERM would stall that)
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            deadline = time.monotonic() + 10  # make is reaped: what is left is jupyter
            while _group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _group_alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            # kernels run in sessions of their own; any left (server killed) are
            # recognized by the connection file in this test's runtime folder
            for pid in _processes_with_arg(str(tmp / "runtime")):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    changed = sorted(str(p.relative_to(ROOT)) for p, data in before.items()
                     if not p.is_file() or p.read_bytes() != data)
    assert not changed, f"JupyterLab wrote to the chapters: {changed}"


@pytest.fixture(scope="module")
def page(lab):
    """One JupyterLab page for the whole module, opened on the book's folder."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"chromium not found at {CHROMIUM}: `sudo apt-get install -y chromium` "
                    "or set CHROMIUM=/path/to/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)
        pg.foreign = []  # requests that leave 127.0.0.1
        pg.errors = []
        pg.on("request", lambda r: pg.foreign.append(r.url) if urlparse(r.url).scheme in ("http", "https", "ws", "wss")
              and urlparse(r.url).hostname != "127.0.0.1" else None)
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        pg.goto(f"{lab['base']}/lab/tree/book?token={lab['token']}")
        pg.locator(".jp-DirListing-item[title^='Name: notation.md']").wait_for()
        yield pg
        browser.close()


def no_dialog(page):
    """Fail with its text if JupyterLab shows a dialog (it would block every click)."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError(f"JupyterLab shows a dialog: {' '.join(dialog.first.inner_text().split())!r}")


def open_from_file_browser(page, md: str):
    """Double-click ``md`` in the file browser; return the locator of the document's panel."""
    no_dialog(page)
    folder, name = md.rsplit("/", 1)
    crumbs = page.locator(".jp-FileBrowser .jp-BreadCrumbs")
    if not "".join(crumbs.inner_text().split()).endswith(f"/{folder}/"):
        raise AssertionError(f"the file browser left {folder}/: {crumbs.inner_text()!r}")
    page.locator(f".jp-DirListing-item[title^='Name: {name}']").dblclick()
    tab = page.locator(f"li.lm-TabBar-tab.lm-mod-current:has(.lm-TabBar-tabLabel:text-is('{name}'))")
    tab.wait_for()
    return page.locator(f"#{tab.get_attribute('data-id')}"), tab


def close_tab(page, tab):
    no_dialog(page)
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    dialog = page.locator(".jp-Dialog")
    closed = page.wait_for_function(  # either the tab is gone or JupyterLab asks to save
        "id => !document.querySelector(`li.lm-TabBar-tab[data-id='${id}']`) || !!document.querySelector('.jp-Dialog')",
        arg=tab.get_attribute("data-id"))
    if closed and dialog.count():
        dialog.get_by_role("button", name="Discard").click()
    tab.wait_for(state="detached")


def sessions(lab, path: str) -> list[str]:
    return [s["id"] for s in _api(lab["base"], lab["token"], "/api/sessions") if s["path"] == path]


class Closer:
    """Shuts kernel sessions down in the background (a kernel takes a while to stop)."""

    def __init__(self, lab):
        self.lab, self.pool, self.pending = lab, ThreadPoolExecutor(max_workers=2), []

    def __call__(self, sid: str):
        self.pending.append(self.pool.submit(_api, self.lab["base"], self.lab["token"], f"/api/sessions/{sid}", "DELETE"))

    def drain(self):
        while self.pending:
            self.pending.pop().result()


@pytest.fixture(scope="module")
def closer(lab):
    c = Closer(lab)
    yield c
    c.drain()
    c.pool.shutdown()


@pytest.mark.parametrize("md", toc_chapters())
def test_chapter_opens_as_notebook(lab, page, closer, md):
    cells = [c.cell_type for c in jupytext.read(ROOT / md).cells]
    panel, tab = open_from_file_browser(page, md)
    try:
        kind = panel.get_attribute("class")
        assert "jp-NotebookPanel" in kind, f"{md} opened as {kind}, not as a notebook"
        panel.locator(".jp-Notebook .jp-Cell").first.wait_for()
        if "code" not in cells:
            # a page without code (the preface) names no kernel: JupyterLab asks for one
            dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
            dialog.get_by_role("button", name="No Kernel").click()
            dialog.wait_for(state="detached")
        # the notebook model holds every cell of the .md file (the status bar counts
        # them without waiting for all cells to render); the first one is shown
        page.locator(".jp-StatusBar-TextItem", has_text=f"Cell 1/{len(cells)}").wait_for()
        first = {"code": ".jp-CodeCell", "markdown": ".jp-MarkdownCell", "raw": ".jp-RawCell"}[cells[0]]
        assert "jp-Notebook-cell" in panel.locator(".jp-Notebook .jp-Cell").first.get_attribute("class")
        panel.locator(f".jp-Notebook .jp-Cell{first}").first.wait_for()
        if "code" in cells:  # its kernel was asked for: wait for the session, to stop it below
            deadline = time.monotonic() + WAIT_MS / 1000
            while not sessions(lab, md) and time.monotonic() < deadline:
                time.sleep(0.1)
        no_dialog(page)
    finally:
        close_tab(page, tab)
        for sid in sessions(lab, md):  # the jupytext viewer leaves the kernel running on close
            closer(sid)


@pytest.fixture(scope="module")
def executed(page, closer):
    """``RUN_CHAPTER`` after *Run All Cells* has finished: its panel."""
    # the kernels of the chapters opened before are gone; JavaScript errors of their
    # quick start and stop (a canceled kernel request) are not what is tested here
    closer.drain()
    page.errors.clear()
    panel, _ = open_from_file_browser(page, RUN_CHAPTER)
    panel.locator(".jp-Notebook .jp-CodeCell").first.wait_for()
    # the kernel is up: the toolbar shows its name and the status bar "Idle"
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for()
    no_dialog(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    # done: every code cell has an execution count, and the kernel is idle again
    # (cells are attached to the page lazily: wait until all of them are there)
    n_code = [c.cell_type for c in jupytext.read(ROOT / RUN_CHAPTER).cells].count("code")
    page.wait_for_function(
        """([panel, n]) => {
            const prompts = Array.from(panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt'));
            return prompts.length === n && prompts.every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()));
        }""", arg=[panel.element_handle(), n_code])
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").wait_for()
    return panel


def test_run_all_cells_without_error(executed):
    prompts = executed.locator(".jp-CodeCell .jp-InputArea-prompt").evaluate_all(
        "els => els.map(e => e.textContent.trim())")  # not innerText: off-screen cells are not laid out
    counts = [int(p.strip("[]: ")) for p in prompts]
    assert counts == sorted(counts) and len(set(counts)) == len(counts), f"cells ran out of order: {prompts}"
    errors = executed.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"error or stderr output in {RUN_CHAPTER}:\n" + "\n---\n".join(
        t[:800] for t in errors.evaluate_all("els => els.map(e => e.textContent)"))
    assert executed.locator(".jp-OutputArea-output").count() >= 1


def figure_of(explorer) -> list[str]:
    return explorer.evaluate("el => Array.from(el.querySelectorAll('img')).map(i => i.src)")


def test_live_slider_redraws_figure(page, executed):
    explorer = executed.locator(".lindiff-explorer")
    assert explorer.count() == 1, f"{RUN_CHAPTER} should show one live explorer"
    handles = explorer.locator(".noUi-handle")
    assert handles.count() >= 1, "live explorer without sliders"
    one_figure = "el => el.querySelectorAll('img').length === 1"
    for j in range(handles.count()):
        page.wait_for_function(one_figure, arg=explorer.element_handle())
        before = figure_of(explorer)
        handle = handles.nth(j)
        handle.focus()
        now = float(handle.get_attribute("aria-valuenow"))
        top = float(handle.get_attribute("aria-valuemax"))
        page.keyboard.press("ArrowLeft" if now == top else "ArrowRight")
        # the kernel redraws; wait for a different figure (one image again)
        page.wait_for_function(
            """([el, before]) => {
                const src = Array.from(el.querySelectorAll('img')).map(i => i.src);
                return src.length === 1 && src[0] !== before;
            }""", arg=[explorer.element_handle(), before[0]])
        assert float(handle.get_attribute("aria-valuenow")) != now
    # JavaScript errors since RUN_CHAPTER was opened (see executed)
    assert not page.errors, f"JavaScript errors: {page.errors[:5]}"


def test_offline_and_no_news(page):
    # runs last: by now JupyterLab has long finished starting up
    assert not page.foreign, f"JupyterLab made requests to other hosts: {page.foreign[:5]}"
    assert page.get_by_text("official Jupyter news").count() == 0, "the news prompt is shown"
