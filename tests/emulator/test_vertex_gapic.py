"""google-cloud-aiplatform's GAPIC REST clients (aiplatform_v1), unmodified, on
the emulator: they send `$alt=json;enum-encoding=int`, int enums and int64 as
strings, and parse the answers (operations included) with their own protos."""

from __future__ import annotations

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.vertex_helpers import (
    DATASET_URI,
    INT_ENUMS,
    LOCATION,
    PROJECT,
    ManualClock,
    upload,
)

v1 = pytest.importorskip("google.cloud.aiplatform_v1")
from google.api_core import exceptions  # noqa: E402
from google.api_core.client_options import ClientOptions  # noqa: E402
from google.auth.credentials import AnonymousCredentials  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402

PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
JobState = v1.JobState
AdapterSize = v1.SupervisedHyperParameters.AdapterSize


def _clients(
    server: EmulatorServer,
) -> tuple[v1.GenAiTuningServiceClient, v1.ModelServiceClient, v1.EndpointServiceClient]:
    # A plain-http api_endpoint keeps its scheme in the REST transport.
    kwargs = {
        "transport": "rest",
        "credentials": AnonymousCredentials(),
        "client_options": ClientOptions(api_endpoint=server.url),
    }
    return (v1.GenAiTuningServiceClient(**kwargs), v1.ModelServiceClient(**kwargs), v1.EndpointServiceClient(**kwargs))


def _status(error: exceptions.GoogleAPICallError) -> str:
    return str(error.response.json()["error"]["status"])


def _job(
    display_name: str = "Number generator",
    labels: dict[str, str] | None = None,
) -> v1.TuningJob:
    return v1.TuningJob(
        base_model="gemini-2.5-flash",
        tuned_model_display_name=display_name,
        supervised_tuning_spec=v1.SupervisedTuningSpec(
            training_dataset_uri=DATASET_URI,
            hyper_parameters=v1.SupervisedHyperParameters(epoch_count=3, adapter_size=AdapterSize.ADAPTER_SIZE_FOUR),
        ),
        labels=labels or {"managed-by": "reconciler"},
    )


def test_the_whole_flow(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    tuning, models, endpoints = _clients(emulator)

    created = tuning.create_tuning_job(parent=PARENT, tuning_job=_job())
    assert created.state == JobState.JOB_STATE_PENDING
    assert created.supervised_tuning_spec.hyper_parameters.adapter_size == AdapterSize.ADAPTER_SIZE_FOUR
    job = tuning.get_tuning_job(name=created.name)
    assert job.state == JobState.JOB_STATE_SUCCEEDED
    assert job.supervised_tuning_spec.hyper_parameters.epoch_count == 3

    model_name = job.tuned_model.model.split("@")[0]
    model = models.get_model(name=job.tuned_model.model)
    assert model.version_id == "1" and model.labels["tune-type"] == "sft"
    assert model.model_source_info.source_type == v1.ModelSourceInfo.ModelSourceType.GENIE

    labels = {**model.labels, "owner": "team-a"}
    updated = models.update_model(
        model=v1.Model(name=model_name, display_name="Renamed", labels=labels),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name", "labels"]),
    )
    assert updated.display_name == "Renamed" and updated.labels["owner"] == "team-a"
    assert updated.labels["google-vertex-llm-tuning-job-id"] == job.name.rsplit("/", 1)[1]

    prediction = v1.PredictionServiceClient(
        transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=emulator.url)
    )
    answer = prediction.generate_content(
        model=job.tuned_model.endpoint, contents=[v1.Content(role="user", parts=[v1.Part(text="7")])]
    )
    assert answer.candidates[0].content.parts[0].text == "8"
    assert answer.candidates[0].finish_reason == v1.Candidate.FinishReason.STOP

    endpoint = endpoints.get_endpoint(name=job.tuned_model.endpoint)
    assert [d.model for d in endpoint.deployed_models] == [model_name]
    relabelled = endpoints.update_endpoint(
        endpoint=v1.Endpoint(name=endpoint.name, labels={"owner": "team-a"}),
        update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
    )
    assert dict(relabelled.labels) == {"owner": "team-a"}

    # FAILED_PRECONDITION is HTTP 400, which the clients raise as BadRequest.
    with pytest.raises(exceptions.BadRequest) as refused:
        models.delete_model(name=model_name)
    assert _status(refused.value) == "FAILED_PRECONDITION"
    with pytest.raises(exceptions.BadRequest) as refused:
        endpoints.delete_endpoint(name=endpoint.name)
    assert _status(refused.value) == "FAILED_PRECONDITION"

    # Without exportLastCheckpointOnly (not in these protos) each of the 3 epochs'
    # checkpoints has its own endpoint: clean them all up, as Endpoint.delete(force=True) does.
    deployments = models.get_model(name=model_name).deployed_models
    assert len(deployments) == 3
    for ref in deployments:
        undeployed = endpoints.undeploy_model(endpoint=ref.endpoint, deployed_model_id=ref.deployed_model_id)
        assert isinstance(undeployed.result(timeout=10), v1.UndeployModelResponse)
        assert not endpoints.get_endpoint(name=ref.endpoint).traffic_split
        endpoints.delete_endpoint(name=ref.endpoint).result(timeout=10)
    models.delete_model(name=model_name).result(timeout=10)

    with pytest.raises(exceptions.NotFound):
        models.get_model(name=model_name)
    with pytest.raises(exceptions.NotFound):
        endpoints.get_endpoint(name=endpoint.name)


