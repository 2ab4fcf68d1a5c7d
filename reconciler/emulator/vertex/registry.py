"""models, endpoints, their long-running operations, and generateContent on a
tuned endpoint. Endpoint creates, deploys, undeploys and deletes are
operations in progress for one step of the clock (or the operation_seconds
fault), ending in an error when the operation_errors fault says so."""

from __future__ import annotations

import math
import re
from typing import Any

from reconciler.emulator import inference
from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.errors import already_exists, failed_precondition, invalid_argument, not_found
from reconciler.emulator.paging import encode_token, page_body, page_of_documents, page_request
from reconciler.emulator.records import Example
from reconciler.emulator.schema import parse
from reconciler.emulator.vertex import render
from reconciler.emulator.vertex.filters import compile_filter
from reconciler.emulator.vertex.names import (
    CHOSEN_DEPLOYED_ID,
    CHOSEN_ENDPOINT_ID,
    Parent,
    check_endpoint_id,
    check_id,
    new_id,
    parent_of,
    parse_name,
)
from reconciler.emulator.vertex.resources import (
    ENDPOINTS,
    MODELS,
    OPERATIONS,
    Vertex,
    check_labels,
    missing,
    serialized,
)
from reconciler.emulator.vertex.schema import (
    DEPLOY_MODEL,
    ENDPOINT,
    GENERATE,
    MERGE_VERSION_ALIASES,
    MODEL,
    UNDEPLOY_MODEL,
)
from reconciler.emulator.wire import timestamp

Document = dict[str, Any]
MODEL_FIELDS = ("displayName", "description", "labels")  # a Model (no @version) PATCH
VERSION_FIELDS = ("versionDescription", "labels")  # a version (@N) PATCH
EITHER_FIELDS = ("defaultCheckpointId",)  # the addressed (or default) version's
ENDPOINT_FIELDS = ("displayName", "description", "labels")
OUTPUT_ONLY = frozenset(
    {
        "name",
        "etag",
        "versionId",
        "versionAliases",
        "versionCreateTime",
        "versionUpdateTime",
        "createTime",
        "updateTime",
        "deployedModels",
        "modelSourceInfo",
        "checkpoints",
        "trafficSplit",
        "supportedDeploymentResourcesTypes",
        "baseModelSource",
    }
)
MODEL_FILTER_FIELDS = {
    "display_name": lambda m: m["display_name"],
    "displayName": lambda m: m["display_name"],
    "model": lambda m: m["id"],
    "base_model_name": lambda m: m["versions"][0]["base_model"],
    "baseModelName": lambda m: m["versions"][0]["base_model"],
}
ENDPOINT_FILTER_FIELDS = {
    "display_name": lambda e: e["display_name"],
    "displayName": lambda e: e["display_name"],
    "endpoint": lambda e: e["id"],
}
MAX_DISPLAY_NAME = 128
VERSION_ALIAS = re.compile(r"[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]")  # from the Model proto
MALFORMED_MODEL = (
    "The Model name {name} is malformed and it should be in form of "
    "projects/{{project}}/locations/{{location}}/publishers/google/models/{{model}}"
)


