"""What a handler receives (a parsed request) and what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.wire import Enums

Reply = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Call:
    version: str  # v1, v1beta, v1alpha or v1beta3, from the path
    body: Any  # the decoded JSON body; {} when there was none
    query: Mapping[str, str]  # API query parameters, camelCase, system ones removed
    enums: Enums
    now: float
