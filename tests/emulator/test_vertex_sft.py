"""Google's own sample flow: `vertexai.tuning.sft` (google-cloud-aiplatform),
train, then `refresh()` until the job is done; refresh reads the Experiment
context the job names, which the emulator serves."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.emulator.vertex_helpers import DATASET_URI, LOCATION, PROJECT, ManualClock, upload

TESTS = str(Path(__file__).resolve().parents[1])


def _packaging_modules() -> dict[str, Any]:
    return {
        name: module for name, module in sys.modules.items() if name == "packaging" or name.startswith("packaging.")
    }


@contextmanager
def _real_packaging() -> Iterator[None]:
    """pytest puts tests/ on sys.path, where tests/packaging hides the `packaging`
    distribution that google-cloud-aiplatform imports: while the flow runs, the
    real one is importable; afterwards what was there is put back."""
    saved_path, saved = sys.path[:], _packaging_modules()
    for name in saved:
        del sys.modules[name]
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != TESTS]
    try:
        yield
    finally:
        for name in _packaging_modules():
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path[:] = saved_path


def test_sft_train_then_refresh_until_done(make_emulator: Any) -> None:
    with _real_packaging():
        _sft_flow(make_emulator)


def _sft_flow(make_emulator: Any) -> None:
    import vertexai
    from google.auth.credentials import AnonymousCredentials
    from vertexai.tuning import sft

    clock = ManualClock()
    server = make_emulator(seed=0, clock=clock, step_seconds=10)
    upload(server.url)
    vertexai.init(
        project=PROJECT,
        location=LOCATION,
        credentials=AnonymousCredentials(),
        api_endpoint=server.url,
        api_transport="rest",
    )
    job = sft.train(
        source_model="gemini-2.5-flash", train_dataset=DATASET_URI, epochs=2, tuned_model_display_name="Numbers"
    )
    states = []
    for _ in range(10):  # pending, quota, dataset, two epochs, post-processing, done
        clock.advance(10)
        job.refresh()
        states.append(job.state.name)
        if job.has_ended:
            break
    assert job.has_ended and states[-1] == "JOB_STATE_SUCCEEDED"
    assert "JOB_STATE_RUNNING" in states
    assert job.tuned_model_endpoint_name.startswith("projects/")
    assert job.experiment is not None and job.experiment.name.startswith("tuning-experiment-")


def test_the_experiment_context_exists_only_once_the_job_started(make_emulator: Any) -> None:
    clock = ManualClock()
    server = make_emulator(seed=0, clock=clock, step_seconds=10)
    upload(server.url)
    parent = f"{server.url}/v1/projects/{PROJECT}/locations/{LOCATION}"
    job = requests.post(
        f"{parent}/tuningJobs",
        timeout=10,
        json={"baseModel": "gemini-2.5-flash", "supervisedTuningSpec": {"trainingDatasetUri": DATASET_URI}},
    ).json()
    job_id = job["name"].rsplit("/", 1)[1]
    context = f"{parent}/metadataStores/default/contexts/tuning-experiment-{job_id}"
    assert "experiment" not in job and requests.get(context, timeout=10).status_code == 404
    clock.advance(10)
    started = requests.get(f"{server.url}/v1/{job['name']}", timeout=10).json()
    assert started["experiment"].endswith(f"/contexts/tuning-experiment-{job_id}")
    served = requests.get(f"{server.url}/v1/{started['experiment']}", timeout=10)
    assert served.status_code == 200 and served.json()["schemaTitle"] == "system.Experiment"
    assert requests.get(f"{parent}/metadataStores/default/contexts/other", timeout=10).status_code == 404
