"""The matrix workflows, run locally: the shards listed, each planned and applied in a job of its own.

plan.yml and apply.yml are read and run as GitHub would run them, job by job
(tests/github/workflows.py): the first job's scripts list the shards
(`reconciler shards --output json`, the real command), the matrix job runs the
action's own scripts (run.sh, comment.sh) once a shard, its jobs at the same
time, each in its own checkout, and the last job decides the `plan` check.
The reconciler is the real one of this environment, against the emulator's
Vertex AI, where a shard is a project and location; GitHub's API is a stand-in
that keeps the comments (workflows.FakeGitHub).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import BUCKET, manifest, write_manifest
from tests.github.workflows import (
    ACTION_SCRIPTS,
    ActionRun,
    FakeGitHub,
    ScriptRun,
    load_workflow,
    run_action,
    run_script,
    step_env,
    substitute,
)

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("jq") is None, reason="bash and jq")

PR = 5
REPOSITORY = "o/r"
RUN_URL = "https://github.example/o/r/actions/runs/7"
_CREDENTIAL_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS")
# Two quota boundaries: two projects of Vertex AI, each in its own location.
TARGETS = {"alpha": ("proj-alpha", "us-central1"), "beta": ("proj-beta", "europe-west4")}
MODELS = {"alpha": ("number-generator",), "beta": ("roman-numerals",)}


def target_of(shard: str) -> dict[str, Any]:
    """`spec.target` of a manifest in `shard`: none for reconciler.yaml's default target."""
    project, location = TARGETS[shard]
    return {} if shard == "alpha" else {"target": {"project": project, "location": location}}


