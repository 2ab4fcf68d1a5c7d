"""Manifests written from live models (`reconciler export`), so an existing
account can move into git.

What the API returns is written as it is; training data never comes back, so
it is written as `trainingData: {unknown: true}`: the first plan then imports
(unmanaged) or keeps (managed) the model, and never re-tunes it.
"""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.model.live import LiveModel, LivePermission
from reconciler.model.manifest import API_VERSION, KIND
from reconciler.plan.ownership import parse_ownership, user_description

SCHEMA_LINE = "# yaml-language-server: $schema=../schema/tunedmodel.schema.json\n"
HYPERPARAMETER_KEYS = ("epochCount", "batchSize", "learningRate", "learningRateMultiplier")
HEADER = (
    "# Exported from the live model {name} by `reconciler export`.\n"
    "# The API never returns training data: `unknown: true` keeps the first plan from\n"
    "# re-tuning the model. Give a `file:` instead to re-tune it on known data.\n"
)


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
    if live.display_name:
        spec["displayName"] = live.display_name
    description = user_description(live.description)
    if description:
        spec["description"] = description
    if live.source_model:
        spec["sourceModel"] = live.source_model
    else:
        spec["baseModel"] = live.base_model
    spec["trainingData"] = {"unknown": True}
    hyperparameters = _hyperparameters(live)
    if hyperparameters:
        spec["hyperparameters"] = hyperparameters
    generation = {"temperature": live.temperature, "topP": live.top_p, "topK": live.top_k}
    generation = {key: value for key, value in generation.items() if value is not None}
    if generation:
        spec["generation"] = generation
    grants = _permissions(permissions)
    if grants:
        spec["permissions"] = grants
    ownership = parse_ownership(live.description)
    if ownership is not None and (ownership.protect or ownership.orphan):
        spec["lifecycle"] = {
            "preventDestroy": ownership.protect,
            "deletionPolicy": "Orphan" if ownership.orphan else "Delete",
        }
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": live.id}, "spec": spec}


def manifest_text(live: LiveModel, permissions: tuple[LivePermission, ...] = ()) -> str:
    body = yaml.safe_dump(manifest_for(live, permissions), sort_keys=False, allow_unicode=True)
    return SCHEMA_LINE + HEADER.format(name=live.name) + body
