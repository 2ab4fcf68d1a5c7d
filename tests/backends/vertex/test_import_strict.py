"""`import` and `export` on Vertex AI are as strict as on the Gemini API: a
hand-made job's base model and hyperparameters are read and compared, and a
hand-made Model can be imported under an id of the user's choosing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
import yaml

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import PARENT, listed, manifest, vertex_cli, write_manifest, write_repo


def _hand_tuned(emulator: EmulatorServer, epochs: int = 2, adapter: str = "ADAPTER_SIZE_EIGHT") -> dict[str, Any]:
    """A tuning job made by hand, with no reconciler label, run to its end."""
    from tests.emulator.vertex_helpers import job_body, upload

    upload(emulator.url)
    body = job_body(tunedModelDisplayName="Hand tuned", labels={"team": "ml"})
    body["supervisedTuningSpec"]["hyperParameters"] = {"epochCount": epochs, "adapterSize": adapter}
    response = requests.post(f"{emulator.url}/{PARENT}/tuningJobs", json=body, timeout=10)
    assert response.status_code == 200, response.text
    job = requests.get(f"{emulator.url}/v1/{response.json()['name']}", timeout=10).json()
    assert job["state"] == "JOB_STATE_SUCCEEDED"
    return dict(job)


def _model_name(job: dict[str, Any]) -> str:
    return str(job["tunedModel"]["model"]).partition("@")[0]


def _key(job: dict[str, Any]) -> str:
    return "model-" + _model_name(job).rpartition("/")[2]


def test_import_refuses_hyperparameters_the_job_did_not_run(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    job = _hand_tuned(emulator, epochs=2, adapter="ADAPTER_SIZE_EIGHT")
    repo = write_repo(tmp_path, [manifest("numbers", epochs=3, display_name="Hand tuned")])
    result = vertex_cli(repo, emulator, "import", _key(job), "--manifest", "manifests/numbers.yaml")
    assert result.code == 1, result.text
    assert "spec.hyperparameters.epochCount: manifest 3, live 2" in result.text
    assert "spec.hyperparameters.adapterSize: manifest 4, live 8" in result.text
    model = requests.get(f"{emulator.url}/v1/{_model_name(job)}", timeout=10).json()
    assert "managed-by" not in model["labels"]


def test_import_refuses_another_base_model(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    job = _hand_tuned(emulator)
    document = manifest("numbers", epochs=2, display_name="Hand tuned")
    document["spec"]["baseModel"] = "gemini-2.5-pro"
    document["spec"]["hyperparameters"]["adapterSize"] = 8
    repo = write_repo(tmp_path, [document])
    result = vertex_cli(repo, emulator, "import", _key(job), "--manifest", "manifests/numbers.yaml")
    assert result.code == 1, result.text
    assert "spec.baseModel: manifest 'gemini-2.5-pro', live 'gemini-2.5-flash'" in result.text


def test_a_hand_made_model_imported_under_a_chosen_id_lives_under_it(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    job = _hand_tuned(emulator, epochs=2, adapter="ADAPTER_SIZE_EIGHT")
    document = manifest("numbers", epochs=2, display_name="Hand tuned")
    document["spec"]["hyperparameters"]["adapterSize"] = 8
    del document["spec"]["description"]  # the hand-made Model has none
    repo = write_repo(tmp_path, [document])
    result = vertex_cli(repo, emulator, "import", _model_name(job), "--manifest", "manifests/numbers.yaml")
    assert result.code == 0, result.text
    assert f"Imported vertex/numbers ({_model_name(job)} is now numbers)" in result.text
    model = requests.get(f"{emulator.url}/v1/{_model_name(job)}", timeout=10).json()
    assert model["labels"]["reconciler-id"] == "numbers" and model["labels"]["team"] == "ml"
    plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert plan.code == 0, plan.text
    assert _key(job) not in plan.text
    status = vertex_cli(repo, emulator, "status", "--output", "json")
    assert "vertex/numbers" in status.text
    # A changed hyperparameter now re-tunes it, as any managed model.
    document["spec"]["hyperparameters"]["epochCount"] = 3
    write_manifest(repo, document)
    changed = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert changed.code == 2 and "hyperparameters" in changed.text, changed.text


def test_import_under_an_id_already_live_is_refused(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    job = _hand_tuned(emulator, epochs=2, adapter="ADAPTER_SIZE_FOUR")
    result = vertex_cli(repo, emulator, "import", _key(job), "--manifest", "manifests/numbers.yaml")
    assert result.code == 1, result.text
    assert "live under the id numbers already" in result.text


def test_export_writes_a_hand_made_models_hyperparameters_and_import_takes_it_back(
    tmp_path: Path, make_emulator: Any
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    job = _hand_tuned(emulator, epochs=2, adapter="ADAPTER_SIZE_EIGHT")
    repo = write_repo(tmp_path, [])
    out = tmp_path / "exported"
    assert vertex_cli(repo, emulator, "export", "--out", str(out)).code == 0
    exported = yaml.safe_load((out / f"{_key(job)}.yaml").read_text("utf-8"))
    assert exported["spec"]["hyperparameters"] == {"epochCount": 2, "adapterSize": 8, "learningRateMultiplier": 1.0}
    assert exported["spec"]["baseModel"] == "gemini-2.5-flash"
    (repo / "manifests" / f"{_key(job)}.yaml").write_text(yaml.safe_dump(exported), "utf-8")
    imported = vertex_cli(repo, emulator, "import", _key(job), "--manifest", f"manifests/{_key(job)}.yaml")
    assert imported.code == 0, imported.text
    assert "0 examples" not in imported.text and "trainingData: {unknown: true}" in imported.text
    assert [m for m in listed(emulator, "models") if m["labels"].get("reconciler-id") == _key(job)]
