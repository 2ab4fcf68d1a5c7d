"""Holds: a chosen request (by method and path regex) waits, before its handler
runs or before its answer is sent, until the test releases it. So a test can
interleave two clients deterministically: hold the first one's create, let the
second run, then release.

A held request waits on its own thread (the server is threaded) and holds no
lock of the emulator, so the rest of the server keeps answering. A hold catches
the first `times` matching requests (0: every one until released); release
lets all of them go, and the ones after. A request is never held longer than
MAX_HOLD_SECONDS (a test that forgot to release must not hang the server).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.errors import invalid_argument
from reconciler.emulator.faults import check_method, check_path_regex, path_matches

log = logging.getLogger(__name__)

MAX_HOLD_SECONDS = 300.0
MAX_WAIT_SECONDS = 60.0  # what a control request may wait for arrivals
MAX_HOLDS = 100


@dataclass
class Hold:
    id: str
    method: str  # "POST", or "*" for any
    path_regex: str
    times: int = 1  # how many requests it catches; 0: every one until released
    after: bool = False  # hold the answer (the handler has run) instead of the request
    _arrived: int = 0
    _released: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def to_json(self) -> dict[str, Any]:
        with self._changed:
            return {
                "id": self.id,
                "method": self.method,
                "path_regex": self.path_regex,
                "times": self.times,
                "after": self.after,
                "arrived": self._arrived,
                "released": self._released,
            }

    @property
    def arrived(self) -> int:
        with self._changed:
            return self._arrived

    def wait_arrived(self, count: int = 1, timeout: float = 10.0) -> None:
        """Return once `count` requests have been caught; TimeoutError after `timeout`."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._arrived >= count, timeout):
                raise TimeoutError(
                    f"hold {self.method} {self.path_regex!r}: {self._arrived} "
                    f"of {count} requests arrived within {timeout}s"
                )

    def release(self) -> None:
        """Let every caught request go on; the hold catches nothing more."""
        with self._changed:
            self._released = True
            self._changed.notify_all()

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def _claim(self, method: str, path: str, after: bool) -> bool:
        """Catch this request if it is one of ours (atomically: `times` is exact)."""
        if after != self.after or self.method not in ("*", method):
            return False
        with self._changed:
            if self._released or (self.times and self._arrived >= self.times):
                return False
            if not path_matches(self.path_regex, path):
                return False
            self._arrived += 1
            self._changed.notify_all()
            return True

    def _wait_released(self, method: str, path: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._released, MAX_HOLD_SECONDS):
                log.warning("held %s %.200s for %ss without a release; letting it go", method, path, MAX_HOLD_SECONDS)


class Holds:
    """The holds armed on one server, by the Python API or /_internal/holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holds: dict[str, Hold] = {}
        self._next_id = 1

    def add(self, method: str, path_regex: str, times: int = 1, after: bool = False) -> Hold:
        method = check_method(method)
        check_path_regex(path_regex)
        if not isinstance(times, int) or isinstance(times, bool) or not 0 <= times <= 1000:
            raise invalid_argument("times must be a whole number from 0 to 1000.")
        if not isinstance(after, bool):
            raise invalid_argument("after must be true or false.")
        with self._lock:
            if len(self._holds) >= MAX_HOLDS:  # forget the released ones first
                self._holds = {key: held for key, held in self._holds.items() if not held.to_json()["released"]}
            if len(self._holds) >= MAX_HOLDS:
                raise invalid_argument(f"At most {MAX_HOLDS} holds; release some first.")
            hold = Hold(str(self._next_id), method, path_regex, times, after)
            self._next_id += 1
            self._holds[hold.id] = hold
        return hold

    def from_json(self, data: Any) -> Hold:
        if (
            not isinstance(data, dict)
            or not {"method", "path_regex"} <= set(data)
            or set(data) - {"method", "path_regex", "times", "after"}
        ):
            raise invalid_argument("A hold is an object with method, path_regex, and optionally times and after.")
        return self.add(data["method"], data["path_regex"], data.get("times", 1), data.get("after", False))

    def get(self, hold_id: str) -> Hold | None:
        with self._lock:
            return self._holds.get(hold_id)

    def all(self) -> list[Hold]:
        with self._lock:
            return list(self._holds.values())

    def pause(self, method: str, path: str, after: bool) -> None:
        """Wait here if a hold catches this request (before or after its handler)."""
        for hold in self.all():
            if hold._claim(method, path, after):
                hold._wait_released(method, path)
                return

    def release_all(self) -> None:
        """Let everything go and forget every hold (reset, and the server's stop)."""
        with self._lock:
            holds, self._holds = list(self._holds.values()), {}
        for hold in holds:
            hold.release()
