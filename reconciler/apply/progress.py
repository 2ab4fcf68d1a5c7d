"""What the executor tells the outside world while it works.

The engine never prints: it calls a `Reporter`, and the CLI chooses how to show
it (a live line per model on a terminal, plain lines at intervals without one,
JSON lines for machines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Progress:
    """One look at a tuning run (from the operation's CreateTunedModelMetadata)."""

    model_id: str
    completed_steps: int = 0
    total_steps: int = 0
    percent: float = 0.0
    epoch: int = 0
    mean_loss: float | None = None
    elapsed: float = 0.0

    @classmethod
    def from_operation(cls, model_id: str, operation: dict[str, Any], elapsed: float) -> Progress:
        metadata = operation.get("metadata") or {}
        snapshots = metadata.get("snapshots") or []
        last = snapshots[-1] if snapshots else {}
        total = int(metadata.get("totalSteps", 0))
        done = bool(operation.get("done"))
        steps = int(metadata.get("completedSteps", last.get("step", 0)))
        # completedPercent is omitted at 0 (proto3 defaults); the steps say as much.
        percent = float(metadata.get("completedPercent", 100.0 * steps / total if total else 0.0))
        return cls(
            model_id=model_id,
            completed_steps=total if done and "error" not in operation else steps,
            total_steps=total,
            percent=100.0 if done and "error" not in operation else percent,
            epoch=int(last.get("epoch", 0)),
            mean_loss=last.get("meanLoss"),
            elapsed=elapsed,
        )

    @classmethod
    def from_model(cls, model_id: str, body: dict[str, Any], total_steps: int, elapsed: float) -> Progress:
        """Progress read from a TunedModel's snapshots (a run picked up from an earlier apply)."""
        snapshots = (body.get("tuningTask") or {}).get("snapshots") or []
        last = snapshots[-1] if snapshots else {}
        steps = int(last.get("step", 0))
        percent = min(100.0, 100.0 * steps / total_steps) if total_steps else 0.0
        return cls(
            model_id=model_id,
            completed_steps=steps,
            total_steps=total_steps,
            percent=percent,
            epoch=int(last.get("epoch", 0)),
            mean_loss=last.get("meanLoss"),
            elapsed=elapsed,
        )


@dataclass(frozen=True)
class Event:
    """A step of the apply worth telling: started, finished, failed, skipped."""

    kind: str  # start | done | failed | skipped | note
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