class RegistryService:
    def __init__(self, vertex: Vertex) -> None:
        self.vertex = vertex

    # --- models --------------------------------------------------------------------------

    def get_model(self, call: Call, project: str, location: str, model_id: str) -> Reply:
        model, version = self._model_version(call, project, location, model_id)
        return 200, render.model(model, version, call.enums)

    def list_models(self, call: Call, project: str, location: str) -> Reply:
        where = self._parent(call, project, location)
        page = page_request(call.query, default_size=100, max_size=1000)  # [infer] sizes
        self.vertex.faults.refuse_label_filter(page.filter)
        matches = compile_filter(page.filter, MODEL_FILTER_FIELDS, lambda m: m["labels"])
        models, next_token = page_of_documents(
            self.vertex.store, MODELS, page, lambda m: m["parent"] == vars(where) and matches(m)
        )
        rendered = [render.model(m, _default_version(m), call.enums) for m in models]
        return 200, page_body("models", rendered, next_token)

    def list_model_versions(self, call: Call, project: str, location: str, model_id: str) -> Reply:
        model, _ = self._model_version(call, project, location, model_id)
        page = page_request(call.query, default_size=100, max_size=1000)
        versions = model["versions"][page.position : page.position + page.size]
        more = page.position + page.size < len(model["versions"])
        token = encode_token(page.position + page.size, page.filter) if more else ""
        rendered = [render.model(model, version, call.enums) for version in versions]
        return 200, page_body("models", rendered, token)

    @serialized
    def update_model(self, call: Call, project: str, location: str, model_id: str) -> Reply:
        body = parse(call.body, MODEL, "model")
        model, version = self._model_version(call, project, location, model_id)
        if self.vertex.faults.take("model_changes_before_patch"):
            model["update_time"] = call.now + 1e-6  # someone else's change, just before this one
            self.vertex.save(MODELS, model)
        _check_etag(body, model, render.parent(model).child("models", model["id"]))
        on_version = "@" in model_id and not model_id.endswith("@-")
        paths = _update_paths(
            call.query.get("updateMask"), body, MODEL_FIELDS + VERSION_FIELDS + EITHER_FIELDS, "model"
        )
        allowed = VERSION_FIELDS + EITHER_FIELDS if on_version else MODEL_FIELDS + EITHER_FIELDS
        wrong = [path for path in paths if path not in allowed]
        if wrong:
            # UpdateModel's rule: a version name takes version fields, a model name model fields.
            kind = "model version" if on_version else "model"
            raise failed_precondition(f"Field {wrong[0]} cannot be updated on a {kind}: {model_id[:100]}.")
        for path in paths:
            _set_model_field(model, version, path, body.get(path))
        version["update_time"] = model["update_time"] = call.now
        self.vertex.save(MODELS, model)
        return 200, render.model(model, version, call.enums)

    @serialized
    def merge_version_aliases(self, call: Call, project: str, location: str, model_id: str) -> Reply:
        """Add aliases to a version (`live`) or remove them (`-live`); an alias added here
        leaves the version that had it [infer]; `default` can be moved, never removed."""
        request = parse(call.body, MERGE_VERSION_ALIASES)
        model, version = self._model_version(call, project, location, model_id)
        changes = request.get("versionAliases", [])
        if not changes:
            raise invalid_argument("version_aliases is required.", "version_aliases")
        for change in changes:
            alias = change.removeprefix("-")
            if not VERSION_ALIAS.fullmatch(alias) or (change.startswith("-") and alias == "default"):
                raise invalid_argument(f"Invalid version alias change: {change[:130]!r}.", "version_aliases")
            if change.startswith("-"):
                version["aliases"] = [a for a in version["aliases"] if a != alias]
                continue
            for other in model["versions"]:
                other["aliases"] = [a for a in other["aliases"] if a != alias]
            version["aliases"].append(alias)
        version["update_time"] = call.now
        self.vertex.save(MODELS, model)
        return 200, render.model(model, version, call.enums)

    @serialized
    def delete_model(self, call: Call, project: str, location: str, model_id: str) -> Reply:
        if "@" in model_id:
            raise invalid_argument(
                "DeleteModel deletes every version: name the model without @version, or use :deleteVersion.", "name"
            )
        model, _ = self._model_version(call, project, location, model_id)
        name = render.parent(model).child("models", model["id"])
        releasing = self.vertex.faults.take("model_delete_refusals")
        if model["deployed"] or model["delete_refusals"] > 0 or releasing:
            if not model["deployed"] and not releasing:
                model["delete_refusals"] -= 1
                self.vertex.save(MODELS, model)
            endpoints = ", ".join(ref["endpoint"] for ref in model["deployed"])
            # [infer] wording; FAILED_PRECONDITION as python-aiplatform#2807 records
            raise failed_precondition(
                f"The model {name} is deployed or being deployed at the following endpoints: "
                f"{endpoints or '(an undeployment is still being released)'}. Undeploy it "
                "before deleting it."
            )
        operation = self.vertex.operation(name, call.version, "DeleteOperationMetadata", "Empty", call.now)
        self.vertex.remove_when_done(MODELS, model, operation)
        return 200, render.operation(operation, call.now)

    def generate_on_model(self, call: Call, project: str, location: str, model_id: str) -> Reply:
        parse(call.body, GENERATE)
        name = f"projects/{project}/locations/{location}/models/{model_id}"
        raise invalid_argument(MALFORMED_MODEL.format(name=name[:300]))  # python-genai#1679

    def _model_version(self, call: Call, project: str, location: str, model_id: str) -> tuple[Document, Document]:
        return self._find_version(self._parent(call, project, location), model_id)

    def _find_version(self, where: Parent, model_id: str) -> tuple[Document, Document]:
        """`{id}`, `{id}@{version}` or `{id}@{alias}` of this parent, or a 404."""
        bare, _, wanted = model_id.partition("@")
        check_id(bare, "model")
        model = self.vertex.find(MODELS, where, bare)
        if model is None:
            raise missing("model", where.child("models", model_id))
        if not wanted or wanted == "-":
            return model, _default_version(model)
        for version in model["versions"]:
            if wanted == version["version_id"] or wanted in version["aliases"]:
                return model, version
        raise missing("model", where.child("models", model_id))

    def _parent(self, call: Call, project: str, location: str) -> Parent:
        where = parent_of(project, location)
        self.vertex.settle(call.now)
        return where

    # --- endpoints -----------------------------------------------------------------------

    def get_endpoint(self, call: Call, project: str, location: str, endpoint_id: str) -> Reply:
        return 200, render.endpoint(self._endpoint(call, project, location, endpoint_id))

    def list_endpoints(self, call: Call, project: str, location: str) -> Reply:
        where = self._parent(call, project, location)
        page = page_request(call.query, default_size=100, max_size=1000)
        self.vertex.faults.refuse_label_filter(page.filter)
        matches = compile_filter(page.filter, ENDPOINT_FILTER_FIELDS, lambda e: e["labels"])
        endpoints, next_token = page_of_documents(
            self.vertex.store, ENDPOINTS, page, lambda e: e["parent"] == vars(where) and matches(e)
        )
        return 200, page_body("endpoints", [render.endpoint(e) for e in endpoints], next_token)

    @serialized
    def update_endpoint(self, call: Call, project: str, location: str, endpoint_id: str) -> Reply:
        body = parse(call.body, ENDPOINT, "endpoint")
        endpoint = self._endpoint(call, project, location, endpoint_id)
        _check_etag(body, endpoint, render.parent(endpoint).child("endpoints", endpoint["id"]))
        for path in _update_paths(call.query.get("updateMask"), body, ENDPOINT_FIELDS, "endpoint"):
            _set_common_field(endpoint, path, body.get(path), "endpoint")
        endpoint["update_time"] = call.now
        self.vertex.save(ENDPOINTS, endpoint)
        return 200, render.endpoint(endpoint)

    @serialized
    def delete_endpoint(self, call: Call, project: str, location: str, endpoint_id: str) -> Reply:
        endpoint = self._endpoint(call, project, location, endpoint_id)
        name = render.parent(endpoint).child("endpoints", endpoint["id"])
        if endpoint["deployed"]:
            # [infer] wording
            raise failed_precondition(
                f"Endpoint {name} has deployed models. Undeploy them before deleting the endpoint."
            )
        if self.vertex.faults.take("endpoint_delete_refusals"):
            raise failed_precondition(
                f"Endpoint {name} has deployed models being released. Try again later."
            )  # [infer] wording
        operation = self.vertex.operation(name, call.version, "DeleteOperationMetadata", "Empty", call.now)
        self.vertex.remove_when_done(ENDPOINTS, endpoint, operation)
        return 200, render.operation(operation, call.now)

    @serialized
    def create_endpoint(self, call: Call, project: str, location: str) -> Reply:
        """An empty Endpoint (no deployments, no traffic), made at once unless the
        operation ends in an error [infer], as an undeploy."""
        where = self._parent(call, project, location)
        body = parse(call.body, ENDPOINT, "endpoint")
        endpoint_id = self._new_endpoint_id(where, call.query.get("endpointId"))
        endpoint: Document = {
            "id": endpoint_id,
            "parent": vars(where),
            "create_time": call.now,
            "update_time": call.now,
            "description": body.get("description") or "",
            "labels": check_labels(body.get("labels"), "endpoint.labels"),
            "deployed": [],
            "traffic_split": {},
        }
        _set_common_field(endpoint, "displayName", body.get("displayName"), "endpoint")
        name = where.child("endpoints", endpoint_id)
        operation = self.vertex.operation(
            name,
            call.version,
            "CreateEndpointOperationMetadata",
            "Endpoint",
            call.now,
            response=render.endpoint(endpoint),
        )
        if not operation.get("error"):
            self.vertex.save(ENDPOINTS, endpoint)
        return 200, render.operation(operation, call.now)

    def _new_endpoint_id(self, where: Parent, chosen: str | None) -> str:
        if chosen is None:
            return new_id(self.vertex.ids)
        if not CHOSEN_ENDPOINT_ID.fullmatch(chosen):
            raise invalid_argument(
                f"endpoint_id {chosen[:70]!r} must be a lowercase letter then up to 62 letters, digits "
                "or hyphens (not ending in a hyphen), or up to 9 digits without a leading zero.",
                "endpoint_id",
            )
        if self.vertex.find(ENDPOINTS, where, chosen) is not None:
            raise already_exists(f'endpoint "{where.child("endpoints", chosen)}" already exists')  # [infer] wording
        return chosen

    @serialized
    def deploy_model(self, call: Call, project: str, location: str, endpoint_id: str) -> Reply:
        """A new DeployedModel of a Model version (the default one unless the name
        says `@version` or `@alias`) at one of its checkpoints; a non-empty
        `trafficSplit` replaces the endpoint's, "0" standing for the new
        deployment. Made at once unless the operation ends in an error [infer]."""
        request = parse(call.body, DEPLOY_MODEL)
        endpoint = self._endpoint(call, project, location, endpoint_id)
        name = render.parent(endpoint).child("endpoints", endpoint["id"])
        sent = request.get("deployedModel") or {}
        model, version = self._deployable(sent.get("model") or "")
        deployment = {
            "id": self._new_deployed_id(endpoint, name, sent.get("id") or ""),
            "model": render.parent(model).child("models", model["id"]),
            "model_version_id": version["version_id"],
            "checkpoint_id": _checkpoint(version, sent.get("checkpointId")),
            "display_name": sent.get("displayName") or model["display_name"],
            "create_time": call.now,
        }
        split = _split_after_deploy(endpoint, deployment["id"], request.get("trafficSplit"))
        operation = self.vertex.operation(
            name,
            call.version,
            "DeployModelOperationMetadata",
            "DeployModelResponse",
            call.now,
            response={"deployedModel": render.deployed_model(deployment)},
        )
        if not operation.get("error"):
            endpoint["deployed"].append(deployment)
            endpoint["traffic_split"] = endpoint["traffic_split"] if split is None else split
            endpoint["update_time"] = call.now
            self.vertex.save(ENDPOINTS, endpoint)
            reference = {"endpoint": name, "deployed_model_id": deployment["id"], "version_id": version["version_id"]}
            model["deployed"].append(reference)
            self.vertex.save(MODELS, model)
        return 200, render.operation(operation, call.now)

    def _deployable(self, model_name: str) -> tuple[Document, Document]:
        """The Model version `deployedModel.model` names, in any location."""
        if not model_name:
            raise invalid_argument("deployed_model.model is required.", "deployed_model.model")
        ref = parse_name(model_name, "models", "deployed_model.model")
        return self._find_version(ref.parent, f"{ref.resource_id}@{ref.version}" if ref.version else ref.resource_id)

    def _new_deployed_id(self, endpoint: Document, endpoint_name: str, chosen: str) -> str:
        if not chosen:
            return new_id(self.vertex.ids)
        if not CHOSEN_DEPLOYED_ID.fullmatch(chosen):
            raise invalid_argument("deployed_model.id must be 1 to 10 digits.", "deployed_model.id")
        if any(item["id"] == chosen for item in endpoint["deployed"]):
            # [infer] wording and code
            raise already_exists(f"Deployed model {chosen} already exists on endpoint {endpoint_name}.")
        return chosen

    @serialized
    def undeploy_model(self, call: Call, project: str, location: str, endpoint_id: str) -> Reply:
        request = parse(call.body, UNDEPLOY_MODEL)
        endpoint = self._endpoint(call, project, location, endpoint_id)
        name = render.parent(endpoint).child("endpoints", endpoint["id"])
        deployed_id = request.get("deployedModelId", "")
        target = next((d for d in endpoint["deployed"] if d["id"] == deployed_id), None)
        if target is None:
            raise not_found(f"Deployed model {deployed_id[:50]!r} not found on endpoint {name}.")
        split = _split_after_undeploy(endpoint, deployed_id, request.get("trafficSplit"))
        operation = self.vertex.operation(
            name, call.version, "UndeployModelOperationMetadata", "UndeployModelResponse", call.now
        )
        if not operation.get("error"):  # [infer] made at once, even while it is in progress
            endpoint["traffic_split"] = split
            endpoint["deployed"].remove(target)
            endpoint["update_time"] = call.now
            self.vertex.save(ENDPOINTS, endpoint)
            self._release(target, name)
        return 200, render.operation(operation, call.now)

    def _release(self, deployed: Document, endpoint_name: str) -> None:
        """The Model forgets the deployment; a fault may keep DeleteModel refused a while."""
        model_name = deployed["model"]
        number, location, model_id = model_name.split("/")[1::2]
        model = self.vertex.find(MODELS, Parent(number, location), model_id)
        if model is None:
            return
        model["deployed"] = [
            ref
            for ref in model["deployed"]
            if not (ref["endpoint"] == endpoint_name and ref["deployed_model_id"] == deployed["id"])
        ]
        model["delete_refusals"] = self.vertex.faults.delete_model_refusals
        self.vertex.save(MODELS, model)

    def generate_content(self, call: Call, project: str, location: str, endpoint_id: str) -> Reply:
        request = parse(call.body, GENERATE)
        where = self._parent(call, project, location)
        endpoint = self.vertex.find(ENDPOINTS, where, endpoint_id)
        name = where.child("endpoints", endpoint_id)
        if endpoint is None:
            raise not_found(f"Endpoint `{name[:300]}` not found.")  # python-genai#1706
        prompt = _last_user_text(request)
        model, version = self._serving(endpoint, name)
        examples = [Example(text, answer) for text, answer in version["examples"]]
        answer = inference.answer(examples, prompt)
        return 200, _generate_response(answer, prompt, model, version, call)

    def _serving(self, endpoint: Document, name: str) -> tuple[Document, Document]:
        """The deployment with the most traffic, and its Model version."""
        split = endpoint["traffic_split"]
        deployed = sorted(endpoint["deployed"], key=lambda d: -split.get(d["id"], 0))
        for item in deployed:
            number, location, model_id = item["model"].split("/")[1::2]
            model = self.vertex.find(MODELS, Parent(number, location), model_id)
            version = next(
                (v for v in (model or {}).get("versions", []) if v["version_id"] == item["model_version_id"]), None
            )
            if model is not None and version is not None:
                return model, version
        raise failed_precondition(f"Endpoint {name} has no deployed model to serve the request.")

    def _endpoint(self, call: Call, project: str, location: str, endpoint_id: str) -> Document:
        where = self._parent(call, project, location)
        check_endpoint_id(endpoint_id)
        endpoint = self.vertex.find(ENDPOINTS, where, endpoint_id)
        if endpoint is None:
            raise missing("endpoint", where.child("endpoints", endpoint_id))
        return endpoint

    # --- operations ----------------------------------------------------------------------

    def get_operation(
        self, call: Call, project: str, location: str, collection: str, resource_id: str, operation_id: str
    ) -> Reply:
        where = self._parent(call, project, location)
        name = f"{where.child(collection, resource_id)}/operations/{operation_id}"
        operation = self.vertex.store.get_document(OPERATIONS, name)
        if operation is None:
            raise missing("operation", name)
        return 200, render.operation(operation, call.now)


