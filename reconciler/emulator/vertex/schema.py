"""The Vertex AI request messages the emulator accepts (proto3 JSON, checked by
the shared `schema.parse`: camelCase or snake_case, int64 as number or string,
enums as name or number). Output-only fields are accepted and ignored, since a
client may send back a resource it read."""

from __future__ import annotations

from reconciler.emulator.schema import (
    ANY,
    BOOL,
    FLOAT,
    GENERATE_CONTENT,
    INT64,
    STRING,
    TIMESTAMP,
    Message,
    Repeated,
    enum,
)

HYPER_PARAMETERS = Message(
    "SupervisedHyperParameters",
    {
        "epochCount": INT64,
        "learningRateMultiplier": FLOAT,
        "adapterSize": enum("AdapterSize"),
        # v1beta1, open models only; google-genai sends them when set, so they parse, and
        # create refuses them for Gemini base models.
        "batchSize": INT64,
        "learningRate": FLOAT,
    },
)
SUPERVISED_SPEC = Message(
    "SupervisedTuningSpec",
    {
        "trainingDatasetUri": STRING,
        "validationDatasetUri": STRING,
        "hyperParameters": HYPER_PARAMETERS,
        "exportLastCheckpointOnly": BOOL,
        "evaluationConfig": ANY,
        "tuningMode": ANY,
    },
)
PRE_TUNED_MODEL = Message("PreTunedModel", {"tunedModelName": STRING, "checkpointId": STRING, "baseModel": STRING})
TUNING_JOB = Message(
    "TuningJob",
    {
        "name": STRING,
        "baseModel": STRING,
        "preTunedModel": PRE_TUNED_MODEL,
        "supervisedTuningSpec": SUPERVISED_SPEC,
        "tunedModelDisplayName": STRING,
        "description": STRING,
        "labels": ANY,  # map<string, string>, checked by `resources.check_labels`
        "encryptionSpec": Message("EncryptionSpec", {"kmsKeyName": STRING}),
        "serviceAccount": STRING,
        # output only
        "state": enum("JobState"),
        "createTime": TIMESTAMP,
        "startTime": TIMESTAMP,
        "endTime": TIMESTAMP,
        "updateTime": TIMESTAMP,
        "error": ANY,
        "experiment": STRING,
        "tunedModel": ANY,
        "tuningDataStats": ANY,
        "evaluateDatasetRuns": ANY,
        "tuningJobState": ANY,
        "tuningJobMetadata": ANY,
        "gcsMetricsUri": STRING,
    },
    (("baseModel", "preTunedModel"),),
)
MODEL = Message(
    "Model",
    {
        "name": STRING,
        "displayName": STRING,
        "description": STRING,
        "versionDescription": STRING,
        "labels": ANY,
        "defaultCheckpointId": STRING,
        "etag": STRING,
        # output only
        "versionId": STRING,
        "versionAliases": Repeated(STRING),
        "versionCreateTime": TIMESTAMP,
        "versionUpdateTime": TIMESTAMP,
        "createTime": TIMESTAMP,
        "updateTime": TIMESTAMP,
        "deployedModels": ANY,
        "modelSourceInfo": ANY,
        "checkpoints": ANY,
        "supportedDeploymentResourcesTypes": ANY,
        "baseModelSource": ANY,
    },
)
ENDPOINT = Message(
    "Endpoint",
    {
        "name": STRING,
        "displayName": STRING,
        "description": STRING,
        "labels": ANY,
        "etag": STRING,
        # output only, or not changeable here
        "deployedModels": ANY,
        "trafficSplit": ANY,
        "createTime": TIMESTAMP,
        "updateTime": TIMESTAMP,
    },
)
DEPLOYED_MODEL = Message(
    "DeployedModel",
    {
        "id": STRING,
        "model": STRING,
        "displayName": STRING,
        "checkpointId": STRING,
        # accepted and not simulated: where and how a deployment would run
        "dedicatedResources": ANY,
        "automaticResources": ANY,
        "sharedResources": STRING,
        "serviceAccount": STRING,
        "disableExplanations": BOOL,
        "explanationSpec": ANY,
        "enableAccessLogging": BOOL,
        "disableContainerLogging": BOOL,
        "enableContainerLogging": BOOL,  # v1beta1
        "fasterDeploymentConfig": ANY,
        "speculativeDecodingSpec": ANY,
        "systemLabels": ANY,
        "gdcConnectedModel": STRING,
        # output only
        "modelVersionId": STRING,
        "createTime": TIMESTAMP,
        "privateEndpoints": ANY,
        "status": ANY,
    },
)
DEPLOY_MODEL = Message(
    "DeployModelRequest",
    {"endpoint": STRING, "deployedModel": DEPLOYED_MODEL, "trafficSplit": ANY},
)
UNDEPLOY_MODEL = Message(
    "UndeployModelRequest",
    {"endpoint": STRING, "deployedModelId": STRING, "trafficSplit": ANY},
)
CANCEL_TUNING_JOB = Message("CancelTuningJobRequest", {"name": STRING})
GENERATE = Message(
    "GenerateContentRequest",
    {**GENERATE_CONTENT.fields, "labels": ANY, "modelArmorConfig": ANY},
)
MERGE_VERSION_ALIASES = Message("MergeVersionAliasesRequest", {"name": STRING, "versionAliases": Repeated(STRING)})
