"""A whole answer within the request timeout, however slowly the server sends it.

`requests` applies its timeout to each read, so a server that sends one byte
every few seconds (a slowloris, or a broken proxy) would keep a call, and the
plan, running for ever. Here every attempt gets a `Deadline`, which starts
when the request has been sent (sending a dataset of megabytes on a slow line
is bounded by the per-write timeout, as before) and ends the request timeout
later. One watchdog thread a transport (a thread an attempt would cost as much
as a request to a local emulator) shuts the attempt's socket down once its
deadline passes, so whatever read is blocked returns at once, headers
included. The transport then reports a timeout, which is retried like any
other.

The socket comes from the connection classes of the session's adapter
(`WatchedAdapter`): when a connection starts reading an answer, it hands its
socket to the deadline of the attempt running on its thread. A session
without them (a test's fake adapter, a proxy) has no deadline: each read has
the request timeout, as `requests` does it.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import requests.adapters
import urllib3
import urllib3.connection

_running = threading.local()  # .deadline: the Deadline of the attempt on this thread


class Deadline:
    """The end of one attempt's answer: `expired` once the watchdog has cut it off."""

    def __init__(self, watchdog: Watchdog, seconds: float) -> None:
        self.watchdog = watchdog
        self.seconds = seconds
        self.due = math.inf  # until the request has been sent
        self.expired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def running(self) -> Iterator[Deadline]:
        """While the attempt sends and reads on this thread."""
        _running.deadline = self
        try:
            yield self
        finally:
            _running.deadline = None

    def answer_begins(self, sock: socket.socket) -> None:
        """The request is sent and its answer comes on `sock`: the clock starts."""
        with self._lock:
            self._socket = sock
        self.watchdog.starts(self)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sock, self._socket = self._socket, None
        if sock is not None:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, also under TLS: SSLSocket's own
                # would unwrap the TLS state under the feet of the reading thread.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def finish(self) -> None:
        """The attempt is over: its connection may serve another attempt now."""
        with self._lock:
            self._socket = None


class Watchdog:
    """One thread that expires the deadlines that pass; safe across threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._pending: dict[int, Deadline] = {}
        self._changed = threading.Condition()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def attempt(self, seconds: float) -> Iterator[Deadline]:
        """A deadline `seconds` after the request is sent, watched while the block runs."""
        deadline = Deadline(self, seconds)
        with self._changed:
            token = next(self._tokens)
            self._pending[token] = deadline
        try:
            with deadline.running():
                yield deadline
        finally:
            with self._changed:
                self._pending.pop(token, None)
            deadline.finish()

    def starts(self, deadline: Deadline) -> None:
        """`deadline`'s clock starts now."""
        with self._changed:
            deadline.due = self.clock() + deadline.seconds
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="request-deadlines", daemon=True)
                self._thread.start()
            self._changed.notify()

    def _watch(self) -> None:
        while True:
            with self._changed:
                due = self._next_due()
            due.expire()

    def _next_due(self) -> Deadline:
        """Wait (holding the condition) until a deadline passes; returns it, once."""
        while True:
            started = [(d.due, token) for token, d in self._pending.items() if d.due != math.inf]
            if not started:
                self._changed.wait()
                continue
            due, token = min(started)
            left = due - self.clock()
            if left <= 0:
                return self._pending.pop(token)
            self._changed.wait(left)


class _Watched:
    """Mixed into urllib3's connections: the answer's socket goes to the running attempt's deadline."""

    sock: Any

    def getresponse(self) -> Any:
        deadline = getattr(_running, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline.answer_begins(self.sock)
        return super().getresponse()  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose connections a `Deadline` can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}
