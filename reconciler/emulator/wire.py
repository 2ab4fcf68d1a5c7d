"""proto3 JSON output, as every surface writes it: enums as names or (with
`$alt=json;enum-encoding=int`) as integers, RFC 3339 timestamps. What each
surface renders is in its own package (`gemini/render.py`, `vertex/render.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.emulator.schema import enum_number


@dataclass(frozen=True)
class Enums:
    """How this answer spells enums: names by default, numbers when asked."""

    as_int: bool = False

    def __call__(self, enum_name: str, name: str) -> str | int:
        return enum_number(enum_name, name) if self.as_int else name


def timestamp(seconds: float, nanos: bool = False) -> str:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    # The real API shows µs on createTime, updateTime and completeTime, ns on
    # startTime and snapshot computeTimes.
    return f"{text}000Z" if nanos else f"{text}Z"
