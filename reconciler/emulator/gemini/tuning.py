"""Simulated tuning, computed from the clock rather than run by a thread.

The arithmetic follows every recorded run of the real service:
`totalSteps = ceil(examples × epochs / batch)`, snapshot
`epoch = floor(step × batch / examples)`, `completedPercent = 100 × step / total`.
Step `n` completes at `createTime + n × step_seconds`; so a SQLite store that
is reopened later shows the run where the clock says it is.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from reconciler.emulator.records import TunedModelRecord

CREATING, ACTIVE, FAILED = "CREATING", "ACTIVE", "FAILED"
# One snapshot is kept per step, and every GET and list renders them all; so a
# run is bounded (our choice: the real limit is not documented; recorded runs
# took up to 375 steps). A create over it is refused with 400.
MAX_TOTAL_STEPS = 10_000


def total_steps(examples: int, epochs: int, batch_size: int) -> int:
    return math.ceil(examples * epochs / batch_size)


@dataclass(frozen=True)
class Snapshot:
    step: int
    epoch: int
    mean_loss: float
    compute_time: float


@dataclass(frozen=True)
class Progress:
    state: str
    completed_steps: int
    total_steps: int
    complete_time: float | None  # set once the run has ended, whatever the outcome
    failed: bool
    cancelled: bool

    @property
    def done(self) -> bool:
        return self.complete_time is not None

    @property
    def completed_percent(self) -> float:
        return 100.0 * self.completed_steps / self.total_steps if self.total_steps else 100.0


def progress(record: TunedModelRecord, now: float) -> Progress:
    if record.cancel_time is not None and record.cancelled_at_step is not None:
        # A cancelled run keeps the model it had reached (the docs warn that its
        # quality is "unpredictable"), so it is ACTIVE with fewer steps.
        return Progress(ACTIVE, record.cancelled_at_step, record.total_steps, record.cancel_time, False, True)
    last_step = record.fail_at_step if record.fail_at_step is not None else record.total_steps
    completed = min(_steps_elapsed(record, now), last_step)
    if completed < last_step:
        return Progress(CREATING, completed, record.total_steps, None, False, False)
    complete_time = record.create_time + last_step * record.step_seconds
    failed = record.fail_at_step is not None
    return Progress(FAILED if failed else ACTIVE, completed, record.total_steps, complete_time, failed, False)


def _steps_elapsed(record: TunedModelRecord, now: float) -> int:
    if record.step_seconds <= 0:
        return record.total_steps
    return max(0, math.floor((now - record.create_time) / record.step_seconds))


def snapshots(
    model_id: str,
    create_time: float,
    step_seconds: float,
    total: int,
    batch_size: int,
    examples: int,
    completed_steps: int,
) -> list[Snapshot]:
    return [
        Snapshot(
            step=step,
            epoch=math.floor(step * batch_size / max(1, examples)),
            mean_loss=mean_loss(model_id, step, total),
            compute_time=create_time + step * step_seconds,
        )
        for step in range(1, completed_steps + 1)
    ]


def mean_loss(model_id: str, step: int, total: int) -> float:
    """A decreasing curve with deterministic noise, so reruns show the same run."""
    digest = hashlib.sha256(f"{model_id}:{step}".encode()).digest()
    noise = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF - 0.5  # in [-0.5, 0.5]
    trend = 0.1 + 8.0 * math.exp(-4.0 * step / max(total, 1))
    return float(f"{trend * (1.0 + 0.2 * noise):.7g}")  # float32 precision, as the API sends
