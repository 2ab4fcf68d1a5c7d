"""The JSON Schemas of a manifest and of reconciler.yaml, for editors and schema checkers.

pydantic exports the types; the rules its validators check in code are added
here as JSON Schema where JSON Schema can say them (exactly one of, not both,
if-then-else, patterns), and every field gets a description for hover text.
What no schema can check (datasets, duplicate ids across files, sourceModel
references) is left to `reconciler validate`.
"""

from __future__ import annotations

from typing import Any

from reconciler.model.manifest import (
    DISPLAY_NAME_MAX,
    EMAIL_RE,
    TUNED_MODEL_ID,
    TunedModelManifest,
)
from reconciler.model.registry import installed
from reconciler.model.settings import schema_type

_DRAFT = "https://json-schema.org/draft/2020-12/schema"

# "Exactly one of" groups, written as `oneOf` with `required`.
_ONE_OF = {
    "Spec": ("baseModel", "sourceModel"),
    "TrainingData": ("file", "examples", "unknown"),
    "Expectation": ("equals", "contains", "regex"),
}
# A dataset file's suffix, in any case (the loader compares it lower-cased).
_DATASET_SUFFIX = r"\.([jJ][sS][oO][nN][lL]?|[cC][sS][vV])$"

# Hover text for every field, by definition and property (camelCase, as written).
_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "TunedModelManifest": {
        "apiVersion": "Always reconciler/v1.",
        "kind": "Always TunedModel.",
        "metadata": "What identifies the model.",
        "spec": "The tuned model wanted.",
    },
    "Metadata": {
        "name": "The model's id, unique in the repository (on Gemini, the tunedModelId). "
        "1-40 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'.",
    },
    "Spec": {
        "displayName": f"The name shown in the API and AI Studio, at most {DISPLAY_NAME_MAX} characters.",
        "description": "Free text; on Gemini, reconciler appends its ownership trailer when sending it.",
        "baseModel": "The base model to tune, as the backend names it (Gemini: models/gemini-1.5-flash-001-tuning; "
        "Vertex AI: gemini-2.5-flash; Amazon Bedrock: amazon.nova-micro-v1:0:128k). "
        "Exactly one of baseModel and sourceModel.",
        "sourceModel": "Another manifest's model to tune further, by its id (on Gemini written as the API's "
        "tuned model name). Exactly one of baseModel and sourceModel.",
        "customization": "How the model is made from its base model: fineTuning (default), continuedPreTraining "
        "or distillation, as the base model allows (Amazon Bedrock; the others fine-tune only). Changing it re-tunes.",
        "teacherModel": "With customization: distillation, the larger model whose answers the new model learns. "
        "Changing it re-tunes.",
        "trainingData": "The examples: a file, inline examples, or unknown: true. Changing them re-tunes.",
        "validationData": "Vertex AI only: examples to evaluate on, a file or inline examples. Changing them re-tunes.",
        "hyperparameters": "Tuning hyperparameters; unset ones take the API's defaults. Changing them re-tunes.",
        "generation": "Default generation settings of the tuned model; unset ones keep the base model's.",
        "permissions": "Who may use the model besides its owner; one grant per grantee.",
        "smokeTests": "Prompts run after tuning, each with one expectation on the answer.",
        "evaluation": "An evaluation set, its metrics and the gate a replacement must pass before it "
        "takes over (docs/promotion-gates.md). Changing it never re-tunes.",
        "lifecycle": "What a delete or replace may do to this model.",
    },
    "TrainingData": {
        "file": "A .jsonl, .json or .csv file, relative to this manifest and inside the repository.",
        "inputKey": "The key or column holding the input (default text_input, then textInput).",
        "outputKey": "The key or column holding the output (default output).",
        "examples": "Inline examples, for small sets.",
        "unknown": "The data is not known (written by `reconciler export`): "
        "the model can be adopted and updated, never created or replaced.",
    },
    "Example": {
        "textInput": "The prompt.",
        "output": "The answer the model should learn to give; not empty.",
    },
    "Hyperparameters": {
        "epochCount": "Passes over the training data (the API's default is 5).",
        "batchSize": "Examples per training step (the API's default is 4).",
        "learningRate": "The learning rate; not together with learningRateMultiplier.",
        "learningRateMultiplier": "A multiplier of the API's default learning rate; not together with learningRate.",
        "learningRateWarmupSteps": "Steps over which the learning rate rises to its value "
        "(Amazon Bedrock, where the base model takes it).",
        "adapterSize": "Vertex AI only: the LoRA adapter size (1, 2, 4, 8, 16 or 32; the base model limits it).",
    },
    "Generation": {
        "temperature": "Randomness of answers, 0 to 1.",
        "topP": "Nucleus sampling: the probability mass considered, 0 to 1.",
        "topK": "Top-k sampling: the number of tokens considered, at least 1.",
    },
    "Permission": {
        "role": "READER may use the model; WRITER may also change it. Ownership is transferred, not granted.",
        "granteeType": "USER or GROUP (with emailAddress), or EVERYONE (without).",
        "emailAddress": "The user's or group's address; required for USER and GROUP, absent for EVERYONE.",
    },
    "SmokeTest": {
        "input": "The prompt sent to the tuned model.",
        "expect": "Exactly one of equals, contains and regex.",
    },
    "Expectation": {
        "equals": "The answer, stripped, equals this.",
        "contains": "The answer contains this.",
        "regex": "The answer matches this regular expression (Python syntax).",
    },
    "Evaluation": {
        "data": "The evaluation examples: a file or inline examples, read as trainingData is. "
        "None may also be in the training data.",
        "metrics": "The metrics scored: exactMatch, contains, regex (each expected output is a pattern), rougeL.",
        "gate": "The score the candidate must reach on one of the metrics.",
        "onFailure": "hold (default): a failed gate keeps the model serving now and holds the candidate; "
        "promote: the candidate replaces it anyway.",
    },
    "Gate": {
        "metric": "The metric the gate looks at; one of metrics.",
        "atLeast": "The lowest score passing, 0 to 1.",
        "notWorseThan": "live: the candidate must score at least the model serving now, on the same set "
        "(less tolerance). Not on the Gemini API, which deletes the old model first.",
        "tolerance": "How much below the live model's score still passes, 0 to 1 (default 0).",
    },
    "Lifecycle": {
        "preventDestroy": "Refuse to delete or replace this model.",
        "deletionPolicy": "Delete: removing the manifest deletes the model (with prune). "
        "Orphan: it forgets the model and leaves it live.",
    },
    "Settings": {
        "apiVersion": "The API version in request paths: v1beta (default), v1alpha, v1beta3 or v1.",
        "concurrency": "Models changed at the same time during an apply (1-64).",
        "requestTimeoutSeconds": "Seconds before one HTTP request gives up (it is then retried).",
        "operationTimeoutSeconds": "Seconds an apply waits for one tuning run before giving up waiting.",
        "pollIntervalSeconds": "Seconds between checks of a running tuning operation.",
        "evaluation": "Limits of the models' evaluation sets (spec.evaluation): maxExamples, concurrency.",
    },
}


