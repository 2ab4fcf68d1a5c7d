"""Nothing the reconciler does not own is touched on Vertex AI, and nothing it
made is lost (issue: ownership bound to each resource). Through the CLI against
the emulator: replaces that race or are resumed, replayed labels, key changes,
hand edits, leftovers and a false serving handle."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import (
    BASE_MODEL,
    PARENT,
    jobs_of,
    listed,
    manifest,
    model_names,
    remove_endpoint,
    status_of,
    vertex_cli,
    vertex_faults,
    write_manifest,
    write_repo,
)
from tests.integration.helpers_apply import finish, start_cli, wait_until

KEY = {"RECONCILER_OWNERSHIP_KEY": "k1-" + "a" * 32}
OTHER_KEY = {"RECONCILER_OWNERSHIP_KEY": "k2-" + "b" * 32}


def models_of(emulator: EmulatorServer, key: str) -> list[dict[str, Any]]:
    return [m for m in listed(emulator, "models") if (m.get("labels") or {}).get("reconciler-id") == key]


def create_job(emulator: EmulatorServer, body: dict[str, Any]) -> dict[str, Any]:
    """A tuning job made by hand (someone with write access to the project)."""
    response = requests.post(f"{emulator.url}/{PARENT}/tuningJobs", json=body, timeout=10)
    response.raise_for_status()
    job = dict(response.json())
    wait_until(
        lambda: job_now(emulator, job["name"]).get("state") in ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"),
        "the hand-made job to end",
    )
    return job_now(emulator, job["name"])


def job_now(emulator: EmulatorServer, name: str) -> dict[str, Any]:
    return dict(requests.get(f"{emulator.url}/v1/{name}", timeout=10).json())


def serving(repo: Path, emulator: EmulatorServer, key: str, **env: str) -> dict[str, str]:
    return dict(status_of(repo, emulator, key, **env).get("serving") or {})


def test_two_applies_replacing_one_model_at_once_leave_exactly_one_model(tmp_path: Path, make_emulator: Any) -> None:
    """Both plan the replace before either has created: the first creates while
    the second waits on the lock, then adopts the same job; neither deletes it."""
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    old_model = models_of(emulator, "numbers")[0]["name"]
    write_manifest(repo, manifest("numbers", epochs=3))
    env = {"AIPLATFORM_EMULATOR_HOST": emulator.host_port, "STORAGE_EMULATOR_HOST": emulator.url}
    create = emulator.hold("POST", r"/tuningJobs$")
    first = start_cli(repo, emulator, "apply", "--yes", **env)
    create.wait_arrived(timeout=60)  # the first holds the lock, its create not yet made
    lock = emulator.hold("POST", r"/upload/storage/v1/b/")
    second = start_cli(repo, emulator, "apply", "--yes", **env)
    lock.wait_arrived(timeout=60)  # the second has planned the replace of the old model too
    create.release()
    lock.release()
    results = [finish(first, 120), finish(second, 120)]
    assert [r.code for r in results] == [0, 0], [r.text for r in results]
    assert len(jobs_of(emulator, "numbers")) == 2  # the original and one replacement
    models = models_of(emulator, "numbers")
    assert len(models) == 1 and models[0]["name"].partition("@")[0] != old_model.partition("@")[0]
    assert serving(repo, emulator, "numbers")["endpoint"]
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_a_resumed_replace_after_a_revert_keeps_the_model_it_adopts(tmp_path: Path, make_emulator: Any) -> None:
    """A replace stopped while its new run was still pending, then the commit
    reverted: once that run ends, the next apply re-adopts the original run and
    keeps its Model (the one it promotes), removing the other."""
    offset = [0.0]
    frozen: list[float | None] = [None]
    emulator = make_emulator(
        seed=0, step_seconds=0, clock=lambda: frozen[0] if frozen[0] is not None else time.time() + offset[0]
    )
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    original = models_of(emulator, "numbers")[0]["name"].partition("@")[0]
    endpoint = serving(repo, emulator, "numbers")["endpoint"]
    vertex_faults(emulator, pending_seconds=100)
    frozen[0] = time.time()  # the new run stays pending while the apply waits
    write_repo(repo, [manifest("numbers", epochs=3)], operationTimeoutSeconds=0.3)
    stopped = vertex_cli(repo, emulator, "apply", "--yes")
    assert stopped.code == 1 and len(jobs_of(emulator, "numbers")) == 2, stopped.text
    write_repo(repo, [manifest("numbers")])  # the revert
    frozen[0], offset[0] = None, 200.0  # the stopped run ends, and makes its Model
    assert len(model_names(emulator)) == 2
    resumed = vertex_cli(repo, emulator, "apply", "--yes")
    assert resumed.code == 0, resumed.text
    assert model_names(emulator) == {original}
    assert serving(repo, emulator, "numbers")["endpoint"] == endpoint
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_a_replayed_label_never_makes_another_teams_model_managed(tmp_path: Path, make_emulator: Any) -> None:
    for env in ({}, KEY):
        emulator = make_emulator(seed=0, step_seconds=0)
        repo = write_repo(tmp_path / str(len(env)), [manifest("numbers")])
        assert vertex_cli(repo, emulator, "apply", "--yes", **env).code == 0
        ours = jobs_of(emulator, "numbers")[0]
        spec = {"trainingDatasetUri": ours["supervisedTuningSpec"]["trainingDatasetUri"]}
        theirs = create_job(
            emulator, {"baseModel": BASE_MODEL, "tunedModelDisplayName": "team-b", "supervisedTuningSpec": spec}
        )
        their_model = theirs["tunedModel"]["model"].partition("@")[0]
        # A job copying our job's labels, continuing the other team's Model under
        # its display name: its result is a new version of *their* Model.
        replay = create_job(
            emulator,
            {
                "preTunedModel": {"tunedModelName": their_model},
                "tunedModelDisplayName": "team-b",
                "supervisedTuningSpec": spec,
                "labels": ours["labels"],
            },
        )
        assert replay["tunedModel"]["model"] == f"{their_model}@2"
        # The same labels on a job tuning something else into a Model of its own.
        other = create_job(
            emulator,
            {
                "baseModel": BASE_MODEL,
                "tunedModelDisplayName": "team-c",
                "supervisedTuningSpec": spec,
                "labels": ours["labels"],
            },
        )
        plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode", **env)
        assert plan.code == 0, plan.text
        assert serving(repo, emulator, "numbers", **env)["model"] == ours["tunedModel"]["model"].partition("@")[0]
        assert other["tunedModel"]["endpoint"] != serving(repo, emulator, "numbers", **env).get("endpoint")
        write_repo(repo, [])  # no manifest: prune would delete what "numbers" owns
        (repo / "manifests" / "numbers.yaml").unlink()
        assert vertex_cli(repo, emulator, "apply", "--yes", "--allow-empty", **env).code == 0
        assert their_model in model_names(emulator)
        assert other["tunedModel"]["model"].partition("@")[0] in model_names(emulator)
        assert ours["tunedModel"]["model"].partition("@")[0] not in model_names(emulator)
        emulator.stop()


def test_a_derived_model_named_as_its_source_gets_a_model_of_its_own(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(
        tmp_path,
        [manifest("base", display_name="Numbers"), manifest("derived", display_name="Numbers", source_model="base")],
    )
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    base_endpoint = serving(repo, emulator, "base")["endpoint"]
    assert len(models_of(emulator, "base")) == 1 and len(models_of(emulator, "derived")) == 1
    assert {m["versionId"] for m in listed(emulator, "models")} == {"1"}
    assert models_of(emulator, "derived")[0]["displayName"] == "Numbers"  # renamed once it was ours
    write_manifest(repo, manifest("derived", display_name="Numbers", source_model="base", epochs=3))
    replaced = vertex_cli(repo, emulator, "apply", "--yes")
    assert replaced.code == 0, replaced.text
    assert serving(repo, emulator, "base")["endpoint"] == base_endpoint
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_adding_an_ownership_key_re_signs_in_place_and_tunes_nothing(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode", **KEY)
    assert plan.code == 2 and "Plan: 0 to create, 1 to update, 0 to replace" in plan.out, plan.text
    assert vertex_cli(repo, emulator, "apply", "--yes", **KEY).code == 0
    assert len(jobs_of(emulator, "numbers")) == 1
    assert "reconciler-sig" in models_of(emulator, "numbers")[0]["labels"]
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode", **KEY).code == 0


def test_a_key_not_given_blocks_the_model_and_changes_nothing(tmp_path: Path, make_emulator: Any) -> None:
    """Rotated too early, or no key at all: the signed model is blocked, with the
    variable to set; nothing is created, labelled or deleted."""
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes", **KEY).code == 0
    before = listed(emulator, "models"), listed(emulator, "tuningJobs"), listed(emulator, "endpoints")
    for env in (OTHER_KEY, {}):
        plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode", **env)
        assert plan.code == 2 and "blocked" in plan.out and "RECONCILER_OWNERSHIP_KEY" in plan.text, plan.text
        apply = vertex_cli(repo, emulator, "apply", "--yes", **env)
        assert "RECONCILER_OWNERSHIP_KEY" in apply.text
        assert (listed(emulator, "models"), listed(emulator, "tuningJobs"), listed(emulator, "endpoints")) == before


def test_a_model_whose_labels_were_removed_by_hand_is_left_alone(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers"), manifest("other")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    model = models_of(emulator, "numbers")[0]
    name = model["name"].partition("@")[0]
    system = {k: v for k, v in model["labels"].items() if not (k.startswith("reconciler-") or k == "managed-by")}
    requests.patch(
        f"{emulator.url}/v1/{name}", params={"updateMask": "labels"}, json={"labels": system}, timeout=10
    ).raise_for_status()
    blocked = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert blocked.code == 2 and "blocked" in blocked.out and "removed" in blocked.text, blocked.text
    (repo / "manifests" / "numbers.yaml").unlink()
    pruned = vertex_cli(repo, emulator, "apply", "--yes")
    assert pruned.code == 0, pruned.text
    assert name in model_names(emulator)
    assert "1 unmanaged left alone" in vertex_cli(repo, emulator, "plan").text


def test_a_delete_refused_is_retried_and_shown_by_every_plan_until_done(tmp_path: Path, make_emulator: Any) -> None:
    """A replace whose delete of the old Model is refused leaves it; each plan
    shows it (a clean-up) until an apply removes it, never the new one."""
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    old = models_of(emulator, "numbers")[0]["name"].partition("@")[0]
    vertex_faults(emulator, model_delete_refusals=8)
    write_manifest(repo, manifest("numbers", epochs=3))
    refused = vertex_cli(repo, emulator, "apply", "--yes")
    assert refused.code == 1 and "FAILED_PRECONDITION" in refused.text, refused.text
    assert len(models_of(emulator, "numbers")) == 2
    new_endpoint = serving(repo, emulator, "numbers")["endpoint"]
    for _ in range(2):
        plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
        assert (
            plan.code == 2
            and old in plan.out
            and "clean_up" in vertex_cli(repo, emulator, "plan", "--output", "json").out
        ), plan.text
    done = vertex_cli(repo, emulator, "apply", "--yes")
    assert done.code == 0, done.text
    assert old not in model_names(emulator) and len(models_of(emulator, "numbers")) == 1
    assert serving(repo, emulator, "numbers")["endpoint"] == new_endpoint
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_a_failed_runs_model_is_removed_by_the_replace(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, endpoint_failures=1)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 1
    failed = {m["name"].partition("@")[0] for m in listed(emulator, "models")}
    assert len(failed) == 1
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    assert not failed & model_names(emulator) and len(models_of(emulator, "numbers")) == 1
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_a_deleted_endpoint_is_never_published_as_serving(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    remove_endpoint(emulator, serving(repo, emulator, "numbers")["endpoint"])
    assert "endpoint" not in serving(repo, emulator, "numbers")
    plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert plan.code == 2 and "is gone" in plan.out, plan.text
