"""The Gemini backend driven by the executor against an in-memory client (the
API's shapes): creates that send the manifest id and so meet ALREADY_EXISTS
after a crash, a failed run's error, the trailer re-read before a delete, and
grants by permission name. The executor's own rules are tests/apply's."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply.executor import ApplyOptions, ApplyResult, Executor
from reconciler.apply.progress import RecordingReporter
from reconciler.backends.gemini import RULES
from reconciler.backends.gemini.live import live_model
from reconciler.backends.gemini.requests import create_body
from reconciler.model.desired import Desired
from reconciler.model.live import Observed
from reconciler.plan import Plan, PlanOptions, plan
from reconciler.plan.types import Action
from tests.apply.fakes import FakeClock, waiter_for
from tests.backends.gemini.fakes import FakeClient, desired_for, gemini_backend
from tests.integration.helpers_apply import manifest


def executor(client: FakeClient, desired: Desired) -> Executor:
    waiter = waiter_for(FakeClock())
    return Executor(gemini_backend(client), desired, RecordingReporter(), waiter, ApplyOptions(concurrency=2))


def run(client: FakeClient, desired: Desired) -> ApplyResult:
    """Plan against what the fake holds, then apply."""
    planned = plan(desired, gemini_backend(client).observe(desired), RULES, PlanOptions())
    return executor(client, desired).run(planned)


def test_creates_send_the_manifest_id_and_sources_go_first(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("child", source_model="parent"), manifest("parent")])
    client = FakeClient()
    result = run(client, desired)
    assert result.ok
    creates = [model_id for call, model_id in client.calls if call == "create"]
    assert creates == ["parent", "child"]
    assert result.summary_line().startswith("Apply complete: 2 created, 0 updated")


def test_already_exists_with_the_same_inputs_is_taken_over_not_created_twice(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha", smoke=(("3", "4"),))])
    client = FakeClient()
    observed_before = Observed(models=())
    planned = plan(desired, observed_before, RULES, PlanOptions())
    # Another run creates it between our plan and our create.
    client.create_tuned_model(create_body(desired.models[0]), tuned_model_id="alpha")
    result = executor(client, desired).run(planned)
    assert result.ok, result.outcomes
    assert [o.action for o in result.outcomes] == [Action.CREATE]
    assert len(client.models) == 1
    assert [s.passed for s in result.smoke] == [True]
    # Found made by the other run: counted as waited for, not as created by this one.
    assert result.outcomes[0].found and result.counts()["created"] == 0 and result.counts()["waited_for"] == 1


def test_already_exists_with_other_inputs_fails_without_touching_it(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha")])
    planned = plan(desired, Observed(models=()), RULES, PlanOptions())
    client = FakeClient()
    client.models["alpha"] = {"name": "tunedModels/alpha", "state": "ACTIVE", "description": "someone else's"}
    result = executor(client, desired).run(planned)
    assert not result.ok
    assert "already exists and was not made from this manifest" in result.outcomes[0].message
    assert client.models["alpha"]["description"] == "someone else's"


def test_a_failed_source_skips_its_dependents(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("parent"), manifest("child", source_model="parent")])
    client = FakeClient(failing=frozenset({"parent"}))
    result = run(client, desired)
    statuses = {o.model_id: (o.status, o.message) for o in result.outcomes}
    assert statuses["parent"] == ("failed", "tuning failed: Tuning failed at step 1 of 3.")
    assert statuses["child"] == ("skipped", "skipped: parent did not finish")
    assert "child" not in client.models


def pruning_plan(tmp_path: Path) -> tuple[FakeClient, Desired, Plan]:
    """A managed model `gone` with no manifest, and a plan with prune on that deletes it."""
    client = FakeClient()
    gone = desired_for(tmp_path / "gone", [manifest("gone")]).models[0]
    client.create_tuned_model(create_body(gone), tuned_model_id="gone")
    desired = desired_for(tmp_path / "keep", [manifest("keep")])
    observed = Observed(models=tuple(live_model(body) for body in client.models.values()))
    return client, desired, plan(desired, observed, RULES, PlanOptions(prune=True))


def test_a_delete_rechecks_that_the_model_is_still_managed(tmp_path: Path) -> None:
    client, desired, planned = pruning_plan(tmp_path)
    client.models["gone"]["description"] = "now hand-made"  # someone took the id over since the plan
    result = executor(client, desired).run(planned)
    failed = [o for o in result.outcomes if o.model_id == "gone"]
    assert failed[0].status == "failed" and "no longer managed" in failed[0].message
    assert "gone" in client.models


def test_a_grant_that_exists_already_is_kept_with_the_wanted_role(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha", reader="analyst@example.com")])
    client = FakeClient()
    client.permissions["alpha"] = [
        {
            "name": "tunedModels/alpha/permissions/p0",
            "role": "WRITER",
            "granteeType": "USER",
            "emailAddress": "analyst@example.com",
        }
    ]
    result = run(client, desired)
    assert result.ok, result.outcomes
    assert client.permissions["alpha"][0]["role"] == "READER"


def test_a_role_change_and_a_revocation_are_applied(tmp_path: Path) -> None:
    desired = desired_for(tmp_path, [manifest("alpha", reader="analyst@example.com")])
    client = FakeClient()
    client.create_tuned_model(create_body(desired.models[0]), tuned_model_id="alpha")
    client.permissions["alpha"] = [
        {
            "name": "tunedModels/alpha/permissions/p0",
            "role": "WRITER",
            "granteeType": "USER",
            "emailAddress": "analyst@example.com",
        },
        {
            "name": "tunedModels/alpha/permissions/p1",
            "role": "READER",
            "granteeType": "USER",
            "emailAddress": "former@example.com",
        },
    ]
    client.calls.clear()
    result = run(client, desired)
    assert result.ok, result.outcomes
    grants = [call for call in client.calls if call[0] in ("grant", "update_permission", "revoke")]
    assert grants == [
        ("update_permission", "tunedModels/alpha/permissions/p0"),
        ("revoke", "tunedModels/alpha/permissions/p1"),
    ]
    assert client.permissions["alpha"][0]["role"] == "READER"
