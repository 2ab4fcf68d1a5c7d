"""Manifests written from live Bedrock custom models (`reconciler export`):
managed ones, and the account's other custom models (`model-<name>`).
Training data never comes back: `trainingData: {unknown: true}`."""

from __future__ import annotations

from typing import Any

from reconciler.model.live import LiveModel
from reconciler.model.manifest import API_VERSION, DISPLAY_NAME_MAX, KIND


def manifest_for(live: LiveModel) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if live.fields.get("spec.displayName"):
        spec["displayName"] = str(live.fields["spec.displayName"])[:DISPLAY_NAME_MAX]
    if live.fields.get("spec.description"):
        spec["description"] = live.fields["spec.description"]
    spec["sourceModel" if live.source_key else "baseModel"] = live.source
    spec["trainingData"] = {"unknown": True}
    if live.hyperparameters:
        spec["hyperparameters"] = dict(live.hyperparameters)
    ownership = live.ownership
    if ownership is not None and (ownership.protect or ownership.orphan):
        spec["lifecycle"] = {
            "preventDestroy": ownership.protect,
            "deletionPolicy": "Orphan" if ownership.orphan else "Delete",
        }
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": live.key}, "spec": spec}
