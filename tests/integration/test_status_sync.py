"""`status` says "in sync" only of a model the plan would leave alone: a model
the plan refuses to touch (blocked, or in error) is out of sync."""

from __future__ import annotations

from reconciler.cli.status_cmd import sync_of
from reconciler.model.live import LiveModel
from reconciler.model.ownership import Ownership
from reconciler.plan.types import Plan, PlanError

MANAGED = LiveModel(key="numbers", address="numbers", ownership=Ownership("s", "h", "d", 20))


def test_a_held_candidate_is_not_in_sync() -> None:
    held = PlanError(model_id="numbers", message="numbers held: its candidate failed its promotion gate")
    sync = sync_of(MANAGED, Plan(blocked=(held,)))
    assert (sync.state, sync.text()) == ("out_of_sync", "out of sync: blocked")


def test_a_model_in_error_is_not_in_sync() -> None:
    sync = sync_of(MANAGED, Plan(errors=(PlanError(model_id="numbers", message="its marker does not verify"),)))
    assert sync.state == "out_of_sync"


def test_another_models_problem_leaves_it_in_sync() -> None:
    other = PlanError(model_id="letters", message="letters held")
    assert sync_of(MANAGED, Plan(blocked=(other,))).state == "in_sync"
