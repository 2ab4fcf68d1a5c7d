"""The executor (reconciler/apply/executor.py) against a backend that records
every call: which backend call each action makes and with what, what a stop,
a failure or a refusal leaves for each model, the order of a replace on each
kind of backend, the promotion gate's decisions and what they record, and the
summary line people read.

Mutation testing (docs/mutation.md) found these unpinned: the emulator tests
reach them through the CLI and check the outcome, not each call or message."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from reconciler.apply.backend import Backend, ChangeFailed, Tuned
from reconciler.apply.executor import (
    NOT_STARTED,
    STOPPED_WAITING,
    ApplyOptions,
    ApplyRefused,
    ApplyResult,
    Executor,
    GateResult,
    Outcome,
    details_of,
)
from reconciler.apply.progress import Event, RecordingReporter
from reconciler.apply.smoke import SmokeResult
from reconciler.apply.waiting import Stopped, TimedOut, Waiter
from reconciler.backends.gemini import RULES
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.evaluation import evaluation_digest
from reconciler.model.live import LiveModel, Reported
from reconciler.model.ownership import Ownership
from reconciler.plan.rules import ReplaceOrder
from reconciler.plan.types import Action, Change, Estimate, PermissionChange, Plan, PlanError, PlanOptions
from tests.integration.helpers_apply import load_repo, manifest, write_repo

CREATE_FIRST = replace(RULES, replace_order=ReplaceOrder.CREATE_FIRST, address_template="vertex/{key}")
OWN = Ownership(source="0a1b2c3d", hyperparameters="4e5f6a7b", data="0123456789ab", examples=20)
EVALUATION = {
    "data": {"file": "../datasets/numbers.eval.jsonl"},
    "metrics": ["exactMatch"],
    "gate": {"metric": "exactMatch", "atLeast": 0.8},
}


class Recorder:
    """A backend that records each call as a tuple and answers from `live` and `right`."""

    name = "recorder"

    def __init__(self, rules: Any = RULES, live: dict[str, LiveModel] | None = None) -> None:
        self.rules = rules
        self.live = dict(live or {})
        self.calls: list[tuple[Any, ...]] = []
        self.right = True  # whether the model answers n + 1 to "n?"
        self.serving_right = True
        self.fail: dict[str, BaseException] = {}  # by call name: raised instead of answering
        self.tuned = Tuned(losses=(0.5, 0.25))

    def _call(self, *call: Any) -> None:
        self.calls.append(call)
        if call[0] in self.fail:
            raise self.fail[call[0]]

    def find(self, key: str) -> LiveModel | None:
        self._call("find", key)
        return self.live.get(key)

    def create(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        self._call("create", model.id)
        return self.tuned

    def wait(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        self._call("wait", model.id)
        return Tuned(found=True)

    def update(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        self._call("update", model.id, update_mask, untested)

    def mark_tested(self, model: DesiredModel, evaluation: Any = None) -> None:
        self._call("mark_tested", model.id, evaluation)

    def hold(self, model: DesiredModel, evaluation: Any) -> None:
        self._call("hold", model.id, dict(evaluation))

    def record_evaluation(self, model: DesiredModel, evaluation: Any) -> None:
        self._call("record_evaluation", model.id, dict(evaluation))

    def delete(self, live: LiveModel, waiter: Waiter) -> None:
        self._call("delete", live.key)
        self.live.pop(live.key, None)

    def remove_superseded(self, live: LiveModel, waiter: Waiter) -> None:
        self._call("remove_superseded", live.key, live.superseded)

    def forget(self, live: LiveModel) -> None:
        self._call("forget", live.key)

    def adopt(self, model: DesiredModel, live_key: str | None = None) -> LiveModel:
        self._call("adopt", model.id)
        return managed(model.id)

    def _answer(self, text: str, right: bool) -> str:
        return str(int(text.rstrip("?")) + 1) if right else "wrong"

    def generate(self, key: str, base_model: str, text: str) -> str:
        self._call("generate", key, base_model)
        return self._answer(text, self.right)

    def generate_serving(self, key: str, base_model: str, text: str) -> str:
        self._call("generate_serving", key, base_model)
        return self._answer(text, self.serving_right)

    def grant(self, key: str, grant: PermissionChange) -> None:
        self._call("grant", key, grant)

    def update_grant(self, key: str, grant: PermissionChange) -> None:
        self._call("update_grant", key, grant)

    def revoke(self, key: str, grant: PermissionChange) -> None:
        self._call("revoke", key, grant)

    def without_generations(self) -> list[tuple[Any, ...]]:
        """The calls, each model's run of generate calls counted as one."""
        kept: list[tuple[Any, ...]] = []
        for call in self.calls:
            if not (call[0].startswith("generate") and kept and kept[-1] == call):
                kept.append(call)
        return kept


