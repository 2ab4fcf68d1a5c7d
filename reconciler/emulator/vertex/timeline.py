"""Where a tuning job is, computed from the clock and what the job stored.

A job is PENDING until `pending_until`, then RUNNING through one step of
`step_seconds` each for WAITING_FOR_QUOTA and PROCESSING_DATASET, one step per
epoch in TUNING, one in POST_PROCESSING; then it has ended. A job that fails in
tuning ends FAILED after half its epochs (`failure`). A cancel shows
CANCELLING for one step, then CANCELLED. With `step_seconds` 0 a job ends as
soon as it leaves PENDING. Ends are made durable by `jobs.settle`, which
records `outcome` on the job; from then on the outcome is the state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PENDING, RUNNING = "JOB_STATE_PENDING", "JOB_STATE_RUNNING"
SUCCEEDED, FAILED = "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED"
CANCELLING, CANCELLED = "JOB_STATE_CANCELLING", "JOB_STATE_CANCELLED"
ENDED = frozenset({SUCCEEDED, FAILED, CANCELLED, "JOB_STATE_EXPIRED"})
SUB_STATE = "TUNING_JOB_STATE_"


@dataclass(frozen=True)
class Phase:
    state: str
    sub_state: str = ""  # tuningJobState, while RUNNING
    start_time: float | None = None
    completed_epochs: int = 0
    completed_steps: int = 0
    ends_at: float | None = None  # when the job reaches (or reached) its end state
    update_time: float = 0.0

    @property
    def ended(self) -> bool:
        return self.state in ENDED


def phase(job: dict[str, Any], now: float) -> Phase:
    outcome = job.get("outcome")
    if outcome:
        return Phase(
            outcome["state"],
            start_time=outcome.get("start_time"),
            completed_epochs=outcome.get("completed_epochs", 0),
            completed_steps=outcome.get("completed_steps", 0),
            ends_at=outcome["end_time"],
            update_time=outcome["end_time"],
        )
    if job.get("cancel_time") is not None:
        return _cancelling(job, now)
    return _running(job, now)


def _cancelling(job: dict[str, Any], now: float) -> Phase:
    cancel_time = job["cancel_time"]
    done_at = cancel_time + job["step_seconds"]
    before = _running(job, cancel_time)
    if now >= done_at:
        return Phase(
            CANCELLED,
            start_time=before.start_time,
            ends_at=done_at,
            completed_epochs=before.completed_epochs,
            completed_steps=before.completed_steps,
            update_time=done_at,
        )
    return Phase(
        CANCELLING,
        start_time=before.start_time,
        ends_at=done_at,
        completed_epochs=before.completed_epochs,
        completed_steps=before.completed_steps,
        update_time=cancel_time,
    )


def _running(job: dict[str, Any], now: float) -> Phase:
    start = job["pending_until"]
    if now < start:
        return Phase(PENDING, update_time=job["create_time"])
    step, epochs = job["step_seconds"], job["epochs"]
    if failure(job) == "tuning":  # fails in TUNING, halfway through
        reached = failed_after_epochs(job)
        end = start + (2 + reached) * step
        if now >= end:
            return Phase(
                FAILED,
                start_time=start,
                completed_epochs=reached,
                completed_steps=reached * job["steps_per_epoch"],
                ends_at=end,
                update_time=end,
            )
    end = start + (epochs + 3) * step
    if now >= end:
        outcome = FAILED if failure(job) else SUCCEEDED
        return Phase(
            outcome,
            start_time=start,
            completed_epochs=epochs,
            completed_steps=epochs * job["steps_per_epoch"],
            ends_at=end,
            update_time=end,
        )
    done = math.floor((now - start) / step)  # step > 0 here, else now >= end
    epochs_done = min(epochs, max(0, done - 2))
    if done == 0:
        sub = "WAITING_FOR_QUOTA"
    elif done == 1:
        sub = "PROCESSING_DATASET"
    elif done < 2 + epochs:
        sub = "TUNING"
    else:
        sub = "POST_PROCESSING"
    return Phase(
        RUNNING,
        SUB_STATE + sub,
        start_time=start,
        completed_epochs=epochs_done,
        completed_steps=epochs_done * job["steps_per_epoch"],
        ends_at=end,
        update_time=start + done * step,
    )


def failure(job: dict[str, Any]) -> str:
    """ "" (none), "endpoint" (tuned, then code 13: a Model, no Endpoint) or "tuning"
    (code 13 halfway through TUNING: no Model). Jobs stored before `failure`
    existed carry `fail_code` (True: the endpoint failure)."""
    return str(job.get("failure") or ("endpoint" if job.get("fail_code") else ""))


def failed_after_epochs(job: dict[str, Any]) -> int:
    """The epochs a job that fails in TUNING completes first: half of them."""
    return int(job["epochs"]) // 2
