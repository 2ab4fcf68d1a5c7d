"""Saying what a request waits for when its endpoint is slow or silent.

One watcher thread a transport, started on the first request, rather than a
timer a request: starting a thread costs about as much as a request to a
local emulator. Requests register when they are sent and leave when answered;
the watcher logs, once, each one still waiting `after` seconds later.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("reconciler.client")


class SlowNotices:
    def __init__(
        self, after: float, describe: Callable[[str], str], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.after = after
        self.describe = describe  # what is waited for -> the line to log
        self.clock = clock
        self._pending: dict[int, tuple[float, str]] = {}  # token -> (when to tell, what)
        self._changed = threading.Condition()
        self._tokens = itertools.count()
        self._watcher: threading.Thread | None = None

    def sent(self, what: str) -> int:
        """A request went out; returns the token to pass to `answered`."""
        with self._changed:
            token = next(self._tokens)
            # Every later request is due later, so only the first of a quiet
            # spell needs to wake the watcher.
            wake = not self._pending
            self._pending[token] = (self.clock() + self.after, what)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="slow-requests", daemon=True)
                self._watcher.start()
            elif wake:
                self._changed.notify()
        return token

    def answered(self, token: int) -> None:
        with self._changed:
            self._pending.pop(token, None)

    def _watch(self) -> None:
        while True:
            with self._changed:
                what = self._next_due()
            if what is not None:
                logger.warning(self.describe(what))

    def _next_due(self) -> str | None:
        """Wait (holding the condition) until a request is due; returns it, once."""
        while True:
            if not self._pending:
                self._changed.wait()
                continue
            token, (due, what) = min(self._pending.items(), key=lambda item: item[1][0])
            left = due - self.clock()
            if left <= 0:
                del self._pending[token]
                return what
            self._changed.wait(left)
