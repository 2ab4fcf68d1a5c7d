"""The Vertex surface's wire format, checked against the aiplatform_v1 protos:
every answer parses strictly (no unknown field) into its proto type."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.vertex_helpers import (
    INT_ENUMS,
    PARENT,
    ManualClock,
    create_job,
    short,
    upload,
    vertex,
)

v1 = pytest.importorskip("google.cloud.aiplatform_v1")
from google.longrunning import operations_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402

# Parsed by google-genai, absent from the published protos: the only fields allowed.
OUTSIDE_THE_PROTOS = ("tuningJobState", "tuningJobMetadata", "gcsMetricsUri")
# In the published protos (googleapis HEAD) but newer than the installed protos
# (google-cloud-aiplatform 1.91.0, what pip resolves beside google-genai 3.x), per
# resource: (the installed message that lacks it, JSON path). Each is checked to be
# missing from the installed descriptor, so that an upgrade makes this list shrink.
NEWER_THAN_INSTALLED: dict[str, tuple[tuple[type, str], ...]] = {
    "TuningJob": (
        (v1.TuningJob, "preTunedModel"),
        (v1.SupervisedTuningSpec, "supervisedTuningSpec.exportLastCheckpointOnly"),
        (v1.TunedModel, "tunedModel.checkpoints"),
    ),
    "Model": ((v1.Model, "checkpoints"),),
    "Endpoint": ((v1.DeployedModel, "deployedModels[].checkpointId"),),
}
LISTS = {"tuningJobs": "TuningJob", "models": "Model", "endpoints": "Endpoint"}


def _strip(body: Any, path: str) -> None:
    head, _, rest = path.partition(".")
    if head.endswith("[]"):
        for item in body.get(head[:-2], []):
            _strip(item, rest)
    elif rest:
        if isinstance(body.get(head), dict):
            _strip(body[head], rest)
    else:
        body.pop(head, None)


def _clean(resource: dict[str, Any], kind: str) -> None:
    if kind == "TuningJob":
        for name in OUTSIDE_THE_PROTOS:
            resource.pop(name, None)
    for _, path in NEWER_THAN_INSTALLED.get(kind, ()):
        _strip(resource, path)


def _parse(body: dict[str, Any], message: type) -> None:
    copy = json.loads(json.dumps(body))
    kind = message.__name__
    _clean(copy, kind)
    for key, item_kind in LISTS.items():
        for item in copy.get(key, []) if kind.startswith("List") else []:
            _clean(item, item_kind)
    json_format.Parse(json.dumps(copy), message.pb()(), ignore_unknown_fields=False)


def test_the_newer_fields_are_really_missing_from_the_installed_protos() -> None:
    for message, path in (entry for entries in NEWER_THAN_INSTALLED.values() for entry in entries):
        field = re.sub(r"([A-Z])", r"_\1", path.rsplit(".", 1)[-1]).lower()
        assert field not in message.meta.fields, f"{message.__name__}.{field} is now known"


@pytest.mark.parametrize("params", [{}, INT_ENUMS], ids=["enum-names", "enum-numbers"])
def test_every_answer_parses_strictly(make_emulator, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    server = make_emulator(clock=clock, step_seconds=10)
    url = server.url
    upload(url)
    spec = {"trainingDatasetUri": "gs://tuning-data/datasets/numbers.jsonl", "hyperParameters": {"epochCount": 2}}
    job = create_job(url, supervisedTuningSpec=spec, description="Counts.")
    seen: list[tuple[dict[str, Any], type]] = [(job, v1.TuningJob)]
    sub_states = set()  # v1beta1's tuningJobState: v1 has no such field
    for _ in range(6):  # PENDING, then RUNNING through each sub-state, then SUCCEEDED
        clock.advance(10)
        seen.append((vertex(url, "GET", short(job["name"]), **params).json(), v1.TuningJob))
        sub_states.add(vertex(url, "GET", "v1beta1/" + job["name"]).json().get("tuningJobState"))
    done = seen[-1][0]
    assert done["state"] in ("JOB_STATE_SUCCEEDED", 4)
    assert not {"tuningJobState", "tuningJobMetadata"} & {key for body, _ in seen for key in body}
    assert sub_states >= {
        "TUNING_JOB_STATE_WAITING_FOR_QUOTA",
        "TUNING_JOB_STATE_PROCESSING_DATASET",
        "TUNING_JOB_STATE_TUNING",
        "TUNING_JOB_STATE_POST_PROCESSING",
    }

    model_name, endpoint_name = done["tunedModel"]["model"], done["tunedModel"]["endpoint"]
    seen += [
        (vertex(url, "GET", f"{PARENT}/tuningJobs", **params).json(), v1.ListTuningJobsResponse),
        (vertex(url, "GET", short(model_name), **params).json(), v1.Model),
        (vertex(url, "GET", f"{PARENT}/models", **params).json(), v1.ListModelsResponse),
        (
            vertex(url, "GET", short(model_name.split("@")[0]) + ":listVersions", **params).json(),
            v1.ListModelVersionsResponse,
        ),
        (
            vertex(
                url,
                "PATCH",
                short(model_name.split("@")[0]),
                {"displayName": "New"},
                updateMask="displayName",
                **params,
            ).json(),
            v1.Model,
        ),
        (vertex(url, "GET", short(endpoint_name), **params).json(), v1.Endpoint),
        (vertex(url, "GET", f"{PARENT}/endpoints", **params).json(), v1.ListEndpointsResponse),
        (
            vertex(url, "PATCH", short(endpoint_name), {"labels": {"a": "b"}}, updateMask="labels", **params).json(),
            v1.Endpoint,
        ),
        (
            vertex(
                url,
                "POST",
                short(endpoint_name) + ":generateContent",
                {"contents": [{"role": "user", "parts": [{"text": "1"}]}]},
                **params,
            ).json(),
            v1.GenerateContentResponse,
        ),
    ]
    endpoint = seen[-4][0]
    deployed = endpoint["deployedModels"][0]["id"]
    undeploy = vertex(
        url, "POST", short(endpoint_name) + ":undeployModel", {"deployedModelId": deployed}, **params
    ).json()
    delete_endpoint = vertex(url, "DELETE", short(endpoint_name), **params).json()
    assert "done" not in undeploy and "done" not in delete_endpoint  # one step of the clock
    clock.advance(10)
    undeployed = vertex(url, "GET", short(undeploy["name"]), **params).json()
    seen += [(undeploy, _Operation), (delete_endpoint, _Operation), (undeployed, _Operation)]
    for body, message in seen:
        _parse(body, message)
    assert undeployed["done"] is True
    assert undeployed["response"]["@type"].endswith("aiplatform.v1.UndeployModelResponse")
    assert delete_endpoint["metadata"]["@type"].endswith("aiplatform.v1.DeleteOperationMetadata")


class _Operation:
    """google.longrunning.Operation, with a `pb()` like the proto-plus types."""

    @staticmethod
    def pb() -> type:
        return operations_pb2.Operation


def test_wire_details(emulator: EmulatorServer) -> None:
    url = emulator.url
    upload(url)
    job = create_job(
        url,
        supervisedTuningSpec={
            "training_dataset_uri": "gs://tuning-data/datasets/numbers.jsonl",  # snake_case input
            "hyper_parameters": {"epoch_count": "4", "adapter_size": 3},
        },
    )
    number, job_id = re.fullmatch(r"projects/(\d+)/locations/us-central1/tuningJobs/(\d+)", job["name"]).groups()  # type: ignore[union-attr]
    assert len(number) == 12 and len(job_id) == 19
    hyper = job["supervisedTuningSpec"]["hyperParameters"]
    assert hyper == {"epochCount": "4", "learningRateMultiplier": 1.0, "adapterSize": "ADAPTER_SIZE_EIGHT"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", job["createTime"])
    assert job["state"] == "JOB_STATE_PENDING"
    # The same job by project number, with integer enums
    numbered = vertex(url, "GET", f"v1beta1/{job['name']}", **INT_ENUMS).json()
    assert numbered["state"] == 4 and numbered["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == 3


def test_recorded_errors(emulator: EmulatorServer) -> None:
    url = emulator.url
    not_there = vertex(
        url,
        "POST",
        f"{PARENT}/tuningJobs",
        {
            "baseModel": "gemini-2.5-flash",
            "supervisedTuningSpec": {
                "trainingDatasetUri": "gs://tuning-data/missing.jsonl",
                "validationDatasetUri": "/local/file.jsonl",
            },
        },
    )
    error = not_there.json()["error"]
    assert not_there.status_code == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == (
        "List of found errors:\t1.Field: tuning_job.supervised_tuning_spec.training_dataset_uri; "
        "Message: training_dataset_uri should be a GCS object of type JSONL.\t2.Field: "
        "tuning_job.supervised_tuning_spec.validation_dataset_uri; Message: "
        "validation_dataset_uri should be a GCS object of type JSONL.\t"
    )
    violations = error["details"][0]["fieldViolations"]
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert [v["field"] for v in violations] == [
        "tuning_job.supervised_tuning_spec.training_dataset_uri",
        "tuning_job.supervised_tuning_spec.validation_dataset_uri",
    ]

    upload(url)
    job = create_job(url)
    model = vertex(url, "GET", short(job["name"])).json()["tunedModel"]["model"]
    on_model = vertex(
        url,
        "POST",
        short(model.split("@")[0]) + ":generateContent",
        {"contents": [{"role": "user", "parts": [{"text": "1"}]}]},
    )
    assert on_model.status_code == 400
    assert (
        "is malformed and it should be in form of projects/{project}/locations/{location}/"
        "publishers/google/models/{model}" in on_model.json()["error"]["message"]
    )

    version_field = vertex(url, "PATCH", short(model), {"displayName": "x"})
    assert version_field.status_code == 400
    assert version_field.json()["error"]["status"] == "FAILED_PRECONDITION"
    unknown = vertex(url, "POST", f"{PARENT}/tuningJobs", {"baseModel": "gemini-2.5-flash", "bogus": 1})
    assert 'Unknown name "bogus"' in unknown.json()["error"]["message"]
    assert vertex(url, "GET", f"{PARENT}/tuningJobs/1234567890123456789").status_code == 404


def test_list_filters_and_paging(emulator: EmulatorServer) -> None:
    url = emulator.url
    upload(url)
    for n in range(5):
        create_job(url, labels={"managed-by": "reconciler", "n": str(n % 2)})
    create_job(url, labels={"owner": "x"})
    jobs = f"{PARENT}/tuningJobs"

    def names(**params: Any) -> list[str]:
        found, token = [], ""
        while True:
            page = vertex(url, "GET", jobs, pageSize=2, pageToken=token, **params).json()
            found += [job["name"] for job in page.get("tuningJobs", [])]
            token = page.get("nextPageToken", "")
            if not token:
                return found

    assert len(names()) == 6
    assert len(names(filter="labels.managed-by=reconciler")) == 5
    assert len(names(filter="labels.managed-by:*")) == 5
    assert len(names(filter="labels.managed-by=reconciler AND labels.n=1")) == 2
    assert len(names(filter="labels.owner:* AND state=JOB_STATE_SUCCEEDED")) == 1
    # google-genai's way: the filter parameter twice, ANDed
    repeated = requests.get(
        f"{url}/{PARENT}/models", params=[("filter", "labels.n=0"), ("filter", "labels.tune-type:*")], timeout=5
    ).json()
    assert len(repeated["models"]) == 3
    bad = vertex(url, "GET", jobs, filter="labels.a=b OR labels.c=d")
    assert bad.status_code == 400


def test_a_state_file_keeps_the_vertex_and_storage_resources(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reconciler.emulator import EmulatorOptions

    state = str(tmp_path / "emulator.sqlite")
    with EmulatorServer(EmulatorOptions(state=state, seed=1)) as first:
        upload(first.url)
        job = create_job(first.url)
        done = vertex(first.url, "GET", short(job["name"])).json()
    with EmulatorServer(EmulatorOptions(state=state, seed=2)) as second:
        again = vertex(second.url, "GET", short(job["name"])).json()
        assert again == done
        model = vertex(second.url, "GET", short(done["tunedModel"]["model"]))
        assert model.status_code == 200
        listed = requests.get(f"{second.url}/storage/v1/b/tuning-data/o", timeout=5).json()
        assert [item["name"] for item in listed["items"]] == ["datasets/numbers.jsonl"]


def test_tuning_data_stats_come_from_the_uploaded_object(emulator: EmulatorServer) -> None:
    lines = [
        {
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "a" * 40}]},
                {"role": "model", "parts": [{"text": "b" * 8}]},
            ],
        },
        {
            "contents": [
                {"role": "user", "parts": [{"text": "c" * 4}]},
                {"role": "model", "parts": [{"text": "d" * 4}]},
                {"role": "user", "parts": [{"text": "e" * 4}]},
                {"role": "model", "parts": [{"text": "f" * 600}]},
            ]
        },
    ]
    upload(emulator.url, "".join(json.dumps(line) + "\n" for line in lines).encode())
    job = create_job(
        emulator.url,
        supervisedTuningSpec={
            "trainingDatasetUri": "gs://tuning-data/datasets/numbers.jsonl",
            "hyperParameters": {"epochCount": 2},
        },
    )
    stats = vertex(emulator.url, "GET", short(job["name"])).json()["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["tuningDatasetExampleCount"] == "2"
    assert "totalTuningCharacterCount" not in stats and "totalBillableCharacterCount" not in stats
    assert stats["userMessagePerExampleDistribution"]["max"] == 4.0
    # the emulator's tokenizer: a word is a token every 6 characters, "." one token;
    # inputs "Be brief." + "a"*40 = 1 + 1 + 1 + 7 = 10 and "c"*4 + "e"*4 = 2; outputs 2 and 1 + 100
    assert stats["userInputTokenDistribution"]["sum"] == "12"
    assert stats["userOutputTokenDistribution"]["sum"] == "103"
    # one pass over the data, as the real answer: input plus output, not times the epochs
    assert stats["totalBillableTokenCount"] == str(12 + 103)
    assert "billableSum" not in stats["userInputTokenDistribution"]
    assert "truncatedExampleIndices" not in stats and "totalTruncatedExampleCount" not in stats
    shown = stats["userDatasetExamples"]
    assert shown[0] == {"role": "user", "parts": [{"text": "a" * 40}]}


def test_the_truncation_switch_reports_examples_over_the_limit(emulator: EmulatorServer) -> None:
    lines = [
        {"contents": [{"role": "user", "parts": [{"text": text}]}, {"role": "model", "parts": [{"text": "ok"}]}]}
        for text in ("short", "word " * 30, "fine")
    ]
    upload(emulator.url, "".join(json.dumps(line) + "\n" for line in lines).encode())
    requests.post(
        f"{emulator.url}/_internal/vertex/faults", json={"max_example_tokens": 10}, timeout=10
    ).raise_for_status()
    job = create_job(
        emulator.url, supervisedTuningSpec={"trainingDatasetUri": "gs://tuning-data/datasets/numbers.jsonl"}
    )
    stats = vertex(emulator.url, "GET", short(job["name"])).json()["tuningDataStats"]["supervisedTuningDataStats"]
    assert stats["truncatedExampleIndices"] == ["2"]  # one-based, in the uploaded order
    assert stats["totalTruncatedExampleCount"] == "1"
    assert "10 tokens" in stats["droppedExampleReasons"][0]
    # the truncated example counts at the limit: 1 + 1, 10, 1 + 1
    assert stats["totalBillableTokenCount"] == str(2 + 10 + 2)


def test_version_aliases(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    first = vertex(emulator.url, "GET", short(create_job(emulator.url)["name"])).json()
    model = first["tunedModel"]["model"].split("@")[0]
    second = create_job(emulator.url, baseModel=None, preTunedModel={"tunedModelName": model})
    assert vertex(emulator.url, "GET", short(second["name"])).json()["tunedModel"]["model"] == f"{model}@2"
    merged = vertex(
        emulator.url, "POST", short(f"{model}@2") + ":mergeVersionAliases", {"versionAliases": ["live"]}
    ).json()
    assert merged["versionAliases"] == ["live"]
    assert vertex(emulator.url, "GET", short(f"{model}@live")).json()["versionId"] == "2"
    moved = vertex(
        emulator.url, "POST", short(f"{model}@1") + ":mergeVersionAliases", {"versionAliases": ["live", "-default"]}
    )
    assert moved.status_code == 400
    back = vertex(
        emulator.url, "POST", short(f"{model}@1") + ":mergeVersionAliases", {"versionAliases": ["live"]}
    ).json()
    assert back["versionAliases"] == ["default", "live"]
    assert "versionAliases" not in vertex(emulator.url, "GET", short(f"{model}@2")).json()
