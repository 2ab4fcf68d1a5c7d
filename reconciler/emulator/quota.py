"""The submission quota: at most N tuning-job submissions in any sliding 60 s
of the emulator's clock, per quota boundary (Vertex AI: project and location;
Bedrock: account and region). Off (0) unless asked for, by
`EmulatorOptions.tuning_submissions_per_minute` or `/_internal/quota`.

Only what the quota lets through counts: a refused submission made nothing,
and is not counted (the quota's own answer is its front end's, before the
request reaches the service). Each surface answers a refusal in its own words:
Vertex AI 429 RESOURCE_EXHAUSTED, Bedrock 429 ThrottlingException. Kept in
memory, not in the state file: a restart starts a fresh minute."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from reconciler.emulator.errors import invalid_argument

WINDOW_SECONDS = 60.0
MAX_PER_MINUTE = 1_000_000


class SubmissionQuota:
    """Thread-safe; one a server, shared by the surfaces (each keys its own scopes)."""

    def __init__(self, per_minute: int = 0) -> None:
        _check(per_minute)
        self._initial = per_minute
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._admitted: dict[tuple[str, ...], deque[float]] = {}
        self.refused = 0  # submissions refused since the start or the last reset

    def admit(self, scope: tuple[str, ...], now: float) -> float | None:
        """None when a submission in `scope` at `now` is within the quota (it is
        counted); else the seconds until the oldest counted one leaves the window."""
        with self._lock:
            seen = self._admitted.setdefault(scope, deque())
            while seen and seen[0] <= now - WINDOW_SECONDS:
                seen.popleft()
            if self.per_minute and len(seen) >= self.per_minute:
                self.refused += 1
                return max(0.0, seen[0] + WINDOW_SECONDS - now)
            seen.append(now)
            return None

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {"tuning_submissions_per_minute": self.per_minute, "refused": self.refused}

    def update(self, data: Any) -> None:
        """`{"tuning_submissions_per_minute": N}` (0: off); the counts so far are kept."""
        if not isinstance(data, dict) or set(data) - {"tuning_submissions_per_minute"}:
            raise invalid_argument("Quota settings must be a JSON object with tuning_submissions_per_minute only.")
        per_minute = data.get("tuning_submissions_per_minute", self.per_minute)
        _check(per_minute)
        with self._lock:
            self.per_minute = per_minute

    def reset(self) -> None:
        with self._lock:
            self.per_minute = self._initial
            self._admitted.clear()
            self.refused = 0


def _check(per_minute: Any) -> None:
    if not isinstance(per_minute, int) or isinstance(per_minute, bool) or not 0 <= per_minute <= MAX_PER_MINUTE:
        raise invalid_argument(
            f"tuning_submissions_per_minute must be a whole number from 0 (off) to {MAX_PER_MINUTE}."
        )
