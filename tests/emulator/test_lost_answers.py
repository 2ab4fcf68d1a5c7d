"""Lost answers on any request: the handler runs (its change is committed), then
the connection drops or a 503 comes instead of the answer."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.vertex_helpers import BUCKET, PARENT, create_job, short, upload, vertex


def _finished_job(url: str) -> dict[str, Any]:
    upload(url)
    job = create_job(url)
    return vertex(url, "GET", short(job["name"])).json()  # type: ignore[no-any-return]


def test_a_model_patch_is_made_though_its_answer_is_dropped(emulator: EmulatorServer) -> None:
    model = _finished_job(emulator.url)["tunedModel"]["model"].split("@")[0]
    emulator.lose_answers("PATCH", r"/models/")
    with pytest.raises(requests.ConnectionError):
        vertex(emulator.url, "PATCH", short(model), {"labels": {"a": "b"}})
    assert vertex(emulator.url, "GET", short(model)).json()["labels"] == {"a": "b"}
    again = vertex(emulator.url, "PATCH", short(model), {"labels": {"a": "c"}})
    assert again.status_code == 200  # the count is used up


def test_an_endpoint_delete_is_made_though_a_503_is_answered(emulator: EmulatorServer) -> None:
    endpoint_name = _finished_job(emulator.url)["tunedModel"]["endpoint"]
    endpoint = vertex(emulator.url, "GET", short(endpoint_name)).json()
    deployed = endpoint["deployedModels"][0]["id"]
    vertex(emulator.url, "POST", short(endpoint_name) + ":undeployModel", {"deployedModelId": deployed})
    emulator.lose_answers("DELETE", r"/endpoints/", answer="503")
    lost = vertex(emulator.url, "DELETE", short(endpoint_name))
    assert lost.status_code == 503 and lost.json()["error"]["status"] == "UNAVAILABLE"
    assert vertex(emulator.url, "GET", short(endpoint_name)).status_code == 404


def test_an_upload_is_stored_though_its_answer_is_dropped(emulator: EmulatorServer) -> None:
    requests.post(f"{emulator.url}/storage/v1/b", json={"name": BUCKET}, timeout=10)
    emulator.lose_answers("POST", r"^/upload/storage/")
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o",
            params={"uploadType": "media", "name": "locks/m.lock"},
            data=b"me",
            timeout=10,
        )
    stored = requests.get(f"{emulator.url}/storage/v1/b/{BUCKET}/o/locks%2Fm.lock", timeout=10)
    assert stored.status_code == 200 and stored.json()["size"] == "2"


def test_a_gemini_delete_is_made_though_its_answer_is_dropped(emulator: EmulatorServer) -> None:
    created = requests.post(
        f"{emulator.url}/v1beta/tunedModels",
        params={"tunedModelId": "alpha"},
        json={
            "baseModel": "models/gemini-1.5-flash-001-tuning",
            "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}]}}},
        },
        timeout=10,
    )
    assert created.status_code == 200, created.text
    emulator.lose_answers("*", r"/tunedModels/alpha$")
    with pytest.raises(requests.ConnectionError):
        requests.delete(f"{emulator.url}/v1beta/tunedModels/alpha", timeout=10)
    assert requests.get(f"{emulator.url}/v1beta/tunedModels/alpha", timeout=10).status_code == 404


def test_only_the_method_path_and_count_armed_lose_their_answer(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    emulator.lose_answers("POST", r"/tuningJobs$", count=2)
    assert vertex(emulator.url, "GET", f"{PARENT}/tuningJobs").status_code == 200
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            create_job(emulator.url)
    create_job(emulator.url)
    assert len(vertex(emulator.url, "GET", f"{PARENT}/tuningJobs").json()["tuningJobs"]) == 3


def test_a_refused_request_keeps_its_answer_and_the_rule(emulator: EmulatorServer) -> None:
    emulator.lose_answers("DELETE", r"/models/")
    missing = vertex(emulator.url, "DELETE", f"{PARENT}/models/123")
    assert missing.status_code == 404  # nothing was committed: the answer is not lost
    assert requests.get(f"{emulator.url}/_internal/lost-answers", timeout=5).json()["rules"] == [
        {"method": "DELETE", "path_regex": "/models/", "count": 1, "answer": "drop"}
    ]


def test_lost_answers_through_the_control_endpoints(emulator: EmulatorServer) -> None:
    url = f"{emulator.url}/_internal/lost-answers"
    armed = requests.post(url, json={"method": "GET", "path_regex": "/b/bucket-x$", "answer": "503"}, timeout=5)
    assert armed.json()["rules"][0]["answer"] == "503"
    requests.post(f"{emulator.url}/storage/v1/b", json={"name": "bucket-x"}, timeout=10)
    assert requests.get(f"{emulator.url}/storage/v1/b/bucket-x", timeout=5).status_code == 503
    assert requests.get(f"{emulator.url}/storage/v1/b/bucket-x", timeout=5).status_code == 200
    requests.post(url, json={"method": "GET", "path_regex": "/b/bucket-x$"}, timeout=5)
    assert requests.delete(url, timeout=5).json() == {"rules": []}
    assert requests.get(f"{emulator.url}/storage/v1/b/bucket-x", timeout=5).status_code == 200
    requests.post(url, json={"method": "GET", "path_regex": "/b/bucket-x$"}, timeout=5)
    requests.post(f"{emulator.url}/_internal/reset", timeout=5)
    assert requests.get(url, timeout=5).json() == {"rules": []}


@pytest.mark.parametrize(
    "body",
    [
        {"method": "GET", "path_regex": "x", "answer": "404"},
        {"method": "GET", "path_regex": "x", "count": 0},
        {"path_regex": "x"},
        {"method": "GET", "path_regex": "(["},
        [1],
    ],
)
def test_a_bad_rule_is_a_400(emulator: EmulatorServer, body: Any) -> None:
    answer = requests.post(f"{emulator.url}/_internal/lost-answers", json=body, timeout=5)
    assert answer.status_code == 400
