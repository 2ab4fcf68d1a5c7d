"""Helpers for running `reconciler plan` and `apply` against a test emulator.

- `write_repo` generates a repository (reconciler.yaml, manifests with inline
  examples) in a temporary folder; the project's own manifests are never used.
- `seed` puts the models of a repository straight into the emulator through its
  create handler, in-process: the same rules and records as an HTTP create, at
  a fraction of the cost, so 2,000 managed models take about a second.
- `run_cli` runs `reconciler ...` in this process and returns its exit code and
  output; `request_counts` reads the emulator's own count of API requests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.backends.gemini.requests import create_body
from reconciler.backends.gemini.trailer import UNKEYED
from reconciler.cli.main import main
from reconciler.emulator import EmulatorServer
from reconciler.emulator.calls import Call
from reconciler.emulator.wire import Enums, timestamp
from reconciler.loader import load
from reconciler.model.desired import Desired, DesiredModel
from tests.integration.helpers_apply import live_models, request_counts  # noqa: F401 (re-exported)

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
LIST_KEY = "GET /{version}/tunedModels"
BASE_MODEL_KEY = "GET /{version}/models"  # the list of base models (their generation defaults)
PERMISSIONS_KEY = "GET /{version}/tunedModels/{model_id}/permissions"
READER = "analyst@example.com"
EXAMPLES = 20  # the fewest the API accepts

_SETTINGS = """\
manifests: manifests
prune: {prune}
maxDeletions: 5
concurrency: 4
# The emulator tunes at once: no need for the default 5-second pause between polls.
pollIntervalSeconds: 0.01
"""

_MANIFEST = """\
apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: {model_id}
spec:
  displayName: {display_name}
  description: {description}
  {source}
  trainingData:
{training_data}
  hyperparameters: {{epochCount: 2, batchSize: 4, learningRate: 0.001}}
  generation: {{temperature: 0.5}}
"""

_PERMISSIONS = """\
  permissions:
    - {{role: READER, granteeType: USER, emailAddress: {email}}}
"""


def example_rows(model_id: str, count: int = EXAMPLES) -> list[dict[str, str]]:
    return [{"textInput": f"{model_id} {n}", "output": str(n + 1)} for n in range(count)]


def manifest_text(
    model_id: str,
    *,
    display_name: str | None = None,
    source_model: str = "",
    dataset_file: str = "",
    with_permissions: bool = False,
) -> str:
    """One TunedModel document: inline examples, or `dataset_file` (relative to the manifest)."""
    if dataset_file:
        training_data = f"    file: {dataset_file}"
    else:
        training_data = "    examples:\n" + "\n".join(f"      - {json.dumps(row)}" for row in example_rows(model_id))
    text = _MANIFEST.format(
        model_id=model_id,
        display_name=display_name or f"Model {model_id}",
        description=f"Test model {model_id}.",
        source=f"sourceModel: {source_model}" if source_model else f"baseModel: {BASE_MODEL}",
        training_data=training_data,
    )
    return text + (_PERMISSIONS.format(email=READER) if with_permissions else "")


def write_manifest(root: Path, model_id: str, **options: Any) -> Path:
    path = root / "manifests" / f"{model_id}.yaml"
    path.write_text(manifest_text(model_id, **options), encoding="utf-8")
    return path


def write_dataset(root: Path, model_id: str, rows: list[dict[str, str]]) -> str:
    """A JSON Lines dataset under datasets/; returns its path as a manifest names it."""
    folder = root / "datasets"
    folder.mkdir(exist_ok=True)
    (folder / f"{model_id}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return f"../datasets/{model_id}.jsonl"


def write_repo(root: Path, ids: Iterable[str], *, with_permissions: Iterable[str] = (), prune: bool = False) -> Path:
    """A repository at `root` declaring `ids`; those in `with_permissions` grant a reader."""
    granted = set(with_permissions)
    (root / "manifests").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(_SETTINGS.format(prune=str(prune).lower()), encoding="utf-8")
    for model_id in ids:
        write_manifest(root, model_id, with_permissions=model_id in granted)
    return root


def load_desired(root: Path) -> Desired:
    result = load(root)
    assert result.desired is not None, [str(p) for p in result.problems]
    return result.desired


def seed(server: EmulatorServer, models: Iterable[DesiredModel]) -> None:
    """Create `models` as apply would (same body, same id, the trailer bound to the
    createTime), without HTTP; ACTIVE at once when the emulator's step_seconds is 0.
    Permissions are not granted."""
    service = server.app.gemini.models
    for model in models:
        now = time.time()
        body = create_body(model)
        body["description"] = UNKEYED.description(
            model, f"tunedModels/{model.id}", untested=bool(model.manifest.spec.smoke_tests), created=timestamp(now)
        )
        call = Call(version="v1beta", body=body, query={"tunedModelId": model.id}, enums=Enums(), now=now)
        service.create_tuned_model(call)


def seed_unmanaged(server: EmulatorServer, model_id: str) -> None:
    """A live model the reconciler did not create: no trailer in its description."""
    body = {
        "displayName": "Made by hand",
        "description": "Not ours.",
        "baseModel": BASE_MODEL,
        "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}]}}},
    }
    call = Call(version="v1beta", body=body, query={"tunedModelId": model_id}, enums=Enums(), now=time.time())
    server.app.gemini.models.create_tuned_model(call)


def reset_request_counts(server: EmulatorServer) -> None:
    requests.delete(f"{server.url}/_internal/requests", timeout=10).raise_for_status()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> Result:
    """`reconciler ARGS` in this process (point it at an emulator through the environment)."""
    capsys.readouterr()  # drop anything printed before
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return Result(int(exit_info.value.code or 0), captured.out, captured.err)
