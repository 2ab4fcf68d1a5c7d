"""A repository for `backend: bedrock`'s pure parts: manifests and datasets on
disk, loaded with the Bedrock checks (the entry point is wired at merge, so the
checks are passed to the loader directly)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from reconciler.backends.bedrock.rules import checks
from reconciler.backends.bedrock.settings import BedrockSettings
from reconciler.loader import LoadResult, load
from reconciler.model.desired import DesiredModel

BLOCK = {
    "region": "us-east-1",
    "roleArn": "arn:aws:iam::123456789012:role/reconciler-customization",
    "datasets": "s3://my-bucket/reconciler/datasets",
    "outputs": "s3://my-bucket/reconciler/outputs",
}
NOVA = "amazon.nova-micro-v1:0:128k"


def settings(**changes: Any) -> BedrockSettings:
    return BedrockSettings.model_validate({**BLOCK, **changes})


def manifest(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": "TunedModel",
        "metadata": {"name": name},
        "spec": {"baseModel": NOVA, "trainingData": {"file": f"../datasets/{name}.jsonl"}, **spec},
    }


def pairs(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"text_input": f"question {i}", "output": f"answer {i}"} for i in range(start, start + count)]


def turns(*texts: str) -> dict[str, Any]:
    """A `contents` row: user and model turns alternating, starting with the user's."""
    roles = ("user", "model")
    return {"contents": [{"role": roles[i % 2], "parts": [{"text": text}]} for i, text in enumerate(texts)]}


def write_repo(root: Path, manifests: Iterable[Mapping[str, Any]], data: Mapping[str, list[dict[str, Any]]]) -> Path:
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "datasets").mkdir(exist_ok=True)
    for document in manifests:
        name = document["metadata"]["name"]
        (root / "manifests" / f"{name}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    for name, rows in data.items():
        (root / "datasets" / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    return root


def load_repo(root: Path, block: BedrockSettings | None = None) -> LoadResult:
    chosen = checks(block or settings())
    return load(root, cwd=root, checks_for=lambda _settings: chosen)


def errors(result: LoadResult) -> list[str]:
    return [str(problem) for problem in result.errors]


def line_of(root: Path, name: str, text: str) -> int:
    """The line of manifests/NAME.yaml that holds `text`."""
    rows = (root / "manifests" / f"{name}.yaml").read_text("utf-8").splitlines()
    return next(number for number, row in enumerate(rows, 1) if text in row)


def loaded(root: Path, block: BedrockSettings | None = None) -> dict[str, DesiredModel]:
    result = load_repo(root, block)
    assert result.desired is not None, errors(result)
    return result.desired.by_id()
