"""What every backend must do with ownership markers, whatever its marker is
(the Gemini description trailer, Vertex labels): one case, run on each backend
through the CLI against the emulator. A later backend adds its Surface here.

- A marker copied onto a model the reconciler did not make never makes it
  managed: it is never deleted, even when prune would delete the id it copies.
- With RECONCILER_OWNERSHIP_KEY set, a valid unsigned marker (anyone can write
  one: the algorithm is public) is never trusted for anything destructive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
import requests

from reconciler.backends.gemini.trailer import UNKEYED
from reconciler.backends.vertex.labels import LabelMarker, model_scope
from reconciler.emulator import EmulatorServer
from reconciler.loader import load
from reconciler.model.ownership import ownership_for
from tests.backends.vertex import helpers as vertex
from tests.integration import helpers_apply as gemini
from tests.integration.helpers_apply import CliResult, wait_until

KEY = {"RECONCILER_OWNERSHIP_KEY": "conformance-" + "k" * 24}


class Surface(Protocol):
    def repo(self, root: Path, ids: list[str]) -> Path: ...

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult: ...

    def names(self, emulator: EmulatorServer) -> set[str]:
        """Every tuned model live, by resource name."""

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        """A hand-made model carrying a copy of `key`'s marker; its name."""

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        """A hand-made model carrying a valid unsigned marker for the manifest `key`."""


@dataclass
class Gemini:
    def repo(self, root: Path, ids: list[str]) -> Path:
        return gemini.write_repo(root, [gemini.manifest(i) for i in ids])

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
        return gemini.run_cli(repo, emulator, *args, **env)

    def names(self, emulator: EmulatorServer) -> set[str]:
        return set(gemini.live_models(emulator))

    def _hand_made(self, emulator: EmulatorServer, name: str, description: str) -> str:
        body = {
            "baseModel": "models/gemini-1.5-flash-001-tuning",
            "description": description,
            "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}] * 20}}},
        }
        requests.post(
            f"{emulator.url}/v1beta/tunedModels", params={"tunedModelId": name}, json=body, timeout=10
        ).raise_for_status()
        wait_until(lambda: gemini.live_models(emulator)[name]["state"] == "ACTIVE", "the hand-made model")
        return name

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        return self._hand_made(emulator, "stranger", gemini.live_models(emulator)[key]["description"])

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        name = self._hand_made(emulator, "forged", "")
        live = gemini.live_models(emulator)[name]
        model = desired(repo, key)
        description = UNKEYED.description(model, f"tunedModels/{name}", created=live["createTime"])
        requests.patch(
            f"{emulator.url}/v1beta/tunedModels/{name}",
            params={"updateMask": "description"},
            json={"description": description},
            timeout=10,
        ).raise_for_status()
        return name


@dataclass
class Vertex:
    def repo(self, root: Path, ids: list[str]) -> Path:
        return vertex.write_repo(root, [vertex.manifest(i) for i in ids])

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
        return vertex.vertex_cli(repo, emulator, *args, **env)

    def names(self, emulator: EmulatorServer) -> set[str]:
        return {m["name"].partition("@")[0] for m in vertex.listed(emulator, "models")}

    def _hand_made(self, emulator: EmulatorServer, display: str) -> dict[str, Any]:
        dataset = vertex.listed(emulator, "tuningJobs")[0]["supervisedTuningSpec"]["trainingDatasetUri"]
        job = {
            "baseModel": vertex.BASE_MODEL,
            "tunedModelDisplayName": display,
            "supervisedTuningSpec": {"trainingDatasetUri": dataset},
        }
        response = requests.post(f"{emulator.url}/{vertex.PARENT}/tuningJobs", json=job, timeout=10)
        response.raise_for_status()
        made = response.json()
        wait_until(lambda: self._job(emulator, made["name"]).get("tunedModel", {}).get("model"), "the hand-made job")
        model = self._job(emulator, made["name"])["tunedModel"]["model"]
        return dict(requests.get(f"{emulator.url}/v1/{model}", timeout=10).json())

    @staticmethod
    def _job(emulator: EmulatorServer, name: str) -> dict[str, Any]:
        return dict(requests.get(f"{emulator.url}/v1/{name}", timeout=10).json())

    def _set_labels(self, emulator: EmulatorServer, model: dict[str, Any], owned: dict[str, str]) -> str:
        name = model["name"].partition("@")[0]
        requests.patch(
            f"{emulator.url}/v1/{name}",
            params={"updateMask": "labels"},
            json={"labels": {**model.get("labels", {}), **owned}},
            timeout=10,
        ).raise_for_status()
        return name

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        ours = next(m for m in vertex.listed(emulator, "models") if m["labels"].get("reconciler-id") == key)
        copied = {k: v for k, v in ours["labels"].items() if k.startswith("reconciler-") or k == "managed-by"}
        return self._set_labels(emulator, self._hand_made(emulator, "stranger"), copied)

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        model = self._hand_made(emulator, "forged")
        labels = LabelMarker().labels(key, ownership_for(desired(repo, key)), model_scope(model))
        return self._set_labels(emulator, model, labels)


def desired(repo: Path, key: str) -> Any:
    result = load(repo, cwd=repo)
    assert result.desired is not None
    return result.desired.by_id()[key]


SURFACES = {"gemini": Gemini(), "vertex": Vertex()}


@pytest.fixture(params=sorted(SURFACES))
def surface(request: pytest.FixtureRequest) -> Surface:
    return SURFACES[request.param]  # type: ignore[return-value]


def test_a_copied_marker_never_gets_a_hand_made_model_deleted(
    surface: Surface, tmp_path: Path, make_emulator: Any
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = surface.repo(tmp_path, ["alpha", "beta"])
    assert surface.cli(repo, emulator, "apply", "--yes").code == 0
    stranger = surface.copy_marker(emulator, "alpha")
    assert surface.cli(repo, emulator, "plan", "--detailed-exitcode").code == 0  # nothing of alpha changed
    (repo / "manifests" / "alpha.yaml").unlink()  # prune deletes what alpha owns, and only that
    assert surface.cli(repo, emulator, "apply", "--yes", "--prune").code == 0
    assert stranger in surface.names(emulator)


def test_with_a_key_a_valid_unsigned_marker_is_never_destroyed(
    surface: Surface, tmp_path: Path, make_emulator: Any
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = surface.repo(tmp_path, ["alpha", "beta", "gamma"])
    assert surface.cli(repo, emulator, "apply", "--yes", **KEY).code == 0
    forged = surface.forge_unsigned(emulator, repo, "gamma")
    (repo / "manifests" / "gamma.yaml").unlink()  # prune would delete a model gamma truly owned
    applied = surface.cli(repo, emulator, "apply", "--yes", "--prune", **KEY)
    assert forged in surface.names(emulator), applied.text
