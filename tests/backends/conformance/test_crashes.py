"""A crash between any two requests of an action, resumed. The action is
stopped at its 1st request that changes something, then at its 2nd, and so
on, until it completes untouched (see taps.py: a crash before a read leaves
the service as one before the next write). At each, three ways:

- `before`: the process crashes before sending it;
- `answered`: the service makes the change, the process crashes before
  reading the answer;
- `lost`: the service makes the change, the answer is lost on the wire, and
  the process goes on (its retries, its own recovery).

Then a new process runs the same action again (when the first did not
finish), and it must reach the action's outcome: one model from one tuning
run, nothing left behind. What the next apply would still do may only be a
change in place (`mend_in_place`): a Gemini create stopped between its create
and binding the marker to the model's createTime leaves the binding to the
next plan, by design (docs/ownership.md)."""

from __future__ import annotations

import contextlib
import itertools
from pathlib import Path

import pytest

from reconciler.model.errors import ReconcilerError
from tests.backends.conformance.scenarios import SCENARIOS, Scenario, mend_in_place
from tests.backends.conformance.surfaces import Surface
from tests.backends.conformance.taps import Crash, Fault
from tests.backends.conformance.world import World

MAX_WRITES = 50  # more than any action sends: a loop that never ends is a failure

CHANGING = [s for s in SCENARIOS if s.name != "find"]  # find changes nothing to stop halfway


@pytest.mark.parametrize("kind", Fault.KINDS)
@pytest.mark.parametrize("scenario", CHANGING, ids=str)
def test_an_action_stopped_at_any_request_converges_when_run_again(
    surface: Surface, scenario: Scenario, kind: str, tmp_path: Path
) -> None:
    with World(surface, tmp_path) as world:
        for write in itertools.count(1):
            assert write <= MAX_WRITES, f"{scenario} never completed"
            if write > 1:
                world.reset()
            given = scenario.prepare(world)
            finished = False
            with world.fault(kind, write) as fault:
                try:
                    scenario.act(world.backend(), world, given)
                    finished = True
                except (Crash, ReconcilerError):  # died, or failed on the lost answer
                    pass
            if not finished:
                world.restart()
                with contextlib.suppress(*scenario.refusal):
                    scenario.act(world.backend(), world, given)
            try:
                mend_in_place(world)
                scenario.check(world)
            except AssertionError as failed:
                raise AssertionError(f"{fault}: {failed}") from failed
            if not fault.hit:
                return
