"""Desired and Observed built straight from the model types (no loader, no
emulator, no backend), from the short shapes the plan case files use.

The observed side is the neutral live state every backend decodes its API's
answers into (`reconciler.model.live`), never one API's JSON: which backend
read it is the business of tests/backends/. An observed entry is a live model:

- `created_from`: the manifest the reconciler made it from (an id, or an
  entry merged over that id's declared one). It gives the model's key, its
  ownership as `ownership_for` records it, what it was tuned from, the fields
  as the manifest set them over what a server fills in (`SERVER_FIELDS`), and
  the hyperparameters the server used (`SERVER_HYPERPARAMETERS` under the
  declared ones). Without it the model is unmanaged.
- `key`: the manifest id it is under (default: the one it was made from);
  `untested`, `legacy`: its ownership says so; `ownership_note`: why a marker
  on it was not trusted (without `legacy`: the model is unmanaged).
- `state`, `create_time`, `update_time`, `step`, `losses`, `source`,
  `defaults`: those `LiveModel` fields; `fields` and `hyperparameters` are
  merged over the created ones (null: the server returns none).
- `permissions`: its grants, as {role, grantee_type, email_address}.

A live model's address is the one the rules planned for give its key: what
each backend shows for a model under that key.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace
from typing import Any

from reconciler.model.desired import DatasetSource, DatasetSummary, Desired, DesiredModel
from reconciler.model.live import LiveModel, LivePermission, LiveState, Observed
from reconciler.model.manifest import API_VERSION, KIND, TunedModelManifest
from reconciler.model.ownership import ownership_for
from reconciler.model.settings import Settings
from reconciler.plan.rules import PlanRules

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
# What a server fills in when a manifest leaves them unset, and the
# hyperparameter defaults it echoes (so an undeclared field has a live value).
SERVER_FIELDS = {"spec.generation.temperature": 1.0, "spec.generation.topP": 0.95, "spec.generation.topK": 64}
SERVER_HYPERPARAMETERS = {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}
CREATE_TIME = "2024-05-01T10:00:00.123456Z"
# The generation fields by manifest path, for the values a manifest declares.
GENERATION = {
    "temperature": "spec.generation.temperature",
    "topP": "spec.generation.topP",
    "topK": "spec.generation.topK",
}


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


def created_model(model: DesiredModel, untested: bool = False) -> LiveModel:
    """The live model apply made from `model`, as a backend reads it back."""
    spec = model.manifest.spec
    declared = spec.generation.model_dump(by_alias=True, exclude_none=True)
    return LiveModel(
        key=model.id,
        address=model.id,
        ownership=ownership_for(model, untested=untested),
        source=spec.source,
        source_key=spec.source_id,
        base_model=spec.base_model or BASE_MODEL,
        customization=spec.customization.value,
        teacher_model=spec.teacher_model,
        fields={
            "spec.displayName": spec.display_name or "",
            "spec.description": spec.description,
            **SERVER_FIELDS,
            **{GENERATION[name]: value for name, value in declared.items()},
        },
        hyperparameters={**SERVER_HYPERPARAMETERS, **spec.hyperparameters.as_sent()},
        create_time=CREATE_TIME,
        update_time=CREATE_TIME,
    )


def made_from(item: dict[str, Any], desired_entries: dict[str, dict[str, Any]]) -> DesiredModel | None:
    """The manifest an observed entry's model was made from (`created_from`); None if none."""
    created_from = item.get("created_from")
    if isinstance(created_from, str):
        return desired_model(desired_entries[created_from])
    if isinstance(created_from, dict):
        return desired_model(merged(desired_entries.get(created_from["id"], {}), created_from))
    return None


def live_model(item: dict[str, Any], desired_entries: dict[str, dict[str, Any]], rules: PlanRules) -> LiveModel:
    manifest = made_from(item, desired_entries)
    created = None if manifest is None else created_model(manifest, bool(item.get("untested")))
    key = item.get("key") or (created.key if created else "")
    live = created or LiveModel(key=key, address=key, fields={"spec.displayName": "", "spec.description": ""})
    ownership = live.ownership
    if ownership is not None and item.get("legacy"):
        ownership = replace(ownership, legacy=True)
    elif "ownership_note" in item:  # a marker that was not trusted: unmanaged
        ownership = None
    source = item.get("source", live.source)
    return live.model_copy(
        update={
            "key": key,
            "address": rules.address(key),
            "ownership": ownership,
            "ownership_note": item.get("ownership_note"),
            "state": LiveState(item.get("state", live.state.value)),
            "source": source,
            "base_model": item.get("base_model", source if "source" in item else live.base_model),
            "fields": merged(live.fields, item.get("fields", {})),
            "hyperparameters": merged(live.hyperparameters, item.get("hyperparameters", {})),
            # What the backend read from the base model, by manifest path.
            "defaults": item.get("defaults", {}),
            "create_time": item.get("create_time", live.create_time),
            "update_time": item.get("update_time", live.update_time),
            "step": item.get("step", 0),
            "losses": tuple(item.get("losses", ())),
        }
    )


def live_permissions(model_id: str, grants: list[dict[str, Any]]) -> tuple[LivePermission, ...]:
    """The grants, named by the model they are on and their place among its grants."""
    return tuple(LivePermission(name=f"{model_id}/grants/{index}", **grant) for index, grant in enumerate(grants))


def observed_state(items: list[dict[str, Any]], desired_entries: list[dict[str, Any]], rules: PlanRules) -> Observed:
    by_id = {entry["id"]: entry for entry in desired_entries}
    models = [live_model(item, by_id, rules) for item in items]
    permissions = {
        model.id: live_permissions(model.id, item["permissions"])
        for model, item in zip(models, items, strict=True)
        if "permissions" in item
    }
    return Observed(models=tuple(models), permissions=permissions)
