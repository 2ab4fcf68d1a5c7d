"""The official google-genai SDK (3.x), unmodified, against the emulator."""

from __future__ import annotations

import pytest
import requests

from reconciler.emulator import EmulatorServer

genai = pytest.importorskip("google.genai")
from google.genai import errors, types  # noqa: E402

EXAMPLES = [{"textInput": f"word {n}", "output": f"WORD {n}"} for n in range(1, 21)]


def _client(server: EmulatorServer) -> genai.Client:
    return genai.Client(api_key="test-key", http_options={"base_url": server.url, "api_version": "v1beta"})


def _create(server: EmulatorServer, model_id: str) -> None:
    body = {
        "displayName": "Shouter",
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "tuningTask": {"trainingData": {"examples": {"examples": EXAMPLES}}},
    }
    response = requests.post(
        f"{server.url}/v1beta/tunedModels", params={"tunedModelId": model_id}, json=body, timeout=5
    )
    response.raise_for_status()


def test_get_generate_update_delete(emulator: EmulatorServer) -> None:
    _create(emulator, "shouter")
    client = _client(emulator)

    job = client.tunings.get(name="tunedModels/shouter")
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    assert job.start_time is not None and job.end_time is not None

    answer = client.models.generate_content(model="tunedModels/shouter", contents="word 7")
    assert answer.text == "WORD 7"

    updated = client.models.update(
        model="tunedModels/shouter",
        config=types.UpdateModelConfig(display_name="Loud", description="Shouts back."),
    )
    assert (updated.display_name, updated.description) == ("Loud", "Shouts back.")

    client.models.delete(model="tunedModels/shouter")
    with pytest.raises(errors.ClientError) as raised:
        client.tunings.get(name="tunedModels/shouter")
    assert raised.value.code == 404


def test_running_job_reads_as_running(make_emulator) -> None:  # type: ignore[no-untyped-def]
    server = make_emulator(step_seconds=3600)
    _create(server, "slow-one")
    client = _client(server)  # kept in a name: a collected Client closes its connection
    job = client.tunings.get(name="tunedModels/slow-one")
    assert job.state == types.JobState.JOB_STATE_RUNNING
    assert job.end_time is None


def test_tune_without_examples_is_rejected_as_upstream(emulator: EmulatorServer) -> None:
    # google-genai's tunings.tune drops the training examples from the request body
    # (an SDK defect); the real API answers such a create with 400 INVALID_ARGUMENT,
    # and so does the emulator instead of papering over it.
    dataset = types.TuningDataset(
        examples=[types.TuningExample(text_input=e["textInput"], output=e["output"]) for e in EXAMPLES]
    )
    client = _client(emulator)
    with pytest.raises(errors.ClientError) as raised:
        client.tunings.tune(
            base_model="models/gemini-1.5-flash-001-tuning",
            training_dataset=dataset,
            config=types.CreateTuningJobConfig(tuned_model_display_name="Dropped", epoch_count=1),
        )
    assert raised.value.code == 400
    assert raised.value.status == "INVALID_ARGUMENT"
    assert "Training data is required" in str(raised.value.message)