def managed(key: str, **fields: Any) -> LiveModel:
    return LiveModel(key=key, address=f"vertex/{key}", ownership=OWN, **fields)


def desired(tmp_path: Path, *documents: dict[str, Any]) -> Desired:
    repo = write_repo(tmp_path, list(documents))
    rows = [{"text_input": f"{n}?", "output": str(n + 1)} for n in range(10)]
    (repo / "datasets" / "numbers.eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return load_repo(repo)


def with_evaluation(model_id: str = "numbers", **evaluation: Any) -> dict[str, Any]:
    document = manifest(model_id)
    document["spec"]["evaluation"] = {**EVALUATION, **evaluation}
    return document


def change(action: Action, model_id: str = "numbers", **fields: Any) -> Change:
    return Change(action=action, model_id=model_id, reason=f"{action.value} {model_id}", **fields)


def execute(
    backend: Recorder,
    models: Desired,
    *changes: Change,
    stop: bool = False,
    waiter: Waiter | None = None,
    **options: Any,
) -> tuple[ApplyResult, RecordingReporter]:
    reporter = RecordingReporter()
    waiter = waiter or Waiter(interval=0.001, timeout=10, reporter=reporter)
    if stop:
        waiter.stop.set()
    # The executor takes the replace order and the addresses from the plan, as a planner writes them.
    rules = backend.rules
    plan = Plan(
        changes=changes,
        options=PlanOptions(prune=True),
        replace_order=rules.replace_order,
        address_template=rules.address_template,
    )
    executor = Executor(as_backend(backend), models, reporter, waiter, ApplyOptions(**options))
    return executor.run(plan), reporter


def as_backend(recorder: Recorder) -> Backend:
    """The recorder as the executor sees it: it has every action the executor calls,
    not the observe, export and describe calls only the CLI makes."""
    return cast(Backend, recorder)


def plain_executor(models: Desired) -> Executor:
    waiter = Waiter(interval=0.01, timeout=1, reporter=RecordingReporter())
    return Executor(as_backend(Recorder()), models, RecordingReporter(), waiter, ApplyOptions())


# --- guards -------------------------------------------------------------------------------------


def test_a_plan_with_errors_is_refused_naming_each_error(tmp_path: Path) -> None:
    plan = Plan(errors=(PlanError(model_id="a", message="one"), PlanError(model_id="b", message="two")))
    executor = plain_executor(desired(tmp_path))
    with pytest.raises(ApplyRefused) as refused:
        executor.run(plan)
    assert str(refused.value) == "the plan has errors, nothing was applied: one; two"


def test_deletes_up_to_the_cap_are_applied_and_one_more_is_refused(tmp_path: Path) -> None:
    models = desired(tmp_path)
    deletes = [change(Action.DELETE, f"m{n}") for n in range(3)]
    backend = Recorder(live={f"m{n}": managed(f"m{n}") for n in range(3)})
    result, _ = execute(backend, models, *deletes, max_deletions=3)
    assert result.ok and result.counts()["deleted"] == 3
    with pytest.raises(ApplyRefused) as refused:
        execute(Recorder(), models, *deletes, max_deletions=2)
    assert str(refused.value) == (
        "the plan deletes 3 models, over the cap of 2 (maxDeletions in reconciler.yaml, or --max-deletions); "
        "nothing was applied"
    )
    executor = plain_executor(models)
    with pytest.raises(ApplyRefused, match=r"^the plan deletes models but prune is off; nothing was applied$"):
        executor.run(Plan(changes=(deletes[0],)))


# --- what each action calls ----------------------------------------------------------------------


def test_an_update_sends_its_mask_and_keeps_untested_while_a_verify_follows(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"), manifest("other"))
    backend = Recorder()
    mask = ("description", "displayName")
    execute(backend, models, change(Action.UPDATE, update_mask=mask), change(Action.UPDATE, "other", update_mask=mask))
    assert sorted(backend.calls) == [("update", "numbers", mask, False), ("update", "other", mask, False)]
    backend = Recorder()
    execute(backend, models, change(Action.UPDATE, update_mask=mask), change(Action.VERIFY))
    assert backend.calls[0] == ("update", "numbers", mask, True)


def test_delete_forget_and_import_call_the_backend_only_for_a_managed_model(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    backend = Recorder(live={"numbers": managed("numbers")})
    execute(backend, models, change(Action.FORGET))
    assert backend.calls == [("find", "numbers"), ("forget", "numbers")]
    for live in ({}, {"numbers": LiveModel(key="numbers", address="vertex/numbers")}):
        backend = Recorder(live=live)
        result, _ = execute(backend, models, change(Action.FORGET))
        assert result.ok and backend.calls == [("find", "numbers")]
    backend = Recorder()
    result, _ = execute(backend, models, change(Action.DELETE))
    assert result.ok and backend.calls == [("find", "numbers")]  # gone already: the goal is reached
    backend = Recorder()
    result, _ = execute(backend, models, change(Action.IMPORT))
    assert result.ok and backend.calls == [("adopt", "numbers")]
    assert result.summary_line() == "Apply complete: 0 created, 0 updated, 0 replaced, 0 deleted, 1 imported."


def test_a_model_no_longer_managed_is_never_deleted(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    backend = Recorder(live={"numbers": LiveModel(key="numbers", address="vertex/numbers")})
    result, _ = execute(backend, models, change(Action.DELETE))
    assert result.outcomes == [
        Outcome(
            "numbers", Action.DELETE, "failed", "vertex/numbers is no longer managed by the reconciler; not deleted"
        )
    ]
    assert backend.calls == [("find", "numbers")]


def test_each_grant_change_calls_its_backend_method_with_the_grant(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    grant = PermissionChange(
        grantee_type="USER", email_address="a@example.com", role_before="READER", role_after="WRITER"
    )
    backend = Recorder()
    execute(
        backend,
        models,
        change(Action.PERMISSION_ADD, permission=grant),
        change(Action.PERMISSION_UPDATE, permission=grant),
        change(Action.PERMISSION_REMOVE, permission=grant),
    )
    assert backend.calls == [
        ("grant", "numbers", grant),
        ("update_grant", "numbers", grant),
        ("revoke", "numbers", grant),
    ]
    result, _ = execute(Recorder(), models, change(Action.PERMISSION_UPDATE))
    assert result.outcomes[0].message == "permission_update of numbers names no grant"


def test_a_grant_change_is_told_in_words_not_by_its_action_name() -> None:
    grant = PermissionChange(
        grantee_type="USER", email_address="a@example.com", role_before="READER", role_after="WRITER"
    )
    assert details_of(change(Action.PERMISSION_ADD, permission=grant)) == {
        "grant": "grant WRITER to USER a@example.com"
    }
    assert details_of(change(Action.PERMISSION_UPDATE, permission=grant)) == {
        "grant": "change USER a@example.com from READER to WRITER"
    }
    assert details_of(change(Action.PERMISSION_REMOVE, permission=grant)) == {
        "grant": "revoke READER from USER a@example.com"
    }
    everyone = PermissionChange(grantee_type="EVERYONE", role_after="READER")
    assert details_of(change(Action.PERMISSION_ADD, permission=everyone)) == {"grant": "grant READER to EVERYONE"}
    assert details_of(change(Action.CREATE)) == {}


# --- order, failures, stops ----------------------------------------------------------------------


def test_each_change_is_told_when_it_starts_and_how_it_ended(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    estimate = Estimate(examples=20, tokens=100, total_steps=10, epochs=2)
    backend = Recorder()
    backend.tuned = Tuned(losses=(0.5,), reported=Reported(data="d"))
    result, reporter = execute(backend, models, change(Action.CREATE, estimate=estimate))
    assert result.outcomes == [
        Outcome("numbers", Action.CREATE, "done", losses=(0.5,), estimate=estimate, reported=Reported(data="d"))
    ]
    assert reporter.events == [
        Event("start", "numbers", "create", "create numbers", {}),
        Event("done", "numbers", "create", "", {}),
    ]


def test_a_stop_or_a_timeout_while_waiting_ends_the_change_so(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    backend = Recorder()
    backend.fail["create"] = Stopped()
    result, reporter = execute(backend, models, change(Action.CREATE))
    assert result.outcomes == [Outcome("numbers", Action.CREATE, "stopped", STOPPED_WAITING)]
    assert reporter.events[-1] == Event("stopped", "numbers", "create", STOPPED_WAITING, {})
    backend.fail["create"] = TimedOut("tuning numbers timed out")
    result, reporter = execute(backend, models, change(Action.CREATE))
    assert result.outcomes == [Outcome("numbers", Action.CREATE, "failed", "tuning numbers timed out")]
    assert reporter.events[-1] == Event("failed", "numbers", "create", "tuning numbers timed out", {})
    assert result.summary_line() == "Apply failed: 0 created, 0 updated, 0 replaced, 0 deleted."


def test_after_a_failed_change_the_models_later_changes_are_skipped_and_noops_are_silent(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    backend = Recorder()
    backend.fail["update"] = ChangeFailed("no")
    grant = PermissionChange(grantee_type="EVERYONE", role_after="READER")
    result, reporter = execute(
        backend,
        models,
        change(Action.NOOP),
        change(Action.UPDATE),
        change(Action.WAIT),
        change(Action.PERMISSION_ADD, permission=grant),
    )
    assert result.outcomes == [
        Outcome("numbers", Action.UPDATE, "failed", "no"),
        Outcome("numbers", Action.PERMISSION_ADD, "skipped", "skipped: numbers did not finish"),
    ]
    assert reporter.events[-1] == Event(
        "skipped", "numbers", "permission_add", "skipped: numbers did not finish", {"grant": "grant READER to EVERYONE"}
    )


def test_a_model_waits_for_its_sources_and_is_skipped_when_one_failed(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("a"), manifest("b"), manifest("child", source_model="a"))
    backend = Recorder()
    result, _ = execute(
        backend,
        models,
        change(Action.CREATE, "a"),
        change(Action.CREATE, "b"),
        change(Action.CREATE, "child", depends_on=("a", "b", "elsewhere")),
    )
    assert backend.calls.index(("create", "child")) > max(backend.calls.index(("create", m)) for m in "ab")
    backend = Recorder()
    backend.fail["update"] = ChangeFailed("no")
    result, _ = execute(
        backend,
        models,
        change(Action.UPDATE, "a"),
        change(Action.CREATE, "b"),
        change(Action.CREATE, "child", depends_on=("a", "b")),
    )
    assert Outcome("child", Action.CREATE, "skipped", "skipped: a, b did not finish") in result.outcomes
    assert ("create", "child") not in backend.calls


def test_a_stop_before_the_start_leaves_every_change_and_wait_not_started(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"), manifest("other"))
    backend = Recorder()
    result, _ = execute(
        backend, models, change(Action.NOOP), change(Action.CREATE), change(Action.WAIT, "other"), stop=True
    )
    assert sorted(result.outcomes, key=lambda o: o.model_id) == [
        Outcome("numbers", Action.CREATE, "stopped", NOT_STARTED),
        Outcome("other", Action.WAIT, "stopped", NOT_STARTED),
    ]
    assert result.interrupted and backend.calls == []
    assert result.summary_line() == "Apply stopped: 0 created, 0 updated, 0 replaced, 0 deleted."


# --- replace --------------------------------------------------------------------------------------


def test_a_destroy_first_replace_deletes_waits_until_the_id_is_free_then_creates(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    backend = Recorder(live={"numbers": managed("numbers")})
    result, _ = execute(backend, models, change(Action.REPLACE))
    assert backend.calls == [("find", "numbers"), ("delete", "numbers"), ("find", "numbers"), ("create", "numbers")]
    assert result.summary_line() == "Apply complete: 0 created, 0 updated, 1 replaced, 0 deleted."


def test_a_create_first_replace_keeps_the_old_model_then_removes_what_the_new_one_supersedes(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    old = managed("numbers", superseded=("vertex/old",))
    backend = Recorder(CREATE_FIRST, live={"numbers": old})
    execute(backend, models, change(Action.REPLACE))
    assert backend.calls == [
        ("find", "numbers"),
        ("create", "numbers"),
        ("find", "numbers"),
        ("remove_superseded", "numbers", ("vertex/old",)),
    ]
    for live in (managed("numbers"), LiveModel(key="numbers", address="x", superseded=("vertex/old",))):
        backend = Recorder(CREATE_FIRST, live={"numbers": live})
        execute(backend, models, change(Action.CLEAN_UP))
        assert backend.calls == [("find", "numbers")], live
    backend = Recorder(CREATE_FIRST, live={"numbers": LiveModel(key="numbers", address="vertex/numbers")})
    result, _ = execute(backend, models, change(Action.REPLACE))
    assert result.outcomes[0].message == "vertex/numbers is no longer managed by the reconciler; not deleted"


def test_a_destroy_first_replace_whose_id_never_frees_times_out_naming_the_deletion(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    backend = Recorder(live={"numbers": managed("numbers")})
    vars(backend)["delete"] = lambda live, waiter: backend.calls.append(("delete", live.key))
    ticks = iter(range(1000))
    waiter = Waiter(interval=1, timeout=0, reporter=RecordingReporter(), clock=lambda: float(next(ticks)))
    result, _ = execute(backend, models, change(Action.REPLACE), waiter=waiter)
    assert result.outcomes == [
        Outcome("numbers", Action.REPLACE, "failed", "deletion of tunedModels/numbers was not done after 0s")
    ]
    assert ("create", "numbers") not in backend.calls


# --- smoke tests and gates ------------------------------------------------------------------------


def test_a_model_with_smoke_tests_is_marked_tested_only_once_they_pass(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers", smoke=(("3", "4"), ("5", "6"))))
    backend = Recorder(CREATE_FIRST)
    result, _ = execute(backend, models, change(Action.WAIT))
    assert backend.without_generations() == [
        ("wait", "numbers"),
        ("generate", "numbers", "models/gemini-1.5-flash-001-tuning"),
        ("mark_tested", "numbers", None),
        ("find", "numbers"),
    ]
    assert result.summary_line() == (
        "Apply complete: 0 created, 1 created by another run and waited for, 0 updated, 0 replaced, 0 deleted; "
        "smoke tests 2/2 passed."
    )
    backend = Recorder(CREATE_FIRST)
    backend.right = False
    result, _ = execute(backend, models, change(Action.VERIFY))
    assert [call[0] for call in backend.without_generations()] == ["generate"]
    assert result.smoke_failures and result.summary_line().endswith("; smoke tests 0/2 passed.")
    backend = Recorder(CREATE_FIRST)
    result, _ = execute(backend, models, change(Action.VERIFY), smoke_tests=False)
    assert backend.calls == [] and result.summary_line().endswith("; smoke tests skipped.")


def test_a_model_without_gates_is_never_marked_but_still_promoted(tmp_path: Path) -> None:
    backend = Recorder(CREATE_FIRST)
    execute(backend, desired(tmp_path, manifest("numbers")), change(Action.CREATE))
    assert backend.calls == [("create", "numbers"), ("find", "numbers")]


def test_a_chains_smoke_tests_ask_with_the_base_model_at_its_root(tmp_path: Path) -> None:
    documents = [
        manifest("root"),
        manifest("mid", source_model="root"),
        manifest("leaf", source_model="mid", smoke=(("1", "2"),)),
    ]
    backend = Recorder()
    execute(backend, desired(tmp_path, *documents), change(Action.VERIFY, "leaf"))
    assert backend.calls[0] == ("generate", "leaf", "models/gemini-1.5-flash-001-tuning")
    loaded = desired(tmp_path / "orphan", *documents)
    without_root = loaded.model_copy(update={"models": tuple(m for m in loaded.models if m.id != "root")})
    backend = Recorder()
    execute(backend, without_root, change(Action.VERIFY, "leaf"))
    assert backend.calls[0] == ("generate", "leaf", "")  # a source not in this apply: no base model known


def stop_after_the_first_answer(backend: Recorder, waiter: Waiter) -> None:
    """The backend's first model answer asks the apply to stop."""
    answer = backend.generate

    def generate(key: str, base_model: str, text: str) -> str:
        waiter.stop.set()
        return answer(key, base_model, text)

    vars(backend)["generate"] = generate


def test_a_stop_while_the_candidate_is_scored_decides_nothing(tmp_path: Path) -> None:
    models = desired(tmp_path, with_evaluation())
    waiter = Waiter(interval=0.001, timeout=10, reporter=RecordingReporter())
    backend = Recorder(CREATE_FIRST)
    stop_after_the_first_answer(backend, waiter)
    result, _ = execute(backend, models, change(Action.CREATE), waiter=waiter, evaluation_concurrency=1)
    assert result.gates == [] and not result.ok
    assert not any(call[0] in ("mark_tested", "hold") for call in backend.calls)
    assert sum(call[0] == "generate" for call in backend.calls) < 10


def test_an_evaluation_file_emptied_since_validation_fails_the_change_saying_where(tmp_path: Path) -> None:
    models = desired(tmp_path, with_evaluation())
    evaluation_file = tmp_path / "datasets" / "numbers.eval.jsonl"
    evaluation_file.write_text("", "utf-8")
    backend = Recorder(CREATE_FIRST)
    result, _ = execute(backend, models, change(Action.CREATE))
    message = result.outcomes[0].message
    assert message.endswith(
        ": the evaluation set has no examples now (it changed since it was validated); nothing was decided, "
        "and the old model keeps serving"
    )
    assert message.startswith(str(evaluation_file)) or message.startswith("datasets/numbers.eval.jsonl"), message
    assert not any(call[0] in ("mark_tested", "hold") for call in backend.calls)


def test_a_passed_gate_records_its_score_and_digest_and_says_why(tmp_path: Path) -> None:
    models = desired(tmp_path, with_evaluation())
    digest = evaluation_digest(models.by_id()["numbers"])
    backend = Recorder(CREATE_FIRST)
    result, _ = execute(backend, models, change(Action.CREATE))
    assert ("mark_tested", "numbers", {"digest": digest, "score": "1000"}) in backend.calls
    assert result.gates == [
        GateResult("numbers", "exactMatch", 1.0, None, "atLeast 0.80", "promote", "exactMatch 1.00 >= atLeast 0.80", 10)
    ]
    assert result.summary_line() == (
        "Apply complete: 1 created, 0 updated, 0 replaced, 0 deleted; gate numbers: exactMatch 1.00 >= atLeast 0.80 "
        "(promote)."
    )
    assert result.gates[0].as_json() == {
        "model_id": "numbers",
        "metric": "exactMatch",
        "candidate": 1.0,
        "live": None,
        "threshold": "atLeast 0.80",
        "decision": "promote",
        "reason": "exactMatch 1.00 >= atLeast 0.80",
        "examples": 10,
    }


def test_a_failed_gate_holds_the_candidate_and_says_what_serves(tmp_path: Path) -> None:
    models = desired(tmp_path, with_evaluation())
    digest = evaluation_digest(models.by_id()["numbers"])
    backend = Recorder(CREATE_FIRST)
    backend.right = False
    result, _ = execute(backend, models, change(Action.CREATE))
    assert ("hold", "numbers", {"digest": digest, "score": "0000"}) in backend.calls
    assert not any(call[0] in ("mark_tested", "find") for call in backend.calls)
    assert result.outcomes[0].message == (
        "held: exactMatch 0.00 < atLeast 0.80; the old model keeps serving (the candidate is kept)"
    )
    assert result.summary_line() == (
        "Apply failed: 0 created, 0 updated, 0 replaced, 0 deleted; held by its promotion gate, the old model keeps "
        "serving: numbers (exactMatch 0.00 < atLeast 0.80)."
    )
    backend = Recorder()
    backend.right = False
    result, _ = execute(backend, models, change(Action.CREATE))
    assert result.outcomes[0].message == (
        "failed its gate: exactMatch 0.00 < atLeast 0.80; the old model was deleted first, so this one stays "
        "marked untested and the plan shows verify until it passes"
    )


def test_a_failed_gate_with_on_failure_promote_is_promoted_and_said_so(tmp_path: Path) -> None:
    models = desired(tmp_path, with_evaluation(onFailure="promote"))
    backend = Recorder(CREATE_FIRST)
    backend.right = False
    result, _ = execute(backend, models, change(Action.CREATE))
    assert result.ok and result.gates[0].decision == "promote (gate failed)"
    assert [call[0] for call in backend.without_generations()][-2:] == ["mark_tested", "find"]


def test_not_worse_than_live_reuses_the_score_recorded_for_this_evaluation(tmp_path: Path) -> None:
    gate = {"metric": "exactMatch", "notWorseThan": "live", "tolerance": 0.02}
    models = desired(tmp_path, with_evaluation(gate=gate))
    digest = evaluation_digest(models.by_id()["numbers"])
    recorded = {"digest": digest, "score": "0900"}
    live = managed("numbers", candidate=True, serving={"model": "m/1"}, serving_evaluation=recorded)
    backend = Recorder(CREATE_FIRST, live={"numbers": live})
    result, _ = execute(backend, models, change(Action.CREATE))
    assert not any(call[0] == "generate_serving" for call in backend.calls)
    assert result.gates == [
        GateResult(
            "numbers", "exactMatch", 1.0, 0.9, "live - 0.02", "promote", "exactMatch 1.00 >= live 0.90 - 0.02", 10
        )
    ]
    stale = managed("numbers", candidate=True, serving={"model": "m/1"}, serving_evaluation={**recorded, "digest": "x"})
    backend = Recorder(CREATE_FIRST, live={"numbers": stale})
    backend.serving_right = False
    result, _ = execute(backend, models, change(Action.CREATE))
    assert ("generate_serving", "numbers", "models/gemini-1.5-flash-001-tuning") in backend.calls
    assert result.gates[0].live == 0.0
    unscored = managed("numbers", candidate=True, serving={"model": "m/1"}, serving_evaluation={"digest": digest})
    backend = Recorder(CREATE_FIRST, live={"numbers": unscored})
    execute(backend, models, change(Action.CREATE))
    assert any(call[0] == "generate_serving" for call in backend.calls)


def test_not_worse_than_live_has_nothing_to_compare_without_another_model_serving(tmp_path: Path) -> None:
    gate = {"metric": "exactMatch", "notWorseThan": "live"}
    models = desired(tmp_path, with_evaluation(gate=gate))
    for live in (
        {},
        {"numbers": managed("numbers", serving={"model": "m/1"})},
        {"numbers": managed("numbers", candidate=True)},
    ):
        backend = Recorder(CREATE_FIRST, live=live)
        result, _ = execute(backend, models, change(Action.CREATE))
        assert result.gates[0].live is None and result.gates[0].threshold == "live", live
        assert result.gates[0].reason == "no live model to compare with"
    backend = Recorder(live={"numbers": managed("numbers", candidate=True, serving={"model": "m/1"})})
    result, _ = execute(backend, models, change(Action.CREATE))
    assert result.gates[0].live is None  # a backend that deletes first has no other model serving


def test_an_evaluation_changed_alone_scores_the_model_serving_and_records_it(tmp_path: Path) -> None:
    models = desired(tmp_path, with_evaluation(gate={"metric": "exactMatch", "atLeast": 0.5, "notWorseThan": "live"}))
    digest = evaluation_digest(models.by_id()["numbers"])
    backend = Recorder(CREATE_FIRST)
    result, _ = execute(backend, models, change(Action.EVALUATE))
    assert backend.without_generations() == [
        ("generate_serving", "numbers", "models/gemini-1.5-flash-001-tuning"),
        ("record_evaluation", "numbers", {"digest": digest, "score": "1000"}),
    ]
    assert result.gates == [
        GateResult(
            "numbers",
            "exactMatch",
            1.0,
            1.0,
            "atLeast 0.50; live",
            "recorded",
            "the model serving scored exactMatch 1.00",
            10,
        )
    ]
    backend = Recorder(CREATE_FIRST)
    execute(backend, desired(tmp_path / "plain", manifest("numbers")), change(Action.EVALUATE))
    assert backend.calls == []


# --- the summary ----------------------------------------------------------------------------------


def test_the_summary_counts_what_this_run_did_apart_from_what_it_waited_for() -> None:
    outcomes = [
        Outcome("a", Action.CREATE, "done"),
        Outcome("b", Action.CREATE, "done", found=True),
        Outcome("c", Action.REPLACE, "done", found=True),
        Outcome("d", Action.WAIT, "done"),
        Outcome("e", Action.UPDATE, "done", found=True),
        Outcome("f", Action.DELETE, "done"),
        Outcome("g", Action.FORGET, "done"),
        Outcome("h", Action.IMPORT, "failed", "no"),
        Outcome("i", Action.UPDATE, "skipped", "skipped"),
        Outcome("j", Action.UPDATE, "stopped", "stopped"),
    ]
    result = ApplyResult(outcomes=outcomes)
    assert result.counts() == {
        "created": 1,
        "waited_for": 3,
        "updated": 1,  # only a create or replace can be found made by another run
        "replaced": 0,
        "deleted": 1,
        "imported": 0,
        "forgotten": 1,
    }
    assert [o.model_id for o in result.failures] == ["h", "i"]
    assert result.summary_line() == (
        "Apply failed: 1 created, 3 created by another run and waited for, 1 updated, 0 replaced, 1 deleted, "
        "1 forgotten."
    )
    passed = SmokeResult("a", "1", "2", "2", True)
    assert ApplyResult(outcomes=outcomes[:1], smoke=[passed]).summary_line() == (
        "Apply complete: 1 created, 0 updated, 0 replaced, 0 deleted; smoke tests 1/1 passed."
    )
    assert not ApplyResult(smoke=[replace(passed, passed=False)]).ok
    assert ApplyResult(interrupted=True).summary_line().startswith("Apply stopped: ")


def test_every_gate_is_said_held_ones_last() -> None:
    gates = [
        GateResult("a", "exactMatch", 0.5, None, "atLeast 0.80", "hold", "low", 10),
        GateResult("b", "exactMatch", 0.9, None, "atLeast 0.80", "promote", "fine", 10),
        GateResult("c", "exactMatch", 0.1, None, "atLeast 0.80", "hold", "lower", 10),
    ]
    assert ApplyResult(gates=gates).summary_line() == (
        "Apply complete: 0 created, 0 updated, 0 replaced, 0 deleted; gate b: fine (promote); held by its promotion "
        "gate, the old model keeps serving: a (low); c (lower)."
    )


def test_concurrent_workers_share_the_results_lists(tmp_path: Path) -> None:
    models = desired(tmp_path, *(manifest(f"m{n}", smoke=(("1", "2"),)) for n in range(4)))
    backend = Recorder()
    result, _ = execute(backend, models, *(change(Action.VERIFY, f"m{n}") for n in range(4)), concurrency=4)
    assert sorted(s.model_id for s in result.smoke) == ["m0", "m1", "m2", "m3"]


def test_a_stop_during_the_smoke_tests_asks_no_more_and_marks_nothing(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers", smoke=(("3", "4"), ("5", "6"))))
    waiter = Waiter(interval=0.001, timeout=10, reporter=RecordingReporter())
    backend = Recorder(CREATE_FIRST)
    stop_after_the_first_answer(backend, waiter)
    result, _ = execute(backend, models, change(Action.VERIFY), waiter=waiter)
    assert [call[0] for call in backend.calls] == ["generate"]  # the second test is not asked
    assert [s.input for s in result.smoke] == ["3"] and result.interrupted


def test_a_grant_changes_start_and_end_are_told_with_the_grant_in_words(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    grant = PermissionChange(grantee_type="EVERYONE", role_after="READER")
    details = {"grant": "grant READER to EVERYONE"}
    _, reporter = execute(Recorder(), models, change(Action.PERMISSION_ADD, permission=grant))
    assert reporter.events == [
        Event("start", "numbers", "permission_add", "permission_add numbers", details),
        Event("done", "numbers", "permission_add", "", details),
    ]
    backend = Recorder()
    backend.fail["grant"] = ChangeFailed("refused")
    _, reporter = execute(backend, models, change(Action.PERMISSION_ADD, permission=grant))
    assert reporter.events[-1] == Event("failed", "numbers", "permission_add", "refused", details)


def test_a_model_waiting_on_a_skipped_one_is_skipped_too(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("a"), manifest("b", source_model="a"), manifest("c", source_model="b"))
    backend = Recorder()
    backend.fail["update"] = ChangeFailed("no")
    result, _ = execute(
        backend,
        models,
        change(Action.UPDATE, "a"),
        change(Action.CREATE, "b", depends_on=("a",)),
        change(Action.CREATE, "c", depends_on=("b",)),
    )
    assert result.outcomes == [
        Outcome("a", Action.UPDATE, "failed", "no"),
        Outcome("b", Action.CREATE, "skipped", "skipped: a did not finish"),
        Outcome("c", Action.CREATE, "skipped", "skipped: b did not finish"),
    ]
    assert backend.calls == [("update", "a", (), False)]


def test_no_more_models_run_at_once_than_the_concurrency_allows(tmp_path: Path) -> None:
    models = desired(tmp_path, *(manifest(f"m{n}") for n in range(3)))
    backend = Recorder()
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most

    def slow_update(model: Any, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        time.sleep(0.2)
        with lock:
            in_flight[0] -= 1

    vars(backend)["update"] = slow_update
    execute(backend, models, *(change(Action.UPDATE, f"m{n}") for n in range(3)), concurrency=1)
    assert in_flight == [0, 1]
    execute(backend, models, *(change(Action.UPDATE, f"m{n}") for n in range(3)), concurrency=3)
    assert in_flight == [0, 3]


def test_each_promoted_gate_is_said_in_turn() -> None:
    gates = [
        GateResult("a", "exactMatch", 0.9, None, "atLeast 0.80", "promote", "fine", 10),
        GateResult("b", "exactMatch", 0.9, None, "atLeast 0.80", "promote", "good", 10),
    ]
    assert ApplyResult(gates=gates).summary_line() == (
        "Apply complete: 0 created, 0 updated, 0 replaced, 0 deleted; gate a: fine (promote); gate b: good (promote)."
    )


def test_every_backend_call_that_waits_is_given_the_applys_waiter(tmp_path: Path) -> None:
    models = desired(tmp_path, manifest("numbers"))
    waiter = Waiter(interval=0.001, timeout=10, reporter=RecordingReporter())
    given: list[tuple[str, bool]] = []
    backend = Recorder(CREATE_FIRST, live={"numbers": managed("numbers", superseded=("vertex/old",))})

    def wait(model: DesiredModel, w: Waiter) -> Tuned:
        given.append(("wait", w is waiter))
        return Tuned(found=True)

    vars(backend)["wait"] = wait
    vars(backend)["delete"] = lambda live, w: given.append(("delete", w is waiter))
    vars(backend)["remove_superseded"] = lambda live, w: given.append(("remove_superseded", w is waiter))
    execute(backend, models, change(Action.WAIT), waiter=waiter)
    execute(backend, models, change(Action.DELETE), waiter=waiter)
    assert given == [("wait", True), ("remove_superseded", True), ("delete", True)]


def test_the_candidate_is_scored_with_no_more_calls_at_once_than_evaluation_concurrency(tmp_path: Path) -> None:
    models = desired(tmp_path, with_evaluation())
    backend = Recorder(CREATE_FIRST)
    answer = backend.generate
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most

    def slow_generate(key: str, base_model: str, text: str) -> str:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight)
        time.sleep(0.02)
        with lock:
            in_flight[0] -= 1
        return answer(key, base_model, text)

    vars(backend)["generate"] = slow_generate
    result, _ = execute(backend, models, change(Action.CREATE), evaluation_concurrency=1)
    assert result.ok and in_flight == [0, 1]
    execute(backend, models, change(Action.CREATE), evaluation_concurrency=3)
    assert in_flight[1] > 1
