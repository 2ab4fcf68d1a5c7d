"""Custom model deployments (on-demand inference): CreateCustomModelDeployment
(202 `{customModelDeploymentArn}`), GetCustomModelDeployment,
ListCustomModelDeployments and DeleteCustomModelDeployment.

A deployment is Creating for one step of the clock, then Active (or Failed,
with the `deployment_failures` fault); with `step_seconds` 0 it is Active at
once. Only a custom model of a base model that allows on-demand deployment
(Amazon Nova) can be deployed. A retried create with its `clientRequestToken`
answers the same deployment. Delete removes it at once (the status enum has
no Deleting)."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.bedrock import catalog, errors, names, render, shapes
from reconciler.emulator.bedrock.listing import page
from reconciler.emulator.bedrock.resources import DEPLOYMENTS, MODELS, Bedrock, region_of, serialized
from reconciler.emulator.calls import AnswerLost, Call, Reply
from reconciler.emulator.store import Document

OPERATION = "CreateCustomModelDeployment"
CREATING, ACTIVE, FAILED = "Creating", "Active", "Failed"
DEPLOYMENT_IDENTIFIER = (
    r"(arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model-deployment/[a-z0-9]{12})"
    rf"|{names.MODEL_NAME}"
)
MODEL_ARN = (
    r"arn:aws(|-us-gov|-cn|-iso|-iso-b):bedrock:[a-z0-9-]{1,20}:[0-9]{12}:custom-model/(imported|[a-z0-9-]{1,63}"
    r"[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2})/[a-z0-9]{12}"
)


def status(deployment: Document, now: float) -> str:
    if now < deployment["ready_time"]:
        return CREATING
    return FAILED if deployment.get("failure_message") else ACTIVE


class DeploymentService:
    def __init__(self, bedrock: Bedrock) -> None:
        self.bedrock = bedrock

    @serialized
    def create_deployment(self, call: Call) -> Reply:
        body = shapes.parse(call.body, shapes.CREATE_DEPLOYMENT)
        shapes.check_text(body["modelArn"], shapes.Text(20, 1011, MODEL_ARN), "modelArn")
        region = region_of(call)
        self.bedrock.settle(call.now)
        token = body.get("clientRequestToken")
        earlier = self.bedrock.made_by(region, OPERATION, token)
        if earlier is not None:
            return 202, {"customModelDeploymentArn": earlier}
        model = self.bedrock.find(MODELS, region, body["modelArn"])
        if model is None:  # [infer] the text
            raise errors.not_found(f"Could not find the custom model {body['modelArn'][:200]}.")
        base = catalog.MODELS.get(model["base_model"])
        if base is None or not base.on_demand:  # [infer] the text
            raise errors.validation(
                f"Custom models of {model['base_model']} can't be deployed for on-demand inference; "
                "use Provisioned Throughput."
            )
        name = body["modelDeploymentName"]
        if self.bedrock.store.get_document(DEPLOYMENTS, names.key(region, name)) is not None:  # [infer]
            raise errors.validation(f"A custom model deployment named {name} already exists.")
        tags = body.get("tags") or []
        self.bedrock.check_tag_count(tags, name)
        deployment = {
            "key": names.key(region, name),
            "name": name,
            "arn": names.deployment_arn(region, names.new_id(self.bedrock.ids)),
            "region": region,
            "model_arn": model["arn"],
            "description": body.get("description", ""),
            "tags": tags,
            "create_time": call.now,
            "ready_time": call.now + self.bedrock.tuning.step_seconds,
            "failure_message": (  # [infer] the text
                "The deployment failed. Delete it and create it again."
                if self.bedrock.faults.take("deployment_failures")
                else ""
            ),
        }
        self.bedrock.save(DEPLOYMENTS, deployment)
        self.bedrock.remember(region, OPERATION, token, deployment["arn"])
        if self.bedrock.faults.take("deployment_creates_lost"):
            raise AnswerLost
        return 202, {"customModelDeploymentArn": deployment["arn"]}

    def get_deployment(self, call: Call, deployment_identifier: str) -> Reply:
        deployment = self._deployment(call, deployment_identifier)
        return 200, render.deployment(deployment, status(deployment, call.now))

    def list_deployments(self, call: Call) -> Reply:
        query = call.query
        wanted = query.get("statusEquals")
        if wanted is not None:
            shapes.check_text(wanted, shapes.Text(enum=(CREATING, ACTIVE, FAILED)), "statusEquals")
        contains = query.get("nameContains")
        model_arn = query.get("modelArnEquals")

        def keep(deployment: Document) -> bool:
            return (
                (contains is None or contains in deployment["name"])
                and (wanted is None or status(deployment, call.now) == wanted)
                and (model_arn is None or deployment["model_arn"] == model_arn)
            )

        found, token = page(
            self.bedrock.all(DEPLOYMENTS, region_of(call)), query, keep, time_names=("createdAfter", "createdBefore")
        )
        body: dict[str, Any] = {
            "modelDeploymentSummaries": [render.deployment_summary(d, status(d, call.now)) for d in found]
        }
        if token:
            body["nextToken"] = token
        return 200, body

    @serialized
    def delete_deployment(self, call: Call, deployment_identifier: str) -> Reply:
        self.bedrock.remove(DEPLOYMENTS, self._deployment(call, deployment_identifier))
        return 200, {}

    def _deployment(self, call: Call, identifier: str) -> Document:
        shapes.check_text(identifier, shapes.Text(1, 93, DEPLOYMENT_IDENTIFIER), "customModelDeploymentIdentifier")
        deployment = self.bedrock.find(DEPLOYMENTS, region_of(call), identifier)
        if deployment is None:  # [infer] the text
            raise errors.not_found(f"Could not find a custom model deployment named {identifier[:200]}.")
        return deployment