def write_sharded_repo(root: Path) -> Path:
    """A `backend: vertex` repository with two targets and a model in each."""
    root.mkdir(parents=True)
    (root / "manifests").mkdir()
    (root / "datasets").mkdir()
    (project, location), *others = TARGETS.values()
    settings = {
        "backend": "vertex",
        "vertex": {"project": project, "location": location, "datasets": f"gs://{BUCKET}/reconciler/datasets"},
        "targets": [{"project": p, "location": loc} for p, loc in others],
        "manifests": "manifests",
        "prune": True,
        "pollIntervalSeconds": 0.01,
    }
    (root / "reconciler.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    for shard, models in MODELS.items():
        for model_id in models:
            write_manifest(root, manifest(model_id, **target_of(shard)))
    return root


@dataclass
class JobRun:
    """One job of a workflow run: its result, as `needs.<job>.result` gives it, and what its steps gave."""

    result: str
    outputs: dict[str, str] = field(default_factory=dict)
    steps: dict[str, ScriptRun | ActionRun] = field(default_factory=dict)


@dataclass
class WorkflowRun:
    shards: JobRun
    matrix: dict[str, JobRun]  # by shard key
    check: JobRun | None = None

    @property
    def matrix_result(self) -> str:
        """`needs.<matrix job>.result`: failure if any job failed, skipped if none ran."""
        if not self.matrix:
            return "skipped"
        return "failure" if any(job.result != "success" for job in self.matrix.values()) else "success"


def step(job: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    (found,) = [s for s in job["steps"] if str(s.get("name", "")).startswith(prefix)]
    return dict(found)


def job_outputs(job: Mapping[str, Any], context: Mapping[str, str]) -> dict[str, str]:
    """A job's `outputs:`; a step output never set is empty, as on GitHub."""
    values = {}
    for name, expression in job.get("outputs", {}).items():
        try:
            values[name] = substitute(str(expression), context)
        except KeyError:
            values[name] = ""
    return values


class Repository:
    """A GitHub repository with one pull request, whose workflows run here."""

    def __init__(self, tmp_path: Path, emulator: EmulatorServer) -> None:
        self.tmp = tmp_path
        self.checkout = write_sharded_repo(tmp_path / "checkout")
        self.github = FakeGitHub(tmp_path / "github")
        self.runs = 0
        env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_ENVS}
        env.update(
            # `gh` is the stand-in; `reconciler` the real one, as install.sh puts it on PATH.
            PATH=os.pathsep.join([str(self.github.bin), str(Path(sys.executable).parent), env["PATH"]]),
            AIPLATFORM_EMULATOR_HOST=emulator.host_port,
            STORAGE_EMULATOR_HOST=emulator.url,
            GITHUB_ACTIONS="true",
            GITHUB_REPOSITORY=REPOSITORY,
            GH_TOKEN="t",
        )
        self.base_env = env

    def edit(self, shard: str, epochs: int) -> None:
        """A commit: the models of one shard change their epochs."""
        for model_id in MODELS[shard]:
            write_manifest(self.checkout, manifest(model_id, epochs=epochs, **target_of(shard)))

    # --- one run of a workflow ---------------------------------------------------

    def job_env(self, workflow: str, event: dict[str, Any], sha: str, ref: str) -> tuple[Path, dict[str, str]]:
        """A fresh checkout for one job, and the job's environment."""
        self.runs += 1
        workspace = self.tmp / f"job-{self.runs}" / "workspace"
        shutil.copytree(self.checkout, workspace)
        # plan.yml's own steps run this repository's scripts from the checkout.
        shutil.copytree(ACTION_SCRIPTS, workspace / "action")
        event_file = workspace.parent / "event.json"
        event_file.write_text(json.dumps(event), encoding="utf-8")
        summary = workspace.parent / "summary.md"
        summary.touch()
        env = dict(self.base_env)
        env.update({str(k): str(v) for k, v in load_workflow(workflow).get("env", {}).items()})
        env.update(
            GITHUB_WORKSPACE=str(workspace),
            GITHUB_EVENT_PATH=str(event_file),
            GITHUB_STEP_SUMMARY=str(summary),
            GITHUB_SHA=sha,
            GITHUB_REF=ref,
            RUNNER_TEMP=str(workspace.parent),
        )
        return workspace, env

    def github_values(self, event_name: str, sha: str) -> dict[str, str]:
        """The `github.*` values the action's expressions name."""
        return {
            "token": "t",
            "server_url": "https://github.example",
            "repository": REPOSITORY,
            "run_id": "7",
            "event_name": event_name,
            "sha": sha,
        }

    def plan(self, sha: str, *, credentials: bool = True, fork: bool = False) -> WorkflowRun:
        """plan.yml on a push to the pull request (`pull_request`)."""
        workflow = load_workflow("plan")
        jobs = workflow["jobs"]
        event = {"pull_request": {"number": PR}, "repository": {"default_branch": "main"}}
        ref = f"refs/pull/{PR}/merge"
        github = self.github_values("pull_request", sha)
        context = {
            "github.token": "t",
            "github.server_url": "https://github.example",
            "github.repository": REPOSITORY,
            "github.run_id": "7",
            "github.event_name == 'pull_request'": "true",
        }

        # Job 1: validate, decide, list the shards.
        first = jobs["shards"]
        workspace, env = self.job_env("plan", event, sha, ref)
        shards = JobRun("success")
        validate = step(first, "Validate")
        assert validate["uses"] == "./"
        shards.steps["validate"] = run_action(validate["with"], workspace, env, github)
        secret = "true" if credentials else "false"
        mode_step = step(first, "Decide whether")
        mode_env = {
            "IS_FORK": "true" if fork else "false",
            "HAS_API_KEY": "false",
            "HAS_WIF": secret,
            "HAS_AWS": "false",
        }
        assert set(mode_env) == set(mode_step["env"])
        mode = run_script(mode_step["run"], workspace, {**env, **mode_env})
        assert mode.returncode == 0, mode.stderr
        shards.steps["mode"] = mode
        context.update({f"steps.mode.outputs.{k}": v for k, v in mode.outputs.items()})

        mark = step(first, "Mark the plan comment")
        assert mark["if"] == (
            "steps.mode.outputs.plan == 'false' && steps.mode.outputs.fork != 'true' "
            "&& github.event_name == 'pull_request'"
        )
        assert mark["continue-on-error"] is True  # so its result is left out of the job's below
        if mode.outputs["plan"] == "false" and mode.outputs["fork"] != "true":
            marked = run_script(mark["run"], workspace, {**env, **step_env(mark, context)})
            assert marked.returncode == 0, marked.stderr

        listing = step(first, "List the shards")
        assert listing["if"] == "${{ !cancelled() && steps.mode.outputs.plan == 'true' }}"
        if mode.outputs["plan"] == "true":
            listed = run_script(listing["run"], workspace, env)
            shards.steps["list"] = listed
            context.update({f"steps.{listing['id']}.outputs.{k}": v for k, v in listed.outputs.items()})
            report = step(first, "Report that the shards could not be listed")
            if listed.returncode != 0:
                shards.steps["report"] = run_script(report["run"], workspace, {**env, **step_env(report, context)})
        if any((s.failed if isinstance(s, ActionRun) else s.returncode != 0) for s in shards.steps.values()):
            shards.result = "failure"
        shards.outputs = job_outputs(first, context)
        run = WorkflowRun(shards, {})

        # Job 2: the matrix, a job a shard, all at once.
        second = jobs["shard"]
        assert second["needs"] == "shards"
        assert second["if"] == "${{ !cancelled() && needs.shards.outputs.matrix != '' }}"
        assert second["strategy"] == {"fail-fast": False, "matrix": "${{ fromJSON(needs.shards.outputs.matrix) }}"}
        if shards.outputs["matrix"]:
            needs = {f"needs.shards.outputs.{k}": v for k, v in shards.outputs.items()}
            plan_step = step(second, "Plan the shard")
            secrets = {
                "needs.shards.outputs.auth == 'key' && secrets.GEMINI_API_KEY || ''": "",
                "secrets.RECONCILER_OWNERSHIP_KEY": "",
            }

            def shard_job(entry: dict[str, str]) -> JobRun:
                job_workspace, job_env = self.job_env("plan", event, sha, ref)
                entry_context = {**context, **needs, **secrets, "matrix.shard": entry["shard"]}
                inputs = {k: substitute(str(v), entry_context) for k, v in plan_step["with"].items()}
                env_of_step = step_env(plan_step, entry_context)
                planned = run_action(inputs, job_workspace, {**job_env, **env_of_step}, github)
                return JobRun("failure" if planned.failed else "success", steps={"plan": planned})

            include = json.loads(shards.outputs["matrix"])["include"]
            with ThreadPoolExecutor(max_workers=len(include)) as pool:
                jobs_run = list(pool.map(shard_job, include))
            run.matrix = {entry["shard"]: job for entry, job in zip(include, jobs_run, strict=True)}

        # Job 3: the check to require.
        last = jobs["plan"]
        assert (last["needs"], last["if"]) == (["shards", "shard"], "always()")
        check_step = step(last, "Every shard planned")
        check_context = {"needs.shards.result": shards.result, "needs.shard.result": run.matrix_result}
        workspace, env = self.job_env("plan", event, sha, ref)
        checked = run_script(check_step["run"], workspace, {**env, **step_env(check_step, check_context)})
        run.check = JobRun("success" if checked.returncode == 0 else "failure", steps={"check": checked})
        return run

    def apply(self, sha: str) -> WorkflowRun:
        """apply.yml on the push of the merge commit `sha` to main."""
        workflow = load_workflow("apply")
        jobs = workflow["jobs"]
        event = {"repository": {"default_branch": "main"}}
        github = self.github_values("push", sha)
        context = {"github.token": "t", "github.server_url": "https://github.example"}
        context.update({"github.repository": REPOSITORY, "github.run_id": "7"})

        first = jobs["shards"]
        workspace, env = self.job_env("apply", event, sha, "refs/heads/main")
        shards = JobRun("success")
        validated = run_action(step(first, "Validate")["with"], workspace, env, github)
        listing = step(first, "List the shards")
        listed = run_script(listing["run"], workspace, env)
        shards.steps.update(validate=validated, list=listed)
        if listed.returncode != 0 or validated.failed:
            shards.result = "failure"
        context.update({f"steps.{listing['id']}.outputs.{k}": v for k, v in listed.outputs.items()})
        shards.outputs = job_outputs(first, context)
        run = WorkflowRun(shards, {})
        if shards.result != "success":
            return run

        second = jobs["apply"]
        assert second["needs"] == "shards" and "if" not in second
        assert second["environment"] == "reconciler-apply"
        assert second["strategy"] == {"fail-fast": False, "matrix": "${{ fromJSON(needs.shards.outputs.matrix) }}"}
        apply_step = step(second, "Apply the shard")
        secrets = {
            "steps.mode.outputs.auth == 'key' && secrets.GEMINI_API_KEY || ''": "",
            "secrets.RECONCILER_OWNERSHIP_KEY": "",
        }
        include = json.loads(shards.outputs["matrix"])["include"]
        groups = {substitute(second["concurrency"]["group"], {"matrix.shard": e["shard"]}) for e in include}
        assert len(groups) == len(include)  # a group a shard: they apply at once, each alone

        def shard_job(entry: dict[str, str]) -> JobRun:
            job_workspace, job_env = self.job_env("apply", event, sha, "refs/heads/main")
            entry_context = {**context, **secrets, "matrix.shard": entry["shard"]}
            inputs = {k: substitute(str(v), entry_context) for k, v in apply_step["with"].items()}
            applied = run_action(inputs, job_workspace, {**job_env, **step_env(apply_step, entry_context)}, github)
            return JobRun("failure" if applied.failed else "success", steps={"apply": applied})

        with ThreadPoolExecutor(max_workers=len(include)) as pool:
            jobs_run = list(pool.map(shard_job, include))
        run.matrix = {entry["shard"]: job for entry, job in zip(include, jobs_run, strict=True)}
        return run


def plan_comments(github: FakeGitHub) -> dict[str, dict[str, Any]]:
    """The pull request's comments by their first line (the hidden marker)."""
    return {c["body"].split("\n", 1)[0]: c for c in github.comments(PR) if c["user"]["type"] == "Bot"}


@pytest.fixture
def emulator(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The emulator, with the bucket of vertex.datasets."""
    return make_emulator(seed=0, buckets=(BUCKET,))


@pytest.fixture
def repository(tmp_path: Path, emulator: EmulatorServer) -> Repository:
    return Repository(tmp_path, emulator)


def test_each_shard_is_planned_in_a_job_of_its_own_and_its_comment_kept_in_place(repository: Repository) -> None:
    # A person's comment that quotes the marker is never taken for the bot's.
    human = repository.github.add_comment(PR, "<!-- reconciler-plan shard=x -->\nmine")
    run = repository.plan("a" * 40)
    assert run.shards.result == "success", run.shards.steps
    include = json.loads(run.shards.outputs["matrix"])["include"]
    assert len(include) == 2
    keys = [entry["shard"] for entry in include]
    assert set(run.matrix) == set(keys)
    for job in run.matrix.values():
        planned = job.steps["plan"]
        assert isinstance(planned, ActionRun)
        assert planned.outputs["exit-code"] == "2", planned.run.stderr  # changes: the models to create
        assert job.result == "success"
    assert run.check is not None and run.check.result == "success"

    comments = plan_comments(repository.github)
    assert set(comments) == {f"<!-- reconciler-plan shard={key} -->" for key in keys}
    for entry in include:
        body = comments[f"<!-- reconciler-plan shard={entry['shard']} -->"]["body"]
        assert body.split("\n")[1] == f"**Shard:** `{entry['shard']}` ({entry['label']})"
        assert "### Plan: 1 to create" in body and "reconciler plan of aaaaaaa" in body
    # Each shard's plan holds its own models and no other's.
    for shard, (project, location) in TARGETS.items():
        body = comments[f"<!-- reconciler-plan shard={project}.{location} -->"]["body"]
        for other, models in MODELS.items():
            for model_id in models:
                assert (f"+ vertex/{model_id}" in body) == (other == shard), (shard, model_id)

    # The next push: the same two comments, edited.
    before = comments
    repository.edit("alpha", epochs=3)
    second = repository.plan("b" * 40)
    assert second.check is not None and second.check.result == "success"
    after = plan_comments(repository.github)
    assert set(after) == set(before)
    assert {c["id"] for c in after.values()} == {c["id"] for c in before.values()}  # the same comments
    assert len(repository.github.comments(PR)) == 3  # two of the bot's, and the person's
    for marker, comment in after.items():
        assert "reconciler plan of bbbbbbb" in comment["body"], marker
    # The edited shard's comment shows the edit; the other's plan is as it was.
    assert "(3 epochs)" in after["<!-- reconciler-plan shard=proj-alpha.us-central1 -->"]["body"]
    assert "(2 epochs)" in after["<!-- reconciler-plan shard=proj-beta.europe-west4 -->"]["body"]
    posts = [c for c in repository.github.calls() if "POST" in c]
    assert len(posts) == 2  # the first run's two; the second only edited
    assert next(c for c in repository.github.comments(PR) if c["id"] == human)["body"].endswith("mine")
    assert run.matrix.keys() == second.matrix.keys()


def test_without_secrets_the_check_passes_and_the_shards_comments_are_marked_out_of_date(
    repository: Repository,
) -> None:
    repository.plan("a" * 40)
    shard_comments = plan_comments(repository.github)

    # A push that GitHub gives no secrets (Dependabot's): validated only, no matrix.
    run = repository.plan("b" * 40, credentials=False)
    assert run.matrix == {} and run.matrix_result == "skipped"
    assert run.shards.outputs["matrix"] == ""
    assert run.check is not None and run.check.result == "success"
    comments = plan_comments(repository.github)
    whole = comments.pop("<!-- reconciler-plan -->")
    assert whole["body"].split("\n")[1] == "### Planned without credentials: validated only"
    assert {c["id"] for c in comments.values()} == {c["id"] for c in shard_comments.values()}
    for comment in comments.values():
        assert comment["body"].split("\n")[1] == "### Out of date"
    # With secrets again, the shards' comments are plans again and the note is
    # marked out of date: test_action.py's test_the_whole_and_the_shards_comments_supersede_each_other.


def test_a_fork_is_validated_only_with_no_comment(repository: Repository) -> None:
    run = repository.plan("a" * 40, credentials=False, fork=True)
    assert run.matrix == {}
    assert run.check is not None and run.check.result == "success"
    assert repository.github.calls() == []  # a fork's token may not write


def test_a_broken_manifest_fails_the_check_and_each_shards_comment_says_so(repository: Repository) -> None:
    # Validation fails, yet the shards are listed and planned, so that no
    # comment goes on showing the plan of an earlier push as current.
    path = repository.checkout / "manifests" / "number-generator.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("epochCount: 2", "epochCount: -1"), encoding="utf-8")
    run = repository.plan("b" * 40)
    assert run.shards.result == "failure"
    assert {job.result for job in run.matrix.values()} == {"failure"}  # the manifests load as a whole
    assert run.check is not None and run.check.result == "failure"
    after = plan_comments(repository.github)
    assert set(after) == {f"<!-- reconciler-plan shard={key} -->" for key in run.matrix}
    for marker, comment in after.items():
        assert comment["body"].split("\n")[3] == "### reconciler plan failed", marker
        assert "reconciler plan of bbbbbbb" in comment["body"]


def test_shards_that_cannot_be_listed_fail_the_check_in_one_comment(repository: Repository) -> None:
    settings = repository.checkout / "reconciler.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("location: europe-west4", "location: mars-north1"), encoding="utf-8")
    run = repository.plan("a" * 40)
    listed = run.shards.steps["list"]
    assert isinstance(listed, ScriptRun) and listed.returncode == 1
    assert "::error file=reconciler.yaml,line=8,title=targets[0].location::" in listed.stderr  # annotated
    assert run.shards.outputs["matrix"] == "" and run.matrix == {}
    assert run.check is not None and run.check.result == "failure"
    (comment,) = plan_comments(repository.github).items()
    assert comment[0] == "<!-- reconciler-plan -->"
    assert comment[1]["body"].split("\n")[1] == "### reconciler plan failed"


def test_without_the_matrix_the_action_plans_every_shard_in_one_comment(repository: Repository) -> None:
    # The short workflows of docs/github.md (no `shard:`), and drift.yml: one
    # process plans every shard, a group each in one comment. A saved plan is
    # of one shard, so there is none.
    workspace, env = repository.job_env("plan", {"pull_request": {"number": PR}}, "a" * 40, "refs/pull/5/merge")
    github = repository.github_values("pull_request", "a" * 40)
    planned = run_action({"command": "plan", "comment": "true"}, workspace, env, github)
    assert planned.outputs["exit-code"] == "2", planned.run.stderr
    assert planned.outputs["plan-json"] == ""
    markdown = Path(planned.outputs["plan-markdown"]).read_text(encoding="utf-8")
    for project, location in TARGETS.values():
        assert f"**Shard:** `{project}.{location}`" in markdown
    ((marker, comment),) = plan_comments(repository.github).items()
    assert marker == "<!-- reconciler-plan -->"
    assert comment["body"] == f"{marker}\n{markdown}\n<sub>reconciler plan of aaaaaaa ([run]({RUN_URL})).</sub>\n"


def test_apply_runs_each_shard_at_once_and_comments_on_the_merged_pull_request(
    repository: Repository, emulator: EmulatorServer
) -> None:
    repository.github.merged("d" * 40, PR)
    run = repository.apply("d" * 40)
    assert run.shards.result == "success"
    assert len(run.matrix) == 2
    for job in run.matrix.values():
        applied = job.steps["apply"]
        assert isinstance(applied, ActionRun)
        assert applied.outputs["exit-code"] == "0", (applied.run.stderr, applied.run.stdout, applied.run.summary)
    comments = [c for c in repository.github.comments(PR) if c["user"]["type"] == "Bot"]
    assert sorted(c["body"].split("\n", 1)[0] for c in comments) == sorted(
        f"<!-- reconciler-apply shard={key} -->" for key in run.matrix
    )

    # Each model lives in its shard's project and location, tuned once.
    for shard, (project, location) in TARGETS.items():
        parent = f"{emulator.url}/v1/projects/{project}/locations/{location}"
        jobs = requests.get(f"{parent}/tuningJobs", params={"pageSize": 100}, timeout=10).json().get("tuningJobs", [])
        assert sorted(j["labels"]["reconciler-id"] for j in jobs) == sorted(MODELS[shard])
