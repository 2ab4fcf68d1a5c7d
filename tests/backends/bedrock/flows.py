"""Helpers for the Bedrock backend's tests: a `backend: bedrock` repository, a
backend connected to the test service, and a waiter whose every pause moves the
service's clock (no real sleep)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import Waiter
from reconciler.backends.bedrock import BedrockBackend
from reconciler.client.retry import RetryPolicy
from reconciler.model.desired import Desired
from tests.integration.helpers_apply import load_repo

ROLE = "arn:aws:iam::123456789012:role/reconciler-customization"
# Amazon Nova Micro: customized in us-east-1, with on-demand deployments.
BASE_MODEL = "amazon.nova-micro-v1:0:128k"
# A base model served through Provisioned Throughput only (no deployment is made).
PROVISIONED_MODEL = "amazon.titan-text-lite-v1:0:4k"
SMOKE = (("7", r"^\s*[0-9]+\s*$"),)  # a smoke test every test service passes
SETTINGS: dict[str, Any] = {
    "backend": "bedrock",
    "bedrock": {
        "region": "us-east-1",
        "roleArn": ROLE,
        "datasets": "s3://my-bucket/reconciler/datasets",
        "outputs": "s3://my-bucket/reconciler/outputs",
    },
    "manifests": "manifests",
    "prune": True,
    "maxDeletions": 5,
    "pollIntervalSeconds": 1,
}


def rows(count: int = 20, shift: int = 0) -> list[dict[str, str]]:
    return [{"text_input": str(n), "output": str(n + 1 + shift)} for n in range(count)]


def manifest(
    model_id: str,
    *,
    display_name: str | None = None,
    description: str | None = None,
    epochs: int = 2,
    source_model: str | None = None,
    smoke: tuple[tuple[str, str], ...] = (),
    **spec_extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "displayName": display_name or model_id,
        "description": f"The {model_id} model." if description is None else description,
        "trainingData": {"file": f"../datasets/{model_id}.jsonl"},
        "hyperparameters": {"epochCount": epochs, "learningRate": 0.00001},
        "generation": {"temperature": 0.2},
        **spec_extra,
    }
    if source_model:
        spec["sourceModel"] = source_model
    else:
        spec.setdefault("baseModel", BASE_MODEL)
    if smoke:
        # A regex: moto's stand-in answers what it is asked, the project's emulator
        # what its tuning learned (n -> n + 1); both answer a number.
        spec["smokeTests"] = [{"input": given, "expect": {"regex": want}} for given, want in smoke]
    return {"apiVersion": "reconciler/v1", "kind": "TunedModel", "metadata": {"name": model_id}, "spec": spec}


def cli_env(url: str) -> dict[str, str]:
    """What a CLI run needs to reach a served emulator: botocore's own endpoint
    variable, and dummy keys (no profile, no instance metadata)."""
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    }


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


def load(repo: Path) -> Desired:
    return load_repo(repo)


class Ticking:
    """A waiter's `stop` whose every pause is one tick of the service's clock,
    and a clock that moves by the pause: a wait takes no real time."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.now = 0.0
        self.pauses = 0

    def __call__(self) -> float:
        return self.now

    def is_set(self) -> bool:
        return False

    def set(self) -> None:
        pass

    def wait(self, seconds: float) -> bool:
        self.pauses += 1
        self.now += seconds
        self.service.tick()
        return False


def waiter(service: Any, *, timeout: float = 3600.0) -> Waiter:
    ticking = Ticking(service)
    return Waiter(
        interval=1.0,
        timeout=timeout,
        reporter=RecordingReporter(),
        stop=ticking,  # type: ignore[arg-type]
        clock=ticking,
    )


def no_sleep(_seconds: float) -> None:
    pass


def catalogued(base_model: str = BASE_MODEL) -> Any:
    """The catalogue's entry of a base model (what the datasets are written for)."""
    from reconciler.backends.bedrock.catalogue import entry

    return entry(base_model)


def connect(service: Any, desired: Desired, retry: RetryPolicy | None = None, **env: str) -> BedrockBackend:
    """A backend at the service, as `--emulator` connects, retrying without sleeping."""
    retry = retry or RetryPolicy(sleep=no_sleep, base_backoff=0.0)
    return BedrockBackend.connect(desired.settings, emulator=service.url, env=env, retry=retry)
