"""Creates paced to a service's submission quota, and its refusals waited out.

A service counts creates against a quota per place: Vertex AI, 60 tuning-job
submissions a minute per project and region; Amazon Bedrock, per account and
region. A connected backend talks to one such place (one shard), so it holds
one `Pacer`, which every worker thread of the process shares:

- **Pacing**: at most `per_minute` creates in any sliding 60 s. A create takes
  a slot before it is sent; the slot counts from then until 60 s after its
  answer (a late answer cannot squeeze two windows' creates into one of the
  server's). A create the service refused for quota frees its slot at once:
  it made nothing, and is sent again through the pacer.
- **Refusals** (HTTP 429, RESOURCE_EXHAUSTED, ThrottlingException): a 429 means
  the request was turned away before anything was made, so sending it again
  is safe. It is no failure: the create waits (the server's Retry-After, else
  a growing backoff), and every other create of the pacer waits as long, then
  tries again; the wait is reported as waiting for quota. Only when the
  quota stays exhausted past the operation timeout does the create fail.

Neutral and timeless: the clock, the (interruptible) sleep, the timeout and
where progress goes are the caller's (the apply's Waiter, `Waiter.quota`), so
Ctrl-C and SIGTERM end a wait at once, and tests run on a virtual clock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from reconciler.client.errors import ApiError, RateLimited
from reconciler.model.errors import ReconcilerError

T = TypeVar("T")

WINDOW_SECONDS = 60.0  # the quotas are per minute
# While every slot is taken by a create still waiting for its answer, there is
# no expiry to wait for: look again this much later.
IN_FLIGHT_RECHECK_SECONDS = 1.0
# After a quota refusal without a Retry-After: 2 s, doubled for each refusal in a
# row, at most a window (by then the quota's minute has surely turned).
FIRST_REFUSAL_BACKOFF = 2.0
MAX_REFUSAL_BACKOFF = WINDOW_SECONDS


def is_quota_refusal(error: ApiError) -> bool:
    """The service refused the request for quota or rate (429, RESOURCE_EXHAUSTED,
    Bedrock's ThrottlingException, whatever HTTP status carries it): nothing
    was made, and the same request may succeed once the quota frees."""
    return isinstance(error, RateLimited) or error.http_status == 429


class QuotaExhausted(ReconcilerError):
    """The service refused a create for quota for longer than the operation timeout."""


@dataclass(frozen=True)
class QuotaWaits:
    """How one create waits: the caller's clock and interruptible sleep (it
    raises to stop), the longest it may wait for a refusing quota in all, and
    `report(stage, elapsed)`, told whenever it starts waiting."""

    clock: Callable[[], float]
    sleep: Callable[[float], None]
    timeout: float
    report: Callable[[str, float], None]


class Pacer:
    """At most `per_minute` creates in any `window` seconds (0: no pacing, the
    refusals are still waited out); thread-safe. `setting` names what sets the
    rate, for the words a waiting create shows."""

    def __init__(self, per_minute: int, *, setting: str = "", window: float = WINDOW_SECONDS) -> None:
        if per_minute < 0:
            raise ValueError("per_minute must be 0 (no pacing) or more")
        self.per_minute = per_minute
        self.setting = setting
        self.window = window
        self._lock = threading.Lock()
        self._answered: deque[float] = deque()  # when the counted creates were answered, oldest first
        self._in_flight = 0  # creates sent and not yet answered
        self._quiet_until = float("-inf")  # after a refusal, nobody sends before this

    def submit(self, send: Callable[[], T], waits: QuotaWaits) -> T:
        """`send()` once a slot is free, again after each quota refusal, until it
        answers or raises another error (which the caller handles: a create
        with no answer is the caller's ambiguity, and keeps its slot)."""
        started = waits.clock()
        refusals = 0
        while True:
            self._take_slot(waits, started)
            refused: ApiError | None = None
            try:
                return send()
            except ApiError as error:
                if not is_quota_refusal(error):
                    raise
                refused = error
            finally:
                # Counted unless refused for quota: answered, or an error after
                # which it may have been made (no answer, a 500, anything else).
                self._release(waits.clock, counted=refused is None)
            refusals += 1
            delay = self._refused(refused, refusals, waits, started)
            waits.report(_refusal_words(refused, delay), waits.clock() - started)
            waits.sleep(delay)

    def _refused(self, error: ApiError, refusals: int, waits: QuotaWaits, started: float) -> float:
        """How long to wait after a refusal (everyone waits as long), or QuotaExhausted
        if that would pass the timeout."""
        backoff = min(MAX_REFUSAL_BACKOFF, FIRST_REFUSAL_BACKOFF * 2.0 ** (refusals - 1))
        delay = error.retry_after if error.retry_after is not None and error.retry_after > 0 else backoff
        now = waits.clock()
        if now + delay - started > waits.timeout:
            raise QuotaExhausted(
                f"the service kept refusing the create for quota ({_summary(error)}) for "
                f"{now - started:.0f}s, and waiting on would pass the operation timeout "
                f"({waits.timeout:g}s, operationTimeoutSeconds); nothing was created, the next apply tries again"
            ) from error
        with self._lock:
            self._quiet_until = max(self._quiet_until, now + delay)
        return delay

    def _take_slot(self, waits: QuotaWaits, started: float) -> None:
        told = ""
        while True:
            with self._lock:
                now = waits.clock()
                delay = self._delay(now)
                if delay <= 0:
                    self._in_flight += 1
                    return
                words = self._holding_words(delay) if now < self._quiet_until else self._pacing_words()
            if words != told:
                waits.report(words, waits.clock() - started)
                told = words
            waits.sleep(delay)

    def _delay(self, now: float) -> float:
        """0 when a create may be sent now, else how long to wait before looking again."""
        while self._answered and self._answered[0] <= now - self.window:
            self._answered.popleft()
        quiet = self._quiet_until - now
        taken = len(self._answered) + self._in_flight
        if self.per_minute == 0 or taken < self.per_minute:
            return max(0.0, quiet)
        # A slot frees when enough answered creates have left the window...
        leaving = taken - self.per_minute + 1
        expiry = self._answered[leaving - 1] + self.window - now if leaving <= len(self._answered) else float("inf")
        if self._in_flight:
            # ...or when a create on its way is refused (it frees its slot): look again soon.
            expiry = min(expiry, IN_FLIGHT_RECHECK_SECONDS)
        return max(quiet, expiry)

    def _release(self, clock: Callable[[], float], *, counted: bool) -> None:
        with self._lock:
            self._in_flight -= 1
            if counted:
                self._answered.append(clock())

    @staticmethod
    def _holding_words(delay: float) -> str:
        return f"waiting for quota: the service refused a create; holding back {_seconds(delay)}"

    def _pacing_words(self) -> str:
        where = f", {self.setting}" if self.setting else ""
        return f"waiting for quota: at most {self.per_minute} creates a minute{where}"


def _seconds(delay: float) -> str:
    return f"{delay:.0f}s" if delay >= 1 else f"{delay:.2g}s"


def _summary(error: ApiError) -> str:
    return f"{error.http_status} {error.status}".strip()


def _refusal_words(error: ApiError, delay: float) -> str:
    return f"waiting for quota: the service refused the create ({_summary(error)}); trying again in {_seconds(delay)}"
