"""The Gemini backend's two waits, for an operation and for a model, under the
waiter: their backoff, what they report as progress, API errors left to the
waiter (transient ones waited out, others not), and a create that answered "not
done". The waiter alone (timeout, stop, failures in a row) is tests/apply's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import MAX_FAILED_POLLS, Waiter
from reconciler.client.errors import NotFound, Unavailable
from tests.apply.fakes import FakeClock
from tests.backends.gemini.fakes import desired_for, gemini_backend
from tests.integration.helpers_apply import manifest


class Operations:
    """An operation done after `polls_needed` reads; `errors` are raised first, in order."""

    def __init__(self, polls_needed: int, errors: list[Exception] | None = None) -> None:
        self.polls_needed = polls_needed
        self.errors = list(errors or [])
        self.reads = 0

    def get_operation(self, name: str, fields: str | None = None) -> dict[str, Any]:
        if self.errors:
            raise self.errors.pop(0)
        self.reads += 1
        done = self.reads >= self.polls_needed
        metadata = {"totalSteps": 10, "completedSteps": self.reads, "snapshots": [{"step": self.reads, "meanLoss": 1}]}
        return {"name": name, "metadata": metadata, **({"done": True} if done else {})}

    def get_tuned_model(self, name: str, fields: str | None = None) -> dict[str, Any]:
        self.reads += 1
        state = "ACTIVE" if self.reads >= self.polls_needed else "CREATING"
        return {"name": name, "state": state, "tuningTask": {"snapshots": [{"step": 5, "epoch": 1}]}}


def waiter(clock: FakeClock, timeout: float = 1000) -> Waiter:
    return Waiter(interval=2, timeout=timeout, reporter=RecordingReporter(), max_interval=5, stop=clock, clock=clock)


def wait_operation(w: Waiter, operations: Operations) -> dict[str, Any]:
    return gemini_backend(operations).wait_for_operation("m", "tunedModels/m/operations/o", w)


def test_polls_back_off_by_half_up_to_the_cap() -> None:
    clock = FakeClock()
    final = wait_operation(waiter(clock), Operations(polls_needed=6))
    assert final["done"] is True
    assert clock.waits == [2, 3, 4.5, 5, 5]


def test_every_poll_is_reported_as_progress() -> None:
    clock = FakeClock()
    w = waiter(clock)
    wait_operation(w, Operations(polls_needed=3))
    reporter = w.reporter
    assert isinstance(reporter, RecordingReporter)
    assert [(p.completed_steps, p.percent) for p in reporter.progresses] == [(1, 10.0), (2, 20.0), (10, 100.0)]


def test_a_model_wait_turns_snapshots_into_a_percentage() -> None:
    clock = FakeClock()
    w = waiter(clock)
    gemini_backend(Operations(polls_needed=2)).wait_for_model("m", 20, w)
    assert isinstance(w.reporter, RecordingReporter)
    assert [(p.completed_steps, p.percent, p.epoch) for p in w.reporter.progresses] == [(5, 25.0, 1)] * 2


def test_transient_poll_failures_are_waited_out() -> None:
    errors: list[Exception] = [Unavailable("down", http_status=503)] * (MAX_FAILED_POLLS - 1)
    final = wait_operation(waiter(FakeClock()), Operations(1, errors))
    assert final["done"] is True


def test_a_permanent_error_is_not_retried() -> None:
    operations = Operations(1, [NotFound("gone", http_status=404)])
    with pytest.raises(NotFound):
        wait_operation(waiter(FakeClock()), operations)
    assert operations.reads == 0


class Creates(Operations):
    """A create that answers "not done"; every read notes how many waits came before it."""

    def __init__(self, clock: FakeClock, polls_needed: int) -> None:
        super().__init__(polls_needed)
        self.clock = clock
        self.waits_before_reads: list[int] = []

    def create_tuned_model(self, body: Any, tuned_model_id: str | None = None) -> dict[str, Any]:
        metadata = {"totalSteps": 10, "snapshots": []}
        return {"name": f"tunedModels/{tuned_model_id}/operations/o", "metadata": metadata}

    def get_operation(self, name: str, fields: str | None = None) -> dict[str, Any]:
        self.waits_before_reads.append(len(self.clock.waits))
        return super().get_operation(name, fields)

    def get_tuned_model(self, name: str, fields: str | None = None) -> dict[str, Any]:
        return {"createTime": "2024-05-01T10:00:00.5Z"}  # what the create binds the marker to

    def update_tuned_model(self, name: str, body: dict[str, Any], update_mask: list[str]) -> dict[str, Any]:
        self.bound_at = len(self.clock.waits)
        return body


def test_a_create_that_answered_not_done_is_not_polled_at_once(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("numbers")])
    clock = FakeClock()
    client = Creates(clock, polls_needed=2)
    gemini_backend(client).create(desired.models[0], waiter(clock))
    assert client.waits_before_reads == [1, 2]  # every read comes after a wait
    assert clock.waits == [2, 3]
    assert client.bound_at == 0  # the marker is bound as soon as the model exists, before any wait
