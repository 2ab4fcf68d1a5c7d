"""The three short workflows docs/github.md tells users to copy: short, current and lint-clean."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from reconciler import __version__
from tests.github.test_workflows import check_pins, pinned_to_shas, run_actionlint, run_zizmor
from tests.github.workflows import ROOT

DOCS = ROOT / "docs" / "github.md"
ACTION_PIN = f"OWNER/reconciler@v{__version__}"


def documented_workflows() -> dict[str, str]:
    """The ```yaml blocks of docs/github.md that are whole workflows, by their `name:`."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    return {block.split("\n", 1)[0].removeprefix("name: "): block for block in blocks if block.startswith("name: ")}


def test_the_docs_show_plan_apply_and_drift() -> None:
    assert set(documented_workflows()) == {"plan", "apply", "drift"}


@pytest.mark.parametrize("name", ["plan", "apply", "drift"])
def test_each_is_short_and_uses_the_action_at_this_release(name: str) -> None:
    text = documented_workflows()[name]
    assert len(text.splitlines()) <= 25
    assert f"uses: {ACTION_PIN}" in text
    check_pins(text)
    workflow = yaml.safe_load(text)
    assert "pull_request_target" not in str(workflow[True])


def test_plan_always_reports_and_apply_runs_in_its_environment() -> None:
    workflows = {name: yaml.safe_load(text) for name, text in documented_workflows().items()}
    assert workflows["plan"][True] == ["pull_request", "merge_group"]
    assert workflows["apply"]["jobs"]["apply"]["environment"] == "reconciler-apply"
    assert workflows["apply"]["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}


@pytest.mark.skipif(shutil.which("git") is None, reason="actionlint needs a git repository")
def test_they_pass_actionlint_and_pinned_to_shas_zizmor(tmp_path: Path) -> None:
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / ".github" / "zizmor.yml", tmp_path / ".github")
    for name, text in documented_workflows().items():
        (folder / f"{name}.yml").write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    assert run_actionlint(tmp_path, sorted(folder.glob("*.yml"))) == []
    # zizmor's policy wants third-party actions, ours included, pinned to a SHA.
    for path in folder.glob("*.yml"):
        path.write_text(pinned_to_shas(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert run_zizmor(tmp_path) == []


def test_the_apply_environment_is_limited_to_the_default_branch_as_a_requirement() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    setup = docs[docs.index("Then, in Settings → Branches") : docs.index("Try a repository before")]
    assert "**required**, set its deployment branches to the\ndefault branch only" in setup
    assert "any workflow on any branch can name the environment" in setup  # and why
    assert "optionally with required reviewers" not in setup
