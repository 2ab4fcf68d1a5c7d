"""The join of jobs, custom models and deployments into live models, on answers
shaped as botocore's list summaries: what serves, what is a candidate or
superseded, the neutral state, what is nobody's, and which tags are read."""

from __future__ import annotations

from typing import Any

from reconciler.backends.bedrock import names
from reconciler.backends.bedrock.live import Handle, Join, born_of_reads, tag_reads
from reconciler.backends.bedrock.tags import FORGOTTEN, TagMarker, job_scope, model_scope
from reconciler.model.live import LiveModel, LiveState
from reconciler.model.ownership import Ownership

KEY = b"k1"
MARKER = TagMarker([KEY])
ACCOUNT = "arn:aws:bedrock:us-east-1:123456789012"
BASE = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-lite-v1"
OLD = Ownership(source="2309deab", hyperparameters="8d8b2aca", data="aaaaaaaaaaaa", examples=20)
NEW = Ownership(source="2309deab", hyperparameters="8d8b2aca", data="bbbbbbbbbbbb", examples=21)


class World:
    """Listed summaries and the tags on them, as Bedrock would answer."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.models: list[dict[str, Any]] = []
        self.deployments: list[dict[str, Any]] = []
        self.tags: dict[str, dict[str, str]] = {}
        self.clock = 0

    def _time(self) -> str:
        self.clock += 1
        return f"2026-01-01T12:00:{self.clock:02d}Z"

    def job(self, key: str, ownership: Ownership, status: str, *, attempt: int = 1, inputs: str = "") -> str:
        name = names.resource_name(key, inputs or ownership.data, attempt)
        arn = f"{ACCOUNT}:model-customization-job/amazon.titan-text-lite-v1/{name[-12:]}"
        self.jobs.append(
            {
                "jobArn": arn,
                "jobName": name,
                "baseModelArn": BASE,
                "status": status,
                "creationTime": self._time(),
                "customModelName": name,
            }
        )
        self.tags[arn] = MARKER.tags(key, ownership, job_scope(name, name))
        return name

    def model(self, name: str, tags: dict[str, str] | None = None) -> str:
        arn = f"{ACCOUNT}:custom-model/{name}"
        self.models.append({"modelArn": arn, "modelName": name, "creationTime": self._time(), "baseModelArn": BASE})
        self.tags[arn] = tags if tags is not None else {}
        return arn

    def made(self, key: str, ownership: Ownership, *, untested: bool = False, held: bool = False, **job: Any) -> str:
        """A completed job, its tagged model and its Active deployment."""
        name = self.job(key, ownership, "Completed", **job)
        flagged = Ownership(**{**_fields(ownership), "untested": untested})
        evaluation = {"held": "true"} if held else None
        arn = self.model(name, MARKER.tags(key, flagged, model_scope(name), evaluation))
        self.deploy(key, arn)
        return name

    def deploy(self, key: str, model_arn: str, status: str = "Active", name: str | None = None) -> str:
        arn = f"{ACCOUNT}:custom-model-deployment/{len(self.deployments):012d}"
        self.deployments.append(
            {
                "customModelDeploymentArn": arn,
                "customModelDeploymentName": name or names.deployment_name(key, model_arn),
                "modelArn": model_arn,
                "status": status,
                "createdAt": self._time(),
            }
        )
        return arn

    def lives(self, marker: TagMarker = MARKER) -> dict[str, LiveModel]:
        return {m.key: m for m in Join(marker, self.jobs, self.models, self.deployments, self.read()).live_models()}

    def read(self) -> dict[str, dict[str, str]]:
        """Only the tags the join asks for, as the backend reads them."""
        wanted = tag_reads(self.jobs, self.models)
        read = {arn: self.tags[arn] for arn in wanted}
        read |= {arn: self.tags[arn] for arn in born_of_reads(self.jobs, self.models, read)}
        return read


def _fields(ownership: Ownership) -> dict[str, Any]:
    return {name: getattr(ownership, name) for name in ("source", "hyperparameters", "data", "examples")}


def _handle(live: LiveModel) -> Handle:
    assert isinstance(live.handle, Handle)
    return live.handle


def test_a_running_job_is_creating_with_the_jobs_ownership() -> None:
    world = World()
    world.job("numbers", OLD, "InProgress")
    live = world.lives()["numbers"]
    assert (live.state, live.state_words, live.ownership) == (LiveState.CREATING, "InProgress", OLD)
    assert _handle(live).model is None


def test_a_completed_job_with_its_model_deployed_is_active_and_serves_from_the_deployment() -> None:
    world = World()
    name = world.made("numbers", OLD)
    live = world.lives()["numbers"]
    assert live.state is LiveState.ACTIVE and live.ownership == OLD
    assert live.serving["model"] == f"{ACCOUNT}:custom-model/{name}"
    assert live.serving["deployment"] == world.deployments[0]["customModelDeploymentArn"]
    assert (live.address, live.source, live.base_model) == (
        "bedrock/numbers",
        "amazon.titan-text-lite-v1",
        "amazon.titan-text-lite-v1",
    )


def test_a_model_without_its_deployment_is_creating_so_the_next_apply_waits_and_makes_it() -> None:
    world = World()
    world.made("numbers", OLD)
    world.deployments.clear()
    live = world.lives()["numbers"]
    assert live.state is LiveState.CREATING and "no deployment" in live.state_words
    world.deploy("numbers", world.models[0]["modelArn"], status="Creating")
    assert world.lives()["numbers"].state is LiveState.CREATING


def test_a_failed_run_without_a_model_is_failed() -> None:
    world = World()
    world.job("numbers", OLD, "Failed")
    assert world.lives()["numbers"].state is LiveState.FAILED


def test_a_completed_run_whose_model_was_deleted_is_a_tombstone() -> None:
    world = World()
    world.job("numbers", OLD, "Completed")
    assert "numbers" not in world.lives()
    assert tag_reads(world.jobs, world.models) == []  # a tombstone is never read


def test_a_replace_serves_on_the_old_model_until_the_new_one_passed() -> None:
    world = World()
    old = world.made("numbers", OLD)
    new = world.made("numbers", NEW, untested=True)
    live = world.lives()["numbers"]
    assert live.candidate and live.ownership is not None and live.ownership.untested
    assert live.serving["model"].endswith(old) and _handle(live).model["modelName"] == new  # type: ignore[index]
    assert live.superseded == ()  # the old one still serves
    assert _handle(live).deployment["modelArn"].endswith(new)  # type: ignore[index]


def test_once_the_new_model_passed_the_old_one_is_superseded() -> None:
    world = World()
    old = world.made("numbers", OLD)
    new = world.made("numbers", NEW)
    live = world.lives()["numbers"]
    assert not live.candidate and live.serving["model"].endswith(new)
    assert live.superseded == (old,)


def test_a_held_candidate_never_serves() -> None:
    world = World()
    old = world.made("numbers", OLD)
    world.made("numbers", NEW, held=True)
    live = world.lives()["numbers"]
    assert live.candidate and live.held and live.serving["model"].endswith(old)


def test_a_run_newer_than_the_serving_model_makes_the_id_creating() -> None:
    world = World()
    old = world.made("numbers", OLD)
    world.job("numbers", NEW, "InProgress")
    live = world.lives()["numbers"]
    assert live.state is LiveState.CREATING and live.ownership == NEW
    assert live.serving["model"].endswith(old)


def test_a_failed_replace_leaves_the_serving_model_active() -> None:
    world = World()
    world.made("numbers", OLD)
    world.job("numbers", NEW, "Failed")
    live = world.lives()["numbers"]
    assert live.state is LiveState.ACTIVE and live.ownership == OLD


def test_tags_copied_onto_someone_elses_model_do_not_claim_it() -> None:
    world = World()
    name = world.made("numbers", OLD)
    copied = world.tags[world.models[0]["modelArn"]]
    world.model("someone-elses-model", dict(copied))
    lives = world.lives()
    assert lives["numbers"].serving["model"].endswith(name)
    stranger = lives["model-someone-elses-model"]
    assert stranger.ownership is None and "does not verify" in (stranger.ownership_note or "")
    assert lives["numbers"].superseded == ()


def test_a_model_of_nobody_is_shown_under_its_name() -> None:
    world = World()
    arn = world.model("my-own-model", {"team": "search"})
    world.deploy("anyone", arn, name="my-own-deployment")
    live = world.lives()["model-my-own-model"]
    assert live.ownership is None and live.address == arn
    assert live.serving == {"model": arn, "deployment": world.deployments[0]["customModelDeploymentArn"]}


def test_only_a_deployment_named_for_the_id_and_its_model_serves_it() -> None:
    world = World()
    world.made("numbers", OLD)
    model_arn = world.models[0]["modelArn"]
    world.deployments.clear()
    world.deploy("numbers", model_arn, name="a-users-own-deployment")
    world.deploy("numbers", f"{ACCOUNT}:custom-model/other", name=names.deployment_name("numbers", model_arn))
    live = world.lives()["numbers"]
    assert "deployment" not in live.serving and live.state is LiveState.CREATING


def test_the_untouched_output_of_a_verified_job_is_the_ids() -> None:
    world = World()
    name = world.job("numbers", OLD, "Completed")
    world.model(name, {})  # a service that did not copy the customModelTags
    live = world.lives()["numbers"]
    assert live.ownership == OLD and _handle(live).model["modelName"] == name  # type: ignore[index]


def test_a_forgotten_model_is_not_claimed_back_by_its_job() -> None:
    world = World()
    name = world.job("numbers", OLD, "Completed")
    world.model(name, {FORGOTTEN: "true"})
    lives = world.lives()
    assert "numbers" not in lives and lives[f"model-{name}"].ownership is None
    assert born_of_reads(world.jobs, world.models, world.read()) == []  # its job's tags are not even read
    # Nor with its job's tags read (a find, or another reason to read them).
    everything = Join(MARKER, world.jobs, world.models, world.deployments, world.tags).live_models()
    assert [m.key for m in everything] == [f"model-{name}"]


def test_a_model_signed_with_another_key_blocks_its_id() -> None:
    """Likely the reconciler's own, run with another key: shown, never re-created."""
    world = World()
    world.made("numbers", OLD)
    live = world.lives(TagMarker([b"another key"]))["numbers"]
    assert live.ownership is None and live.ownership_note and "RECONCILER_OWNERSHIP_KEY" in live.ownership_note


