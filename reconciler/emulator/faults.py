"""Injected faults: 429 with Retry-After and RetryInfo, 503, dropped
connections and slow answers, at given rates, for all paths or those matching
a regular expression. Set at start and changed at run time via /_internal/faults."""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any

import regex

from reconciler.emulator.errors import ApiError, invalid_argument
from reconciler.emulator.ids import IdMaker

log = logging.getLogger(__name__)

RATE_FIELDS = ("rate_429", "rate_503", "rate_drop", "rate_slow")
# A path regex comes from whoever reaches the control endpoint. A slow one (`^(a|a)*$`)
# would stall every request, and with `re` the whole server (it holds the GIL); so it
# is bounded in length, run by `regex` with the GIL released, on at most MAX_MATCHED_PATH
# characters, and given up after REGEX_TIMEOUT_SECONDS (the request then gets no fault).
MAX_PATH_REGEX = 1000
MAX_MATCHED_PATH = 2000
REGEX_TIMEOUT_SECONDS = 0.05


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
        check_settings_object(cls, data, "fault settings")
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
        if not isinstance(self.path_regex, str) or len(self.path_regex) > MAX_PATH_REGEX:
            raise invalid_argument(f"path_regex must be a string of at most {MAX_PATH_REGEX} "
                                   "characters.")
        try:
            regex.compile(self.path_regex)
        except (regex.error, RecursionError, OverflowError) as exc:
            raise invalid_argument(f"path_regex does not compile: {exc}.") from None


def _path_matches(path_regex: str, path: str) -> bool:
    try:
        return regex.search(path_regex, path[:MAX_MATCHED_PATH], concurrent=True,
                            timeout=REGEX_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        log.warning("path_regex %.100r took over %ss on %.100r; no fault injected",
                    path_regex, REGEX_TIMEOUT_SECONDS, path)
        return False


def pick_fault(settings: FaultSettings, path: str, ids: IdMaker) -> str:
    """'drop', '429', '503', 'slow' or '' for this request."""
    if settings.path_regex and not _path_matches(settings.path_regex, path):
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


def check_settings_object(settings: Any, data: Any, noun: str) -> None:
    """A control request's body: a JSON object naming only fields of `settings`
    (a dataclass or one of its instances); `noun` names them in errors."""
    if not isinstance(data, dict):
        raise invalid_argument(f"{noun[0].upper()}{noun[1:]} must be a JSON object.")
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(settings)})
    if unknown:
        raise invalid_argument(f"Unknown {noun}: {', '.join(unknown)}.")
