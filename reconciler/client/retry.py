"""When and how long to wait before sending a failed request again.

Our own loop rather than urllib3's `Retry`: it must honour `RetryInfo` from
the error body as well as `Retry-After`, know which calls are safe to resend,
and run with an injected sleep and clock so tests take no time.

Retried: no answer at all, 429, 500, 502, 503 and 504. Everything else (a 404,
a 400, a 409) is an answer that another try would only repeat. Calls that
must not run twice are resent only when the server surely did not process
them: the connection was never made, or Google's front end answered 429
(rate limiting happens before the request reaches the service). A create
paced to a service's quota is not resent after a 429 here: its backend waits
for the quota through the apply's waiter (pacing.py), reported as such.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.client.errors import ApiError, TransportError

logger = logging.getLogger("reconciler.client")

RETRYABLE_HTTP_STATUSES = frozenset({429, 500, 502, 503, 504})

T = TypeVar("T")


def is_transient(error: ApiError) -> bool:
    """Whether the same request might succeed later."""
    return isinstance(error, TransportError) or error.http_status in RETRYABLE_HTTP_STATUSES


def never_sent(error: ApiError) -> bool:
    """Whether the request never reached the server: the connection was never made."""
    return isinstance(error, TransportError) and not error.sent


def never_processed(error: ApiError) -> bool:
    """Whether the server surely did nothing with the request: safe to resend anything."""
    return never_sent(error) or error.http_status == 429


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded in attempts and in total time."""

    max_attempts: int = 5
    """Attempts per call, the first included; 1 turns retries off."""
    base_backoff: float = 1.0
    """Seconds before the second attempt; doubled for every attempt after that."""
    max_backoff: float = 30.0
    """The longest computed wait (a server's own Retry-After may be longer)."""
    deadline: float = 120.0
    """Seconds after the first attempt past which no new attempt starts."""
    jitter: float = 0.5
    """Fraction of each backoff that is random, so parallel clients spread out."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def backoff(self, failures: int) -> float:
        """The wait after the `failures`-th failed attempt, jitter included."""
        full = min(self.max_backoff, self.base_backoff * 2.0 ** (failures - 1))
        return full * (1 - self.jitter * self.random())

    def run(self, attempt: Callable[[], T], *, what: str, retry_if: Callable[[ApiError], bool]) -> T:
        """Call `attempt` until it returns, or raise its last error when retrying stops."""
        started = self.clock()
        number = 0
        while True:
            number += 1
            try:
                return attempt()
            except ApiError as error:
                error.attempts = number
                if number >= self.max_attempts or not retry_if(error):
                    raise
                delay = self._delay(error, number, started)
                if delay is None:
                    # Fewer attempts than max_attempts: say why, so the
                    # counts in the log and in the error agree.
                    error.deadline = self.deadline
                    raise
                logger.warning(
                    "%s: attempt %d of at most %d failed (%s); retrying in %.1fs",
                    what,
                    number,
                    self.max_attempts,
                    _summary(error),
                    delay,
                )
                self.sleep(delay)

    def _delay(self, error: ApiError, failures: int, started: float) -> float | None:
        """How long to wait before the next attempt, or None if it would pass the deadline."""
        delay = error.retry_after if error.retry_after is not None else self.backoff(failures)
        if self.clock() + delay - started > self.deadline:
            return None
        return delay


def _summary(error: ApiError) -> str:
    if isinstance(error, TransportError):
        return error.message
    return f"{error.http_status} {error.status}".strip()