def manifest_json_schema() -> dict[str, Any]:
    """The schema of one `kind: TunedModel` document (camelCase, as written in YAML)."""
    schema = TunedModelManifest.model_json_schema(by_alias=True, mode="validation")
    definitions = schema["$defs"]
    definitions["TunedModelManifest"] = schema  # so the top level is described like the rest
    for name, fields in _ONE_OF.items():
        definitions[name]["oneOf"] = [{"required": [field]} for field in fields]
    _add_rules(definitions)
    _describe(definitions)
    del definitions["TunedModelManifest"]
    return {"$schema": _DRAFT, **schema, "title": "reconciler TunedModel manifest"}


def settings_json_schema() -> dict[str, Any]:
    """The schema of reconciler.yaml, with every installed backend's settings."""
    schema = schema_type().model_json_schema(by_alias=True, mode="validation")
    schema["properties"]["backend"]["enum"] = list(installed())  # for editors: the names it may take
    _describe({"Settings": schema})
    return {"$schema": _DRAFT, **schema, "title": "reconciler settings (reconciler.yaml)"}


def _add_rules(definitions: dict[str, Any]) -> None:
    name = definitions["Metadata"]["properties"]["name"]
    name.update(pattern=f"^{TUNED_MODEL_ID}$", minLength=1, maxLength=40)
    training_data = definitions["TrainingData"]
    _string_option(training_data["properties"]["file"])["pattern"] = _DATASET_SUFFIX
    # Keys name the columns of a file; inline examples have fixed keys.
    training_data["if"] = {"required": ["examples"]}
    training_data["then"] = {"not": {"anyOf": [{"required": ["inputKey"]}, {"required": ["outputKey"]}]}}
    definitions["Example"]["properties"]["output"]["minLength"] = 1
    definitions["Hyperparameters"]["not"] = {"required": ["learningRate", "learningRateMultiplier"]}
    permission = definitions["Permission"]
    _string_option(permission["properties"]["emailAddress"])["pattern"] = EMAIL_RE.pattern
    permission["if"] = {"properties": {"granteeType": {"const": "EVERYONE"}}}
    permission["then"] = {"not": {"required": ["emailAddress"]}}
    permission["else"] = {"required": ["emailAddress"], "properties": {"emailAddress": {"type": "string"}}}
    _string_option(definitions["Expectation"]["properties"]["regex"])["format"] = "regex"
    gate = definitions["Gate"]
    gate["anyOf"] = [{"required": ["atLeast"]}, {"required": ["notWorseThan"]}]
    gate["dependentRequired"] = {"tolerance": ["notWorseThan"]}
    definitions["Evaluation"]["properties"]["metrics"]["uniqueItems"] = True
    # A teacher exactly when distilling (Spec._teacher_for_distillation).
    definitions["Spec"]["if"] = {
        "properties": {"customization": {"const": "distillation"}},
        "required": ["customization"],
    }
    definitions["Spec"]["then"] = {"required": ["teacherModel"]}
    definitions["Spec"]["else"] = {"not": {"required": ["teacherModel"]}}


def _string_option(prop: dict[str, Any]) -> dict[str, Any]:
    """The `{"type": "string"}` branch of an optional string property."""
    return next(option for option in prop.get("anyOf", [prop]) if option.get("type") == "string")


def _describe(definitions: dict[str, Any]) -> None:
    for name, descriptions in _DESCRIPTIONS.items():
        properties = definitions.get(name, {}).get("properties", {})
        for field, text in descriptions.items():
            if field in properties:
                properties[field].setdefault("description", text)
