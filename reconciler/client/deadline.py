"""A whole answer within the request timeout, however slowly the server sends it.

`requests` applies its timeout to each read, so a server that sends one byte
every few seconds (a slowloris, or a broken proxy) would keep a call, and the
plan, running for ever. Here every attempt gets a `Deadline`; one watchdog
thread a transport (a thread an attempt would cost as much as a request to a
local emulator) shuts the attempt's socket down once the deadline passes, so
whatever read is blocked returns at once, headers included. The transport then
reports a timeout, which is retried like any other.

The socket is found through the connection classes of the session's adapter
(`WatchedAdapter`): a connection hands itself to the deadline of the attempt
running on its thread when it sends a request (it may connect only then), and
its socket when it reads the answer (http.client lets go of the socket of an
answer that ends with the connection, while the answer is still being read).
A session without them (a test's fake adapter, a proxy) still has its body
reads checked against the deadline between chunks.
"""

from __future__ import annotations

import contextlib
import itertools
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
    """The end of one attempt: `expired` once the watchdog has cut it off."""

    def __init__(self, due: float) -> None:
        self.due = due
        self.expired = False
        self._connection: Any = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def running(self) -> Iterator[Deadline]:
        """While the attempt sends and reads on this thread."""
        _running.deadline = self
        try:
            yield self
        finally:
            _running.deadline = None

    def watch(self, connection: Any) -> None:
        """`connection` (or a socket) carries the attempt: cut it when the deadline passes."""
        with self._lock:
            self._connection = connection
            expired = self.expired
        if expired:
            _shut(connection)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            connection, self._connection = self._connection, None
        if connection is not None:
            _shut(connection)

    def finish(self) -> None:
        """The attempt is over: its connection may serve another attempt now."""
        with self._lock:
            self._connection = None


def _shut(connection: Any) -> None:
    sock = connection if isinstance(connection, socket.socket) else getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket's shutdown, also under TLS: SSLSocket's own would
            # unwrap the TLS state under the feet of the reading thread.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


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
        """A deadline `seconds` from now, watched for as long as the block runs."""
        deadline = Deadline(self.clock() + seconds)
        with self._changed:
            token = next(self._tokens)
            self._pending[token] = deadline
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="request-deadlines", daemon=True)
                self._thread.start()
            self._changed.notify()
        try:
            with deadline.running():
                yield deadline
        finally:
            with self._changed:
                self._pending.pop(token, None)
            deadline.finish()

    def _watch(self) -> None:
        while True:
            with self._changed:
                due = self._next_due()
            due.expire()

    def _next_due(self) -> Deadline:
        """Wait (holding the condition) until a deadline passes; returns it, once."""
        while True:
            if not self._pending:
                self._changed.wait()
                continue
            token, deadline = min(self._pending.items(), key=lambda item: item[1].due)
            left = deadline.due - self.clock()
            if left <= 0:
                del self._pending[token]
                return deadline
            self._changed.wait(left)


def _hand_to_deadline(connection: Any) -> None:
    deadline = getattr(_running, "deadline", None)
    if deadline is not None and connection is not None:
        deadline.watch(connection)


class _Watched:
    """Mixed into urllib3's connections: they tell the running attempt's deadline what to cut."""

    sock: Any

    def request(self, *args: Any, **kwargs: Any) -> None:
        _hand_to_deadline(self)
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        _hand_to_deadline(self.sock)
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
