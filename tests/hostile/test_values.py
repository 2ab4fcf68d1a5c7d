"""Values that used to pass validate and then fail at the API, run forever or crash.

Each case is one field of a manifest, reconciler.yaml or a dataset, and the
`file:line: field: message` it must produce. `plan` is run against a server
that counts requests: a hostile value is refused before anything is sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.backends.gemini.client import GeminiClient
from reconciler.client import Anonymous
from reconciler.model.errors import UserError

from .conftest import CountingServer
from .helpers import assert_clear_error, rows, run, write_dataset

MANIFEST = """\
apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: {name}
spec:
  baseModel: models/gemini-1.5-flash-001-tuning
  trainingData:
    file: {file}
  hyperparameters:
    epochCount: {epochCount}
    batchSize: {batchSize}
    learningRate: {learningRate}
  generation:
    topK: {topK}
    temperature: {temperature}
  permissions:
    - role: READER
      granteeType: USER
      emailAddress: {email}
  lifecycle:
    preventDestroy: {preventDestroy}
"""
VALID = {
    "name": "alpha",
    "file": "../datasets/alpha.jsonl",
    "epochCount": "2",
    "batchSize": "4",
    "learningRate": "0.001",
    "topK": "40",
    "temperature": "0.5",
    "email": "someone@example.com",
    "preventDestroy": "false",
}

SETTINGS = """\
manifests: {manifests}
requestTimeoutSeconds: {requestTimeoutSeconds}
operationTimeoutSeconds: {operationTimeoutSeconds}
pollIntervalSeconds: {pollIntervalSeconds}
maxDeletions: {maxDeletions}
concurrency: {concurrency}
prune: {prune}
quotaProject: {quotaProject}
"""
VALID_SETTINGS = {
    "manifests": "manifests",
    "requestTimeoutSeconds": "30",
    "operationTimeoutSeconds": "3600",
    "pollIntervalSeconds": "5",
    "maxDeletions": "5",
    "concurrency": "4",
    "prune": "false",
    "quotaProject": "my-project",
}

INT32_PAST = str(2**31)
M = "manifests/alpha.yaml"

# field, hostile YAML value, expected `file:line: field: message`
MANIFEST_CASES = [
    ("name", '"alpha\\n"', f"{M}:4: metadata.name: must be a tuned model id"),
    ("email", '"someone@example.com\\n"', f"{M}:17: spec.permissions[0]: emailAddress"),
    ("email", '"some\\0one@example.com"', f"{M}:17: spec.permissions[0]: emailAddress"),
    ("learningRate", ".inf", f"{M}:12: spec.hyperparameters.learningRate: must be a finite number"),
    ("learningRate", ".nan", f"{M}:12: spec.hyperparameters.learningRate: must be a finite number"),
    ("temperature", ".nan", f"{M}:15: spec.generation.temperature: must be a finite number"),
    ("epochCount", INT32_PAST, f"{M}:10: spec.hyperparameters.epochCount: must be <= 2147483647"),
    ("batchSize", INT32_PAST, f"{M}:11: spec.hyperparameters.batchSize: must be <= 2147483647"),
    ("topK", INT32_PAST, f"{M}:14: spec.generation.topK: must be <= 2147483647"),
    ("epochCount", "true", f"{M}:10: spec.hyperparameters.epochCount: must be an integer"),
    ("batchSize", "true", f"{M}:11: spec.hyperparameters.batchSize: must be an integer"),
    ("topK", "false", f"{M}:14: spec.generation.topK: must be an integer"),
    ("epochCount", "2.5", f"{M}:10: spec.hyperparameters.epochCount: must be an integer"),
    ("preventDestroy", "1", f"{M}:21: spec.lifecycle.preventDestroy: must be true or false"),
    ("file", '"../datasets/al\\0pha.jsonl"', f"{M}:8: spec.trainingData.file: must not contain a NUL byte"),
]

S = "reconciler.yaml"
SETTINGS_CASES = [
    ("requestTimeoutSeconds", ".inf", f"{S}:2: requestTimeoutSeconds: must be a finite number"),
    ("requestTimeoutSeconds", "1.0e+300", f"{S}:2: requestTimeoutSeconds: must be <= 3600"),
    ("operationTimeoutSeconds", ".inf", f"{S}:3: operationTimeoutSeconds: must be a finite number"),
    ("pollIntervalSeconds", ".nan", f"{S}:4: pollIntervalSeconds: must be a finite number"),
    ("maxDeletions", "true", f"{S}:5: maxDeletions: must be an integer"),
    ("concurrency", "true", f"{S}:6: concurrency: must be an integer"),
    ("prune", "1", f"{S}:7: prune: must be true or false"),
    ("manifests", '"mani\\0fests"', f"{S}:1: manifests: must not contain control characters"),
    ("quotaProject", '"my-project\\n"', f"{S}:8: quotaProject: must not contain control characters"),
]


def write(repo: Path, manifest: dict[str, str], settings: dict[str, str]) -> None:
    (repo / "manifests").mkdir(parents=True, exist_ok=True)
    (repo / "manifests" / "alpha.yaml").write_text(MANIFEST.format(**manifest))
    (repo / "reconciler.yaml").write_text(SETTINGS.format(**settings))
    write_dataset(repo, "alpha.jsonl")


def test_the_valid_baseline_plans(tmp_path: Path, api: CountingServer) -> None:
    write(tmp_path, VALID, VALID_SETTINGS)
    assert run(tmp_path, "validate").code == 0


@pytest.mark.parametrize(("field", "value", "expected"), MANIFEST_CASES, ids=[f"{c[0]}={c[1]}" for c in MANIFEST_CASES])
def test_a_hostile_manifest_value_is_a_clear_error(
    tmp_path: Path, api: CountingServer, field: str, value: str, expected: str
) -> None:
    write(tmp_path, {**VALID, field: value}, VALID_SETTINGS)
    assert_clear_error(run(tmp_path, "plan", GENERATIVELANGUAGE_EMULATOR_HOST=api.host_port), expected)
    assert api.requests_seen == 0  # the live list starts only once the manifests are valid


@pytest.mark.parametrize(("field", "value", "expected"), SETTINGS_CASES, ids=[f"{c[0]}={c[1]}" for c in SETTINGS_CASES])
def test_a_hostile_setting_is_a_clear_error(
    tmp_path: Path, api: CountingServer, field: str, value: str, expected: str
) -> None:
    write(tmp_path, VALID, {**VALID_SETTINGS, field: value})
    assert_clear_error(run(tmp_path, "plan", GENERATIVELANGUAGE_EMULATOR_HOST=api.host_port), expected)
    assert api.requests_seen == 0


DEEP = 100_000
# suffix, file text: one example nested DEEP levels, after a valid first one
DEEP_DATASETS = [
    (".jsonl", json.dumps(rows(1)[0]) + "\n" + "[" * DEEP + "]" * DEEP + "\n"),
    (".json", "[" + json.dumps(rows(1)[0]) + ",\n" + "[" * DEEP + "]" * DEEP + "]\n"),
    (".json", '{"examples": [], "other":\n' + '{"a":' * DEEP + "1" + "}" * DEEP + "}\n"),
]


@pytest.mark.parametrize(("suffix", "text"), DEEP_DATASETS, ids=["jsonl", "json list", "json object"])
def test_a_dataset_nested_100000_levels_deep_is_a_clear_error(
    tmp_path: Path, api: CountingServer, suffix: str, text: str
) -> None:
    write(tmp_path, {**VALID, "file": f"../datasets/alpha{suffix}"}, VALID_SETTINGS)
    (tmp_path / "datasets" / f"alpha{suffix}").write_text(text)
    result = run(tmp_path, "plan", GENERATIVELANGUAGE_EMULATOR_HOST=api.host_port)
    assert_clear_error(result, f"datasets/alpha{suffix}:2: malformed JSON: nested too deeply")
    assert api.requests_besides_the_list == 0


# what replaces a valid value in the manifest text, and the problem expected
RAW_CASES = [
    (
        "baseModel: models/gemini-1.5-flash-001-tuning",
        'baseModel: "models/gemini-1.5-flash-001-tuning\\n"',
        f"{M}:6: spec.baseModel: must be a base model name",
    ),
    ("name: alpha", "name: al\x00pha", f"{M}:4: invalid YAML: control characters are not allowed (#x0000)"),
    ("file: ../datasets/alpha.jsonl", "file: " + "a" * 5000 + ".jsonl", f"{M}:8: spec.trainingData.file: cannot be"),
    ("file: ../datasets/alpha.jsonl", "file: " + "a/" * 3000 + "x.jsonl", f"{M}:8: spec.trainingData.file: cannot be"),
]


RAW_IDS = ["baseModel with a newline", "NUL byte", "long name", "long path"]


@pytest.mark.parametrize(("valid", "hostile", "expected"), RAW_CASES, ids=RAW_IDS)
def test_hostile_manifest_text_is_a_clear_error(
    tmp_path: Path, api: CountingServer, valid: str, hostile: str, expected: str
) -> None:
    write(tmp_path, VALID, VALID_SETTINGS)
    path = tmp_path / "manifests" / "alpha.yaml"
    path.write_text(path.read_text().replace(valid, hostile))
    assert_clear_error(run(tmp_path, "plan", GENERATIVELANGUAGE_EMULATOR_HOST=api.host_port), expected)
    # A bad data path shows only when the datasets load, after the list began.
    assert api.requests_besides_the_list == 0


@pytest.mark.parametrize("name", ["tunedModels/m\n", "m\n", "models/x\n"])
def test_a_resource_name_with_a_trailing_newline_never_reaches_a_url(name: str) -> None:
    client = GeminiClient("http://127.0.0.1:9", credentials=Anonymous())
    get = client.get_base_model if name.startswith("models/") else client.get_tuned_model
    with pytest.raises(UserError, match="is not a valid"):
        get(name)
