"""The workflows' own shell steps, run with bash as the runner runs them.

Each `run:` script is read from the workflow file and run with GitHub's
default shell (`bash --noprofile --norc -eo pipefail`), with the step's `env:`
(expressions replaced by the values a test chooses), GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files, and, where the step calls `gh`, a stand-in that
records what it was asked. (The action's own scripts: test_action.py.)
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


def run_step(workflow: str, step: str, tmp_path: Path, env: dict[str, str]) -> StepRun:
    """Run one step's script in `tmp_path` (the workspace) and collect what it wrote."""
    document = load_workflow(workflow)
    script = step_named(document, step)["run"]
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.write_text("")
    summary.write_text("")
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    environment.update({k: str(v) for k, v in document.get("env", {}).items()})
    environment.update(env, GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary))
    result = subprocess.run(
        [str(BASH), "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return StepRun(result.returncode, result.stdout, outputs, summary.read_text())


# --- plan.yml: which mode, and the comment --------------------------------------

MODE = "Decide whether"


VALIDATED_ONLY = "### Planned without credentials: validated only\n"


@pytest.mark.parametrize(
    ("is_fork", "has_secrets", "why"),
    [
        ("true", "false", "comes from a fork"),
        ("true", "true", "comes from a fork"),  # even if a secret were visible: a fork is never planned
        ("false", "false", "Dependabot's pull requests no Actions secrets"),
    ],
)
def test_without_credentials_the_check_passes_marked_validated_only(
    tmp_path: Path,
    is_fork: str,
    has_secrets: str,
    why: str,
) -> None:
    env = {"IS_FORK": is_fork, "HAS_API_KEY": has_secrets, "HAS_WIF": has_secrets, "RUNNER_TEMP": str(tmp_path)}
    run = run_step("plan", MODE, tmp_path, env)
    assert run.returncode == 0  # the required check is not failed for want of secrets
    assert run.outputs == {"plan": "false", "fork": is_fork, "note": str(tmp_path / "validated-only.md")}
    note = (tmp_path / "validated-only.md").read_text()
    assert note.startswith(VALIDATED_ONLY) and why in note
    assert run.summary == note  # the job summary and the comment say the same
    assert run.stdout.startswith("::notice title=Planned without credentials::")


def test_the_validated_only_note_becomes_the_plan_comment_where_the_token_allows(tmp_path: Path) -> None:
    mark = step_named(load_workflow("plan"), "Mark the plan comment")
    assert mark["continue-on-error"] is True  # a read-only token must not fail the check
    assert "steps.mode.outputs.fork != 'true'" in mark["if"]
    assert mark["env"]["MARKDOWN_FILE"] == "${{ steps.mode.outputs.note }}"
    assert mark["env"]["RECONCILER_COMMAND"] == "plan"  # the one plan comment, updated in place
    assert mark["run"] == '"$GITHUB_WORKSPACE/action/comment.sh"'


@pytest.mark.parametrize(
    ("has_wif", "has_key", "has_aws", "auth"),
    [
        ("true", "false", "false", "wif"),
        ("false", "true", "false", "key"),
        ("true", "true", "false", "wif"),
        # AWS_ROLE_ARN (backend: bedrock) when no Google credential is set.
        ("false", "false", "true", "aws"),
        ("false", "true", "true", "key"),
    ],
)
def test_credentials_choose_the_auth(tmp_path: Path, has_wif: str, has_key: str, has_aws: str, auth: str) -> None:
    for workflow, step in (("plan", MODE), ("apply", "Choose"), ("drift", "Choose")):
        env = {"IS_FORK": "false", "HAS_API_KEY": has_key, "HAS_WIF": has_wif, "HAS_AWS": has_aws}
        run = run_step(workflow, step, tmp_path, env)
        assert run.returncode == 0
        assert run.outputs["auth"] == auth
        if workflow == "plan":
            assert run.outputs["plan"] == "true"


def test_a_fork_is_not_planned_with_aws_credentials_either(tmp_path: Path) -> None:
    env = {"IS_FORK": "true", "HAS_API_KEY": "false", "HAS_WIF": "false", "HAS_AWS": "true"}
    env["RUNNER_TEMP"] = str(tmp_path)
    run = run_step("plan", MODE, tmp_path, env)
    assert run.returncode == 0 and run.outputs["plan"] == "false" and "auth" not in run.outputs


def test_each_auth_has_its_credentials_step() -> None:
    """The AWS step assumes the role AWS_ROLE_ARN names, only when the mode chose it."""
    # plan's matrix jobs read the mode the first job chose.
    for workflow, mode in (
        ("plan", "needs.shards.outputs"),
        ("apply", "steps.mode.outputs"),
        ("drift", "steps.mode.outputs"),
    ):
        step = step_named(load_workflow(workflow), "Authenticate to AWS")
        assert step["if"] == f"{mode}.auth == 'aws'"
        assert step["uses"].startswith("aws-actions/configure-aws-credentials@")
        assert step["with"]["role-to-assume"] == "${{ secrets.AWS_ROLE_ARN }}"


def test_apply_and_drift_without_credentials_fail_with_an_annotation(tmp_path: Path) -> None:
    # They run on main and on a schedule, where a missing secret is a mistake to fix.
    for workflow, step in (("apply", "Choose"), ("drift", "Choose")):
        env = {"IS_FORK": "false", "HAS_API_KEY": "false", "HAS_WIF": "false", "HAS_AWS": "false"}
        run = run_step(workflow, step, tmp_path, env)
        assert run.returncode == 1
        assert run.stdout.startswith("::error title=No credentials::")
        assert "GEMINI_API_KEY" in run.stdout and "AWS_ROLE_ARN" in run.stdout


# --- drift.yml: the issue, kept with the gh CLI ------------------------------------

DRIFT_ISSUE = "Open, update or close"
RUN_URL = "https://github.example/o/r/actions/runs/2"


def drift_step(tmp_path: Path, exit_code: str, open_issue: str) -> tuple[StepRun, list[list[str]]]:
    markdown = tmp_path / "plan.md"
    markdown.write_text("### Plan: 0 to create, 1 to update\n")
    gh_bin, calls = fake_gh(tmp_path, {"issue list": open_issue})
    env = {
        "EXIT_CODE": exit_code,
        "PLAN_MARKDOWN": str(markdown),
        "RUN_URL": RUN_URL,
        "RUNNER_TEMP": str(tmp_path),
        "GH_TOKEN": "t",
        "PATH": f"{gh_bin}{os.pathsep}{os.environ['PATH']}",
    }
    run = run_step("drift", DRIFT_ISSUE, tmp_path, env)
    return run, [line.split("\t") for line in calls.read_text().splitlines()] if calls.exists() else []


def test_drift_opens_a_labelled_issue_that_explains_itself_above_the_plan(tmp_path: Path) -> None:
    run, calls = drift_step(tmp_path, "2", open_issue="")
    assert run.returncode == 0, run.stdout
    assert [call[:2] for call in calls] == [["issue", "list"], ["label", "create"], ["issue", "create"]]
    assert calls[0][calls[0].index("--label") + 1] == "reconciler-drift"
    create = calls[2]
    assert create[create.index("--label") + 1] == "reconciler-drift"
    body = Path(create[create.index("--body-file") + 1]).read_text()
    assert body.startswith(f"The [drift check]({RUN_URL}) of ")
    assert body.endswith("\n\n### Plan: 0 to create, 1 to update\n")


def test_drift_updates_the_open_issue_in_place(tmp_path: Path) -> None:
    run, calls = drift_step(tmp_path, "2", open_issue="17")
    assert run.returncode == 0, run.stdout
    assert [call[:3] for call in calls] == [["issue", "list", "--label"], ["issue", "edit", "17"]]


def test_back_in_sync_closes_the_issue_with_a_comment(tmp_path: Path) -> None:
    run, calls = drift_step(tmp_path, "0", open_issue="17")
    assert run.returncode == 0, run.stdout
    assert calls[1][:3] == ["issue", "close", "17"]
    assert RUN_URL in calls[1][calls[1].index("--comment") + 1]


def test_in_sync_with_no_issue_does_nothing(tmp_path: Path) -> None:
    _, calls = drift_step(tmp_path, "0", open_issue="")
    assert [call[:2] for call in calls] == [["issue", "list"]]


def fake_gh(tmp_path: Path, answers: dict[str, str]) -> tuple[Path, Path]:
    """A `gh` that logs its arguments (tab-separated, a line a call) and prints canned answers.

    `answers` maps the first two arguments ("issue list", "api repos/...") to what it prints.
    """
    folder = tmp_path / "gh-bin"
    folder.mkdir(exist_ok=True)
    calls = tmp_path / "gh-calls"
    cases = "".join(f'  "{key}") printf \'%s\\n\' "{value}" ;;\n' for key, value in answers.items())
    script = folder / "gh"
    script.write_text(f"#!/usr/bin/env bash\n(IFS=$'\\t'; echo \"$*\") >> '{calls}'\ncase \"$1 $2\" in\n{cases}esac\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder, calls
