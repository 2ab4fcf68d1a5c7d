"""Bedrock's answers in JSON, as the service model shapes them: members in
lowerCamelCase, members without a value left out, timestamps in ISO 8601 with
milliseconds (the model's `timestampFormat: iso8601`)."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.aws import ACCOUNT
from reconciler.emulator.bedrock import catalog, names
from reconciler.emulator.bedrock.timeline import (
    COMPLETED,
    Phase,
    training_loss,
    validation_loss,
)
from reconciler.emulator.store import Document
from reconciler.emulator.wire import timestamp

ACTIVE = "Active"


def iso(seconds: float) -> str:
    return timestamp(seconds)[:23] + "Z"


def job(found: Document, run: Phase) -> dict[str, Any]:
    """GetModelCustomizationJob's answer."""
    body: dict[str, Any] = {
        "jobArn": found["arn"],
        "jobName": found["name"],
        "outputModelName": found["custom_model_name"],
        "clientRequestToken": found.get("token"),
        "roleArn": found["role_arn"],
        "status": run.status,
        "statusDetails": _status_details(run),
        "failureMessage": found.get("failure_message") if run.status == "Failed" else None,
        "creationTime": iso(found["create_time"]),
        "lastModifiedTime": iso(run.last_modified or found["create_time"]),
        "endTime": iso(run.end_time) if run.end_time is not None else None,
        "baseModelArn": names.foundation_model_arn(found["region"], found["base_model"]),
        "hyperParameters": found["hyper_parameters"],
        "trainingDataConfig": found["training"],
        "validationDataConfig": found["validation"] or {"validators": []},
        "outputDataConfig": found["output"],
        "customizationType": found["customization_type"],
        "outputModelKmsKeyArn": found.get("kms_key") or None,
        "vpcConfig": found.get("vpc"),
        "customizationConfig": found.get("customization_config"),
    }
    if run.status == COMPLETED:
        body["outputModelArn"] = found["output_model_arn"]
    body.update(_metrics(run.epochs_done, found["validation"]))
    return _present(body)


def job_summary(found: Document, run: Phase) -> dict[str, Any]:
    body = {
        "jobArn": found["arn"],
        "baseModelArn": names.foundation_model_arn(found["region"], found["base_model"]),
        "jobName": found["name"],
        "status": run.status,
        "statusDetails": _status_details(run),
        "lastModifiedTime": iso(run.last_modified or found["create_time"]),
        "creationTime": iso(found["create_time"]),
        "endTime": iso(run.end_time) if run.end_time is not None else None,
        "customModelArn": found["output_model_arn"] if run.status == COMPLETED else None,
        "customModelName": found["custom_model_name"],
        "customizationType": found["customization_type"],
    }
    return _present(body)


def custom_model(found: Document) -> dict[str, Any]:
    """GetCustomModel's answer: a custom model exists once its job has Completed."""
    body: dict[str, Any] = {
        "modelArn": found["arn"],
        "modelName": found["name"],
        "jobName": found["job_name"],
        "jobArn": found["job_arn"],
        "baseModelArn": names.foundation_model_arn(found["region"], found["base_model"]),
        "customizationType": found["customization_type"],
        "modelKmsKeyArn": found.get("kms_key") or None,
        "hyperParameters": found["hyper_parameters"],
        "trainingDataConfig": found["training"],
        "validationDataConfig": found["validation"],
        "outputDataConfig": found["output"],
        "creationTime": iso(found["create_time"]),
        "customizationConfig": found.get("customization_config"),
        "modelStatus": ACTIVE,
    }
    body.update(_metrics(found["epochs_done"], found["validation"]))
    return _present(body)


def custom_model_summary(found: Document) -> dict[str, Any]:
    base = catalog.MODELS.get(found["base_model"])
    return {
        "modelArn": found["arn"],
        "modelName": found["name"],
        "creationTime": iso(found["create_time"]),
        "baseModelArn": names.foundation_model_arn(found["region"], found["base_model"]),
        "baseModelName": base.name if base else found["base_model"],
        "customizationType": found["customization_type"],
        "ownerAccountId": ACCOUNT,
        "modelStatus": ACTIVE,
    }


def deployment(found: Document, status: str) -> dict[str, Any]:
    return _present(
        {
            "customModelDeploymentArn": found["arn"],
            "modelDeploymentName": found["name"],
            "modelArn": found["model_arn"],
            "createdAt": iso(found["create_time"]),
            "status": status,
            "description": found.get("description") or None,
            "failureMessage": found.get("failure_message") if status == "Failed" else None,
            "lastUpdatedAt": iso(found["ready_time"] if status != "Creating" else found["create_time"]),
        }
    )


def deployment_summary(found: Document, status: str) -> dict[str, Any]:
    return _present(
        {
            "customModelDeploymentArn": found["arn"],
            "customModelDeploymentName": found["name"],
            "modelArn": found["model_arn"],
            "createdAt": iso(found["create_time"]),
            "status": status,
            "lastUpdatedAt": iso(found["ready_time"] if status != "Creating" else found["create_time"]),
            "failureMessage": found.get("failure_message") if status == "Failed" else None,
        }
    )


def _status_details(run: Phase) -> dict[str, Any]:
    details = {}
    for name, stage in run.stages.items():
        shown: dict[str, Any] = {"status": stage.status}
        if stage.start is not None:
            shown["creationTime"] = iso(stage.start)
        if stage.modified is not None:
            shown["lastModifiedTime"] = iso(stage.modified)
        details[name] = shown
    return details


def _metrics(epochs_done: int, validation: Document | None) -> dict[str, Any]:
    """trainingMetrics once an epoch is done; validationMetrics, one per validator."""
    if epochs_done < 1:
        return {}
    metrics: dict[str, Any] = {"trainingMetrics": {"trainingLoss": training_loss(epochs_done)}}
    validators = (validation or {}).get("validators", [])
    if validators:
        metrics["validationMetrics"] = [
            {"validationLoss": validation_loss(epochs_done, index)} for index in range(len(validators))
        ]
    return metrics


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in body.items() if value is not None}