def test_an_unsigned_model_beside_a_signed_one_is_set_aside() -> None:
    world = World()
    world.made("numbers", OLD)
    forged = names.resource_name("numbers", "forged", 1)
    world.model(forged, TagMarker().tags("numbers", NEW, model_scope(forged)))
    lives = world.lives()
    assert lives["numbers"].ownership == OLD and lives["numbers"].superseded == ()
    assert "trusted only where that destroys nothing" in (lives[f"model-{forged}"].ownership_note or "")


def test_tags_are_read_only_where_a_decision_needs_them() -> None:
    """Every custom model (the marker is there), running jobs, the newest failed
    attempt without a model; never history, tombstones or names not ours."""
    world = World()
    world.made("numbers", OLD)  # history: its model carries the marker
    world.job("letters", OLD, "Completed")  # a tombstone
    world.job("words", OLD, "Failed", attempt=1)  # an earlier failed attempt
    failed = world.job("words", OLD, "Failed", attempt=2)
    running = world.job("digits", OLD, "InProgress")
    world.jobs.append({**world.jobs[-1], "jobName": "a-job-by-hand", "jobArn": f"{ACCOUNT}:job/by-hand"})
    read = tag_reads(world.jobs, world.models)
    by_name = {j["jobArn"]: j["jobName"] for j in world.jobs}
    assert sorted(by_name.get(arn, "model") for arn in read) == sorted(["model", failed, running])


def test_a_model_tuned_from_another_names_it_by_its_id_and_has_its_root() -> None:
    world = World()
    world.made("numbers", OLD)
    parent = world.models[0]["modelArn"]
    child = world.job("child", NEW, "Completed")
    world.jobs[-1]["baseModelArn"] = parent
    world.model(child, MARKER.tags("child", NEW, model_scope(child)))
    world.models[-1]["baseModelArn"] = parent
    world.deploy("child", world.models[-1]["modelArn"])
    live = world.lives()["child"]
    assert (live.source, live.source_key, live.base_model) == ("numbers", "numbers", "amazon.titan-text-lite-v1")
