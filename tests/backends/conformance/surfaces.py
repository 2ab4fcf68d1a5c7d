"""What differs per backend, and only that: how to start its emulator, write a
repository for it, connect to it, tap its requests, count what it holds, and
reach under its ownership marker as a person (or an attacker) would. The cases
drive every backend through the `Backend` protocol alone; a new backend adds a
Surface here and an entry in SURFACES."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from reconciler.apply.backend import Backend
from reconciler.backends.gemini import GeminiBackend
from reconciler.backends.gemini.client import GeminiClient
from reconciler.backends.gemini.settings import GeminiSettings
from reconciler.backends.gemini.trailer import UNKEYED, Marker, strip_trailer
from reconciler.backends.vertex import VertexBackend
from reconciler.backends.vertex.client import VertexClient
from reconciler.backends.vertex.labels import LabelMarker, model_scope
from reconciler.backends.vertex.lock import Locks
from reconciler.client.auth import Anonymous
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.loader import load
from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import ownership_for
from reconciler.model.settings import Settings
from reconciler.model.signing import keys_from
from tests.backends.conformance.clock import VirtualClock
from tests.backends.conformance.taps import Hook, requests_tap
from tests.backends.vertex import helpers as vertex
from tests.integration import helpers_apply as gemini
from tests.integration.helpers_apply import CliResult, wait_until


class Held(Protocol):
    """A request the emulator holds (`EmulatorServer.hold`)."""

    def wait_arrived(self, count: int = 1, timeout: float = 10.0) -> None: ...

    def release(self) -> None: ...


class Surface(Protocol):
    name: str
    # Cases this backend fails, each a finding reported with its reason, by test
    # function name: run as xfail(strict=True), so a fix shows at once.
    known_failures: Mapping[str, str]

    def start(self, clock: VirtualClock | None = None, *, step_seconds: float = 0.0) -> EmulatorServer:
        """Its emulator, started and ready for a repository (the caller stops it)."""

    def reset(self, emulator: EmulatorServer) -> None:
        """Nothing live any more, as just started."""

    def repo(self, root: Path, ids: list[str]) -> Path:
        """A repository declaring these model ids (manifests, datasets, settings)."""

    def connect(self, emulator: EmulatorServer, settings: Settings, clock: VirtualClock, **env: str) -> Backend:
        """A backend on the emulator, as a new process would make it, whose every
        wait, retry and lock reads `clock`."""

    def tap(self, hook: Hook) -> AbstractContextManager[None]:
        """Call `hook` around every request the backend sends meanwhile."""

    def models(self, emulator: EmulatorServer) -> set[str]:
        """Every tuned model live, managed or not, by resource name."""

    def runs(self, emulator: EmulatorServer) -> set[str]:
        """Every tuning run ever started (the ones that cost money), by name."""

    def hold_create(self, emulator: EmulatorServer, *, answered: bool) -> Held:
        """Hold the next request that starts a tuning run: before the service
        sees it, or with `answered` once it has made the run."""

    def strip_marker(self, emulator: EmulatorServer, key: str) -> None:
        """Remove the ownership marker from `key`'s model by hand: it stays
        live under that id, unmanaged, for an adopt to take back."""

    # --- through the CLI: markers copied and forged ---------------------------------------

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult: ...

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        """A hand-made model carrying a copy of `key`'s marker; its name."""

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        """A hand-made model carrying a valid unsigned marker for the manifest `key`."""


def _started(clock: VirtualClock | None, step_seconds: float) -> EmulatorServer:
    options = EmulatorOptions(seed=0, step_seconds=step_seconds)
    if clock is None:
        return EmulatorServer(options).start()
    return EmulatorServer(options, clock=clock, sleep=clock.sleep).start()


def _retries(clock: VirtualClock) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock)


@dataclass
class Gemini:
    name: str = "gemini"
    known_failures: Mapping[str, str] = field(default_factory=dict)

    def start(self, clock: VirtualClock | None = None, *, step_seconds: float = 0.0) -> EmulatorServer:
        return _started(clock, step_seconds)

    def reset(self, emulator: EmulatorServer) -> None:
        _reset(emulator)

    def repo(self, root: Path, ids: list[str]) -> Path:
        return gemini.write_repo(root, [gemini.manifest(i) for i in ids])

    def connect(self, emulator: EmulatorServer, settings: Settings, clock: VirtualClock, **env: str) -> Backend:
        client = GeminiClient(
            endpoint=emulator.url,
            api_version=GeminiSettings.of(settings).api_version,
            credentials=Anonymous(),
            retry=_retries(clock),
        )
        return GeminiBackend(client, settings.concurrency, Marker(keys_from(env)))

    def tap(self, hook: Hook) -> AbstractContextManager[None]:
        return requests_tap(hook)

    def models(self, emulator: EmulatorServer) -> set[str]:
        return {m["name"] for m in _listed(f"{emulator.url}/v1beta/tunedModels", "tunedModels")}

    runs = models  # the Gemini API's tuned model is its run: one cannot outlive the other

    def hold_create(self, emulator: EmulatorServer, *, answered: bool) -> Held:
        return emulator.hold("POST", r"/tunedModels$", after=answered)

    def strip_marker(self, emulator: EmulatorServer, key: str) -> None:
        (model,) = [
            m for m in _listed(f"{emulator.url}/v1beta/tunedModels", "tunedModels") if m["name"].endswith(f"/{key}")
        ]
        description = strip_trailer(model["description"])
        _patch(f"{emulator.url}/v1beta/tunedModels/{key}", "description", {"description": description})

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
        return gemini.run_cli(repo, emulator, *args, **env)

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
        return f"tunedModels/{name}"

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        return self._hand_made(emulator, "stranger", gemini.live_models(emulator)[key]["description"])

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        name = self._hand_made(emulator, "forged", "")
        live = gemini.live_models(emulator)["forged"]
        description = UNKEYED.description(desired(repo, key), name, created=live["createTime"])
        _patch(f"{emulator.url}/v1beta/{name}", "description", {"description": description})
        return name


