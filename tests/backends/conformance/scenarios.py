"""Each action of the `Backend` protocol as a case: the state it starts from
(made through the protocol too, except a marker a person removes by hand),
the call, and the outcome it must reach. The same scenarios run twice in a
row (`test_repeat.py`) and stopped at each of their writes, then run again
(`test_crashes.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from reconciler.apply.backend import Backend, CannotAdopt
from reconciler.apply.waiting import Stopped
from reconciler.model.live import LiveState
from reconciler.model.ownership import ownership_for
from reconciler.plan.types import Action
from tests.backends.conformance.world import KEY, World

NEW_DESCRIPTION = "The alpha model, described anew."


@dataclass(frozen=True)
class Scenario:
    name: str
    prepare: Callable[[World], Any]  # the state before the action; what the action is given
    act: Callable[[Backend, World, Any], Any]
    check: Callable[[World], None]  # the outcome the action must reach
    # What a repeat may raise instead of doing nothing: it says the goal is
    # reached already (an adopt of a model the first call adopted).
    refusal: tuple[type[Exception], ...] = ()

    def __str__(self) -> str:
        return self.name


# --- the states an action starts from ------------------------------------------------------


def nothing_live(world: World) -> Any:
    return world.model()


def created(world: World) -> Any:
    model = world.model()
    world.backend().create(model, world.waiter())
    return model


def running(world: World) -> Any:
    """A run started by an apply stopped (Ctrl-C) before its first wait."""
    model = world.model()
    with pytest.raises(Stopped):
        world.backend().create(model, world.waiter(stopped=True))
    live = world.find()
    assert live is not None and live.state is LiveState.CREATING, live
    return model


def edited(world: World) -> Any:
    """Created, then its manifest's description changed: the plan's update mask."""
    created(world)
    world.edit(description=NEW_DESCRIPTION)
    (change,) = [c for c in world.plan().changes if c.model_id == KEY]
    assert change.action is Action.UPDATE, change
    return change.update_mask


def live_without_manifest(world: World) -> Any:
    """Created, then its manifest removed (what a delete or a forget follows)."""
    created(world)
    live = world.find()
    assert live is not None and live.managed
    world.remove()
    return live


def unmanaged(world: World) -> Any:
    """Created, then its marker removed by hand: live under its id, not managed
    (or under the key the backend gives a model without a marker: Bedrock keys
    it by its own name, and an adopt is told that key). Not `forget`: on Vertex
    a forgotten Model is keyed by its server id, and importing it under another
    id is that backend's own `adopt(model, live_key)`."""
    created(world)
    live_key = world.surface.strip_marker(world.emulator, KEY)
    live = world.find() if live_key is None else world.observed(live_key)
    assert live is not None and not live.managed, live
    return world.model(), live_key


# --- the outcomes ---------------------------------------------------------------------------


def one_model_in_sync(world: World) -> None:
    """The manifest's one model: live, managed, from one tuning run, and nothing to do."""
    live = world.find()
    assert live is not None and live.state is LiveState.ACTIVE, live
    assert live.ownership is not None and not live.ownership.legacy, live.ownership_note
    assert live.ownership.fingerprint == ownership_for(world.model()).fingerprint
    assert len(world.surface.models(world.emulator)) == 1
    assert len(world.surface.runs(world.emulator)) == 1
    in_sync(world)


def mend_in_place(world: World) -> list[str]:
    """What the next apply still does after a resumed action, done here through
    the protocol; it may only change a model in place (bind a marker a crash
    left unbound, set a field), never tune, wait, import or delete. Returns why."""
    pending = [c for c in world.plan().changes if c.action.is_change]
    assert all(c.action is Action.UPDATE for c in pending), [(c.action.value, c.reason) for c in pending]
    backend = world.backend()
    for change in pending:
        backend.update(world.model(change.model_id), change.update_mask)
    return [c.reason for c in pending]


def in_sync(world: World) -> None:
    changes = world.plan().changes
    assert not [c for c in changes if c.action.is_change], [(c.action.value, c.model_id, c.reason) for c in changes]


def gone(world: World) -> None:
    assert world.find() is None
    assert world.surface.models(world.emulator) == set()
    in_sync(world)


def left_unmanaged(world: World) -> None:
    live = world.find()
    assert live is None or not live.managed, live
    assert len(world.surface.models(world.emulator)) == 1
    in_sync(world)


# --- the actions ------------------------------------------------------------------------------

SCENARIOS = [
    Scenario("create", nothing_live, lambda b, w, model: b.create(model, w.waiter()), one_model_in_sync),
    Scenario("wait", running, lambda b, w, model: b.wait(model, w.waiter()), one_model_in_sync),
    Scenario("update", edited, lambda b, w, mask: b.update(w.model(), mask), one_model_in_sync),
    Scenario("delete", live_without_manifest, lambda b, w, live: b.delete(live, w.waiter()), gone),
    Scenario("forget", live_without_manifest, lambda b, w, live: b.forget(live), left_unmanaged),
    Scenario("adopt", unmanaged, lambda b, w, given: b.adopt(*given), one_model_in_sync, refusal=(CannotAdopt,)),
    Scenario("find", created, lambda b, w, model: b.find(model.id), one_model_in_sync),
]
BY_NAME = {s.name: s for s in SCENARIOS}
