"""The workflows' own shell steps, run with bash as the runner runs them.

Each `run:` script is read from the workflow file and run with GitHub's
default shell (`bash --noprofile --norc -eo pipefail`), with the step's `env:`
(expressions replaced by the values a test chooses), GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files, and, where the step calls the CLI, a stand-in
`reconciler` that exits with a chosen code.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.github.workflows import load_workflow, step_named

BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="the workflows' scripts are bash")


@dataclass
class StepRun:
    returncode: int
    stdout: str
    outputs: dict[str, str]
    summary: str


def run_step(workflow: str, step: str, tmp_path: Path, env: dict[str, str],
             reconciler_exit: int | None = None, reconciler_writes: str = "") -> StepRun:
    """Run one step's script in `tmp_path` (the workspace) and collect what it wrote."""
    document = load_workflow(workflow)
    script = step_named(document, step)["run"]
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.write_text("")
    summary.write_text("")
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    environment.update({k: str(v) for k, v in document.get("env", {}).items()})
    environment.update(env, GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
    if reconciler_exit is not None:
        environment["PATH"] = f"{fake_reconciler(tmp_path, reconciler_exit, reconciler_writes)}" \
                              f"{os.pathsep}{environment['PATH']}"
    result = subprocess.run(
        [str(BASH), "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=30,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return StepRun(result.returncode, result.stdout, outputs, summary.read_text())


def fake_reconciler(tmp_path: Path, exit_code: int, writes: str) -> Path:
    """A `reconciler` that writes `writes` to the file named by $<writes> and exits."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    body = f'printf "### Plan: fake\\n" > "${writes}"\n' if writes else ""
    script = folder / "reconciler"
    script.write_text(f"#!/bin/sh\n{body}exit {exit_code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


# --- plan.yml: which mode, and the comment --------------------------------------

MODE = "Decide whether"


def test_a_fork_is_not_planned_and_the_summary_says_why(tmp_path: Path) -> None:
    run = run_step("plan", MODE, tmp_path,
                   {"IS_FORK": "true", "HAS_API_KEY": "false", "HAS_WIF": "false"})
    assert run.returncode == 0
    assert run.outputs == {"plan": "false"}
    assert run.summary.startswith("### Plan skipped: this pull request comes from a fork")


@pytest.mark.parametrize(
    ("has_wif", "has_key", "auth"),
    [("true", "false", "wif"), ("false", "true", "key"), ("true", "true", "wif")],
)
def test_credentials_choose_the_auth(tmp_path: Path, has_wif: str, has_key: str,
                                     auth: str) -> None:
    for workflow, step in (("plan", MODE), ("apply", "Choose"), ("drift", "Choose")):
        env = {"IS_FORK": "false", "HAS_API_KEY": has_key, "HAS_WIF": has_wif}
        run = run_step(workflow, step, tmp_path, env)
        assert run.returncode == 0
        assert run.outputs["auth"] == auth


def test_no_credentials_fail_with_an_annotation(tmp_path: Path) -> None:
    for workflow, step in (("plan", MODE), ("apply", "Choose"), ("drift", "Choose")):
        env = {"IS_FORK": "false", "HAS_API_KEY": "false", "HAS_WIF": "false"}
        run = run_step(workflow, step, tmp_path, env)
        assert run.returncode == 1
        assert run.stdout.startswith("::error title=No credentials::")
        assert "GEMINI_API_KEY" in run.stdout


COMMENT = "Write the comment"
PR_ENV = {"VALIDATE_OUTCOME": "success", "HEAD_SHA": "0123456789abcdef",
          "RUN_URL": "https://github.example/o/r/actions/runs/1"}


def write_plan_markdown(tmp_path: Path, text: str) -> None:
    path = tmp_path / ".reconciler" / "ci" / "plan.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_comment_is_the_plan_with_a_footer(tmp_path: Path) -> None:
    write_plan_markdown(tmp_path, "### Plan: 1 to create\n")
    run = run_step("plan", COMMENT, tmp_path, PR_ENV)
    assert run.returncode == 0
    comment = (tmp_path / ".reconciler" / "ci" / "comment.md").read_text()
    assert comment.startswith("### Plan: 1 to create\n\n<sub>reconciler plan of 0123456 (")
    assert run.summary == comment


def test_a_plan_at_the_limit_gets_no_footer(tmp_path: Path) -> None:
    write_plan_markdown(tmp_path, "x" * 65_300)
    run_step("plan", COMMENT, tmp_path, PR_ENV)
    assert (tmp_path / ".reconciler" / "ci" / "comment.md").read_text() == "x" * 65_300


@pytest.mark.parametrize(
    ("validate", "heading"),
    [("failure", "### Invalid manifests: nothing was planned"), ("success", "### The plan failed")],
)
def test_without_a_plan_the_comment_says_why(tmp_path: Path, validate: str, heading: str) -> None:
    run = run_step("plan", COMMENT, tmp_path, {**PR_ENV, "VALIDATE_OUTCOME": validate})
    comment = (tmp_path / ".reconciler" / "ci" / "comment.md").read_text()
    assert comment.startswith(heading)
    assert PR_ENV["RUN_URL"] in comment
    assert run.summary == comment


# --- apply.yml: the job summary and the exit code --------------------------------


@pytest.mark.parametrize(
    ("code", "summary"),
    [(0, "### No changes: the live account matches main.\n"),
     (1, "### Apply failed: the errors are in the log of this step.\n")],
)
def test_apply_without_a_summary_writes_one(tmp_path: Path, code: int, summary: str) -> None:
    run = run_step("apply", "Apply", tmp_path, {}, reconciler_exit=code)
    assert run.returncode == code
    assert run.summary == summary


# --- drift.yml: the plan's exit code, and the issue body -------------------------

DRIFT = "Plan (exit"


@pytest.mark.parametrize(("code", "step_fails"), [(0, False), (2, False), (1, True), (130, True)])
def test_drift_plan_passes_on_exit_code_to_later_steps(tmp_path: Path, code: int,
                                                       step_fails: bool) -> None:
    run = run_step("drift", DRIFT, tmp_path, {}, reconciler_exit=code,
                   reconciler_writes="DRIFT_MARKDOWN")
    assert run.outputs["exitcode"] == str(code)
    assert (run.returncode != 0) is step_fails
    if not step_fails:
        assert run.summary == "### Plan: fake\n"


def test_the_drift_issue_explains_itself_above_the_plan(tmp_path: Path) -> None:
    markdown = tmp_path / ".reconciler" / "ci" / "drift.md"
    markdown.parent.mkdir(parents=True)
    markdown.write_text("### Plan: 0 to create, 1 to update\n")
    run = run_step("drift", "Write the issue", tmp_path,
                   {"RUN_URL": "https://github.example/o/r/actions/runs/2"})
    assert run.returncode == 0
    issue = (tmp_path / ".reconciler" / "ci" / "issue.md").read_text()
    assert issue.startswith("The [drift check](https://github.example/o/r/actions/runs/2) of ")
    assert issue.endswith("\n\n### Plan: 0 to create, 1 to update\n")