def _is_marker_label(key: str) -> bool:
    return key.startswith("reconciler-") or key == "managed-by"


@dataclass
class Vertex:
    name: str = "vertex"
    known_failures: Mapping[str, str] = field(default_factory=dict)

    def start(self, clock: VirtualClock | None = None, *, step_seconds: float = 0.0) -> EmulatorServer:
        emulator = _started(clock, step_seconds)
        self._seed(emulator)
        return emulator

    def reset(self, emulator: EmulatorServer) -> None:
        _reset(emulator)
        self._seed(emulator)

    @staticmethod
    def _seed(emulator: EmulatorServer) -> None:
        """A real project has its datasets bucket already; an emulator starts empty."""
        made = _SESSION.post(
            f"{emulator.url}/storage/v1/b", params={"project": vertex.PROJECT}, json={"name": vertex.BUCKET}, timeout=10
        )
        if made.status_code != 409:  # seeded by the emulator already
            made.raise_for_status()

    def repo(self, root: Path, ids: list[str]) -> Path:
        return vertex.write_repo(root, [vertex.manifest(i) for i in ids])

    def connect(self, emulator: EmulatorServer, settings: Settings, clock: VirtualClock, **env: str) -> Backend:
        where = VertexBackend.block_of(settings)
        client = VertexClient(
            emulator.url,
            emulator.url,
            where.project,
            where.location,
            api_version=where.api_version,
            credentials=Anonymous(),
            retry=_retries(clock),
        )
        locks = Locks(client, where.bucket, where.prefix, clock=clock, sleep=clock.sleep)
        return VertexBackend(client, where, marker=LabelMarker(keys_from(env)), locks=locks)

    def tap(self, hook: Hook) -> AbstractContextManager[None]:
        return requests_tap(hook)

    def models(self, emulator: EmulatorServer) -> set[str]:
        return {m["name"].partition("@")[0] for m in _listed(f"{emulator.url}/{vertex.PARENT}/models", "models")}

    def runs(self, emulator: EmulatorServer) -> set[str]:
        return {job["name"] for job in _listed(f"{emulator.url}/{vertex.PARENT}/tuningJobs", "tuningJobs")}

    def hold_create(self, emulator: EmulatorServer, *, answered: bool) -> Held:
        return emulator.hold("POST", r"/tuningJobs$", after=answered)

    def strip_marker(self, emulator: EmulatorServer, key: str) -> None:
        models = _listed(f"{emulator.url}/{vertex.PARENT}/models", "models")
        model = next(m for m in models if m["labels"].get("reconciler-id") == key)
        labels = {k: v for k, v in model["labels"].items() if not _is_marker_label(k)}
        _patch(f"{emulator.url}/v1/{model['name'].partition('@')[0]}", "labels", {"labels": labels})

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
        return vertex.vertex_cli(repo, emulator, *args, **env)

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
        _patch(f"{emulator.url}/v1/{name}", "labels", {"labels": {**model.get("labels", {}), **owned}})
        return str(name)

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        ours = next(m for m in vertex.listed(emulator, "models") if m["labels"].get("reconciler-id") == key)
        copied = {k: v for k, v in ours["labels"].items() if _is_marker_label(k)}
        return self._set_labels(emulator, self._hand_made(emulator, "stranger"), copied)

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        model = self._hand_made(emulator, "forged")
        labels = LabelMarker().labels(key, ownership_for(desired(repo, key)), model_scope(model))
        return self._set_labels(emulator, model, labels)


# The suite's own reads and writes under the backend: one session, so each is
# not a new connection.
_SESSION = requests.Session()


def _listed(url: str, kind: str) -> list[dict[str, Any]]:
    response = _SESSION.get(url, params={"pageSize": 1000}, timeout=10)
    response.raise_for_status()
    return list(response.json().get(kind) or [])


def _patch(url: str, mask: str, body: dict[str, Any]) -> None:
    _SESSION.patch(url, params={"updateMask": mask}, json=body, timeout=10).raise_for_status()


def _reset(emulator: EmulatorServer) -> None:
    _SESSION.post(f"{emulator.url}/_internal/reset", timeout=10).raise_for_status()


def desired(repo: Path, key: str) -> DesiredModel:
    result = load(repo, cwd=repo)
    assert result.desired is not None
    return result.desired.by_id()[key]


SURFACES: dict[str, Callable[[], Surface]] = {"gemini": Gemini, "vertex": Vertex}
