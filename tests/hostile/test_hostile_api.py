"""A hostile or broken API server: `plan` stays bounded, on both backends.

The server, on 127.0.0.1, answers every GET with one misbehaviour: a body that
never ends, a body of tiny JSON values, bytes trickled slower than the timeout
notices, page tokens that never end or repeat, bodies that are not a JSON
object, nesting, entries and fields of the wrong type. Each `plan` runs as a
child under the memory limits of helpers.py (1 GB of address space, and a peak
well under that asserted) and ends with a clear error naming the request: no
traceback, no internal error, no MemoryError, and no run past its timeout.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from reconciler.client.bounded_json import MAX_JSON_DEPTH, MAX_JSON_VALUES
from reconciler.client.pages import MAX_PAGES
from reconciler.client.reading import MAX_RESPONSE_BYTES
from reconciler.client.retry import RetryPolicy
from tests.backends.vertex.helpers import manifest as vertex_manifest
from tests.backends.vertex.helpers import write_repo as write_vertex_repo

from .helpers import EXPECTED_PEAK_BYTES, FAST_BACKOFF, Run, finish, start, write_repo

# A server that misbehaves stops by itself: after this long, this many bytes,
# or once the test is over.
SERVER_SECONDS = 120.0
ENDLESS_BYTES_CAP = 1536 * 1024 * 1024
TRICKLE_SECONDS = 0.05
# The wall timeout only catches a run that would go on for ever.
SLOW_WALL_TIMEOUT = 120.0
SLOW_REQUEST_TIMEOUT = 0.2  # four trickled bytes' time (TRICKLE_SECONDS)
SETTINGS = {"requestTimeoutSeconds": 1}
# What the backend decodes from an entry, with a type it must refuse.
WRONG_FIELD = {
    "tunedModels": {"name": "tunedModels/alpha", "displayName": ["not", "a", "name"]},
    "tuningJobs": {"name": "projects/p/locations/l/tuningJobs/1", "labels": ["not", "a", "map"]},
    "models": {"name": "projects/p/locations/l/models/1", "labels": ["not", "a", "map"]},
    "endpoints": {"name": "projects/p/locations/l/endpoints/1", "labels": ["not", "a", "map"]},
}


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behave: Callable[[_Handler, str], None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behave = behave
        self.requests_seen = 0
        self.over = threading.Event()
        self.started = time.monotonic()

    @property
    def host_port(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"

    def done(self) -> bool:
        return self.over.is_set() or time.monotonic() - self.started > SERVER_SECONDS


class _Handler(BaseHTTPRequestHandler):
    server: HostileServer

    def do_GET(self) -> None:
        self.server.requests_seen += 1
        collection = urlsplit(self.path).path.rstrip("/").rpartition("/")[2]
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
            self.server.behave(self, collection)

    do_POST = do_GET

    def answer(self, body: bytes | str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def trickle(self, data: bytes) -> None:
        for byte in data:
            if self.server.done():
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(TRICKLE_SECONDS)

    def log_message(self, format: str, *args: object) -> None:
        pass


# --- misbehaviours ----------------------------------------------------------------


def endless_body(handler: _Handler, key: str) -> None:
    """A list page that never ends, no content-length: read until it stops."""
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.end_headers()
    handler.wfile.write(f'{{"{key}": ['.encode())
    chunk = b'{"name": "x"},' * 4096
    sent = 0
    while sent < ENDLESS_BYTES_CAP and not handler.server.done():
        handler.wfile.write(chunk)
        sent += len(chunk)


def tiny_values(handler: _Handler, key: str) -> None:
    """Under the byte limit, but millions of values: gigabytes once parsed."""
    count = (MAX_RESPONSE_BYTES - 100) // 3
    handler.answer(f'{{"{key}": [' + "[]," * (count - 1) + "[]]}")


def trickled_body(handler: _Handler, key: str) -> None:
    """Headers at once, then a byte a quarter second: no read ever times out."""
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.end_headers()
    handler.wfile.flush()
    handler.trickle(f'{{"{key}": [{{"name": "x"}}'.encode() + b" " * 100_000)


def trickled_headers(handler: _Handler, key: str) -> None:
    handler.wfile.write(b"HTTP/1.0 200 OK\r\n")
    handler.trickle(b"x-slow: " + b"a" * 100_000)


def endless_tokens(handler: _Handler, key: str) -> None:
    handler.answer(json.dumps({key: [], "nextPageToken": f"token-{handler.server.requests_seen}"}))


def repeated_token(handler: _Handler, key: str) -> None:
    handler.answer(json.dumps({key: [], "nextPageToken": "again"}))


def fixed(body: Callable[[str], str]) -> Callable[[_Handler, str], None]:
    return lambda handler, key: handler.answer(body(key))


# name, behaviour, what the error says (after the request it names)
CASES: list[tuple[str, Callable[[_Handler, str], None], str]] = [
    ("endless body", endless_body, f"with a body larger than {MAX_RESPONSE_BYTES // 2**20} MiB"),
    ("millions of tiny values", tiny_values, f"more than {MAX_JSON_VALUES} JSON values"),
    ("page tokens that never end", endless_tokens, f"more than {MAX_PAGES} pages; stopped"),
    ("a repeated page token", repeated_token, "page 2: repeated page token"),
    ("not JSON", fixed(lambda key: "<html>Service Unavailable</html>"), "not a JSON object (invalid JSON"),
    ("a JSON array", fixed(lambda key: "[1, 2, 3]"), "not a JSON object (a JSON array)"),
    (
        "nested 100,000 deep",
        fixed(lambda key: f'{{"{key}": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        "not a JSON object (nested deeper than",
    ),
    (
        f"nested {MAX_JSON_DEPTH + 1} deep",
        fixed(lambda key: f'{{"{key}": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}"),
        f"nested deeper than {MAX_JSON_DEPTH} levels",
    ),
    ("the list is a string", fixed(lambda key: json.dumps({key: "everything"})), "is a string, not an array"),
    ("an entry is a number", fixed(lambda key: json.dumps({key: [5]})), "[0] is a number, not an object"),
    ("a field of the wrong type", fixed(lambda key: json.dumps({key: [WRONG_FIELD.get(key, {})]})), "[0]."),
]
SLOW = [("a trickled body", trickled_body), ("trickled headers", trickled_headers)]


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[_Handler, str], None]], HostileServer]]:
    servers: list[HostileServer] = []

    def start_server(behave: Callable[[_Handler, str], None]) -> HostileServer:
        server = HostileServer(behave)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return server

    yield start_server
    for server in servers:
        server.over.set()
        server.shutdown()
        server.server_close()


def plan_against(
    tmp_path: Path,
    backend: str,
    server: HostileServer,
    timeout: float = 60.0,
    settings: dict[str, float] = SETTINGS,
    prelude: str = "",
) -> Run:
    """`plan` of a one-model repository of `backend`, its API at `server`."""
    if backend == "gemini":
        repo = write_repo(tmp_path, settings=settings)
        env = {"GENERATIVELANGUAGE_EMULATOR_HOST": server.host_port}
    else:
        repo = write_vertex_repo(tmp_path, [vertex_manifest("alpha")], **settings)
        env = {"AIPLATFORM_EMULATOR_HOST": server.host_port, "STORAGE_EMULATOR_HOST": server.host_port}
    return finish(start(repo, "plan", prelude=prelude, **env), timeout=timeout)


def assert_bounded_error(result: Run, *expected: str) -> None:
    """Exit 1, a clear error naming the request, in bounded memory."""
    assert result.code == 1, result.text
    for unwanted in ("Traceback", "internal error", "MemoryError"):
        assert unwanted not in result.text, result.text
    error = result.err.strip().splitlines()[-1]
    assert error.startswith("Error: GET /v1"), result.err  # the request it was
    for piece in expected:
        assert piece in error, f"{piece!r} not in {error!r}"
    assert result.peak_rss_bytes < EXPECTED_PEAK_BYTES, f"peaked at {result.peak_rss_bytes / 2**20:.0f} MB"


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize(("behave", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_answer_is_a_clear_error_in_bounded_memory(
    tmp_path: Path,
    serve: Callable[[Callable[[_Handler, str], None]], HostileServer],
    backend: str,
    behave: Callable[[_Handler, str], None],
    message: str,
) -> None:
    server = serve(behave)
    assert_bounded_error(plan_against(tmp_path, backend, server), message)
    # Each list (three on Vertex) stops at the page bound at the latest.
    assert server.requests_seen <= 3 * MAX_PAGES


@pytest.mark.parametrize("backend", ["gemini", "vertex"])
@pytest.mark.parametrize("behave", [c[1] for c in SLOW], ids=[c[0] for c in SLOW])
def test_a_trickling_server_is_cut_off_at_the_request_timeout(
    tmp_path: Path,
    serve: Callable[[Callable[[_Handler, str], None]], HostileServer],
    backend: str,
    behave: Callable[[_Handler, str], None],
) -> None:
    server = serve(behave)
    # A byte every 0.05 s: no read waits as long as the 0.2 s request timeout,
    # which bounds the whole answer. The backoff between attempts is cut short
    # (FAST_BACKOFF): the five attempts, not the waits between them, are tested.
    result = plan_against(
        tmp_path,
        backend,
        server,
        timeout=SLOW_WALL_TIMEOUT,
        settings={"requestTimeoutSeconds": SLOW_REQUEST_TIMEOUT},
        prelude=FAST_BACKOFF,
    )
    # Retried like any timeout, then given up on.
    assert_bounded_error(
        result,
        f"no whole answer within the request timeout of {SLOW_REQUEST_TIMEOUT}s (requestTimeoutSeconds)",
        f"(after {RetryPolicy().max_attempts} attempts)",
    )
