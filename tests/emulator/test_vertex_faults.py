"""Faults of the Vertex surface, armed through /_internal/vertex/faults."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.vertex_helpers import (
    PARENT,
    ManualClock,
    create_job,
    job_body,
    short,
    upload,
    vertex,
)

FAILED_ENDPOINT = "Failed to create endpoint. Tuned model is uploaded and can be accessed through Model Registry."


def _arm(url: str, **faults: Any) -> dict[str, Any]:
    response = requests.post(f"{url}/_internal/vertex/faults", json=faults, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _jobs(url: str, **params: Any) -> list[dict[str, Any]]:
    return vertex(url, "GET", f"{PARENT}/tuningJobs", **params).json().get("tuningJobs", [])


def test_500_on_create_creates_nothing(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    _arm(emulator.url, create_errors=1)
    failed = vertex(emulator.url, "POST", f"{PARENT}/tuningJobs", job_body())
    assert failed.status_code == 500 and failed.json()["error"]["status"] == "INTERNAL"
    assert _jobs(emulator.url) == []
    create_job(emulator.url)  # the fault is used up
    assert len(_jobs(emulator.url)) == 1


def test_create_committed_but_the_answer_lost(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    _arm(emulator.url, create_answers_lost=1)
    with pytest.raises(requests.ConnectionError):
        vertex(emulator.url, "POST", f"{PARENT}/tuningJobs", job_body(labels={"reconciler-attempt": "a1b2c3d4"}))
    # The job exists: a caller finds it by its attempt label instead of creating twice.
    found = _jobs(emulator.url, filter="labels.reconciler-attempt=a1b2c3d4")
    assert len(found) == 1


def test_a_job_that_stays_pending(make_emulator) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    server = make_emulator(clock=clock, step_seconds=10)
    upload(server.url)
    _arm(server.url, pending_seconds=3600)
    job = create_job(server.url)
    clock.advance(3000)
    assert vertex(server.url, "GET", short(job["name"])).json()["state"] == "JOB_STATE_PENDING"
    clock.advance(600)
    running = vertex(server.url, "GET", short(job["name"])).json()
    assert running["state"] == "JOB_STATE_RUNNING" and "startTime" in running


def test_failed_code_13_leaves_a_model_and_no_endpoint(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    _arm(emulator.url, endpoint_failures=1)
    job = vertex(emulator.url, "GET", short(create_job(emulator.url)["name"])).json()
    assert job["state"] == "JOB_STATE_FAILED"
    assert job["error"] == {"code": 13, "message": FAILED_ENDPOINT}
    assert job["tunedModel"]["model"].endswith("@1") and "endpoint" not in job["tunedModel"]
    model = vertex(emulator.url, "GET", short(job["tunedModel"]["model"])).json()
    assert "deployedModels" not in model
    assert vertex(emulator.url, "GET", f"{PARENT}/endpoints").json() == {}
    # The orphan Model can be deleted at once.
    deleted = vertex(emulator.url, "DELETE", short(model["name"]))
    assert deleted.status_code == 200 and deleted.json()["done"] is True


def test_delete_model_refused_for_n_polls_after_undeploy(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    _arm(emulator.url, delete_model_refusals=2)
    job = vertex(emulator.url, "GET", short(create_job(emulator.url)["name"])).json()
    model_name = job["tunedModel"]["model"].split("@")[0]
    endpoint = vertex(emulator.url, "GET", short(job["tunedModel"]["endpoint"])).json()
    undeploy = vertex(
        emulator.url,
        "POST",
        short(endpoint["name"]) + ":undeployModel",
        {"deployedModelId": endpoint["deployedModels"][0]["id"]},
    )
    assert undeploy.status_code == 200
    statuses = [vertex(emulator.url, "DELETE", short(model_name)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [400, 400, 200]
    assert statuses[0].json()["error"]["status"] == "FAILED_PRECONDITION"


def test_settings_are_checked_and_reset(emulator: EmulatorServer) -> None:
    bad = requests.post(f"{emulator.url}/_internal/vertex/faults", json={"create_errors": -1}, timeout=5)
    assert bad.status_code == 400
    unknown = requests.post(f"{emulator.url}/_internal/vertex/faults", json={"nope": 1}, timeout=5)
    assert unknown.status_code == 400
    assert _arm(emulator.url, create_errors=3)["create_errors"] == 3
    requests.post(f"{emulator.url}/_internal/reset", timeout=5)
    faults = requests.get(f"{emulator.url}/_internal/vertex/faults", timeout=5).json()
    assert faults["create_errors"] == 0


def test_the_shared_faults_reach_the_vertex_paths(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    job = create_job(emulator.url)
    requests.post(f"{emulator.url}/_internal/faults", json={"rate_503": 1.0, "path_regex": "/tuningJobs/"}, timeout=5)
    assert vertex(emulator.url, "GET", short(job["name"])).status_code == 503
    assert vertex(emulator.url, "GET", f"{PARENT}/models").status_code == 200
    counts = requests.get(f"{emulator.url}/_internal/requests", timeout=5).json()["counts"]
    assert counts["GET /{version}/projects/{project}/locations/{location}/tuningJobs/{job_id}"] == 1


def test_a_500_on_create_does_not_use_up_an_armed_endpoint_failure(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    _arm(emulator.url, create_errors=1, endpoint_failures=1)
    assert vertex(emulator.url, "POST", f"{PARENT}/tuningJobs", job_body()).status_code == 500
    job = vertex(emulator.url, "GET", short(create_job(emulator.url)["name"])).json()
    assert job["state"] == "JOB_STATE_FAILED" and job["error"]["code"] == 13
