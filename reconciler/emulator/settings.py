"""How the simulated service tunes, on every surface: the server owns one
`TuningSettings`, `/_internal/tuning` changes it for the runs made afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field

VERTEX_FAILURES = ("endpoint", "tuning")


@dataclass
class TuningSettings:
    """How the simulated service tunes; the server owns one, /_internal/ may change it."""

    step_seconds: float = 0.0
    fail_rate: float = 0.0
    fail_ids: frozenset[str] = field(default_factory=frozenset)
    # How a Vertex job chosen by fail_rate / fail_ids fails (see vertex/timeline.py):
    # "endpoint" (code 13 once tuned: its Model stays, no Endpoint) or "tuning" (no Model).
    vertex_failure: str = "endpoint"
    owner_email: str = "owner@emulator.local"
