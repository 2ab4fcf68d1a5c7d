"""Waiting for tuning runs: poll with backoff, report progress, stop on request.

Tuning takes minutes to hours, so a wait can end four ways: the model is ACTIVE,
it FAILED, the timeout passed, or the user asked to stop (Ctrl-C, SIGTERM). In
the last two cases the run goes on on the server, and a later apply picks it up.

A poll that fails transiently (after the client's own retries) does not end the
wait: the run goes on regardless, so the next poll simply looks again. Only
`MAX_FAILED_POLLS` failures in a row give up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.apply.progress import Progress, Reporter
from reconciler.client.errors import ApiError
from reconciler.client.pacing import QuotaWaits
from reconciler.client.retry import is_transient

MAX_FAILED_POLLS = 5


class Stopped(Exception):
    """The user asked the apply to stop waiting; the server keeps working."""


class TimedOut(Exception):
    """A tuning run outlasted the operation timeout; it keeps running on the server."""


@dataclass
class Waiter:
    """Polls until done, growing the interval from `interval` to `max_interval`."""

    interval: float
    timeout: float
    reporter: Reporter
    max_interval: float = 30.0
    growth: float = 1.5
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.monotonic

    def pause(self, seconds: float) -> None:
        """Sleep `seconds`, or raise Stopped as soon as a stop is asked for: for
        a wait its caller paces itself (a lock held by another run)."""
        # Event.wait doubles as an interruptible sleep.
        if self.stop.wait(seconds):
            raise Stopped()

    def quota(self, model_id: str) -> QuotaWaits:
        """How a create paced to the service's quota waits (reconciler/client/pacing.py):
        on this waiter's clock and stop, within its timeout, each wait shown as
        the model's progress ("waiting for quota: ...")."""

        def report(stage: str, elapsed: float) -> None:
            self.reporter.progress(Progress(model_id=model_id, stage=stage, elapsed=elapsed))

        return QuotaWaits(clock=self.clock, sleep=self.pause, timeout=self.timeout, report=report)

    def poll(self, look: Callable[[float], bool], what: str, *, wait_first: bool = False) -> None:
        """Call `look(elapsed)` until it says done, sleeping a growing interval
        between looks; transient API errors count, up to MAX_FAILED_POLLS in a row.
        `wait_first`: the caller has just looked (a create answered "not done"),
        so the first look comes an interval later, not at once."""
        started = self.clock()
        interval = self.interval
        failed_polls = 0
        if wait_first:
            self.pause(interval)
            interval = min(self.max_interval, interval * self.growth)
        while True:
            if self.stop.is_set():
                raise Stopped()
            elapsed = self.clock() - started
            try:
                if look(elapsed):
                    return
                failed_polls = 0
            except ApiError as error:
                failed_polls += 1
                if not is_transient(error) or failed_polls >= MAX_FAILED_POLLS:
                    raise
            if elapsed + interval > self.timeout:
                raise TimedOut(f"{what} was not done after {self.timeout:.0f}s")
            self.pause(interval)
            interval = min(self.max_interval, interval * self.growth)

    def until(self, check: Callable[[], bool], what: str) -> None:
        """Poll a condition (for example: the id is free again after a delete)."""
        self.poll(lambda _elapsed: check(), what)
