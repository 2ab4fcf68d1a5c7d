"""Injected faults: 429 with Retry-After and RetryInfo, 503, dropped
connections and slow answers, at given rates, for all paths or those matching
a regular expression. Set at start and changed at run time via /_internal/faults.

Lost answers (`LostAnswers`, /_internal/lost-answers): the next N requests of a
method and path regex are served (their change committed), then the connection
is dropped or a 503 is sent instead of the answer. Counts, not rates, as the
Vertex faults, so that a test gets exactly the fault it arms."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
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
        check_path_regex(self.path_regex)


def check_path_regex(path_regex: Any) -> None:
    """A path regex from a control request or a test: bounded, and it compiles."""
    if not isinstance(path_regex, str) or len(path_regex) > MAX_PATH_REGEX:
        raise invalid_argument(f"path_regex must be a string of at most {MAX_PATH_REGEX} characters.")
    try:
        regex.compile(path_regex)
    except (regex.error, RecursionError, OverflowError) as exc:
        raise invalid_argument(f"path_regex does not compile: {exc}.") from None


HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def check_method(method: Any) -> str:
    """An HTTP method the emulator serves (upper case), or "*" for any."""
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS | {"*"}:
        raise invalid_argument(f"method must be one of {', '.join(sorted(HTTP_METHODS))} or *.")
    return method.upper()


def path_matches(path_regex: str, path: str) -> bool:
    """`regex.search` of the path, bounded in time (see MAX_PATH_REGEX); empty matches all."""
    if not path_regex:
        return True
    try:
        return (
            regex.search(path_regex, path[:MAX_MATCHED_PATH], concurrent=True, timeout=REGEX_TIMEOUT_SECONDS)
            is not None
        )
    except TimeoutError:
        log.warning(
            "path_regex %.100r took over %ss on %.100r; no fault injected", path_regex, REGEX_TIMEOUT_SECONDS, path
        )
        return False


def pick_fault(settings: FaultSettings, path: str, ids: IdMaker) -> str:
    """'drop', '429', '503', 'slow' or '' for this request."""
    if settings.path_regex and not path_matches(settings.path_regex, path):
        return ""
    for fault, rate in (
        ("drop", settings.rate_drop),
        ("429", settings.rate_429),
        ("503", settings.rate_503),
        ("slow", settings.rate_slow),
    ):
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


LOST_ANSWER_KINDS = ("drop", "503")


@dataclass
class LostAnswer:
    """The next `count` requests of `method` (or "*") whose path matches `path_regex`
    are served, then lose their answer: `drop` shuts the connection before any
    byte, `503` answers UNAVAILABLE instead (the change is committed either way)."""

    method: str
    path_regex: str
    count: int = 1
    answer: str = "drop"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class LostAnswers:
    """The lost-answer rules armed on one server; each is used up by the requests it hits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[LostAnswer] = []

    def arm(self, method: str, path_regex: str, count: int = 1, answer: str = "drop") -> None:
        method = check_method(method)
        check_path_regex(path_regex)
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1_000_000:
            raise invalid_argument("count must be a whole number from 1 to 1000000.")
        if answer not in LOST_ANSWER_KINDS:
            raise invalid_argument(f"answer must be one of {', '.join(LOST_ANSWER_KINDS)}.")
        with self._lock:
            self._rules = [rule for rule in self._rules if rule.count > 0]
            if len(self._rules) >= 100:
                raise invalid_argument("At most 100 lost-answer rules; clear them first.")
            self._rules.append(LostAnswer(method, path_regex, count, answer))

    def arm_json(self, data: Any) -> None:
        check_settings_object(LostAnswer, data, "lost-answer rule")
        if not {"method", "path_regex"} <= set(data):
            raise invalid_argument("A lost-answer rule needs method and path_regex.")
        self.arm(**data)

    def take(self, method: str, path: str) -> str:
        """'' or how this request's answer is lost; uses up one of the first matching rule."""
        with self._lock:
            for rule in self._rules:
                if rule.count > 0 and rule.method in ("*", method) and path_matches(rule.path_regex, path):
                    rule.count -= 1
                    return rule.answer
        return ""

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules if rule.count > 0]

    def clear(self) -> None:
        with self._lock:
            self._rules = []
