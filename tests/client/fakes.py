"""Test doubles for the client: a requests transport that answers from a script,
and a clock whose sleeps take no time.

`FakeApi` is mounted on a real `requests.Session` (the httpx MockTransport
idea): the client under test runs unmodified, and only the network is gone.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

API_KEY = "AIzaTEST-secret-key-0123456789"


@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)  # a dict is sent as JSON, a str as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    """One request as the fake server received it."""

    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]
    body: Any
    timeout: Any


def status_body(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    """A google.rpc.Status error body as the API sends it."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return {"error": error}


def error(code: int, status: str = "", message: str = "failed", **kwargs: Any) -> Reply:
    return Reply(code, status_body(code, status, message), **kwargs)


class FakeApi(BaseAdapter):
    """Answers each (method, path) from a queue of scripted replies.

    A queue's last reply repeats forever; an exception in the queue is raised
    as the network would raise it. Unscripted paths answer 404 NOT_FOUND.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Seen] = []
        self._scripts: dict[tuple[str, str], list[Reply | Exception]] = {}

    def script(self, method: str, path: str, *replies: Reply | Exception) -> None:
        self._scripts[(method, path)] = list(replies)

    def paths(self) -> list[str]:
        return [f"{s.method} {s.path}" for s in self.seen]

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount("https://", self)
        session.mount("http://", self)
        return session

    def send(  # type: ignore[override]  # requests passes stream, timeout, ... as keywords
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = json.loads(request.body) if request.body else None
        headers = CaseInsensitiveDict(request.headers)
        seen = Seen(
            request.method or "", request.url or "", url.path, parse_qs(url.query), headers, body, kwargs.get("timeout")
        )
        self.seen.append(seen)
        reply = self._next((seen.method, seen.path))
        if isinstance(reply, Exception):
            raise reply
        return _response(request, reply)

    def close(self) -> None:
        pass

    def _next(self, key: tuple[str, str]) -> Reply | Exception:
        queue = self._scripts.get(key)
        if not queue:
            return error(404, "NOT_FOUND", f"no route for {key[0]} {key[1]}")
        return queue.pop(0) if len(queue) > 1 else queue[0]


def _response(request: requests.PreparedRequest, reply: Reply) -> requests.Response:
    response = requests.Response()
    response.status_code = reply.status
    raw = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
    response.raw = io.BytesIO(raw.encode())  # streamed, as a real adapter's answer is
    response.headers = CaseInsensitiveDict({"content-type": "application/json", **reply.headers})
    response.url = request.url or ""
    response.request = request
    return response


class FakeClock:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pages(key: str, *chunks: Iterable[dict[str, Any]]) -> list[Reply]:
    """Replies for a paged list: one per chunk, linked by page tokens."""
    chunks_list = [list(c) for c in chunks]
    replies = []
    for index, items in enumerate(chunks_list):
        body: dict[str, Any] = {key: items} if items else {}
        if index + 1 < len(chunks_list):
            body["nextPageToken"] = f"token-{index + 1}"
        replies.append(Reply(200, body))
    return replies


def dropped() -> requests.ConnectionError:
    """The connection closed after the request went out."""
    return requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError()))


def refused() -> requests.ConnectionError:
    """The connection was never made, so the request never left."""
    cause = NewConnectionError(None, "Failed to establish a new connection: refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/", cause))  # type: ignore[arg-type]
