"""order_changes(): deletes of dependents first, creates of sources first, grants last."""

from __future__ import annotations

from reconciler.plan import Action, Change, Plan
from reconciler.plan.graph import order_changes


def change(action: Action, model_id: str, *depends_on: str) -> Change:
    return Change(action=action, model_id=model_id, reason="r", depends_on=depends_on)


def ids(changes: tuple[Change, ...]) -> list[tuple[str, str]]:
    return [(c.action.value, c.model_id) for c in changes]


def test_creates_follow_their_sources_whatever_the_given_order() -> None:
    plan = Plan(
        changes=(
            change(Action.CREATE, "c", "b"),
            change(Action.CREATE, "b", "a"),
            change(Action.CREATE, "a"),
        )
    )
    assert ids(order_changes(plan.changes)) == [("create", "a"), ("create", "b"), ("create", "c")]


def test_deletes_of_dependents_come_first_and_before_creates() -> None:
    plan = Plan(
        changes=(
            change(Action.CREATE, "new"),
            change(Action.DELETE, "source", "dependent"),
            change(Action.DELETE, "dependent"),
        )
    )
    assert ids(order_changes(plan.changes)) == [("delete", "dependent"), ("delete", "source"), ("create", "new")]


def test_grants_come_after_their_model() -> None:
    plan = Plan(
        changes=(
            change(Action.PERMISSION_ADD, "a", "a"),
            change(Action.CREATE, "a"),
        )
    )
    assert ids(order_changes(plan.changes)) == [("create", "a"), ("permission_add", "a")]


def test_a_cycle_keeps_every_change() -> None:
    plan = Plan(changes=(change(Action.CREATE, "a", "b"), change(Action.CREATE, "b", "a")))
    assert sorted(ids(order_changes(plan.changes))) == [("create", "a"), ("create", "b")]


def test_waiting_and_noops_are_not_changes() -> None:
    assert not Plan(changes=(change(Action.WAIT, "a"), change(Action.NOOP, "b"))).has_changes
    assert Plan(changes=(change(Action.FORGET, "a"),)).has_changes
