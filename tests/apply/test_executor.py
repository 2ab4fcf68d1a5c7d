"""The executor against a neutral in-memory backend: order, a create another run
made first, skips after a failure, a stop, guards, ownership re-checked before a
delete, grants, and a replace that frees the id first."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.apply.executor import ApplyOptions, ApplyRefused, ApplyResult, Executor
from reconciler.apply.progress import RecordingReporter
from reconciler.model.desired import Desired
from reconciler.model.live import LivePermission, Observed
from reconciler.plan import Plan, PlanOptions, plan
from reconciler.plan.types import Action

from .fakes import FakeBackend, FakeClock, desired_for, manifest, waiter_for


def executor(
    backend: FakeBackend, desired: Desired, clock: FakeClock | None = None, max_deletions: int = 5
) -> Executor:
    waiter = waiter_for(clock or FakeClock())
    options = ApplyOptions(concurrency=2, max_deletions=max_deletions)
    return Executor(backend, desired, RecordingReporter(), waiter, options)


def planned(backend: FakeBackend, desired: Desired, *, prune: bool = False) -> Plan:
    return plan(desired, backend.observe(desired), backend.rules, PlanOptions(prune=prune))


def run(
    backend: FakeBackend,
    desired: Desired,
    *,
    prune: bool = False,
    max_deletions: int = 5,
    clock: FakeClock | None = None,
) -> ApplyResult:
    """Plan against what the backend holds, then apply."""
    return executor(backend, desired, clock, max_deletions).run(planned(backend, desired, prune=prune))


def verbs(backend: FakeBackend, *wanted: str) -> list[tuple[str, str]]:
    return [call for call in backend.calls if call[0] in wanted]


def test_sources_are_created_first(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("child", source_model="parent"), manifest("parent")])
    backend = FakeBackend(polls_per_run=2)
    result = run(backend, desired)
    assert result.ok, result.outcomes
    assert verbs(backend, "create") == [("create", "parent"), ("create", "child")]
    # the child starts only once the parent's run has ended
    assert backend.calls.index(("create", "child")) > max(
        i for i, c in enumerate(backend.calls) if c == ("poll", "parent")
    )
    assert result.summary_line().startswith("Apply complete: 2 created, 0 updated")


def test_a_create_another_run_made_first_is_counted_as_waited_for_and_still_smoke_tested(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha", smoke=(("3", "4"),))])
    backend = FakeBackend()
    before = plan(desired, Observed(models=()), backend.rules, PlanOptions())
    backend.put(desired.models[0])  # another run creates it between our plan and our create
    result = executor(backend, desired).run(before)
    assert result.ok, result.outcomes
    assert [(o.action, o.found) for o in result.outcomes] == [(Action.CREATE, True)]
    assert len(backend.models) == 1
    assert [s.passed for s in result.smoke] == [True]
    assert result.counts()["created"] == 0 and result.counts()["waited_for"] == 1
    assert result.summary_line().startswith("Apply complete: 0 created, 1 created by another run and waited for")


def test_a_failed_create_fails_its_model_with_the_backends_words(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha")])
    backend = FakeBackend()
    before = plan(desired, Observed(models=()), backend.rules, PlanOptions())
    someone_elses = backend.put(desired.models[0])
    someone_elses.record = None  # a model nobody manages took the id meanwhile
    result = executor(backend, desired).run(before)
    assert not result.ok
    assert [(o.status, o.message) for o in result.outcomes] == [
        ("failed", "fake/alpha exists and was not made from this manifest")
    ]
    assert result.summary_line().startswith("Apply failed: 0 created")


def test_a_failed_source_skips_its_dependents(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("parent"), manifest("child", source_model="parent")])
    backend = FakeBackend(failing=frozenset({"parent"}))
    result = run(backend, desired)
    statuses = {o.model_id: (o.status, o.message) for o in result.outcomes}
    assert statuses["parent"] == ("failed", "tuning failed: the fake run failed at step 1")
    assert statuses["child"] == ("skipped", "skipped: parent did not finish")
    assert ("create", "child") not in backend.calls


def test_a_failed_change_skips_the_rest_of_its_model(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha", reader="analyst@example.com")])
    backend = FakeBackend(failing=frozenset({"alpha"}))
    result = run(backend, desired)
    assert [(o.action, o.status) for o in result.outcomes] == [
        (Action.CREATE, "failed"),
        (Action.PERMISSION_ADD, "skipped"),
    ]
    assert result.outcomes[1].message == "skipped: alpha did not finish"
    assert verbs(backend, "grant") == []


def test_a_model_whose_smoke_test_fails_is_never_marked_tested(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha", smoke=(("3", "4"), ("7", "9")))])
    backend = FakeBackend()
    result = run(backend, desired)
    assert not result.ok
    assert [(s.input, s.passed) for s in result.smoke] == [("3", True), ("7", False)]
    assert verbs(backend, "mark_tested") == []
    record = backend.models["alpha"].record
    assert record is not None and record.untested  # the next plan runs the tests again
    passing = desired_for(tmp_path / "passing", [manifest("beta", smoke=(("3", "4"),))])
    assert run(backend, passing).ok
    assert verbs(backend, "mark_tested") == [("mark_tested", "beta")]


def test_a_stop_while_waiting_reports_every_model_and_leaves_the_run_going(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("parent"), manifest("child", source_model="parent")])
    backend = FakeBackend(running=True)
    result = run(backend, desired, clock=FakeClock(stop_at_wait=1))
    assert result.interrupted and not result.ok
    assert {o.model_id: o.status for o in result.outcomes} == {"parent": "stopped", "child": "stopped"}
    assert {o.model_id: o.message for o in result.outcomes}["child"] == "not started"
    assert result.summary_line().startswith("Apply stopped: 0 created")
    assert backend.models["parent"].state.value == "CREATING"  # left running
    assert ("create", "child") not in backend.calls


def test_guards_refuse_before_any_call(tmp_path: Path) -> None:
    backend = FakeBackend()
    for n in range(3):
        backend.put(desired_for(tmp_path / str(n), [manifest(f"m{n}")]).models[0])
    desired = desired_for(tmp_path / "keep", [manifest("keep")])
    before = planned(backend, desired, prune=True)
    backend.calls.clear()
    with pytest.raises(ApplyRefused, match="deletes 3 models, over the cap of 2"):
        executor(backend, desired, max_deletions=2).run(before)
    assert backend.calls == []
    assert executor(backend, desired, max_deletions=3).run(before).ok  # at the cap: applied


def pruning_plan(tmp_path: Path) -> tuple[FakeBackend, Desired, Plan]:
    """A managed model `gone` with no manifest, and a plan with prune on that deletes it."""
    backend = FakeBackend()
    backend.put(desired_for(tmp_path / "gone", [manifest("gone")]).models[0])
    desired = desired_for(tmp_path / "keep", [manifest("keep")])
    return backend, desired, planned(backend, desired, prune=True)


def test_a_delete_rechecks_that_the_model_is_still_managed(tmp_path: Path) -> None:
    backend, desired, before = pruning_plan(tmp_path)
    assert [(c.action, c.model_id) for c in before.changes if c.action is Action.DELETE] == [(Action.DELETE, "gone")]
    backend.models["gone"].record = None  # someone took the id over since the plan
    result = executor(backend, desired).run(before)
    failed = [o for o in result.outcomes if o.model_id == "gone"]
    assert failed[0].status == "failed" and "fake/gone is no longer managed" in failed[0].message
    assert "gone" in backend.models and ("delete", "gone") not in backend.calls


def test_a_delete_of_a_model_still_managed_deletes_it(tmp_path: Path) -> None:
    backend, desired, before = pruning_plan(tmp_path)
    result = executor(backend, desired).run(before)
    assert result.ok, result.outcomes
    assert "gone" not in backend.models and result.counts()["deleted"] == 1


def test_grants_are_added_changed_and_revoked_as_planned(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha", reader="analyst@example.com")])
    backend = FakeBackend()
    backend.put(desired.models[0])
    backend.grants["alpha"] = [
        LivePermission(name="alpha/grants/p0", role="WRITER", grantee_type="USER", email_address="analyst@example.com"),
        LivePermission(name="alpha/grants/p1", role="READER", grantee_type="USER", email_address="former@example.com"),
    ]
    result = run(backend, desired)
    assert result.ok, result.outcomes
    assert verbs(backend, "grant", "update_grant", "revoke") == [
        ("update_grant", "alpha/grants/p0"),
        ("revoke", "alpha/grants/p1"),
    ]
    assert [(p.email_address, p.role) for p in backend.grants["alpha"]] == [("analyst@example.com", "READER")]


def test_a_grant_of_a_new_model_follows_its_create(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha", reader="analyst@example.com")])
    backend = FakeBackend()
    result = run(backend, desired)
    assert result.ok, result.outcomes
    assert verbs(backend, "create", "grant") == [("create", "alpha"), ("grant", "alpha")]
    assert [(p.email_address, p.role) for p in backend.grants["alpha"]] == [("analyst@example.com", "READER")]


def test_a_replace_deletes_waits_until_the_id_is_free_then_creates(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.put(desired_for(tmp_path / "a", [manifest("alpha")]).models[0])
    changed = manifest("alpha")
    changed["spec"]["hyperparameters"]["epochCount"] = 9
    desired = desired_for(tmp_path / "b", [changed])
    before = planned(backend, desired)
    assert [c.action for c in before.changes] == [Action.REPLACE]
    backend.calls.clear()
    result = executor(backend, desired).run(before)
    assert result.ok and result.counts()["replaced"] == 1
    assert verbs(backend, "delete", "find", "create") == [
        ("find", "alpha"),  # still managed?
        ("delete", "alpha"),
        ("find", "alpha"),  # the id is free
        ("create", "alpha"),
    ]
    assert backend.models["alpha"].hyperparameters["epochCount"] == 9


def test_a_plan_with_errors_is_refused_before_any_call(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha")])
    backend = FakeBackend()
    before = plan(desired, backend.observe(desired), backend.rules, PlanOptions(targets=frozenset({"ghost"})))
    with pytest.raises(ApplyRefused, match="the plan has errors, nothing was applied: --target ghost"):
        executor(backend, desired).run(before)
    assert backend.calls == []


def test_deletes_in_a_plan_without_prune_are_refused(tmp_path: Path) -> None:
    backend, desired, before = pruning_plan(tmp_path)
    edited = before.model_copy(update={"options": PlanOptions(prune=False)})  # a hand-edited saved plan
    backend.calls.clear()
    with pytest.raises(ApplyRefused, match="deletes models but prune is off"):
        executor(backend, desired).run(edited)
    assert backend.calls == []
