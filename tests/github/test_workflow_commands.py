"""Every use of the action in the workflows, run as the runner runs it.

The steps are read from the workflow files, so a change there is tested here.
Each runs the action's own script (action/run.sh, with the step's `command`
and `args`) with bash, the real `reconciler` of this environment on PATH, in a
copy of this repository's manifests, datasets and reconciler.yaml, against the
emulator, with the environment of a GitHub Actions job: GITHUB_ACTIONS=true,
GITHUB_WORKSPACE, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT and the workflow's `env:`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from reconciler.emulator import EmulatorServer
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT
from tests.github.workflows import (
    ACTION_SCRIPTS,
    ROOT,
    ActionUse,
    action_uses,
    fast_emulator_reconciler,
    load_workflow,
)

BASH = shutil.which("bash")
pytestmark = pytest.mark.skipif(BASH is None, reason="the action's scripts are bash")

# What each workflow runs through the action; a new one must get a test here first.
EXERCISED = {
    ("plan", "validate", ()),
    ("plan", "plan", ()),
    ("apply", "validate", ()),
    ("apply", "apply", ("--yes",)),
    ("drift", "plan", ()),
    ("ci", "plan", ()),
    ("ci", "reconcile", ("--yes",)),
}
_CREDENTIAL_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checkout as the workflows see it: the GitOps files of this repository."""
    root = tmp_path / "workspace"
    root.mkdir()
    shutil.copytree(ROOT / "manifests", root / "manifests")
    shutil.copytree(ROOT / "datasets", root / "datasets")
    settings = (ROOT / "reconciler.yaml").read_text(encoding="utf-8")
    # The emulator tunes at once; poll it without the default 5-second pause.
    (root / "reconciler.yaml").write_text(settings + "\npollIntervalSeconds: 0.01\n", encoding="utf-8")
    return root


@dataclass
class StepResult:
    returncode: int
    stderr: str
    outputs: dict[str, str]

    @property
    def exit_code(self) -> int:
        return int(self.outputs["exit-code"])

    def file(self, output: str) -> Path:
        return Path(self.outputs[output])


class Job:
    """One workflow job: its environment, its step summary, and its uses of the action."""

    def __init__(self, workflow: str, workspace: Path, emulator: EmulatorServer) -> None:
        self.workflow = workflow
        self.workspace = workspace
        self.summary = workspace.parent / f"{workflow}-step-summary.md"
        self.summary.touch()
        # The apply workflow runs on a push to the default branch: the ref apply requires (ref_guard.py).
        event = workspace.parent / f"{workflow}-event.json"
        event.write_text(json.dumps({"repository": {"default_branch": "main"}}), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_ENVS}
        env.update({str(k): str(v) for k, v in load_workflow(workflow).get("env", {}).items()})
        env.update(
            # The `reconciler` of this environment, as install.sh puts it on PATH.
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
            GENERATIVELANGUAGE_EMULATOR_HOST=emulator.host_port,
            GITHUB_ACTIONS="true",
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_STEP_SUMMARY=str(self.summary),
            GITHUB_REF="refs/heads/main",
            GITHUB_EVENT_PATH=str(event),
        )
        self.env = env

    def run(self, command: str) -> StepResult:
        (use,) = [u for u in action_uses(self.workflow) if u.command == command]
        return run_action_step(use, self.workspace, self.env)


