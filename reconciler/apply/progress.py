"""What the executor tells the outside world while it works.

The engine never prints: it calls a `Reporter`, and the CLI chooses how to show
it (a live line per model on a terminal, plain lines at intervals without one,
JSON lines for machines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Progress:
    """One look at a tuning run, as its backend reads it."""

    model_id: str
    completed_steps: int = 0
    total_steps: int = 0
    percent: float = 0.0
    epoch: int = 0
    mean_loss: float | None = None
    elapsed: float = 0.0
    # What the run is doing, where the backend says (Vertex AI: the job's
    # state or its tuningJobState, e.g. "waiting for quota"); shown as is.
    # None where it says nothing (JSON: null, never "").
    stage: str | None = None


@dataclass(frozen=True)
class Event:
    """A step of the apply worth telling: started, finished, failed, skipped."""

    kind: str  # start | done | failed | skipped | stopped
    model_id: str
    action: str = ""
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class Reporter(Protocol):
    def event(self, event: Event) -> None: ...
    def progress(self, progress: Progress) -> None: ...


class NullReporter:
    def event(self, event: Event) -> None:
        pass

    def progress(self, progress: Progress) -> None:
        pass


class RecordingReporter:
    """Keeps everything it is told (tests, and the apply summary's loss curves)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.progresses: list[Progress] = []

    def event(self, event: Event) -> None:
        self.events.append(event)

    def progress(self, progress: Progress) -> None:
        self.progresses.append(progress)


# C0 and C1 control characters (ESC, CR, BEL, line breaks...).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def one_line(text: str) -> str:
    """Text from the API (a stage, an error, a model's answer) made one plain line
    for a terminal or a log: a control character could move the cursor or
    recolour the terminal, and a line break would break a live block's redraw,
    which counts one row a line."""
    return _CONTROLS.sub(" ", text)
