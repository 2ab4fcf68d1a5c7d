"""Helpers for the Vertex backend tests: a generated `backend: vertex`
repository, the CLI run against the emulator, and what the emulator holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import yaml

from reconciler.emulator import EmulatorServer
from tests.integration.helpers_apply import CliResult, run_cli

PROJECT, LOCATION, BUCKET = "my-project", "us-central1", "tuning-data"
PARENT = f"v1/projects/{PROJECT}/locations/{LOCATION}"
BASE_MODEL = "gemini-2.5-flash"
SETTINGS: dict[str, Any] = {
    "backend": "vertex",
    "vertex": {"project": PROJECT, "location": LOCATION, "datasets": f"gs://{BUCKET}/reconciler/datasets"},
    "manifests": "manifests",
    "prune": True,
    "maxDeletions": 5,
    "pollIntervalSeconds": 0.02,
}


def rows(count: int = 20, shift: int = 0) -> list[dict[str, str]]:
    return [{"text_input": str(n), "output": str(n + 1 + shift)} for n in range(count)]


def manifest(
    model_id: str,
    *,
    display_name: str | None = None,
    epochs: int = 2,
    source_model: str | None = None,
    smoke: tuple[tuple[str, str], ...] = (),
    deletion_policy: str = "Delete",
    **spec_extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "displayName": display_name or model_id,
        "description": f"The {model_id} model.",
        "trainingData": {"file": f"../datasets/{model_id}.jsonl"},
        "hyperparameters": {"epochCount": epochs, "adapterSize": 4},
        "generation": {"temperature": 0.2},
        "lifecycle": {"deletionPolicy": deletion_policy},
        **spec_extra,
    }
    if source_model:
        spec["sourceModel"] = source_model
    else:
        spec["baseModel"] = BASE_MODEL
    if smoke:
        spec["smokeTests"] = [{"input": given, "expect": {"equals": want}} for given, want in smoke]
    return {"apiVersion": "reconciler/v1", "kind": "TunedModel", "metadata": {"name": model_id}, "spec": spec}


def write_repo(root: Path, manifests: list[dict[str, Any]], **settings: Any) -> Path:
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "datasets").mkdir(exist_ok=True)
    (root / "reconciler.yaml").write_text(yaml.safe_dump({**SETTINGS, **settings}, sort_keys=False), "utf-8")
    for document in manifests:
        write_manifest(root, document)
    return root


def write_manifest(root: Path, document: dict[str, Any], shift: int = 0, reverse: bool = False) -> None:
    model_id = document["metadata"]["name"]
    (root / "manifests" / f"{model_id}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    data = rows(shift=shift)
    if reverse:
        data.reverse()
    (root / "datasets" / f"{model_id}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data), "utf-8")


def vertex_cli(repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
    """`reconciler ARGS` against the emulator's Vertex AI and Cloud Storage surfaces."""
    return run_cli(
        repo, emulator, *args, AIPLATFORM_EMULATOR_HOST=emulator.host_port, STORAGE_EMULATOR_HOST=emulator.url, **env
    )


def listed(emulator: EmulatorServer, kind: str) -> list[dict[str, Any]]:
    response = requests.get(f"{emulator.url}/{PARENT}/{kind}", params={"pageSize": 1000}, timeout=10)
    response.raise_for_status()
    return list(response.json().get(kind) or [])


def jobs_of(emulator: EmulatorServer, key: str) -> list[dict[str, Any]]:
    return [j for j in listed(emulator, "tuningJobs") if (j.get("labels") or {}).get("reconciler-id") == key]


def objects(emulator: EmulatorServer, prefix: str = "reconciler/datasets/") -> list[str]:
    response = requests.get(f"{emulator.url}/storage/v1/b/{BUCKET}/o", params={"prefix": prefix}, timeout=10)
    response.raise_for_status()
    return [item["name"] for item in response.json().get("items") or []]


def counts(emulator: EmulatorServer) -> dict[str, int]:
    response = requests.get(f"{emulator.url}/_internal/requests", timeout=10)
    response.raise_for_status()
    return dict(response.json()["counts"])


def reset_counts(emulator: EmulatorServer) -> None:
    requests.delete(f"{emulator.url}/_internal/requests", timeout=10).raise_for_status()


def vertex_faults(emulator: EmulatorServer, **faults: Any) -> None:
    requests.post(f"{emulator.url}/_internal/vertex/faults", json=faults, timeout=10).raise_for_status()


def model_names(emulator: EmulatorServer) -> set[str]:
    """Every tuned Model live, by name (without its version)."""
    return {m["name"].partition("@")[0] for m in listed(emulator, "models")}


def status_of(repo: Path, emulator: EmulatorServer, key: str, **env: str) -> dict[str, Any]:
    """One model's entry of `status --output json`."""
    result = vertex_cli(repo, emulator, "status", "--output", "json", **env)
    return dict(next(m for m in json.loads(result.out)["models"] if m["model_id"] == key))


def remove_endpoint(emulator: EmulatorServer, endpoint: str) -> None:
    """Undeploy everything from an endpoint and delete it, as someone would by hand."""
    body = requests.get(f"{emulator.url}/v1/{endpoint}", timeout=10).json()
    for deployed in body.get("deployedModels") or ():
        requests.post(
            f"{emulator.url}/v1/{endpoint}:undeployModel", json={"deployedModelId": deployed["id"]}, timeout=10
        ).raise_for_status()
    requests.delete(f"{emulator.url}/v1/{endpoint}", timeout=10).raise_for_status()
