"""The emulator never answers 500 and never dies: hostile bodies, runs, page
tokens and fault regexes, sent over HTTP (raw sockets for chunked bodies) to
a `reconciler emulator` child process under memory and CPU limits. Each test
has a generous timeout, so that a regression fails instead of hanging."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from reconciler.emulator import EmulatorServer
from reconciler.emulator.records import TunedModelRecord
from reconciler.emulator.store import SqliteStore
from tests.emulator.helpers import EmulatorProcess, call, create, emulator_process, error_of

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def child() -> Iterator[EmulatorProcess]:
    with emulator_process() as running:
        yield running


def _raw_request(child: EmulatorProcess, head: bytes, body: bytes) -> bytes:
    """Send a request, close our side, and return whatever the server answers."""
    with socket.create_connection(child.address, timeout=20) as connection:
        connection.sendall(head + b"\r\n" + body)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def _chunked(child: EmulatorProcess, body: bytes, path: str = "/v1beta/tunedModels") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    ).encode()
    return _raw_request(child, head, body)


def _status_and_error(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"]


def _still_serving(child: EmulatorProcess) -> None:
    assert child.alive(), "the emulator process died"
    assert requests.get(f"{child.url}/_internal/health", timeout=10).status_code == 200


# --- chunked bodies ------------------------------------------------------------------------


def test_a_huge_chunk_cut_short_does_not_kill_the_server(child: EmulatorProcess) -> None:
    answer = _chunked(child, b"FFFFFFFFFFFF\r\n" + b"x" * 1000)
    status, error = _status_and_error(answer)
    assert status == 400 and "exceeds the limit" in str(error["message"])
    _still_serving(child)


@pytest.mark.parametrize("declared", [b"10", b"3"])
def test_a_chunk_cut_short_is_a_400_and_the_server_lives(child: EmulatorProcess, declared: bytes) -> None:
    answer = _chunked(child, declared + b'\r\n{"a')  # the client closes inside the chunk
    if answer:  # the answer may also be lost with the connection; the server must live
        assert _status_and_error(answer)[0] == 400
    _still_serving(child)


@pytest.mark.parametrize("header", [b"zz", b"-5", b"", b"0x10", b"1 2", b"A" * 2000])
def test_a_malformed_chunk_header_is_a_400(child: EmulatorProcess, header: bytes) -> None:
    status, error = _status_and_error(_chunked(child, header + b"\r\n{}\r\n0\r\n\r\n"))
    assert (status, error["status"]) == (400, "INVALID_ARGUMENT")
    _still_serving(child)


def test_a_well_formed_chunked_body_is_read(child: EmulatorProcess) -> None:
    body = json.dumps(
        {
            "displayName": "chunked",
            "baseModel": "models/text-bison-001",
            "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}]}}},
        }
    ).encode()
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    answer = _chunked(child, chunks + b"0\r\nTrailer: x\r\n\r\n")
    head, _, created = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"200", answer
    assert json.loads(created)["metadata"]["tunedModel"].startswith("tunedModels/chunked-")


def test_a_content_length_over_the_limit_is_refused_before_reading(child: EmulatorProcess) -> None:
    head = b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n"
    status, error = _status_and_error(_raw_request(child, head, b"{}"))
    assert status == 400 and "payload size exceeds the limit" in str(error["message"])
    _still_serving(child)


# --- runs that would never end -------------------------------------------------------------


def test_an_endless_run_is_refused_and_lists_keep_working(child: EmulatorProcess) -> None:
    hyperparameters = {"epochCount": 2147483647, "batchSize": 1}
    response = call(
        child.url,
        "POST",
        "v1beta/tunedModels",
        {
            "baseModel": "models/text-bison-001",
            "tuningTask": {
                "hyperparameters": hyperparameters,
                "trainingData": {"examples": {"examples": [{"output": "x"}]}},
            },
        },
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["status"] == "INVALID_ARGUMENT"
    assert "at most 10000" in error["message"]
    assert call(child.url, "GET", "v1beta/tunedModels").status_code == 200
    _still_serving(child)


def test_a_stored_endless_run_lists_with_bounded_snapshots(tmp_path: Path, make_emulator) -> None:  # type: ignore[no-untyped-def]
    # A SQLite file written before creates were bounded still holds such a run.
    state = str(tmp_path / "state.sqlite")
    seeded: EmulatorServer = make_emulator(state=state)
    create(seeded.url, "ordinary")
    seeded.stop()
    store = SqliteStore(state)
    record = store.get("ordinary")
    assert record is not None
    store.insert(TunedModelRecord.from_dict({**record.to_dict(), "model_id": "endless", "total_steps": 2**31 * 15}))
    store.close()
    server: EmulatorServer = make_emulator(state=state)
    response = call(server.url, "GET", "v1beta/tunedModels")
    assert response.status_code == 200
    shown = {model["name"]: model for model in response.json()["tunedModels"]}
    assert len(shown["tunedModels/endless"]["tuningTask"]["snapshots"]) == 10_000


# --- page tokens ---------------------------------------------------------------------------


def _token(after: object) -> str:
    raw = json.dumps({"after": after, "filter": ""}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("after", [2**63, 10**300, -1, [1], "1"])
@pytest.mark.parametrize("path", ["v1beta/tunedModels", "v1/operations", "v1beta/models"])
def test_a_forged_page_token_is_a_400(
    tmp_path: Path,
    make_emulator,
    after: object,  # type: ignore[no-untyped-def]
    path: str,
) -> None:
    server: EmulatorServer = make_emulator(state=str(tmp_path / "state.sqlite"))
    response = call(server.url, "GET", path, pageToken=_token(after))
    assert response.status_code == 400
    assert error_of(response)["message"] == "Invalid page token."


def test_a_deeply_nested_page_token_is_a_400(child: EmulatorProcess) -> None:
    token = base64.urlsafe_b64encode(b"[" * 30_000).decode()  # within the request-line limit
    response = call(child.url, "GET", "v1beta/tunedModels", pageToken=token)
    assert response.status_code == 400


# --- fault regexes -------------------------------------------------------------------------


def test_a_slow_path_regex_does_not_freeze_the_server(child: EmulatorProcess) -> None:
    faults = {"rate_503": 1, "path_regex": "^(/|a|a)*$"}  # backtracks exponentially
    assert requests.post(f"{child.url}/_internal/faults", json=faults, timeout=10).ok
    try:
        path = "/" + "a" * 60 + "!"
        for _ in range(3):  # each answered, without the fault the regex could not decide
            response = requests.get(f"{child.url}{path}", timeout=20)
            assert response.status_code == 404
        _still_serving(child)
    finally:
        requests.post(f"{child.url}/_internal/faults", json={}, timeout=10)


def test_a_matching_path_regex_still_injects(child: EmulatorProcess) -> None:
    faults = {"rate_503": 1, "path_regex": "^/v1beta/models$"}
    assert requests.post(f"{child.url}/_internal/faults", json=faults, timeout=10).ok
    try:
        assert requests.get(f"{child.url}/v1beta/models", timeout=10).status_code == 503
        assert requests.get(f"{child.url}/v1/models", timeout=10).status_code == 200
    finally:
        requests.post(f"{child.url}/_internal/faults", json={}, timeout=10)


@pytest.mark.parametrize("path_regex", ["a" * 1001, "(", "[z-a]", 5])
def test_a_bad_path_regex_is_refused(child: EmulatorProcess, path_regex: object) -> None:
    response = requests.post(f"{child.url}/_internal/faults", json={"path_regex": path_regex}, timeout=10)
    assert response.status_code == 400
    assert "path_regex" in error_of(response)["message"]
