"""Where a customization job is, computed from the clock and what the job stored.

A job is InProgress from its creation: one step of the tuning settings'
`step_seconds` validating its data, one processing it, one per epoch
training; then Completed (its custom model made by `settle`). A job whose data
does not validate is Failed after the first step; one chosen to fail
(`failure` "training") is Failed halfway through its epochs. A stop shows
Stopping for one step, then Stopped. With `step_seconds` 0 a job has ended
when it is first read. `statusDetails` tell the three stages apart
(NotStarted, InProgress, Completed, Failed, Stopping, Stopped)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IN_PROGRESS, COMPLETED, FAILED = "InProgress", "Completed", "Failed"
STOPPING, STOPPED = "Stopping", "Stopped"
NOT_STARTED = "NotStarted"
ENDED = frozenset({COMPLETED, FAILED, STOPPED})
STAGES = ("validationDetails", "dataProcessingDetails", "trainingDetails")


@dataclass(frozen=True)
class Stage:
    status: str
    start: float | None = None
    modified: float | None = None


@dataclass(frozen=True)
class Phase:
    status: str
    stages: dict[str, Stage] = field(default_factory=dict)
    epochs_done: int = 0
    end_time: float | None = None
    last_modified: float = 0.0

    @property
    def ended(self) -> bool:
        return self.status in ENDED


def phase(job: dict[str, Any], now: float) -> Phase:
    stop = job.get("stop_time")
    if stop is not None:
        return _stopping(job, stop, now)
    return _running(job, now)


def _bounds(job: dict[str, Any]) -> list[float]:
    """When each stage starts, and when the job ends: [validation, processing, training, end]."""
    start, step, epochs = job["create_time"], job["step_seconds"], job["epochs"]
    failure = job.get("failure", "")
    if failure == "validation":
        return [start, start + step, start + step, start + step]
    trained = epochs // 2 if failure == "training" else epochs
    return [start, start + step, start + 2 * step, start + (2 + trained) * step]


def _running(job: dict[str, Any], now: float) -> Phase:
    bounds = _bounds(job)
    end = bounds[3]
    step = job["step_seconds"]
    trained = _epochs(job, min(now, end))
    if now >= end:
        outcome = FAILED if job.get("failure") else COMPLETED
        return Phase(outcome, _stages(bounds, end, outcome, job), trained, end, end)
    current = max(index for index in range(3) if now >= bounds[index])
    last = bounds[current] + (trained * step if current == 2 else 0)
    return Phase(IN_PROGRESS, _stages(bounds, now, IN_PROGRESS, job), trained, None, last)


def _stopping(job: dict[str, Any], stop: float, now: float) -> Phase:
    before = _running(job, stop)
    done = stop + job["step_seconds"]
    status = STOPPED if now >= done else STOPPING
    stages = {
        name: Stage(status, stage.start, done if status == STOPPED else stop) if stage.status == IN_PROGRESS else stage
        for name, stage in before.stages.items()
    }
    return Phase(
        status, stages, before.epochs_done, done if status == STOPPED else None, done if status == STOPPED else stop
    )


def _stages(bounds: list[float], now: float, status: str, job: dict[str, Any]) -> dict[str, Stage]:
    """Each stage's status at `now`: the one a job failed in is Failed and those
    after it NotStarted; otherwise done (Completed), current (InProgress) or not
    started yet."""
    failed_in = {"validation": 0, "training": 2}.get(job.get("failure") or "", len(STAGES))
    stages = {}
    for index, name in enumerate(STAGES):
        start, finish = bounds[index], bounds[index + 1]
        if status == FAILED and index == failed_in:
            stages[name] = Stage(FAILED, start, finish)
        elif now < start or (status == FAILED and index > failed_in):
            stages[name] = Stage(NOT_STARTED)
        elif now >= finish:
            stages[name] = Stage(COMPLETED, start, finish)
        else:
            stages[name] = Stage(IN_PROGRESS, start, start)
    return stages


def _epochs(job: dict[str, Any], moment: float) -> int:
    """Epochs trained by `moment`."""
    step = job["step_seconds"]
    training_start = job["create_time"] + 2 * step
    if job.get("failure") == "validation" or moment < training_start:
        return 0
    epochs = int(job["epochs"])
    limit = epochs // 2 if job.get("failure") == "training" else epochs
    if step == 0:
        return limit
    return min(limit, int((moment - training_start) // step))


def training_loss(epochs_done: int) -> float:
    """The loss a run reports after this many epochs: deterministic, falling."""
    return round(0.2 + 1.8 / (1 + epochs_done), 6)


def validation_loss(epochs_done: int, validator: int) -> float:
    return round(training_loss(epochs_done) + 0.05 * (validator + 1), 6)
