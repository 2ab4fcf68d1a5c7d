"""Request bodies of the Gemini `tunedModels` API, built from a manifest."""

from __future__ import annotations

from typing import Any

from reconciler.backends.gemini.names import ADDRESS_TEMPLATE
from reconciler.backends.gemini.trailer import UNKEYED, Marker
from reconciler.loader import read_examples
from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import gated
from reconciler.plan.types import PermissionChange


def generation_fields(model: DesiredModel) -> dict[str, Any]:
    generation = model.manifest.spec.generation
    fields = {"temperature": generation.temperature, "topP": generation.top_p, "topK": generation.top_k}
    return {key: value for key, value in fields.items() if value is not None}


def create_body(model: DesiredModel, marker: Marker = UNKEYED) -> dict[str, Any]:
    """The TunedModel a create sends: everything the manifest says, plus the
    trailer (`untested` until its smoke tests, if any, have passed), not yet
    bound to a createTime: the backend binds it once the create has answered."""
    spec = model.manifest.spec
    examples = [{"textInput": example.text_input, "output": example.output} for example in read_examples(model)]
    body: dict[str, Any] = {
        "description": marker.description(model, name_of(model), untested=gated(model)),
        "tuningTask": {
            "hyperparameters": spec.hyperparameters.as_sent(),
            "trainingData": {"examples": {"examples": examples}},
        },
        **generation_fields(model),
    }
    if spec.display_name:
        body["displayName"] = spec.display_name
    if spec.source_model:
        body["tunedModelSource"] = {"tunedModel": spec.source_model}
    else:
        body["baseModel"] = spec.base_model
    return body


def update_body(
    model: DesiredModel,
    update_mask: tuple[str, ...],
    marker: Marker = UNKEYED,
    defaults: dict[str, Any] | None = None,
    *,
    untested: bool = False,
    created: str = "",
) -> dict[str, Any]:
    """The fields of a PATCH named by its mask, with their desired values: the
    manifest's, or for a generation field it leaves out, the base model's
    default (`defaults`, by API field name), sent explicitly. The trailer binds
    to `created`, the createTime of the model the plan was made on."""
    spec = model.manifest.spec
    values: dict[str, Any] = {
        "displayName": spec.display_name or "",
        "description": marker.description(model, name_of(model), untested=untested, created=created),
        **(defaults or {}),
        **generation_fields(model),
    }
    return {path: values[path] for path in update_mask if path in values}


def name_of(model: DesiredModel) -> str:
    return ADDRESS_TEMPLATE.format(key=model.id)


def permission_body(grant: PermissionChange) -> dict[str, Any]:
    body = {"granteeType": grant.grantee_type, "role": grant.role_after or ""}
    if grant.email_address:
        body["emailAddress"] = grant.email_address
    return body