def _check_etag(body: Document, document: Document, name: str) -> None:
    """Optimistic concurrency: a PATCH carrying an etag that is not the resource's
    current one is refused 400 FAILED_PRECONDITION, as AIP-154 requires (the
    Model and Endpoint protos: "used to perform consistent read-modify-write
    updates"); without an etag the update is blind. [infer: the wording]"""
    sent = body.get("etag")
    if sent and sent != render.etag(document):
        raise failed_precondition(
            f"The etag {str(sent)[:64]!r} does not match the current etag of "
            f"{name}: it was changed after it was read. Read it again and retry."
        )


def _default_version(model: Document) -> Document:
    return next((v for v in model["versions"] if "default" in v["aliases"]), model["versions"][0])


def _update_paths(mask: str | None, body: Document, known: tuple[str, ...], message: str) -> list[str]:
    """The mask's paths (camel or snake), or without a mask the fields the body sets."""
    if not mask:
        return [name for name in body if name not in OUTPUT_ONLY]
    paths = []
    for raw in mask.split(","):
        head, *rest = raw.strip().split("_")
        path = head + "".join(word[:1].upper() + word[1:] for word in rest)
        if path not in known:
            raise invalid_argument(
                f'update_mask path "{raw.strip()[:100]}" is not a field of {message} that can be updated.',
                "update_mask",
            )
        paths.append(path)
    return paths


