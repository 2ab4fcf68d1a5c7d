"""The planner and the executor drive a second backend, with labels, server-chosen
ids and create-then-destroy replaces, through every action, unchanged."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply.executor import ApplyOptions, ApplyResult, Executor
from reconciler.apply.progress import RecordingReporter
from reconciler.model.desired import Desired
from reconciler.model.live import LiveState
from reconciler.plan import Action, Plan, PlanOptions, plan
from reconciler.render import render_text

from .fakes import FakeClock, desired_for, manifest, waiter_for
from .label_backend import LabelBackend


def plan_for(backend: LabelBackend, desired: Desired, prune: bool = False) -> Plan:
    return plan(desired, backend.observe(desired), backend.rules, PlanOptions(prune=prune))


def apply(backend: LabelBackend, desired: Desired, prune: bool = False) -> ApplyResult:
    executor = Executor(backend, desired, RecordingReporter(), waiter_for(FakeClock()), ApplyOptions(concurrency=2))
    return executor.run(plan_for(backend, desired, prune))


def actions(result: Plan) -> dict[str, str]:
    return {c.model_id: c.action.value for c in result.changes}


def test_create_then_converge(tmp_path: Path) -> None:
    backend = LabelBackend()
    desired = desired_for(tmp_path, [manifest("parent"), manifest("child", source_model="parent")])
    result = apply(backend, desired)
    assert result.ok, result.outcomes
    assert [verb for verb, _ in backend.events if verb == "create"] == ["create", "create"]
    assert {r.labels["reconciler-id"] for r in backend.resources.values()} == {"parent", "child"}
    again = plan_for(backend, desired)
    assert actions(again) == {"parent": "noop", "child": "noop"}
    assert not again.has_changes
    assert "labelled/" in render_text(plan_for(backend, desired_for(tmp_path / "new", [manifest("fresh")])))


def test_update_is_one_call_on_the_same_resource(tmp_path: Path) -> None:
    backend = LabelBackend()
    apply(backend, desired_for(tmp_path / "a", [manifest("alpha")]))
    (server_id,) = backend.resources
    renamed = desired_for(tmp_path / "b", [manifest("alpha", display_name="Alpha, renamed")])
    planned = plan_for(backend, renamed)
    assert [(c.action, c.update_mask) for c in planned.changes] == [(Action.UPDATE, ("display_name",))]
    assert apply(backend, renamed).ok
    assert list(backend.resources) == [server_id]
    assert backend.resources[server_id].display_name == "Alpha, renamed"


def test_lifecycle_flags_are_an_update_of_the_labels(tmp_path: Path) -> None:
    backend = LabelBackend()
    apply(backend, desired_for(tmp_path / "a", [manifest("alpha")]))
    protected = desired_for(tmp_path / "b", [manifest("alpha", prevent_destroy=True)])
    assert [c.update_mask for c in plan_for(backend, protected).changes] == [("labels",)]
    assert apply(backend, protected).ok
    assert next(iter(backend.resources.values())).labels["protect"] == "true"


def test_replace_creates_the_new_model_before_deleting_the_old(tmp_path: Path) -> None:
    backend = LabelBackend()
    apply(backend, desired_for(tmp_path / "a", [manifest("alpha")]))
    (old_id,) = backend.resources
    changed = manifest("alpha")
    changed["spec"]["hyperparameters"]["epochCount"] = 9
    desired = desired_for(tmp_path / "b", [changed])
    planned = plan_for(backend, desired)
    assert [(c.action, [d.path for d in c.diffs]) for c in planned.changes] == [
        (Action.REPLACE, ["spec.hyperparameters.epochCount"])
    ]
    backend.events.clear()
    assert apply(backend, desired).ok
    (new_id,) = backend.resources
    assert new_id != old_id
    verbs = [(verb, server_id) for verb, server_id in backend.events if verb in ("create", "delete")]
    assert verbs == [("create", new_id), ("delete", old_id)]


def test_a_failed_replace_keeps_the_old_model_serving(tmp_path: Path) -> None:
    backend = LabelBackend()
    apply(backend, desired_for(tmp_path / "a", [manifest("alpha")]))
    (old_id,) = backend.resources
    backend.polls_per_run = 1_000  # the new run outlasts the wait
    changed = manifest("alpha")
    changed["spec"]["hyperparameters"]["epochCount"] = 9
    result = apply(backend, desired_for(tmp_path / "b", [changed]))
    assert not result.ok
    assert old_id in backend.resources  # never deleted before the new one succeeded


def test_prune_deletes_and_unmanaged_resources_are_never_touched(tmp_path: Path) -> None:
    backend = LabelBackend()
    apply(backend, desired_for(tmp_path / "a", [manifest("alpha"), manifest("beta")]))
    hand_made = next(iter(backend.resources.values()))
    backend.resources["9" * 19] = type(hand_made)(
        server_id="9" * 19,
        display_name="alpha",
        description="made by hand",
        source="models/x",
        hyperparameters={},
        state=LiveState.ACTIVE,
    )
    desired = desired_for(tmp_path / "b", [manifest("alpha")])
    planned = plan_for(backend, desired, prune=True)
    assert actions(planned) == {"alpha": "noop", "beta": "delete"}
    assert planned.unmanaged_count == 1
    assert apply(backend, desired, prune=True).ok
    keys = sorted(r.labels.get("reconciler-id", "-") for r in backend.resources.values())
    assert keys == ["-", "alpha"]
    assert backend.resources["9" * 19].description == "made by hand"


def test_a_running_model_is_waited_for_never_created_twice(tmp_path: Path) -> None:
    backend = LabelBackend()
    desired = desired_for(tmp_path, [manifest("alpha")])
    apply(backend, desired)
    (resource,) = backend.resources.values()
    resource.state, resource.polls_left = LiveState.CREATING, 2
    planned = plan_for(backend, desired)
    assert actions(planned) == {"alpha": "wait"}
    backend.events.clear()
    result = apply(backend, desired)
    assert result.ok and result.summary_line().startswith("Apply complete: 0 created, 1 created by another run")
    assert [verb for verb, _ in backend.events] == ["poll", "poll", "poll"]
    assert resource.state is LiveState.ACTIVE
