"""Each Surface's tap reaches its backend's requests (else every crash case
would pass having stopped nothing): a crash before the first write, and after
it is served, stop the create there; a lost answer is its client library's
own error, which the backend's retries get past."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.conformance.scenarios import mend_in_place, one_model_in_sync
from tests.backends.conformance.surfaces import Surface
from tests.backends.conformance.taps import Crash
from tests.backends.conformance.world import World


@pytest.mark.parametrize("kind", ["before", "answered"])
def test_a_crash_at_the_first_write_stops_the_create(surface: Surface, kind: str, tmp_path: Path) -> None:
    with World(surface, tmp_path) as world:
        with world.fault(kind, 1) as fault, pytest.raises(Crash):
            world.backend().create(world.model(), world.waiter())
        assert fault.hit and fault.writes == 1
        assert not surface.runs(world.emulator) or fault.kind == "answered"


def test_a_lost_answer_is_got_past(surface: Surface, tmp_path: Path) -> None:
    with World(surface, tmp_path) as world:
        with world.fault("lost", 1) as fault:
            world.backend().create(world.model(), world.waiter())
        assert fault.hit and fault.writes > 1  # it went on
        mend_in_place(world)  # a Gemini create whose answer was lost binds its marker at the next apply
        one_model_in_sync(world)
