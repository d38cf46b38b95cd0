"""The publishing workflow: what it does, and that actionlint rejects a broken copy.

``make lint-workflows`` (stage 4 of ``make test``) runs actionlint on
``.github/workflows``; these tests pin down the contract of the workflow
(test, then publish ``_build/html`` to GitHub Pages on a push to main) and show
that the lint can fail.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
ACTIONLINT = Path(sys.executable).parent / "actionlint"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps_using(job: dict, action: str) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]


def test_tests_then_publishes_on_push_to_main(workflow):
    on = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert on["push"]["branches"] == ["main"]
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    assert any(s.get("run", "").strip() == "make test" for s in test["steps"])
    upload = steps_using(test, "actions/upload-pages-artifact")
    assert len(upload) == 1 and upload[0]["with"]["path"] == "_build/html"
    assert deploy["needs"] == "test"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert len(steps_using(deploy, "actions/deploy-pages")) == 1
    # pull requests are tested, never deployed
    for cond in (upload[0]["if"], deploy["if"]):
        assert "github.event_name != 'pull_request'" in cond and "refs/heads/main" in cond
    assert workflow["permissions"] == {"contents": "read"}


def actionlint(path: Path) -> subprocess.CompletedProcess:
    if not ACTIONLINT.is_file():
        pytest.fail(f"actionlint not installed at {ACTIONLINT}: run `make setup`")
    return subprocess.run([str(ACTIONLINT), "-no-color", "-oneline", str(path)], capture_output=True, text=True)


def test_actionlint_passes():
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("old, new, message", [
    ("needs: test", "needs: tests", 'needs job "tests" which does not exist'),
    ("          path: _build/html", "          paht: _build/html", 'input "paht" is not defined'),
    ("github.event_name != 'pull_request'", "github.event_nam != 'pull_request'", 'property "event_nam" is not defined'),
    ("runs-on: ubuntu-latest", "runs-on: ubuntu-lastest", 'label "ubuntu-lastest" is unknown'),
])
def test_actionlint_rejects_a_broken_copy(tmp_path, old, new, message):
    text = WORKFLOW.read_text()
    assert old in text
    broken = tmp_path / ".github" / "workflows" / "publish.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace(old, new))
    result = actionlint(broken)
    assert result.returncode == 1 and message in result.stdout, result.stdout + result.stderr
