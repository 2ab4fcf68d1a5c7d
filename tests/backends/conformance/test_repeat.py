"""Every action is safe to repeat: called twice in a row, the second call
changes nothing (it may say the goal was reached already, as an adopt of a
model it adopted does), and the outcome is the action's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.conformance.scenarios import SCENARIOS, Scenario
from tests.backends.conformance.surfaces import Surface
from tests.backends.conformance.world import World


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_an_action_twice_is_the_action_once(surface: Surface, scenario: Scenario, tmp_path: Path) -> None:
    with World(surface, tmp_path) as world:
        given = scenario.prepare(world)
        backend = world.backend()
        first = scenario.act(backend, world, given)
        once = world.outcome()
        try:
            second = scenario.act(backend, world, given)
        except scenario.refusal:
            second = first
        assert world.outcome() == once
        scenario.check(world)
    if scenario.name == "create":  # the second found the first's run, and only waited for it
        assert (first.found, second.found) == (False, True)
    if scenario.name == "find":
        assert first.model_dump() == second.model_dump()
