"""The lifecycle of `backend: vertex` against the emulator, through the CLI:
create, converge, update, replace, reorder, prune, a source-model chain,
orphan, import and export."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import requests
import yaml

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import (
    PARENT,
    counts,
    jobs_of,
    listed,
    manifest,
    objects,
    reset_counts,
    vertex_cli,
    vertex_faults,
    write_manifest,
    write_repo,
)
from tests.integration.helpers_apply import wait_until

UPLOAD = "POST /upload/storage/v1/b/{bucket}/o"
CREATE = "POST /{version}/projects/{project}/locations/{location}/tuningJobs"
PATCH_MODEL = "PATCH /{version}/projects/{project}/locations/{location}/models/{model_id}"


def count(emulator: EmulatorServer, prefix: str) -> int:
    return sum(n for key, n in counts(emulator).items() if key.startswith(prefix))


def count_key(emulator: EmulatorServer, method: str, kind: str) -> int:
    """Requests whose route is `method …/{kind}` or `method …/{kind}/{id}` (no sub-resource)."""
    return sum(
        n
        for key, n in counts(emulator).items()
        if key.startswith(method + " ") and key.rstrip("}").rsplit("/", 2)[-2:][0] == kind
    )


def generate(emulator: EmulatorServer, endpoint: str, text: str) -> requests.Response:
    return requests.post(
        f"{emulator.url}/v1/{endpoint}:generateContent",
        json={"contents": [{"role": "user", "parts": [{"text": text}]}]},
        timeout=10,
    )


def serving(emulator: EmulatorServer, key: str) -> dict[str, Any]:
    job = jobs_of(emulator, key)[-1]
    return dict(job.get("tunedModel") or {})


def test_create_converges_and_a_second_apply_uploads_nothing(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", smoke=(("3", "4"),))])
    first = vertex_cli(repo, emulator, "apply", "--yes")
    assert first.code == 0, first.text
    assert "smoke tests 1/1 passed" in first.text
    assert len(jobs_of(emulator, "numbers")) == 1
    assert len(objects(emulator)) == 1 and objects(emulator)[0].endswith(".jsonl")
    model = next(m for m in listed(emulator, "models") if m["labels"].get("reconciler-id") == "numbers")
    # the system labels survive the labels PATCH; the flags and check value are ours
    assert model["labels"]["tune-type"] == "sft"
    assert "google-vertex-llm-tuning-base-model-id" in model["labels"]
    assert "reconciler-chk" in model["labels"] and "reconciler-untested" not in model["labels"]
    endpoint = serving(emulator, "numbers")["endpoint"]
    assert listed(emulator, "endpoints")[0]["labels"]["reconciler-id"] == "numbers"
    reset_counts(emulator)
    again = vertex_cli(repo, emulator, "apply", "--yes")
    assert again.code == 0, again.text
    assert "No changes" in again.text
    assert count(emulator, UPLOAD) == 0 and count(emulator, CREATE) == 0
    assert generate(emulator, endpoint, "3").status_code == 200


def test_plan_and_status_json_name_the_backend_model_and_endpoint(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    tuned = serving(emulator, "numbers")
    status = vertex_cli(repo, emulator, "status", "--output", "json")
    record = yaml.safe_load(status.out)["models"][0]
    assert record["backend"] == "vertex"
    assert record["serving"]["endpoint"] == tuned["endpoint"]
    assert record["serving"]["model"] == tuned["model"].partition("@")[0]
    planned = yaml.safe_load(vertex_cli(repo, emulator, "plan", "--output", "json").out)
    assert planned["backend"] == "vertex"
    assert planned["serving"]["numbers"]["endpoint"] == tuned["endpoint"]


def test_a_display_name_change_is_one_model_patch_and_no_job(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    write_manifest(repo, manifest("numbers", display_name="Numbers v2"))
    reset_counts(emulator)
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    assert "1 updated" in result.text
    assert counts(emulator).get(PATCH_MODEL) == 1
    assert count(emulator, CREATE) == 0 and count(emulator, UPLOAD) == 0
    assert len(jobs_of(emulator, "numbers")) == 1
    model = next(m for m in listed(emulator, "models") if m["labels"].get("reconciler-id") == "numbers")
    assert model["displayName"] == "Numbers v2"
    assert model["labels"]["tune-type"] == "sft"
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_replace_serves_the_old_endpoint_until_the_new_job_succeeded(tmp_path: Path, make_emulator: Any) -> None:
    # The emulator's clock stands still while the new job runs (the old endpoint
    # is asked while that job certainly runs), then jumps past its last step and
    # runs on: no step is waited for.
    stopped_at: list[float] = []
    ahead = [0.0]
    emulator = make_emulator(
        seed=0, step_seconds=0, clock=lambda: stopped_at[0] if stopped_at else time.time() + ahead[0]
    )
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    old = serving(emulator, "numbers")
    write_manifest(repo, manifest("numbers", epochs=3))
    planned = vertex_cli(repo, emulator, "plan")
    assert "replaced" in planned.text and "hyperparameters" in planned.text
    requests.post(f"{emulator.url}/_internal/tuning", json={"step_seconds": 0.001}, timeout=10).raise_for_status()
    result: dict[str, Any] = {}
    apply = threading.Thread(target=lambda: result.update(r=vertex_cli(repo, emulator, "apply", "--yes")))
    stopped_at.append(time.time())
    apply.start()
    wait_until(lambda: len(jobs_of(emulator, "numbers")) == 2, "the new tuning job")
    state = jobs_of(emulator, "numbers")[-1]["state"]
    answers = [generate(emulator, old["endpoint"], "3").status_code for _ in range(3)]
    ahead[0] = 3600.0  # every step of the new job has passed
    stopped_at.clear()
    apply.join()
    assert result["r"].code == 0, result["r"].text
    assert state != "JOB_STATE_SUCCEEDED"
    assert set(answers) == {200}  # the old endpoint answered while the new job ran
    assert generate(emulator, old["endpoint"], "3").status_code == 404
    names = {m["name"].partition("@")[0] for m in listed(emulator, "models")}
    assert old["model"].partition("@")[0] not in names
    assert len(jobs_of(emulator, "numbers")) == 2  # the old job stays, a tombstone
    assert generate(emulator, serving(emulator, "numbers")["endpoint"], "3").status_code == 200
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_reordering_the_dataset_changes_nothing_and_uploads_nothing(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    write_manifest(repo, manifest("numbers"), reverse=True)
    reset_counts(emulator)
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0 and "No changes" in result.text
    assert count(emulator, UPLOAD) == 0 and len(objects(emulator)) == 1


def test_prune_deletes_endpoints_checkpoint_endpoints_and_model(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex = {
        "project": "my-project",
        "location": "us-central1",
        "datasets": "gs://tuning-data/reconciler/datasets",
        "exportLastCheckpointOnly": False,
    }
    repo = write_repo(tmp_path, [manifest("numbers", epochs=3), manifest("keep")], vertex=vertex)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    tuned = serving(emulator, "numbers")
    assert len(tuned["checkpoints"]) == 3
    (repo / "manifests" / "numbers.yaml").unlink()
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    assert "1 deleted" in result.text
    endpoints = {e["name"] for e in listed(emulator, "endpoints")}
    assert not endpoints & {tuned["endpoint"], *(c["endpoint"] for c in tuned["checkpoints"])}
    assert all(m["labels"].get("reconciler-id") != "numbers" for m in listed(emulator, "models"))
    assert len(jobs_of(emulator, "numbers")) == 1  # the job stays
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_a_source_model_chain_tunes_from_the_source_model(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("base"), manifest("derived", source_model="base")])
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    derived = jobs_of(emulator, "derived")[0]
    base_model = serving(emulator, "base")["model"].partition("@")[0]
    assert derived["preTunedModel"]["tunedModelName"] == base_model
    # its own Model (a different display name), not a version of the source's
    assert serving(emulator, "derived")["model"].partition("@")[0] != base_model
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0
    # a new source re-tunes the model tuned from it, from the new source's Model
    write_manifest(repo, manifest("base", epochs=3))
    replaced = vertex_cli(repo, emulator, "apply", "--yes")
    assert replaced.code == 0, replaced.text
    assert "2 replaced" in replaced.text, replaced.text.replace("\n", " | ")
    new_base = serving(emulator, "base")["model"].partition("@")[0]
    assert jobs_of(emulator, "derived")[-1]["preTunedModel"]["tunedModelName"] == new_base
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_orphan_leaves_the_model_live_and_unmanaged(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", deletion_policy="Orphan")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    model_name = serving(emulator, "numbers")["model"].partition("@")[0]
    (repo / "manifests" / "numbers.yaml").unlink()
    result = vertex_cli(repo, emulator, "apply", "--yes", "--allow-empty")
    assert result.code == 0, result.text
    assert "1 to forget" in result.text
    model = next(m for m in listed(emulator, "models") if m["name"] == model_name)
    assert "managed-by" not in model["labels"] and model["labels"]["tune-type"] == "sft"
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode", "--allow-empty").code == 0


def _hand_tuned(emulator: EmulatorServer, display_name: str) -> dict[str, Any]:
    """A tuning job someone made by hand (no reconciler labels), run to its end."""
    from tests.emulator.vertex_helpers import job_body, upload

    upload(emulator.url)
    response = requests.post(
        f"{emulator.url}/{PARENT}/tuningJobs",
        timeout=10,
        json=job_body(tunedModelDisplayName=display_name, labels={"team": "ml"}),
    )
    assert response.status_code == 200, response.text
    job = requests.get(f"{emulator.url}/v1/{response.json()['name']}", timeout=10).json()
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    return dict(job)


def test_unmanaged_model_and_job_with_the_same_display_name_are_never_modified(
    tmp_path: Path, make_emulator: Any
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    hand = _hand_tuned(emulator, "numbers")
    before = requests.get(f"{emulator.url}/v1/{hand['tunedModel']['model'].partition('@')[0]}", timeout=10).json()
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    (repo / "manifests" / "numbers.yaml").unlink()
    assert vertex_cli(repo, emulator, "apply", "--yes", "--allow-empty").code == 0  # prune: only ours goes
    after = requests.get(f"{emulator.url}/v1/{before['name']}", timeout=10).json()
    assert after == before
    job = requests.get(f"{emulator.url}/v1/{hand['name']}", timeout=10).json()
    assert job["labels"] == {"team": "ml"}
    assert requests.get(f"{emulator.url}/v1/{hand['tunedModel']['endpoint']}", timeout=10).status_code == 200


def test_export_then_import_adopts_an_unmanaged_model(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    hand = _hand_tuned(emulator, "Hand tuned")
    repo = write_repo(tmp_path, [])
    out = tmp_path / "exported"
    exported = vertex_cli(repo, emulator, "export", "--out", str(out))
    assert exported.code == 0, exported.text
    files = list(out.glob("*.yaml"))
    assert len(files) == 1
    key = files[0].stem
    assert key == "model-" + hand["tunedModel"]["model"].partition("@")[0].rpartition("/")[2]
    target = repo / "manifests" / files[0].name
    target.write_text(files[0].read_text("utf-8"), "utf-8")
    imported = vertex_cli(repo, emulator, "import", key, "--manifest", f"manifests/{files[0].name}")
    assert imported.code == 0, imported.text
    model = requests.get(f"{emulator.url}/v1/{hand['tunedModel']['model'].partition('@')[0]}", timeout=10).json()
    assert model["labels"]["managed-by"] == "reconciler" and model["labels"]["tune-type"] == "sft"
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_export_of_managed_models_then_plan_shows_no_changes(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    fresh = write_repo(tmp_path / "fresh", [])
    exported = vertex_cli(fresh, emulator, "export", "--out", "manifests")
    assert exported.code == 0, exported.text
    assert (fresh / "manifests" / "numbers.yaml").exists()
    assert vertex_cli(fresh, emulator, "plan", "--detailed-exitcode").code == 0


def test_a_job_failed_with_a_model_and_no_endpoint_is_replaced_and_its_model_deleted(
    tmp_path: Path, make_emulator: Any
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, endpoint_failures=1)
    repo = write_repo(tmp_path, [manifest("numbers")])
    failed = vertex_cli(repo, emulator, "apply", "--yes")
    assert failed.code == 1
    assert "Failed to create endpoint" in failed.text
    orphan = jobs_of(emulator, "numbers")[0]["tunedModel"]["model"].partition("@")[0]
    planned = vertex_cli(repo, emulator, "plan")
    assert "replaced" in planned.text
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    names = {m["name"] for m in listed(emulator, "models")}
    assert orphan not in names and len(names) == 1
    assert len(jobs_of(emulator, "numbers")) == 2
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_delete_refused_while_the_deployment_is_released_backs_off(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    vertex_faults(emulator, delete_model_refusals=2)
    (repo / "manifests" / "numbers.yaml").unlink()
    result = vertex_cli(repo, emulator, "apply", "--yes", "--allow-empty")
    assert result.code == 0, result.text
    assert listed(emulator, "models") == [] and listed(emulator, "endpoints") == []
    assert counts(emulator)["DELETE /{version}/projects/{project}/locations/{location}/models/{model_id}"] == 3


def test_the_wait_shows_the_job_state_and_tuning_sub_state(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0.05)
    repo = write_repo(tmp_path, [manifest("numbers")])
    settings = repo / "reconciler.yaml"  # the sub-state is v1beta1's (tuningJobState)
    settings.write_text(
        settings.read_text("utf-8").replace("  datasets:", "  apiVersion: v1beta1\n  datasets:"), "utf-8"
    )
    result = vertex_cli(repo, emulator, "apply", "--yes", "--output", "json")
    assert result.code == 0, result.text
    stages = {json.loads(line).get("stage") for line in result.out.splitlines() if '"progress"' in line}
    assert "running: tuning" in stages and "succeeded" in stages


def _with_validation(repo: Path, shift: int = 0) -> dict[str, Any]:
    document = manifest("numbers", validationData={"file": "../datasets/numbers-validation.jsonl"})
    write_manifest(repo, document)
    rows = [{"text_input": str(n), "output": str(n + 1 + shift)} for n in range(100, 105)]
    (repo / "datasets" / "numbers-validation.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in rows), "utf-8"
    )
    return document


def test_validation_data_is_uploaded_sent_and_re_tunes_when_it_changes(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [])
    _with_validation(repo)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    job = jobs_of(emulator, "numbers")[0]
    validation_uri = job["supervisedTuningSpec"]["validationDatasetUri"]
    assert validation_uri.startswith("gs://tuning-data/reconciler/datasets/") and len(objects(emulator)) == 2
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0
    _with_validation(repo, shift=1)
    planned = vertex_cli(repo, emulator, "plan")
    assert "replaced" in planned.text
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    assert jobs_of(emulator, "numbers")[-1]["supervisedTuningSpec"]["validationDatasetUri"] != validation_uri
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0
