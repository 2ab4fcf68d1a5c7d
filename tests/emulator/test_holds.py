"""Holds: a chosen request waits until the test releases it, so two clients can be
interleaved deterministically; the rest of the server keeps answering."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.vertex_helpers import PARENT, create_job, job_body, upload, vertex

CREATE = r"/tuningJobs$"


def _jobs(url: str) -> list[dict[str, Any]]:
    return vertex(url, "GET", f"{PARENT}/tuningJobs").json().get("tuningJobs", [])  # type: ignore[no-any-return]


def _in_thread(target: Any) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(target()))
    thread.start()
    return thread, results


def _create(url: str) -> Any:
    return lambda: vertex(url, "POST", f"{PARENT}/tuningJobs", job_body())


def test_a_held_create_runs_only_when_released_and_the_server_keeps_answering(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    hold = emulator.hold("POST", CREATE)
    thread, results = _in_thread(_create(emulator.url))
    hold.wait_arrived(timeout=10)
    assert _jobs(emulator.url) == []  # other requests are served; the create has not run
    assert thread.is_alive()
    hold.release()
    thread.join(timeout=10)
    assert results[0].status_code == 200
    assert [job["name"] for job in _jobs(emulator.url)] == [results[0].json()["name"]]


def test_a_hold_after_the_handler_keeps_the_answer_of_a_committed_change(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    hold = emulator.hold("POST", CREATE, after=True)
    thread, results = _in_thread(_create(emulator.url))
    hold.wait_arrived(timeout=10)
    assert len(_jobs(emulator.url)) == 1  # made, not yet answered
    assert not results
    hold.release()
    thread.join(timeout=10)
    assert results[0].status_code == 200


def test_a_hold_catches_only_its_method_path_and_count(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    with emulator.hold("POST", CREATE, times=1) as hold:
        first, _ = _in_thread(_create(emulator.url))
        hold.wait_arrived(timeout=10)
        create_job(emulator.url)  # the second create is not held
        assert len(_jobs(emulator.url)) == 1  # nor is a GET of the same path
        assert hold.arrived == 1
    first.join(timeout=10)
    assert len(_jobs(emulator.url)) == 2


def test_two_creates_interleave_in_the_order_the_test_chooses(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    hold = emulator.hold("POST", CREATE, times=2)
    first, first_result = _in_thread(_create(emulator.url))
    hold.wait_arrived(1, timeout=10)
    second, second_result = _in_thread(_create(emulator.url))
    hold.wait_arrived(2, timeout=10)
    hold.release()
    first.join(timeout=10)
    second.join(timeout=10)
    assert first_result[0].status_code == second_result[0].status_code == 200
    assert len(_jobs(emulator.url)) == 2


def test_wait_arrived_times_out_when_nothing_comes(emulator: EmulatorServer) -> None:
    hold = emulator.hold("DELETE", r"/models/")
    with pytest.raises(TimeoutError):
        hold.wait_arrived(timeout=0.01)


def test_holds_through_the_control_endpoints(emulator: EmulatorServer) -> None:
    upload(emulator.url)
    made = requests.post(
        f"{emulator.url}/_internal/holds", json={"method": "post", "path_regex": CREATE}, timeout=5
    ).json()
    assert made["method"] == "POST" and made["arrived"] == 0
    thread, results = _in_thread(_create(emulator.url))
    seen = requests.get(
        f"{emulator.url}/_internal/holds/{made['id']}", params={"arrived": 1, "wait_seconds": 10}, timeout=15
    ).json()
    assert seen["arrived"] == 1 and not seen["released"]
    listed = requests.get(f"{emulator.url}/_internal/holds", timeout=5).json()["holds"]
    assert [hold["id"] for hold in listed] == [made["id"]]
    released = requests.post(f"{emulator.url}/_internal/holds/{made['id']}:release", timeout=5)
    assert released.json()["released"] is True
    thread.join(timeout=10)
    assert results[0].status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"method": "BREW", "path_regex": "x"},
        {"method": "GET", "path_regex": "("},
        {"method": "GET"},
        {"method": "GET", "path_regex": "x", "times": -1},
        {"method": "GET", "path_regex": "x", "colour": "red"},
    ],
)
def test_a_bad_hold_is_a_400(emulator: EmulatorServer, body: dict[str, Any]) -> None:
    answer = requests.post(f"{emulator.url}/_internal/holds", json=body, timeout=5)
    assert answer.status_code == 400


def test_reset_and_stop_let_held_requests_go(make_emulator: Any) -> None:
    server = make_emulator(seed=1)
    upload(server.url)
    hold = server.hold("POST", CREATE)
    thread, results = _in_thread(_create(server.url))
    hold.wait_arrived(timeout=10)
    requests.post(f"{server.url}/_internal/reset", timeout=5)
    thread.join(timeout=10)
    assert not thread.is_alive() and results  # the bucket is gone after the reset: a 400
    again = server.hold("GET", r"/_?health|/tuningJobs$")
    thread, _ = _in_thread(lambda: vertex(server.url, "GET", f"{PARENT}/tuningJobs"))
    again.wait_arrived(timeout=10)
    server.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
