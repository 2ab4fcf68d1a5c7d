"""The three short workflows docs/github.md tells users to copy: short, current and lint-clean."""

from __future__ import annotations

import json
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


def bedrock_workflows() -> dict[str, str]:
    """The whole workflows of docs/github.md's Amazon Bedrock section, by their `name:`."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    prefix = "# Amazon Bedrock: "
    return {block.split("\nname: ", 1)[1].split("\n", 1)[0]: block for block in blocks if block.startswith(prefix)}


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


def test_the_apply_environment_is_limited_to_the_default_branch_as_a_requirement() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    setup = docs[docs.index("Then, in Settings → Branches") : docs.index("Try a repository before")]
    assert "**required**, set its deployment branches to the\ndefault branch only" in setup
    assert "any workflow on any branch can name the environment" in setup  # and why
    assert "optionally with required reviewers" not in setup


def test_the_bedrock_workflows_assume_a_role_through_oidc_and_apply_in_the_environment() -> None:
    workflows = {name: yaml.safe_load(text) for name, text in bedrock_workflows().items()}
    assert set(workflows) == {"plan", "apply"}
    for name, workflow in workflows.items():
        (job,) = workflow["jobs"].values()
        assert job["permissions"]["id-token"] == "write"  # OIDC, on the job only
        assert workflow["permissions"] == {"contents": "read"}
        (aws,) = [
            s for s in job["steps"] if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
        ]
        assert aws["with"]["role-to-assume"] == "${{ secrets.AWS_ROLE_ARN }}"
        assert "secrets.GEMINI_API_KEY" not in bedrock_workflows()[name]  # no long-lived key
        assert f"uses: {ACTION_PIN}" in bedrock_workflows()[name]
        check_pins(bedrock_workflows()[name])
    apply = workflows["apply"]
    assert apply["jobs"]["apply"]["environment"] == "reconciler-apply"
    assert apply["concurrency"] == {"group": "reconciler-apply", "cancel-in-progress": False}
    # The writer's keys outlive the job's wait on tuning runs, and its role allows that session.
    (aws,) = [s for s in apply["jobs"]["apply"]["steps"] if "role-duration-seconds" in s.get("with", {})]
    seconds = aws["with"]["role-duration-seconds"]
    assert seconds >= apply["jobs"]["apply"]["timeout-minutes"] * 60
    assert f"--max-session-duration {seconds}" in DOCS.read_text(encoding="utf-8")


def test_the_bedrock_writer_role_trusts_only_the_apply_environment() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    section = docs[docs.index("### Amazon Bedrock") : docs.index("### An API key")]
    trust = json.loads(section.split("cat > apply-trust.json <<'JSON'\n", 1)[1].split("\nJSON", 1)[0])
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:OWNER/REPO:environment:reconciler-apply",
        }
    }
    assert "deployment-branch rule" in section and "**required**" in section  # and why


def matrix_workflows() -> dict[str, str]:
    """The whole workflows of docs/github.md's "Shards" section, by their `name:`."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), flags=re.S)
    prefix = "# Shards as a matrix: "
    return {block.split("\nname: ", 1)[1].split("\n", 1)[0]: block for block in blocks if block.startswith(prefix)}


def test_the_matrix_workflows_list_the_shards_then_run_a_job_a_shard() -> None:
    workflows = {name: yaml.safe_load(text) for name, text in matrix_workflows().items()}
    assert set(workflows) == {"plan", "apply"}
    for name, workflow in workflows.items():
        shards = workflow["jobs"]["shards"]
        assert shards["outputs"] == {"matrix": "${{ steps.shards.outputs.matrix }}"}
        (listing,) = [s for s in shards["steps"] if s.get("id") == "shards"]
        assert 'matrix="$(reconciler shards --output json)"' in listing["run"]  # a failure fails the step
        (job,) = [j for j in workflow["jobs"].values() if "strategy" in j]
        assert job["needs"] == "shards"
        assert job["strategy"] == {"fail-fast": False, "matrix": "${{ fromJSON(needs.shards.outputs.matrix) }}"}
        (use,) = [s for s in job["steps"] if s.get("uses") == ACTION_PIN]
        assert use["with"]["shard"] == "${{ matrix.shard }}"
        assert workflow["permissions"] == {"contents": "read"}
        check_pins(matrix_workflows()[name])
    assert workflows["plan"][True] == ["pull_request", "merge_group"]
    assert workflows["plan"]["jobs"]["plan"]["if"] == "always()"  # the check to require, always reported
    apply = workflows["apply"]["jobs"]["apply"]
    assert "concurrency" not in workflows["apply"]
    assert apply["concurrency"] == {"group": "reconciler-apply-${{ matrix.shard }}", "cancel-in-progress": False}
    assert apply["environment"] == "reconciler-apply"
    assert "environment" not in workflows["apply"]["jobs"]["shards"]


@pytest.mark.skipif(shutil.which("git") is None, reason="actionlint needs a git repository")
@pytest.mark.parametrize("kind", ["short", "bedrock", "matrix"])
def test_they_pass_actionlint_and_pinned_to_shas_zizmor(tmp_path: Path, kind: str) -> None:
    workflows = {"short": documented_workflows, "bedrock": bedrock_workflows, "matrix": matrix_workflows}[kind]
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / ".github" / "zizmor.yml", tmp_path / ".github")
    for name, text in workflows().items():
        (folder / f"{name}.yml").write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    assert run_actionlint(tmp_path, sorted(folder.glob("*.yml"))) == []
    # zizmor's policy wants third-party actions, ours included, pinned to a SHA.
    for path in folder.glob("*.yml"):
        path.write_text(pinned_to_shas(path.read_text(encoding="utf-8")), encoding="utf-8")
    assert run_zizmor(tmp_path) == []
