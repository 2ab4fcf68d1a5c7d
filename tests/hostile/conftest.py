"""A loopback HTTP server that only counts: hostile input must send it nothing
(but, for a bad dataset, the read-only model list that valid settings and
manifests start while the datasets load)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class CountingServer(ThreadingHTTPServer):
    requests_seen = 0
    lines_seen: list[str]

    @property
    def requests_besides_the_list(self) -> int:
        """Requests other than the tuned-model list, which a plan starts once the
        settings and manifests are valid, while the datasets load (a read, to the
        endpoint reconciler.yaml names): a bad dataset may have let that one go,
        never any other."""
        listed = [line for line in self.lines_seen if re.fullmatch(r"GET /v1beta/tunedModels\?.*", line)]
        return self.requests_seen - len(listed)

    @property
    def host_port(self) -> str:
        host, port = self.server_address[:2]
        return f"{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    def _count(self) -> None:
        self.server.requests_seen += 1  # type: ignore[attr-defined]
        self.server.lines_seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        self.send_response(403)  # not retried: one request, one count
        self.end_headers()

    do_GET = do_POST = do_PATCH = do_DELETE = _count

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[CountingServer]:
    server = CountingServer(("127.0.0.1", 0), _Handler)
    server.lines_seen = []
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, paid by
    # every test that uses a server.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
