"""Custom models: GetCustomModel, ListCustomModels and DeleteCustomModel. A
custom model exists once its job has Completed (`Bedrock.settle` makes it),
Active from then on; one a deployment serves cannot be deleted
(ConflictException) until the deployment is."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.bedrock import errors, names, render, shapes
from reconciler.emulator.bedrock.listing import page
from reconciler.emulator.bedrock.resources import DEPLOYMENTS, MODELS, Bedrock, region_of, serialized
from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.store import Document

MODEL_IDENTIFIER = (
    r"arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:(([0-9]{12}:custom-model/((imported)|([a-z0-9-]{1,63}[.]{1}"
    r"[a-z0-9-]{1,63}))(([:][a-z0-9-]{1,63}){0,2})?/[a-z0-9]{12})|(:foundation-model/([a-z0-9-]{1,63}[.]{1}"
    r"[a-z0-9-]{1,63}([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2})))|(([a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}"
    r"([.]?[a-z0-9-]{1,63})([:][a-z0-9-]{1,63}){0,2}))|(([0-9a-zA-Z][_-]?)+)"
)
MODEL_STATUSES = ("Active", "Creating", "Failed")


class CustomModelService:
    def __init__(self, bedrock: Bedrock) -> None:
        self.bedrock = bedrock

    def get_model(self, call: Call, model_identifier: str) -> Reply:
        return 200, render.custom_model(self._model(call, model_identifier))

    def list_models(self, call: Call) -> Reply:
        region = region_of(call)
        self.bedrock.settle(call.now)
        query = call.query
        contains = query.get("nameContains")
        if contains is not None:
            shapes.check_text(contains, shapes.Text(1, 63, names.MODEL_NAME), "nameContains")
        status = query.get("modelStatus")
        if status is not None:
            shapes.check_text(status, shapes.Text(enum=MODEL_STATUSES), "modelStatus")
        base_arn = query.get("baseModelArnEquals") or query.get("foundationModelArnEquals")
        owned = query.get("isOwned", "true").lower()

        def keep(model: Document) -> bool:
            return (
                (contains is None or contains in model["name"])
                and (status in (None, "Active"))
                and (base_arn is None or names.foundation_model_arn(region, model["base_model"]) == base_arn)
                and owned == "true"  # every model here is the account's own; none is shared with it
            )

        models, token = page(self.bedrock.all(MODELS, region), query, keep)
        body: dict[str, Any] = {"modelSummaries": [render.custom_model_summary(model) for model in models]}
        if token:
            body["nextToken"] = token
        return 200, body

    @serialized
    def delete_model(self, call: Call, model_identifier: str) -> Reply:
        model = self._model(call, model_identifier)
        serving = [d["name"] for d in self.bedrock.all(DEPLOYMENTS, model["region"]) if d["model_arn"] == model["arn"]]
        if serving:  # [infer] the text
            raise errors.conflict(
                f"The custom model {model['name']} is used by the custom model deployments {', '.join(serving)}. "
                "Delete them first."
            )
        self.bedrock.remove(MODELS, model)
        return 200, {}

    def _model(self, call: Call, identifier: str) -> Document:
        shapes.check_text(identifier, shapes.Text(1, 2048, MODEL_IDENTIFIER), "modelIdentifier")
        self.bedrock.settle(call.now)
        model = self.bedrock.find(MODELS, region_of(call), identifier)
        if model is None:  # [infer] the text
            raise errors.not_found(f"Could not find a custom model named {identifier[:200]}.")
        return model