def run_action_step(use: ActionUse, workspace: Path, env: dict[str, str]) -> StepResult:
    output = workspace.parent / "github_output"
    output.write_text("")
    step_env = dict(
        env,
        GITHUB_OUTPUT=str(output),
        RECONCILER_COMMAND=use.command,
        RECONCILER_ARGS=" ".join(use.args),
        RECONCILER_EMULATOR=use.emulator,
    )
    result = subprocess.run(
        [str(BASH), "--noprofile", "--norc", "-eo", "pipefail", str(ACTION_SCRIPTS / "run.sh")],
        cwd=workspace,
        env=step_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return StepResult(result.returncode, result.stderr, outputs)


def break_manifest(workspace: Path) -> None:
    manifest = workspace / "manifests" / "number-generator.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("epochCount: 5", "epochCount: -1"), encoding="utf-8")


def test_every_use_of_the_action_is_exercised_here() -> None:
    found = {(u.workflow, u.command, u.args) for name in ("plan", "apply", "drift", "ci") for u in action_uses(name)}
    assert found == EXERCISED


def test_pull_request_validate_and_plan(workspace: Path, emulator: EmulatorServer) -> None:
    job = Job("plan", workspace, emulator)
    validated = job.run("validate")
    assert validated.returncode == 0
    assert validated.exit_code == 0, validated.stderr
    assert "::" not in validated.stderr
    assert validated.outputs["plan-markdown"] == validated.outputs["plan-json"] == ""

    planned = job.run("plan")
    assert planned.returncode == 0
    assert planned.exit_code == 2, planned.stderr
    assert planned.outputs["has-changes"] == "true"
    assert planned.file("plan-json").is_file()
    markdown = planned.file("plan-markdown").read_text(encoding="utf-8")
    assert markdown.startswith("### Plan: 2 to create")
    assert "tunedModels/number-generator" in markdown
    assert len(markdown) < GITHUB_COMMENT_LIMIT
    assert job.summary.read_text(encoding="utf-8").endswith(markdown)
    # Dataset contents never reach the comment.
    first_example = (workspace / "datasets" / "number-generator.jsonl").read_text().splitlines()[0]
    assert first_example not in markdown


def test_pull_request_with_a_broken_manifest_is_annotated(workspace: Path, emulator: EmulatorServer) -> None:
    break_manifest(workspace)
    job = Job("plan", workspace, emulator)
    annotation = "::error file=manifests/number-generator.yaml,line=16,title=spec.hyperparameters.epochCount::"
    validated = job.run("validate")
    assert validated.exit_code == 1
    assert annotation in validated.stderr

    planned = job.run("plan")
    assert planned.exit_code == 1
    assert annotation in planned.stderr
    # No plan: the comment then says the plan failed and links the run.
    assert planned.outputs["plan-markdown"] == planned.outputs["plan-json"] == ""
    assert planned.outputs["has-changes"] == "false"


def test_push_to_main_applies_and_summarises(workspace: Path, emulator: EmulatorServer) -> None:
    job = Job("apply", workspace, emulator)
    applied = job.run("apply")
    assert applied.exit_code == 0, applied.stderr
    assert applied.outputs["has-changes"] == "true"
    result = applied.file("plan-markdown").read_text(encoding="utf-8")
    assert result.startswith("### Apply complete: 2 created")
    assert "| `roman-numerals` | create | done |" in result
    assert job.summary.read_text(encoding="utf-8") == result

    again = job.run("apply")
    assert again.exit_code == 0, again.stderr
    assert again.outputs["has-changes"] == "false"
    assert again.outputs["plan-markdown"] == ""
    assert job.summary.read_text(encoding="utf-8") == (
        result + "### No changes: the live account matches the manifests.\n"
    )


def test_push_to_main_validates_before_the_shards(workspace: Path, emulator: EmulatorServer) -> None:
    job = Job("apply", workspace, emulator)
    assert job.run("validate").exit_code == 0
    break_manifest(workspace)
    validated = job.run("validate")
    assert validated.exit_code == 1
    assert "::error file=manifests/number-generator.yaml" in validated.stderr


def test_a_failed_apply_fails_the_job(workspace: Path, make_emulator: Callable[..., EmulatorServer]) -> None:
    emulator = make_emulator(fail_tuning=frozenset({"number-generator"}))
    job = Job("apply", workspace, emulator)
    applied = job.run("apply")
    assert applied.exit_code == 1
    assert "| `number-generator` | create | failed |" in applied.file("plan-markdown").read_text()


def test_drift_check_exit_codes(workspace: Path, emulator: EmulatorServer) -> None:
    assert Job("apply", workspace, emulator).run("apply").exit_code == 0
    job = Job("drift", workspace, emulator)
    in_sync = job.run("plan")
    assert in_sync.exit_code == 0, in_sync.stderr
    assert in_sync.outputs["has-changes"] == "false"
    assert "No changes" in in_sync.file("plan-markdown").read_text(encoding="utf-8")

    # Someone renames the model by hand, outside git.
    requests.patch(
        f"{emulator.url}/v1beta/tunedModels/number-generator",
        params={"updateMask": "displayName"},
        json={"displayName": "Changed by hand"},
        timeout=10,
    ).raise_for_status()
    drifted = job.run("plan")
    assert drifted.exit_code == 2, drifted.stderr
    markdown = drifted.file("plan-markdown").read_text(encoding="utf-8")
    assert markdown.startswith("### Plan: 0 to create, 1 to update")
    assert "Changed by hand" in markdown


def test_drift_check_on_broken_manifests_is_an_error(workspace: Path, emulator: EmulatorServer) -> None:
    break_manifest(workspace)
    # Exit 1, not 0 or 2: the action fails the job before the issue step.
    assert Job("drift", workspace, emulator).run("plan").exit_code == 1


def test_ci_runs_the_action_against_the_embedded_emulator(workspace: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_ENVS}
    fast = fast_emulator_reconciler(Path(sys.executable), workspace.parent / "bin")
    env.update(
        PATH=f"{fast}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_STEP_SUMMARY=str(workspace.parent / "summary.md"),
    )
    planned, reconciled = (run_action_step(use, workspace, env) for use in action_uses("ci"))
    assert planned.exit_code == 2, planned.stderr
    assert planned.file("plan-markdown").read_text().startswith("### Plan: 2 to create")
    assert reconciled.exit_code == 0, reconciled.stderr
    assert reconciled.file("plan-markdown").read_text().startswith("### Apply complete: 2 created")
    assert (workspace / ".reconciler" / ".gitignore").is_file()
