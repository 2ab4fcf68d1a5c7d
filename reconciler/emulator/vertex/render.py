"""Vertex AI resources in proto3 JSON, built from store documents: camelCase,
int64 as strings, defaults omitted, µs timestamps, enums as names or numbers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler.emulator.vertex.names import Parent
from reconciler.emulator.vertex.timeline import RUNNING, SUCCEEDED, Phase
from reconciler.emulator.wire import Enums, timestamp

JsonDict = dict[str, Any]
TYPE_URL = "type.googleapis.com"
SHOW_STATS = frozenset({"TUNING_JOB_STATE_TUNING", "TUNING_JOB_STATE_POST_PROCESSING"})


def parent(document: JsonDict) -> Parent:
    return Parent(**document["parent"])


def _compact(values: JsonDict) -> JsonDict:
    return {key: value for key, value in values.items() if value not in (None, "", [], {}, False)}


def etag(document: JsonDict) -> str:
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
    return f"AMEw9yP{digest[:24]}"


# --- tuning jobs -------------------------------------------------------------------------


def tuning_job(job: JsonDict, run: Phase, enums: Enums, version: str = "v1") -> JsonDict:
    """The job as API `version` shows it: `tuningJobState` and `tuningJobMetadata`
    are in the v1beta1 discovery document only, so v1 never carries them."""
    where = parent(job)
    body: JsonDict = {"name": where.child("tuningJobs", job["id"])}
    if job["pre_tuned"]:
        body["preTunedModel"] = job["pre_tuned"]
    else:
        body["baseModel"] = job["base_model"]
    body["supervisedTuningSpec"] = _spec(job["spec"], enums)
    body.update(_compact({"tunedModelDisplayName": job["display_name"], "description": job["description"]}))
    body["state"] = enums("JobState", run.state)
    body["createTime"] = timestamp(job["create_time"])
    if run.start_time is not None:
        body["startTime"] = timestamp(run.start_time)
    if run.ended:
        body["endTime"] = timestamp(run.update_time)
    body["updateTime"] = timestamp(max(run.update_time, job["create_time"]))
    outcome = job.get("outcome") or {}
    body.update(
        _compact(
            {
                "error": outcome.get("error"),
                "labels": job["labels"],
                "experiment": _experiment(where, job) if run.start_time is not None else "",
                "tunedModel": outcome.get("tuned_model"),
            }
        )
    )
    if _stats_ready(run):
        body["tuningDataStats"] = {"supervisedTuningDataStats": job["stats"]}
    body.update(_compact({"encryptionSpec": job.get("encryption_spec"), "serviceAccount": job.get("service_account")}))
    if version == "v1":
        return body
    if run.state == RUNNING:
        body["tuningJobState"] = run.sub_state
    if run.completed_steps:
        body["tuningJobMetadata"] = {
            "completedEpochCount": str(run.completed_epochs),
            "completedStepCount": str(run.completed_steps),
        }
    return body


def _spec(spec: JsonDict, enums: Enums) -> JsonDict:
    hyper = spec["hyperParameters"]
    body: JsonDict = _compact(
        {"trainingDatasetUri": spec["trainingDatasetUri"], "validationDatasetUri": spec.get("validationDatasetUri")}
    )
    body["hyperParameters"] = {
        "epochCount": str(hyper["epochCount"]),
        "learningRateMultiplier": hyper["learningRateMultiplier"],
        "adapterSize": enums("AdapterSize", hyper["adapterSize"]),
    }
    if spec.get("exportLastCheckpointOnly"):
        body["exportLastCheckpointOnly"] = True
    return body


EXPERIMENT_PREFIX = "tuning-experiment-"


def _experiment(where: Parent, job: JsonDict) -> str:
    return f"{where.name}/metadataStores/default/contexts/{EXPERIMENT_PREFIX}{job['id']}"


def experiment_context(name: str, context_id: str, start_time: float) -> JsonDict:
    """The Vertex AI Experiment a job names: a `system.Experiment` Context [infer: its
    metadata, which google-cloud-aiplatform only checks for a TensorBoard field]."""
    return {
        "name": name,
        "displayName": context_id,
        "etag": etag({"name": name, "start": start_time}),
        "createTime": timestamp(start_time),
        "updateTime": timestamp(start_time),
        "schemaTitle": "system.Experiment",
        "schemaVersion": "0.0.1",
        "metadata": {"experiment_deleted": False},
    }


def _stats_ready(run: Phase) -> bool:
    return run.sub_state in SHOW_STATS or (run.completed_steps > 0) or run.state == SUCCEEDED


# --- models ------------------------------------------------------------------------------


def model(document: JsonDict, version: JsonDict, enums: Enums) -> JsonDict:
    body: JsonDict = {
        "name": parent(document).child("models", document["id"]),
        "versionId": version["version_id"],
    }
    body.update(_compact({"versionAliases": version["aliases"]}))
    body["versionCreateTime"] = timestamp(version["create_time"])
    body["versionUpdateTime"] = timestamp(version["update_time"])
    body["displayName"] = document["display_name"]
    body.update(
        _compact(
            {
                "description": document["description"],
                "versionDescription": version["description"],
                "defaultCheckpointId": version["default_checkpoint_id"],
            }
        )
    )
    body["createTime"] = timestamp(document["create_time"])
    body["updateTime"] = timestamp(max(document["update_time"], version["update_time"]))
    deployed = [
        {"endpoint": ref["endpoint"], "deployedModelId": ref["deployed_model_id"]}
        for ref in document["deployed"]
        if ref["version_id"] == version["version_id"]
    ]
    body.update(_compact({"deployedModels": deployed}))
    body["etag"] = etag(document)
    body.update(_compact({"labels": document["labels"]}))
    body["modelSourceInfo"] = {"sourceType": enums("ModelSourceType", "GENIE")}
    body.update(
        _compact(
            {
                "checkpoints": [
                    {"checkpointId": point["checkpointId"], "epoch": point["epoch"], "step": point["step"]}
                    for point in version["checkpoints"]
                ]
            }
        )
    )
    return body


# --- endpoints ---------------------------------------------------------------------------


def endpoint(document: JsonDict) -> JsonDict:
    body: JsonDict = {
        "name": parent(document).child("endpoints", document["id"]),
        "displayName": document["display_name"],
    }
    body.update(_compact({"description": document["description"]}))
    deployed = [deployed_model(item) for item in document["deployed"]]
    body.update(_compact({"deployedModels": deployed, "trafficSplit": document["traffic_split"]}))
    body["etag"] = etag(document)
    body.update(_compact({"labels": document["labels"]}))
    body["createTime"] = timestamp(document["create_time"])
    body["updateTime"] = timestamp(document["update_time"])
    return body


def deployed_model(item: JsonDict) -> JsonDict:
    return _compact(
        {
            "id": item["id"],
            "model": item["model"],
            "modelVersionId": item["model_version_id"],
            "displayName": item["display_name"],
            "createTime": timestamp(item["create_time"]),
            "checkpointId": item["checkpoint_id"],
        }
    )


# --- operations --------------------------------------------------------------------------


def operation(document: JsonDict, now: float) -> JsonDict:
    """A long-running operation: done from its `done_time` (its creation unless the
    operation_seconds fault delayed it), then with its response or its error."""
    version, created = document["api_version"], document["time"]
    done_time: float = document.get("done_time") or created
    done = now >= done_time
    response_type = document["response_type"]
    response_url = (
        f"{TYPE_URL}/google.protobuf.Empty"
        if response_type == "Empty"
        else f"{TYPE_URL}/google.cloud.aiplatform.{version}.{response_type}"
    )
    body: JsonDict = {
        "name": document["name"],
        "metadata": {
            "@type": f"{TYPE_URL}/google.cloud.aiplatform.{version}.{document['metadata_type']}",
            "genericMetadata": {
                "createTime": timestamp(created),
                "updateTime": timestamp(done_time if done else created),
            },
        },
    }
    if not done:  # proto3 JSON: a running operation has no `done`
        return body
    body["done"] = True
    if document.get("error"):
        body["error"] = document["error"]
    else:
        body["response"] = {"@type": response_url, **document.get("response", {})}
    return body
