"""google-genai 3.x, unmodified, on the emulator's Vertex AI surface.

Both project and location are given: without them the SDK drops the path.
The credentials are a fixed token, which google-auth never refreshes."""

from __future__ import annotations

import google.oauth2.credentials
import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.vertex_helpers import DATASET_URI, LOCATION, PROJECT, ManualClock, upload

genai = pytest.importorskip("google.genai")
from google.genai import errors, types  # noqa: E402


def _client(server: EmulatorServer) -> genai.Client:
    return genai.Client(
        vertexai=True,
        project=PROJECT,
        location=LOCATION,
        credentials=google.oauth2.credentials.Credentials(token="emulator"),
        http_options={"base_url": server.url},
    )


def _tune(client: genai.Client, name: str = "Number generator", **config: object) -> types.TuningJob:
    settings: dict[str, object] = {
        "tuned_model_display_name": name,
        "epoch_count": 5,
        "adapter_size": "ADAPTER_SIZE_FOUR",
        "export_last_checkpoint_only": True,
        "labels": {"managed-by": "reconciler"},
    }
    settings.update(config)
    return client.tunings.tune(
        base_model="gemini-2.5-flash",
        training_dataset=types.TuningDataset(gcs_uri=DATASET_URI),
        config=types.CreateTuningJobConfig(**settings),
    )


def test_tune_until_ended_then_generate_list_update_delete(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    client = _client(emulator)
    job = _tune(client)
    assert job.state == types.JobState.JOB_STATE_PENDING
    assert job.name.startswith("projects/") and job.name.split("/")[1].isdigit()

    for _ in range(10):
        job = client.tunings.get(name=job.name)
        if job.has_ended:
            break
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.tuned_model.model.endswith("@1") and job.tuned_model.endpoint
    assert job.tuning_data_stats.supervised_tuning_data_stats.tuning_dataset_example_count == 20

    answer = client.models.generate_content(model=job.tuned_model.endpoint, contents="7")
    assert answer.text == "8"

    tuned = list(client.models.list(config={"query_base": False}))
    assert [m.name for m in tuned] == [job.tuned_model.model.split("@")[0]]
    assert tuned[0].tuned_model_info.base_model == "gemini-2_5-flash"

    model_name = job.tuned_model.model.split("@")[0]
    updated = client.models.update(model=model_name, config={"display_name": "New", "description": "Counts."})
    assert (updated.display_name, updated.description) == ("New", "Counts.")

    # Deleting a deployed model is refused; undeploy first (REST), then delete.
    with pytest.raises(errors.ClientError) as refused:
        client.models.delete(model=model_name)
    assert refused.value.code == 400 and refused.value.status == "FAILED_PRECONDITION"
    endpoint = requests.get(f"{emulator.url}/v1/{job.tuned_model.endpoint}", timeout=5).json()
    deployed_id = endpoint["deployedModels"][0]["id"]
    undeploy = requests.post(
        f"{emulator.url}/v1/{job.tuned_model.endpoint}:undeployModel", json={"deployedModelId": deployed_id}, timeout=5
    )
    assert undeploy.json()["done"] is True
    client.models.delete(model=model_name)
    with pytest.raises(errors.ClientError) as gone:
        client.models.get(model=model_name)
    assert gone.value.code == 404


def test_list_pages_and_filters(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    client = _client(emulator)
    created = [_tune(client, f"Model {n}").name for n in range(5)]
    _tune(client, "Other", labels={"managed-by": "someone-else"})

    pager = client.tunings.list(config={"page_size": 2, "filter": "labels.managed-by=reconciler"})
    assert len(pager.page) == 2
    listed = [job.name for job in pager]
    assert listed == created


def test_cancel_a_running_job(make_emulator) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    server = make_emulator(clock=clock, step_seconds=60)
    upload(server.url)
    client = _client(server)
    job = _tune(client)
    clock.advance(60 * 3)
    running = client.tunings.get(name=job.name)
    assert running.state == types.JobState.JOB_STATE_RUNNING
    assert running.tuning_job_state is not None

    client.tunings.cancel(name=job.name)
    assert client.tunings.get(name=job.name).state == types.JobState.JOB_STATE_CANCELLING
    clock.advance(60)
    cancelled = client.tunings.get(name=job.name)
    assert cancelled.state == types.JobState.JOB_STATE_CANCELLED and cancelled.has_ended
    assert cancelled.error.code == 1 and cancelled.tuned_model is None

    with pytest.raises(errors.ClientError) as again:
        client.tunings.cancel(name=job.name)
    assert again.value.status == "FAILED_PRECONDITION"


def test_continuous_tuning_adds_a_version_to_the_source(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    client = _client(emulator)
    first = _tune(client)
    first = client.tunings.get(name=first.name)
    source = first.tuned_model.model.split("@")[0]
    second = client.tunings.tune(
        base_model=source,
        training_dataset=types.TuningDataset(gcs_uri=DATASET_URI),
        config=types.CreateTuningJobConfig(tuned_model_display_name="Number generator"),
    )
    second = client.tunings.get(name=second.name)
    assert second.tuned_model.model == f"{source}@2"
    versions = requests.get(f"{emulator.url}/v1/{source}:listVersions", timeout=5).json()
    assert [v["versionId"] for v in versions["models"]] == ["1", "2"]


def test_bad_dataset_and_adapter_size_give_the_recorded_errors(emulator: EmulatorServer) -> None:
    upload(emulator.url, b"not json\n", name="bad.jsonl")
    client = _client(emulator)
    with pytest.raises(errors.ClientError) as bad:
        client.tunings.tune(
            base_model="gemini-2.5-flash", training_dataset=types.TuningDataset(gcs_uri="gs://tuning-data/bad.jsonl")
        )
    assert "training_dataset_uri should be a GCS object of type JSONL" in bad.value.message
    upload(emulator.url)
    with pytest.raises(errors.ClientError) as size:
        client.tunings.tune(
            base_model="gemini-2.5-flash",
            training_dataset=types.TuningDataset(gcs_uri=DATASET_URI),
            config={"adapter_size": "ADAPTER_SIZE_THIRTY_TWO"},
        )
    assert size.value.message == "The adapter size is not supported for this base model."