def _set_model_field(model: Document, version: Document, path: str, value: Any) -> None:
    if path == "versionDescription":
        version["description"] = value or ""
    elif path == "defaultCheckpointId":
        known = {point["checkpointId"] for point in version["checkpoints"]}
        if value not in known:
            raise invalid_argument(
                f"default_checkpoint_id {str(value)[:50]!r} is not a checkpoint of this model version.",
                "model.default_checkpoint_id",
            )
        version["default_checkpoint_id"] = value
    else:
        _set_common_field(model, path, value, "model")


def _set_common_field(document: Document, path: str, value: Any, message: str) -> None:
    if path == "displayName":
        if not value or len(value) > MAX_DISPLAY_NAME:
            raise invalid_argument(
                f"display_name is required and at most {MAX_DISPLAY_NAME} characters.", f"{message}.display_name"
            )
        document["display_name"] = value
    elif path == "description":
        document["description"] = value or ""
    elif path == "labels":
        document["labels"] = check_labels(value, f"{message}.labels")
    else:
        raise invalid_argument(f"Field {path} cannot be updated.", f"{message}.{path}")


def _split_after_undeploy(endpoint: Document, deployed_id: str, sent: Any) -> dict[str, int]:
    """UndeployModel's rule: a deployment with traffic goes only if the request's split
    takes its traffic away, or if it is the last one (the split is then empty)."""
    current: dict[str, int] = endpoint["traffic_split"]
    remaining = [d["id"] for d in endpoint["deployed"] if d["id"] != deployed_id]
    if not remaining:
        return {}
    if sent is None:
        if current.get(deployed_id, 0) > 0:
            raise failed_precondition(
                f"Deployed model {deployed_id} still receives traffic; send a traffic_split that takes it away."
            )
        return {key: value for key, value in current.items() if key != deployed_id}
    split = _percentages(sent)
    if sent.get(deployed_id) or set(split) - set(remaining) or sum(split.values()) != 100:
        raise invalid_argument("traffic_split must give 100 percent to the remaining deployed models.", "traffic_split")
    return split


