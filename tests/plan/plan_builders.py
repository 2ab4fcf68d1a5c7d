"""Desired and Observed built straight from the model types (no loader, no
emulator), from the short shapes the plan case files use."""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from reconciler.backends.gemini.live import live_model as decode_model
from reconciler.backends.gemini.live import live_permission
from reconciler.backends.gemini.trailer import UNKEYED
from reconciler.model.desired import DatasetSource, DatasetSummary, Desired, DesiredModel
from reconciler.model.live import LiveModel, LivePermission, Observed
from reconciler.model.manifest import API_VERSION, KIND, TunedModelManifest
from reconciler.model.settings import Settings

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
# What the server fills in when a manifest leaves them unset (recorded for
# gemini-1.5-flash-001-tuning), and the hyperparameter defaults it echoes.
SERVER_GENERATION = {"temperature": 1.0, "topP": 0.95, "topK": 64}
SERVER_HYPERPARAMETERS = {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}
CREATE_TIME = "2024-05-01T10:00:00.123456Z"


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` deep-merged over `base`; a None value deletes the key."""
    result = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def desired_model(entry: dict[str, Any]) -> DesiredModel:
    model_id = entry["id"]
    spec_override = entry.get("spec", {})
    spec: dict[str, Any] = {"trainingData": {"file": f"../datasets/{model_id}.jsonl"}}
    if "sourceModel" not in spec_override:
        spec["baseModel"] = BASE_MODEL
    manifest = TunedModelManifest.model_validate(
        {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": model_id},
            "spec": merged(spec, spec_override),
        }
    )
    dataset = {
        "examples": 100,
        "input_characters": 2000,
        "output_characters": 2000,
        "size_bytes": 6000,
        "digest": "sha256:" + hashlib.sha256(model_id.encode()).hexdigest(),
        **entry.get("dataset", {}),
    }
    return DesiredModel(
        manifest=manifest,
        file=entry.get("file", f"manifests/{model_id}.yaml"),
        line=entry.get("line", 1),
        dataset=DatasetSummary(**dataset),
        dataset_source=DatasetSource(),
    )


def desired_state(entries: list[dict[str, Any]], digest: str = "sha256:desired") -> Desired:
    return Desired(
        models=tuple(desired_model(e) for e in entries),
        settings=Settings(),
        root="/repo",
        digest=digest,
    )


def created_body(
    model: DesiredModel, name: str | None = None, untested: bool = False, created: str = CREATE_TIME
) -> dict[str, Any]:
    """The live model apply would have created from `model` (under `name`, by
    default its own) at `created`, as the API returns it."""
    spec = model.manifest.spec
    generation = spec.generation.model_dump(by_alias=True, exclude_none=True)
    name = name or f"tunedModels/{model.id}"
    body: dict[str, Any] = {
        "name": name,
        "description": UNKEYED.description(model, name, untested=untested, created=created),
        "state": "ACTIVE",
        "createTime": created,
        "updateTime": CREATE_TIME,
        "tuningTask": {"hyperparameters": {**SERVER_HYPERPARAMETERS, **spec.hyperparameters.as_sent()}},
        **SERVER_GENERATION,
        **generation,
    }
    if spec.display_name is not None:
        body["displayName"] = spec.display_name
    if spec.source_model:
        body["tunedModelSource"] = {"tunedModel": spec.source_model, "baseModel": BASE_MODEL}
    else:
        body["baseModel"] = spec.base_model
    return body


def live_model(item: dict[str, Any], desired_entries: dict[str, dict[str, Any]]) -> LiveModel:
    """`created_from`: the manifest (an id, or an entry over the declared one) the
    reconciler made the model from, marker included; `body`: API fields over it;
    `untested`: its smoke tests have not passed yet; `legacy`: its marker has no
    check value (written before check values existed)."""
    created_from = item.get("created_from")
    overrides = item.get("body", {})
    untested = bool(item.get("untested"))
    created = overrides.get("createTime", CREATE_TIME)  # the marker binds to the model's createTime
    if isinstance(created_from, str):
        body = created_body(desired_model(desired_entries[created_from]), overrides.get("name"), untested, created)
    elif isinstance(created_from, dict):
        base_entry = desired_entries.get(created_from["id"], {})
        body = created_body(desired_model(merged(base_entry, created_from)), overrides.get("name"), untested, created)
    else:
        body = {}
    if item.get("legacy"):  # neither a check value nor a createTime, as before check values
        body["description"] = re.sub(r"( at=\S+)? chk=[0-9a-f]{16}\]\Z", "]", body["description"])
    decoded = decode_model(merged(body, overrides))
    # What the backend read from the base model, by manifest path.
    return decoded.model_copy(update={"defaults": item.get("defaults", {})})


def live_permissions(model_id: str, grants: list[dict[str, Any]]) -> tuple[LivePermission, ...]:
    return tuple(
        live_permission({"name": f"tunedModels/{model_id}/permissions/p{index}", **grant})
        for index, grant in enumerate(grants)
    )


def observed_state(items: list[dict[str, Any]], desired_entries: list[dict[str, Any]]) -> Observed:
    by_id = {entry["id"]: entry for entry in desired_entries}
    models = [live_model(item, by_id) for item in items]
    permissions = {
        model.id: live_permissions(model.id, item["permissions"])
        for model, item in zip(models, items, strict=True)
        if "permissions" in item
    }
    return Observed(models=tuple(models), permissions=permissions)
