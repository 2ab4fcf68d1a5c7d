"""Deletes refused N times, and operations that stay in progress or end in an error
(faults of /_internal/vertex/faults)."""

from __future__ import annotations

from typing import Any

import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.vertex_helpers import ManualClock, create_job, short, upload, vertex


def _arm(url: str, **faults: Any) -> None:
    answer = requests.post(f"{url}/_internal/vertex/faults", json=faults, timeout=5)
    assert answer.status_code == 200, answer.text


def _undeployed(url: str) -> tuple[str, str]:
    """A finished job's Model and Endpoint, the deployment between them removed."""
    upload(url)
    job = vertex(url, "GET", short(create_job(url)["name"])).json()
    endpoint = job["tunedModel"]["endpoint"]
    deployed = vertex(url, "GET", short(endpoint)).json()["deployedModels"][0]["id"]
    undeployed = vertex(url, "POST", short(endpoint) + ":undeployModel", {"deployedModelId": deployed})
    assert undeployed.json()["done"] is True
    return job["tunedModel"]["model"].split("@")[0], endpoint


def test_model_deletes_refused_n_times_then_made(emulator: EmulatorServer) -> None:
    model, _ = _undeployed(emulator.url)
    _arm(emulator.url, model_delete_refusals=2)
    for _ in range(2):
        refused = vertex(emulator.url, "DELETE", short(model))
        assert refused.status_code == 400
        assert refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert vertex(emulator.url, "DELETE", short(model)).json()["done"] is True
    assert vertex(emulator.url, "GET", short(model)).status_code == 404


def test_endpoint_deletes_refused_n_times_then_made(emulator: EmulatorServer) -> None:
    _, endpoint = _undeployed(emulator.url)
    _arm(emulator.url, endpoint_delete_refusals=1)
    refused = vertex(emulator.url, "DELETE", short(endpoint))
    assert refused.status_code == 400
    assert refused.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert vertex(emulator.url, "GET", short(endpoint)).status_code == 200
    assert vertex(emulator.url, "DELETE", short(endpoint)).json()["done"] is True
    assert vertex(emulator.url, "GET", short(endpoint)).status_code == 404


def test_a_delete_in_progress_keeps_the_model_until_its_operation_ends(make_emulator: Any) -> None:
    clock = ManualClock()
    server = make_emulator(seed=1, clock=clock)
    model, _ = _undeployed(server.url)
    _arm(server.url, operation_seconds=60)
    operation = vertex(server.url, "DELETE", short(model)).json()
    assert "done" not in operation
    clock.advance(30)
    assert "done" not in vertex(server.url, "GET", short(operation["name"])).json()
    assert vertex(server.url, "GET", short(model)).status_code == 200
    clock.advance(30)
    ended = vertex(server.url, "GET", short(operation["name"])).json()
    assert ended["done"] is True and "error" not in ended
    assert ended["metadata"]["genericMetadata"]["updateTime"] != ended["metadata"]["genericMetadata"]["createTime"]
    assert vertex(server.url, "GET", short(model)).status_code == 404


def test_a_delete_whose_operation_fails_leaves_the_model(emulator: EmulatorServer) -> None:
    model, _ = _undeployed(emulator.url)
    _arm(emulator.url, operation_errors=1)
    failed = vertex(emulator.url, "DELETE", short(model)).json()
    assert failed["done"] is True and failed["error"]["code"] == 13
    assert "response" not in failed
    assert vertex(emulator.url, "GET", short(model)).status_code == 200
    assert "error" not in vertex(emulator.url, "DELETE", short(model)).json()
    assert vertex(emulator.url, "GET", short(model)).status_code == 404


def test_an_undeploy_whose_operation_fails_keeps_the_deployment(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    job = vertex(emulator.url, "GET", short(create_job(emulator.url)["name"])).json()
    endpoint = job["tunedModel"]["endpoint"]
    deployed = vertex(emulator.url, "GET", short(endpoint)).json()["deployedModels"][0]["id"]
    _arm(emulator.url, operation_errors=1)
    failed = vertex(emulator.url, "POST", short(endpoint) + ":undeployModel", {"deployedModelId": deployed}).json()
    assert failed["error"]["code"] == 13
    assert vertex(emulator.url, "GET", short(endpoint)).json()["deployedModels"][0]["id"] == deployed
