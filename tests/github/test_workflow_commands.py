"""Every `reconciler ...` line of the workflows, run as the workflow runs it.

The command lines are read from the workflow files, so a change there is
tested here. Each runs as a subprocess (`python -m reconciler ...`) in a copy
of this repository's manifests, datasets and reconciler.yaml, against the
emulator, with the environment of a GitHub Actions job: GITHUB_ACTIONS=true,
GITHUB_WORKSPACE, GITHUB_STEP_SUMMARY, and the workflow's own `env:`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from reconciler.emulator import EmulatorServer
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT
from tests.github.workflows import ROOT, CommandLine, load_workflow, reconciler_commands

# The subcommands each workflow runs; a new one must get a test here first.
EXERCISED = {
    ("plan", "validate"),
    ("plan", "plan"),
    ("apply", "apply"),
    ("drift", "plan"),
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
    (root / "reconciler.yaml").write_text(settings + "\npollIntervalSeconds: 0.01\n",
                                          encoding="utf-8")
    return root


def command(workflow: str, subcommand: str) -> CommandLine:
    (found,) = [c for c in reconciler_commands(workflow) if c.args[0] == subcommand]
    return found


class Job:
    """One workflow job: its environment, its step summary, and its commands."""

    def __init__(self, workflow: str, workspace: Path, emulator: EmulatorServer) -> None:
        self.workflow = workflow
        self.workspace = workspace
        self.summary = workspace.parent / f"{workflow}-step-summary.md"
        self.summary.touch()
        env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_ENVS}
        env.update({str(k): str(v) for k, v in load_workflow(workflow).get("env", {}).items()})
        env.update(
            GENERATIVELANGUAGE_EMULATOR_HOST=emulator.host_port,
            GITHUB_ACTIONS="true",
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_STEP_SUMMARY=str(self.summary),
        )
        self.env = env
        # What the run scripts do before the command: mkdir -p "$(dirname ...)".
        (workspace / ".reconciler" / "ci").mkdir(parents=True, exist_ok=True)

    def run(self, subcommand: str) -> subprocess.CompletedProcess[str]:
        line = command(self.workflow, subcommand)
        args = [self._expand(arg) for arg in line.args]
        return subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=self.workspace, env=self.env, capture_output=True, text=True, timeout=120,
        )

    def path(self, variable: str) -> Path:
        return self.workspace / self.env[variable]

    def _expand(self, arg: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: self.env[m.group(1)], arg)


def break_manifest(workspace: Path) -> None:
    manifest = workspace / "manifests" / "number-generator.yaml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text.replace("epochCount: 5", "epochCount: -1"), encoding="utf-8")


def test_every_command_of_the_workflows_is_exercised_here() -> None:
    found = {(c.workflow, c.args[0]) for name in ("plan", "apply", "drift", "ci")
             for c in reconciler_commands(name)}
    assert found == EXERCISED


def test_pull_request_validate_and_plan(workspace: Path, emulator: EmulatorServer) -> None:
    job = Job("plan", workspace, emulator)
    validated = job.run("validate")
    assert validated.returncode == 0, validated.stderr
    assert "::" not in validated.stderr

    planned = job.run("plan")
    assert planned.returncode == 0, planned.stderr
    assert job.path("PLAN_FILE").is_file()
    markdown = job.path("PLAN_MARKDOWN").read_text(encoding="utf-8")
    assert markdown.startswith("### Plan: 2 to create")
    assert "tunedModels/number-generator" in markdown
    assert len(markdown) < GITHUB_COMMENT_LIMIT
    # Dataset contents never reach the comment.
    first_example = (workspace / "datasets" / "number-generator.jsonl").read_text().splitlines()[0]
    assert first_example not in markdown


def test_pull_request_with_a_broken_manifest_is_annotated(
    workspace: Path, emulator: EmulatorServer
) -> None:
    break_manifest(workspace)
    job = Job("plan", workspace, emulator)
    annotation = (
        "::error file=manifests/number-generator.yaml,line=16,"
        "title=spec.hyperparameters.epochCount::"
    )
    validated = job.run("validate")
    assert validated.returncode == 1
    assert annotation in validated.stderr

    planned = job.run("plan")
    assert planned.returncode == 1
    assert annotation in planned.stderr
    # No Markdown: the comment step then says the manifests are invalid.
    assert not job.path("PLAN_MARKDOWN").exists()
    assert not job.path("PLAN_FILE").exists()


def test_push_to_main_applies_and_summarises(workspace: Path, emulator: EmulatorServer) -> None:
    job = Job("apply", workspace, emulator)
    applied = job.run("apply")
    assert applied.returncode == 0, applied.stderr
    summary = job.summary.read_text(encoding="utf-8")
    assert summary.startswith("### Apply complete: 2 created")
    assert "| `roman-numerals` | create | done |" in summary

    again = job.run("apply")
    assert again.returncode == 0, again.stderr
    assert "No changes" in again.stderr
    # Nothing appended: the workflow's script then writes its own "No changes".
    assert job.summary.read_text(encoding="utf-8") == summary


def test_a_failed_apply_fails_the_job(
    workspace: Path, make_emulator: Callable[..., EmulatorServer]
) -> None:
    emulator = make_emulator(fail_tuning=frozenset({"number-generator"}))
    job = Job("apply", workspace, emulator)
    applied = job.run("apply")
    assert applied.returncode == 1
    assert "| `number-generator` | create | failed |" in job.summary.read_text(encoding="utf-8")


def test_drift_check_exit_codes(workspace: Path, emulator: EmulatorServer) -> None:
    assert Job("apply", workspace, emulator).run("apply").returncode == 0
    job = Job("drift", workspace, emulator)
    in_sync = job.run("plan")
    assert in_sync.returncode == 0, in_sync.stderr
    assert "No changes" in job.path("DRIFT_MARKDOWN").read_text(encoding="utf-8")

    # Someone renames the model by hand, outside git.
    requests.patch(
        f"{emulator.url}/v1beta/tunedModels/number-generator",
        params={"updateMask": "displayName"}, json={"displayName": "Changed by hand"}, timeout=10,
    ).raise_for_status()
    drifted = job.run("plan")
    assert drifted.returncode == 2, drifted.stderr
    markdown = job.path("DRIFT_MARKDOWN").read_text(encoding="utf-8")
    assert markdown.startswith("### Plan: 0 to create, 1 to update")
    assert "Changed by hand" in markdown


def test_drift_check_on_broken_manifests_is_an_error(
    workspace: Path, emulator: EmulatorServer
) -> None:
    break_manifest(workspace)
    # Exit 1, not 0 or 2: the workflow fails instead of closing or opening the issue.
    assert Job("drift", workspace, emulator).run("plan").returncode == 1
