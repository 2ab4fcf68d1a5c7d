"""Manifests written from live Gemini tuned models (`reconciler export`).

What the API returns is written as it is; training data never comes back, so
it is written as `trainingData: {unknown: true}`: the first plan then imports
(unmanaged) or keeps (managed) the model, and never re-tunes it.
"""

from __future__ import annotations

from typing import Any

from reconciler.model.live import LiveModel, LivePermission
from reconciler.model.manifest import API_VERSION, KIND

HYPERPARAMETER_KEYS = ("epochCount", "batchSize", "learningRate", "learningRateMultiplier")
_GENERATION = {
    "temperature": "spec.generation.temperature",
    "topP": "spec.generation.topP",
    "topK": "spec.generation.topK",
}


def _hyperparameters(live: LiveModel) -> dict[str, Any]:
    values = {key: live.hyperparameters[key] for key in HYPERPARAMETER_KEYS if key in live.hyperparameters}
    if "learningRate" in values and "learningRateMultiplier" in values:
        del values["learningRate"]  # the API computed it from the multiplier that was sent
    return values


def _permissions(permissions: tuple[LivePermission, ...]) -> list[dict[str, str]]:
    grants = []
    for grant in permissions:
        if grant.role == "OWNER":
            continue  # ownership moves only by transferOwnership, never through a manifest
        entry = {"role": grant.role, "granteeType": grant.grantee_type}
        if grant.email_address:
            entry["emailAddress"] = grant.email_address
        grants.append(entry)
    return grants


def manifest_for(live: LiveModel, permissions: tuple[LivePermission, ...] = ()) -> dict[str, Any]:
    """A manifest describing a live model as the API returns it."""
    spec: dict[str, Any] = {}
    if live.fields.get("spec.displayName"):
        spec["displayName"] = live.fields["spec.displayName"]
    if live.fields.get("spec.description"):
        spec["description"] = live.fields["spec.description"]
    spec["sourceModel" if live.source_key else "baseModel"] = live.source
    spec["trainingData"] = {"unknown": True}
    hyperparameters = _hyperparameters(live)
    if hyperparameters:
        spec["hyperparameters"] = hyperparameters
    generation = {key: live.fields.get(path) for key, path in _GENERATION.items()}
    generation = {key: value for key, value in generation.items() if value is not None}
    if generation:
        spec["generation"] = generation
    grants = _permissions(permissions)
    if grants:
        spec["permissions"] = grants
    ownership = live.ownership
    if ownership is not None and (ownership.protect or ownership.orphan):
        spec["lifecycle"] = {
            "preventDestroy": ownership.protect,
            "deletionPolicy": "Orphan" if ownership.orphan else "Delete",
        }
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": live.key}, "spec": spec}