def test_list_with_pages_and_a_label_filter(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    tuning, models, endpoints = _clients(emulator)
    mine = [tuning.create_tuning_job(parent=PARENT, tuning_job=_job(f"M{n}")).name for n in range(3)]
    tuning.create_tuning_job(parent=PARENT, tuning_job=_job("X", {"managed-by": "other"}))

    pager = tuning.list_tuning_jobs(
        request={"parent": PARENT, "page_size": 2, "filter": "labels.managed-by=reconciler"}
    )
    assert [job.name for job in pager] == mine
    tuned = models.list_models(
        request={"parent": PARENT, "page_size": 1, "filter": "labels.managed-by=reconciler AND labels.tune-type:*"}
    )
    assert len(list(tuned)) == 3
    # one endpoint per checkpoint, one checkpoint per epoch (3)
    others = endpoints.list_endpoints(request={"parent": PARENT, "filter": "labels.managed-by=other"})
    assert len(list(others)) == 3


def test_cancel_with_integer_enums(make_emulator) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    server = make_emulator(clock=clock, step_seconds=30)
    upload(server.url)
    tuning, _, _ = _clients(server)
    job = tuning.create_tuning_job(parent=PARENT, tuning_job=_job())
    clock.advance(90)
    assert tuning.get_tuning_job(name=job.name).state == JobState.JOB_STATE_RUNNING
    raw = requests.get(f"{server.url}/v1/{job.name}", params=INT_ENUMS, timeout=5).json()
    assert raw["state"] == JobState.JOB_STATE_RUNNING.value
    assert raw["supervisedTuningSpec"]["hyperParameters"]["adapterSize"] == 2  # FOUR is 2

    tuning.cancel_tuning_job(name=job.name)
    clock.advance(30)
    cancelled = tuning.get_tuning_job(name=job.name)
    assert cancelled.state == JobState.JOB_STATE_CANCELLED and cancelled.error.code == 1
    with pytest.raises(exceptions.BadRequest) as refused:
        tuning.cancel_tuning_job(name=job.name)
    assert _status(refused.value) == "FAILED_PRECONDITION"


def test_adapter_size_outside_the_table_is_refused(emulator: EmulatorServer) -> None:
    # These protos (1.91.0) lack THIRTY_TWO (5); send its number as the clients would.
    upload(emulator.url)
    body = {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {
            "trainingDatasetUri": DATASET_URI,
            "hyperParameters": {"epochCount": "3", "adapterSize": 5},
        },
    }
    refused = requests.post(f"{emulator.url}/v1/{PARENT}/tuningJobs", json=body, params=INT_ENUMS, timeout=5)
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": 400,
        "status": "INVALID_ARGUMENT",
        "message": "The adapter size is not supported for this base model.",
    }