def _split_after_deploy(endpoint: Document, deployed_id: str, sent: Any) -> dict[str, int] | None:
    """DeployModel's rule: a non-empty split replaces the endpoint's, "0" naming the
    new deployment, and adds up to 100 among its deployments; without one the
    endpoint's split stays (the new deployment gets no traffic). None: unchanged."""
    if not sent:
        return None
    known = {item["id"] for item in endpoint["deployed"]} | {"0"}
    split = {deployed_id if key == "0" else key: value for key, value in _percentages(sent).items()}
    if set(sent) - known or sum(split.values()) != 100:
        raise invalid_argument(
            'traffic_split must give 100 percent among the endpoint\'s deployed models and "0", the new one.',
            "traffic_split",
        )
    return split


def _percentages(sent: Any) -> dict[str, int]:
    """A traffic split as sent: deployed model ids to whole percentages; those at 0 dropped."""
    if not (
        isinstance(sent, dict) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in sent.values())
    ):
        raise invalid_argument("traffic_split must map deployed model ids to percentages.", "traffic_split")
    return {key: value for key, value in sent.items() if value}


def _checkpoint(version: Document, wanted: str | None) -> str:
    """The checkpoint a deployment serves: the one asked for, or the version's default."""
    if not wanted:
        return str(version["default_checkpoint_id"])
    if wanted not in {point["checkpointId"] for point in version["checkpoints"]}:
        raise invalid_argument(
            f"checkpoint_id {wanted[:50]!r} is not a checkpoint of this model version.",
            "deployed_model.checkpoint_id",
        )
    return wanted


def _last_user_text(request: Document) -> str:
    contents = request.get("contents", [])
    if not contents:
        raise invalid_argument("Unable to submit request because it has an empty contents field.", "contents")
    texts = [part.get("text", "") for part in contents[-1].get("parts", [])]
    return "".join(texts)


def _generate_response(answer: str, prompt: str, model: Document, version: Document, call: Call) -> Document:
    prompt_tokens = max(1, math.ceil(len(prompt) / 4))
    answer_tokens = max(1, math.ceil(len(answer) / 4))
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": answer}]},
                "finishReason": call.enums("VertexFinishReason", "STOP"),
            }
        ],
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": answer_tokens,
            "totalTokenCount": prompt_tokens + answer_tokens,
        },
        "modelVersion": f"{version['base_model']}",
        "createTime": timestamp(call.now),
        "responseId": f"emulator-{model['id']}-{version['version_id']}",
    }
