"""Injected faults: 429 with Retry-After and RetryInfo, 503, dropped
connections and slow answers, at given rates, for all paths or those matching
a regular expression. Set at start and changed at run time via /_internal/faults."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.errors import ApiError, invalid_argument
from reconciler.emulator.ids import IdMaker

RATE_FIELDS = ("rate_429", "rate_503", "rate_drop", "rate_slow")


@dataclass(frozen=True)
class FaultSettings:
    rate_429: float = 0.0
    rate_503: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 2.0
    retry_after_seconds: int = 1
    path_regex: str = ""  # empty: every API path

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> FaultSettings:
        """Settings from a control request; anything left out is off."""
        if not isinstance(data, dict):
            raise invalid_argument("Fault settings must be a JSON object.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise invalid_argument(f"Unknown fault settings: {', '.join(unknown)}.")
        try:
            settings = cls(**data)
            settings.check()
        except TypeError as exc:
            raise invalid_argument(f"Bad fault settings: {exc}.") from None
        return settings

    def check(self) -> None:
        for name in RATE_FIELDS:
            rate = getattr(self, name)
            if not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
                raise invalid_argument(f"{name} must be a number from 0 to 1.")
        if not isinstance(self.slow_seconds, (int, float)) or not (
            math.isfinite(self.slow_seconds) and 0 <= self.slow_seconds <= 600
        ):
            raise invalid_argument("slow_seconds must be a number from 0 to 600.")
        if not isinstance(self.retry_after_seconds, int) or self.retry_after_seconds < 0:
            raise invalid_argument("retry_after_seconds must be a whole number >= 0.")
        if not isinstance(self.path_regex, str):
            raise invalid_argument("path_regex must be a string.")
        try:
            re.compile(self.path_regex)
        except re.error as exc:
            raise invalid_argument(f"path_regex does not compile: {exc}.") from None


def pick_fault(settings: FaultSettings, path: str, ids: IdMaker) -> str:
    """'drop', '429', '503', 'slow' or '' for this request."""
    if settings.path_regex and not re.search(settings.path_regex, path):
        return ""
    for fault, rate in (("drop", settings.rate_drop), ("429", settings.rate_429),
                        ("503", settings.rate_503), ("slow", settings.rate_slow)):
        if rate and ids.chance(rate):
            return fault
    return ""


def rate_limited(settings: FaultSettings) -> ApiError:
    delay = settings.retry_after_seconds
    return ApiError(
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{delay}s"}],
        headers={"Retry-After": str(delay)},
    )


def unavailable() -> ApiError:
    return ApiError("UNAVAILABLE", "The service is currently unavailable.")
