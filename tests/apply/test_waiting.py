"""The waiter: backoff, timeout, stop, and looks that fail transiently, driven
with a look of the test's own (no backend: each backend's waits are tested with
it, under tests/backends/)."""

from __future__ import annotations

import pytest

from reconciler.apply.waiting import MAX_FAILED_POLLS, Stopped, TimedOut, Waiter
from reconciler.client.errors import NotFound, Unavailable

from .fakes import FakeClock, waiter_for


class Run:
    """Done at the `looks_needed`-th look that reads it; `errors` are raised
    first, one a look, in order (None in their place: a look that reads it)."""

    def __init__(self, clock: FakeClock, looks_needed: int, errors: list[Exception | None] | None = None) -> None:
        self.clock = clock
        self.looks_needed = looks_needed
        self.errors = list(errors or [])
        self.looks = 0  # the looks that read the run (not those that failed)
        self.waits_before_looks: list[int] = []
        self.elapsed: list[float] = []

    def look(self, elapsed: float) -> bool:
        self.waits_before_looks.append(len(self.clock.waits))
        self.elapsed.append(elapsed)
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        self.looks += 1
        return self.looks >= self.looks_needed


def waiter(clock: FakeClock, timeout: float = 1000) -> Waiter:
    w = waiter_for(clock, interval=2)
    w.timeout, w.max_interval = timeout, 5
    return w


def test_looks_back_off_by_half_up_to_the_cap() -> None:
    clock = FakeClock()
    run = Run(clock, looks_needed=6)
    waiter(clock).poll(run.look, "run")
    assert clock.waits == [2, 3, 4.5, 5, 5]
    assert run.elapsed == [0, 2, 5, 9.5, 14.5, 19.5]  # measured on the waiter's clock


def test_the_first_look_is_at_once_unless_the_caller_has_just_looked() -> None:
    clock = FakeClock()
    run = Run(clock, looks_needed=2)
    waiter(clock).poll(run.look, "run")
    assert run.waits_before_looks == [0, 1]
    clock = FakeClock()
    later = Run(clock, looks_needed=2)
    waiter(clock).poll(later.look, "run", wait_first=True)  # a create answered "not done"
    assert later.waits_before_looks == [1, 2]  # every look comes after a wait
    assert clock.waits == [2, 3]


def test_a_run_longer_than_the_timeout_times_out() -> None:
    clock = FakeClock()
    with pytest.raises(TimedOut, match="run of m was not done after 10s"):
        waiter(clock, timeout=10).poll(Run(clock, looks_needed=100).look, "run of m")
    assert sum(clock.waits) <= 10  # it never waits past the timeout


def test_a_stop_ends_the_wait() -> None:
    clock = FakeClock()
    clock.set()
    run = Run(clock, looks_needed=100)
    with pytest.raises(Stopped):
        waiter(clock).poll(run.look, "run")
    assert run.looks == 0


def test_a_stop_during_a_wait_ends_it() -> None:
    clock = FakeClock(stop_at_wait=2)
    run = Run(clock, looks_needed=100)
    with pytest.raises(Stopped):
        waiter(clock).poll(run.look, "run")
    assert run.looks == 2 and len(clock.waits) == 2


def test_transient_look_failures_are_waited_out() -> None:
    clock = FakeClock()
    errors: list[Exception | None] = [Unavailable("down", http_status=503)] * (MAX_FAILED_POLLS - 1)
    run = Run(clock, 1, errors)
    waiter(clock).poll(run.look, "run")
    assert run.looks == 1 and len(clock.waits) == MAX_FAILED_POLLS - 1


def test_a_look_that_succeeds_starts_the_count_of_failures_again() -> None:
    clock = FakeClock()
    failures: list[Exception | None] = [Unavailable("down", http_status=503)] * (MAX_FAILED_POLLS - 1)
    run = Run(clock, 2, [*failures, None, *failures])  # one good look between two runs of failures
    waiter(clock).poll(run.look, "run")
    assert run.looks == 2


def test_too_many_failed_looks_in_a_row_give_up() -> None:
    clock = FakeClock()
    errors: list[Exception | None] = [Unavailable("down", http_status=503)] * MAX_FAILED_POLLS
    with pytest.raises(Unavailable):
        waiter(clock).poll(Run(clock, 1, errors).look, "run")
    assert len(clock.waits) == MAX_FAILED_POLLS - 1


def test_a_permanent_error_is_not_retried() -> None:
    clock = FakeClock()
    run = Run(clock, 1, [NotFound("gone", http_status=404)])
    with pytest.raises(NotFound):
        waiter(clock).poll(run.look, "run")
    assert run.looks == 0 and clock.waits == []


def test_until_polls_a_condition() -> None:
    clock = FakeClock()
    answers = iter([False, False, True])
    waiter(clock).until(lambda: next(answers), "the id is free")
    assert clock.waits == [2, 3]
