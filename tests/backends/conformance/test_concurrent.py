"""Two applies creating the same model at once make one model from one tuning
run: one of them makes it, the other finds it and only waits for it.

Deterministic, never a race: apply A is stopped at a chosen point, apply B
runs until it is done or must wait (for A's lock, or for the run to finish:
its waits are held on the virtual clock), then A goes on to its end, then B.

- `test_..._held_at_the_create`: A's request that starts the run is held by the
  emulator, before the service sees it or once it has made the run.
- `test_..._paused_at_any_write`: A is paused before each of its writes in
  turn and after each is served (taps.py: the interleavings that differ), until
  A completes unpaused."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

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


def interleaved(world: World, first: Apply, resume: Callable[[], None]) -> None:
    """`first` has started and is stopped (or done); run the second apply until
    it is done or waits, let the first finish, then the second; one of them
    made the model, the other found it."""
    world.clock.hold_sleeps(SECOND)
    second = Apply(world, SECOND)
    second.start()
    world.clock.wait_for_a_held_sleep(second.done)
    resume()
    made_by_first = first.result()
    world.clock.release_sleeps()
    made_by_second = second.result()
    assert sorted([made_by_first.found, made_by_second.found]) == [False, True], "exactly one apply made it"
    one_model_in_sync(world)


@pytest.mark.parametrize("answered", [False, True], ids=["before", "answered"])
def test_two_creates_at_once_make_one_model_held_at_the_create(
    surface: Surface, answered: bool, tmp_path: Path
) -> None:
    with World(surface, tmp_path) as world:
        held = surface.hold_create(world.emulator, answered=answered)
        first = Apply(world, FIRST)
        first.start()
        held.wait_arrived(timeout=10)
        interleaved(world, first, held.release)


@pytest.mark.parametrize("kind", Pause.KINDS)
def test_two_creates_at_once_make_one_model_paused_at_any_write(surface: Surface, kind: str, tmp_path: Path) -> None:
    with World(surface, tmp_path) as world:
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
                    interleaved(world, first, pause.resume)
                except AssertionError as failed:
                    raise AssertionError(f"{pause}: {failed}") from failed
