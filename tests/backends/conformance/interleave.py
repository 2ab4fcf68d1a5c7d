"""Two applies creating the same model at once, deterministically: apply A is
stopped at a chosen point, apply B runs until it is done or must wait (for A's
lock, or for the run to finish: its waits are held on the virtual clock), then
A goes on to its end, then B. Used by test_concurrent.py, and by a backend's
own tests where a conformance case is a known failure for a reason that leaves
the rest of the case worth checking."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

from reconciler.apply.backend import Tuned
from tests.backends.conformance.scenarios import one_model_in_sync
from tests.backends.conformance.surfaces import Surface
from tests.backends.conformance.taps import Pause
from tests.backends.conformance.world import World

MAX_WRITES = 50
FIRST, SECOND = "apply-a", "apply-b"


class Apply(threading.Thread):
    """One apply's create on a thread of its own, named so that its requests
    and sleeps can be told from the other's."""

    def __init__(self, world: World, name: str, done: threading.Event | None = None) -> None:
        super().__init__(name=name, daemon=True)
        self.world = world
        self.backend, self.model, self.waiter = world.backend(), world.model(), world.waiter()
        self.tuned: Tuned | None = None
        self.error: BaseException | None = None
        self.done = done or threading.Event()

    def run(self) -> None:
        try:
            self.tuned = self.backend.create(self.model, self.waiter)
        except BaseException as error:  # handed to the test's thread
            self.error = error
        finally:
            self.done.set()
            self.world.clock.poke()

    def result(self) -> Tuned:
        self.join(timeout=30)
        assert not self.is_alive(), f"{self.name} never finished"
        if self.error is not None:
            raise self.error
        assert self.tuned is not None
        return self.tuned


def interleaved(world: World, first: Apply, resume: Callable[[], None]) -> list[Tuned]:
    """`first` has started and is stopped (or done); run the second apply until
    it is done or waits, let the first finish, then the second: both succeed,
    and one model from one tuning run is live. Returns what each said."""
    world.clock.hold_sleeps(SECOND)
    second = Apply(world, SECOND)
    second.start()
    world.clock.wait_for_a_held_sleep(second.done)
    resume()
    made_by_first = first.result()
    world.clock.release_sleeps()
    made_by_second = second.result()
    one_model_in_sync(world)
    return [made_by_first, made_by_second]


def exactly_one_made_it(tuned: list[Tuned]) -> None:
    assert sorted(t.found for t in tuned) == [False, True], "exactly one apply made it, the other found it"


def paused_at_each_write(world: World, surface: Surface, kind: str, check: Callable[[list[Tuned]], None]) -> None:
    """Apply A paused `kind` (taps.Pause) its 1st write, interleaved with B; then
    at its 2nd, and so on, until A completes unpaused; `check` what they said."""
    for write in itertools.count(1):
        assert write <= MAX_WRITES, "the first apply never completed"
        if write > 1:
            world.reset()
        paused_or_done = threading.Event()
        pause = Pause(FIRST, kind, write, paused=paused_or_done)
        with surface.tap(pause):
            first = Apply(world, FIRST, done=paused_or_done)
            first.start()
            assert paused_or_done.wait(30), "the first apply neither paused nor finished"
            if pause.writes < write:  # it finished before that write
                first.result()
                return
            try:
                check(interleaved(world, first, pause.resume))
            except AssertionError as failed:
                raise AssertionError(f"{pause}: {failed}") from failed
