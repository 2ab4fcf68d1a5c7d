"""Stopping a backend between two of its requests, from the client's side, so
that the same cases run on any emulator: a crash at a request (before it is
sent, or once the server has served it and before its answer is read), an
answer lost on the wire, and a pause of one thread at one of its requests
(two applies interleaved).

A Surface says how its backend's requests are tapped (`Surface.tap`); the
Google surfaces share `requests_tap`, on the one library both clients send with;
the Bedrock Surface's sends boto3's requests itself from botocore's
`before-send` event (surfaces.py).

Crashes and lost answers count only the requests that change something (any
method but GET): a crash before a read leaves the service as a crash before
the next write does, and a read whose answer is lost is simply read again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter

READS = frozenset({"GET", "HEAD"})


class Crash(BaseException):
    """The apply's process died here. Not an Exception: no handler in a backend
    catches it, as none catches a SIGKILL; `finally` blocks run, and any request
    they send crashes too."""


class Dropped(Exception):
    """The connection broke after the server had served the request: a tap
    raises its own library's error for it (requests: ConnectionError)."""


class Hook(Protocol):
    def before(self, method: str) -> None:
        """A request is about to be sent (raise to stop it)."""

    def after(self, method: str, discard: Callable[[], None]) -> None:
        """The server has served it (`discard` closes the answer unread)."""


@contextmanager
def requests_tap(hook: Hook) -> Iterator[None]:
    """Every request sent through `requests` in this process calls `hook`."""
    original = HTTPAdapter.send

    def send(adapter: HTTPAdapter, request: Any, *args: Any, **kwargs: Any) -> Any:
        hook.before(request.method)
        response = original(adapter, request, *args, **kwargs)
        try:
            hook.after(request.method, response.close)
        except Dropped as dropped:
            raise requests.ConnectionError(str(dropped), request=request) from None
        return response

    HTTPAdapter.send = send  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        HTTPAdapter.send = original  # type: ignore[method-assign]


class Fault:
    """At write `at` (1-based) of whatever runs while tapped:

    - `before`: the process crashes before sending it;
    - `answered`: the server serves it (its change is made), then the process
      crashes before reading the answer;
    - `lost`: the server serves it, then the connection drops; the process goes on.

    After a crash every request crashes (the process is gone, whatever threads
    or `finally` blocks try)."""

    KINDS = ("before", "answered", "lost")

    def __init__(self, kind: str, at: int) -> None:
        assert kind in self.KINDS, kind
        self.kind, self.at = kind, at
        self.writes = 0
        self.hit = False  # the fault happened
        self.crashed = False
        self._lock = threading.Lock()

    def __str__(self) -> str:
        return f"{self.kind} write {self.at}"

    def before(self, method: str) -> None:
        with self._lock:
            if self.crashed:
                raise Crash("a request after the crash")
            if method in READS:
                return
            self.writes += 1
            if self.kind == "before" and self.writes == self.at:
                self.hit = self.crashed = True
                raise Crash(f"before write {self.at}")

    def after(self, method: str, discard: Callable[[], None]) -> None:
        with self._lock:
            if method in READS or self.writes != self.at or self.hit or self.kind == "before":
                return
            self.hit = True
            discard()
            if self.kind == "lost":
                raise Dropped(f"the answer to write {self.at} was lost")
            self.crashed = True
            raise Crash(f"after write {self.at} was served")


class Pause:
    """Pause the thread named `thread` at its write `at` (1-based): `before`
    sending it, or `after` the server has served it and before the answer is
    read, until `resume()`. Other threads' requests pass untouched."""

    KINDS = ("before", "after")

    def __init__(self, thread: str, kind: str, at: int, paused: threading.Event) -> None:
        assert kind in self.KINDS, kind
        self.thread, self.kind, self.at = thread, kind, at
        self.writes = 0
        self.paused = paused  # set once paused (shared with whoever else may wake the test)
        self._resumed = threading.Event()

    def __str__(self) -> str:
        return f"{self.thread} paused {self.kind} its write {self.at}"

    def before(self, method: str) -> None:
        if threading.current_thread().name == self.thread and method not in READS:
            self.writes += 1
            if self.kind == "before":
                self._pause_at_ours()

    def after(self, method: str, discard: Callable[[], None]) -> None:
        if threading.current_thread().name == self.thread and method not in READS and self.kind == "after":
            self._pause_at_ours()

    def _pause_at_ours(self) -> None:
        if self.writes == self.at:
            self.paused.set()
            assert self._resumed.wait(30), f"{self} was never resumed"

    def resume(self) -> None:
        self._resumed.set()
