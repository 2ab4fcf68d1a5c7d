"""Two applies creating the same model at once make one model from one tuning
run: one of them makes it, the other finds it and only waits for it.

Deterministic, never a race (interleave.py): apply A is stopped at a chosen
point, apply B runs until it is done or must wait, then A goes on to its end,
then B.

- `test_..._held_at_the_create`: A's request that starts the run is held by the
  emulator, before the service sees it or once it has made the run.
- `test_..._paused_at_any_write`: A is paused before each of its writes in
  turn and after each is served (taps.py: the interleavings that differ), until
  A completes unpaused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.conformance.interleave import FIRST, Apply, exactly_one_made_it, interleaved, paused_at_each_write
from tests.backends.conformance.surfaces import Surface
from tests.backends.conformance.taps import Pause
from tests.backends.conformance.world import World


@pytest.mark.parametrize("answered", [False, True], ids=["before", "answered"])
def test_two_creates_at_once_make_one_model_held_at_the_create(
    surface: Surface, answered: bool, tmp_path: Path
) -> None:
    with World(surface, tmp_path) as world:
        held = surface.hold_create(world.emulator, answered=answered)
        first = Apply(world, FIRST)
        first.start()
        held.wait_arrived(timeout=10)
        exactly_one_made_it(interleaved(world, first, held.release))


@pytest.mark.parametrize("kind", Pause.KINDS)
def test_two_creates_at_once_make_one_model_paused_at_any_write(surface: Surface, kind: str, tmp_path: Path) -> None:
    with World(surface, tmp_path) as world:
        paused_at_each_write(world, surface, kind, exactly_one_made_it)
