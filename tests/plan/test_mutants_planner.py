"""The planner's verify change (reconciler/plan/planner.py `_verify`) whole,
and a held candidate's plan (`_gate_decided`): mutation testing
(docs/mutation.md) found them unchecked under the committed test selection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.backends.vertex.rules import RULES
from reconciler.model.desired import Desired
from reconciler.model.evaluation import evaluation_digest
from reconciler.model.live import Observed
from reconciler.plan.planner import _verify, plan
from reconciler.plan.types import Action, Change, PlanError
from tests.integration.helpers_apply import load_repo, manifest, write_repo
from tests.plan.plan_builders import created_model, desired_state

EVALUATION = {
    "data": {"file": "../datasets/numbers.eval.jsonl"},
    "metrics": ["exactMatch"],
    "gate": {"metric": "exactMatch", "atLeast": 0.8},
}
GATES_AGAIN = (
    "its smoke tests and promotion gate have not passed since it was tuned (they failed, were skipped, or the "
    "apply stopped first); apply runs them again and re-tunes nothing"
)


def desired(tmp_path: Path, document: dict[str, Any]) -> Desired:
    repo = write_repo(tmp_path, [document])
    rows = [{"text_input": f"{n}?", "output": str(n + 1)} for n in range(10)]
    (repo / "datasets" / "numbers.eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return load_repo(repo)


def with_evaluation(**fields: Any) -> dict[str, Any]:
    document = manifest("numbers", **fields)
    document["spec"]["evaluation"] = EVALUATION
    return document


def test_a_verify_names_the_file_the_paths_and_why_with_and_without_an_evaluation(tmp_path: Path) -> None:
    smoke_only = desired(tmp_path / "a", manifest("numbers", smoke=(("1", "2"),))).by_id()["numbers"]
    assert _verify(smoke_only) == Change(
        action=Action.VERIFY,
        model_id="numbers",
        file=smoke_only.file,
        paths=("spec.smokeTests",),
        reason="its smoke tests have not passed since it was tuned (they failed, were skipped, or the apply "
        "stopped first); apply runs them again and re-tunes nothing",
    )
    both = desired(tmp_path / "b", with_evaluation(smoke=(("1", "2"),))).by_id()["numbers"]
    assert _verify(both) == Change(
        action=Action.VERIFY,
        model_id="numbers",
        file=both.file,
        paths=("spec.smokeTests", "spec.evaluation"),
        reason=GATES_AGAIN,
    )
    gate_only = desired(tmp_path / "c", with_evaluation()).by_id()["numbers"]
    assert _verify(gate_only) == Change(
        action=Action.VERIFY, model_id="numbers", file=gate_only.file, paths=("spec.evaluation",), reason=GATES_AGAIN
    )
    assert gate_only.file and both.file and smoke_only.file


def test_a_held_candidate_is_blocked_naming_its_address_or_verified_when_on_failure_is_now_promote() -> None:
    for on_failure in ("hold", "promote"):
        entry = {"id": "numbers", "spec": {"evaluation": {**EVALUATION, "onFailure": on_failure}}}
        models = desired_state([entry])
        model = models.by_id()["numbers"]
        held = created_model(model).model_copy(
            update={"candidate": True, "evaluation": {"held": "true", "score": "0700"}, "serving": {"model": "m/1"}}
        )
        result = plan(models, Observed(models=(held,)), RULES)
        if on_failure == "hold":
            assert list(result.blocked) == [
                PlanError(
                    model_id="numbers",
                    message=f"{RULES.address('numbers')} held: its candidate failed its promotion gate (its score "
                    "0.700); the model before it keeps serving (m/1), and the same inputs are never tuned again",
                    hint=f"change its inputs in {model.file}, set spec.evaluation.onFailure: promote, run "
                    "`reconciler promote numbers`, or remove the manifest (prune deletes the candidate)",
                )
            ]
        else:
            assert not result.blocked
            assert [c for c in result.changes if c.action is not Action.NOOP] == [
                Change(
                    action=Action.VERIFY,
                    model_id="numbers",
                    file=model.file,
                    paths=("spec.evaluation.onFailure",),
                    reason="its candidate was held by its promotion gate and onFailure is now promote: apply runs "
                    "its gates again and promotes it whatever they say; re-tunes nothing",
                )
            ]


def test_an_evaluation_changed_alone_plans_an_evaluate_saying_what_changed(tmp_path: Path) -> None:
    models = desired(tmp_path, with_evaluation())
    model = models.by_id()["numbers"]
    digest = evaluation_digest(model)
    for recorded, why in (
        ({"digest": "0ld", "score": "0800"}, f"its evaluation changed (digest 0ld -> {digest})"),
        ({}, f"its evaluation {digest} has no recorded score"),
    ):
        live = created_model(model).model_copy(update={"evaluation": recorded})
        result = plan(models, Observed(models=(live,)), RULES)
        assert [c for c in result.changes if c.action is Action.EVALUATE] == [
            Change(
                action=Action.EVALUATE,
                model_id="numbers",
                file=model.file,
                paths=("spec.evaluation",),
                reason=why + ": apply scores the model serving and records it; never tunes, never deletes",
            )
        ]
    for unchanged in (
        created_model(model).model_copy(update={"evaluation": {"digest": digest, "score": "0800"}}),
        created_model(model, untested=True),
        created_model(model).model_copy(update={"candidate": True}),
    ):
        result = plan(models, Observed(models=(unchanged,)), RULES)
        assert not [c for c in result.changes if c.action is Action.EVALUATE]


def test_a_held_candidate_with_no_score_or_serving_model_recorded_says_see_status() -> None:
    models = desired_state([{"id": "numbers", "spec": {"evaluation": EVALUATION}}])
    held = created_model(models.by_id()["numbers"]).model_copy(update={"evaluation": {"held": "true"}})
    [error] = plan(models, Observed(models=(held,)), RULES).blocked
    assert error.message == (
        f"{RULES.address('numbers')} held: its candidate failed its promotion gate; the model before it keeps "
        "serving (see status), and the same inputs are never tuned again"
    )


def test_earlier_models_are_cleaned_up_unless_the_id_is_held() -> None:
    old = ("vertex/old",)
    for on_failure, evaluation, cleaned in (
        ("hold", {}, True),
        ("hold", {"held": "true"}, False),
        ("promote", {"held": "true"}, True),
    ):
        models = desired_state([{"id": "numbers", "spec": {"evaluation": {**EVALUATION, "onFailure": on_failure}}}])
        live = created_model(models.by_id()["numbers"]).model_copy(update={"evaluation": evaluation, "superseded": old})
        result = plan(models, Observed(models=(live,)), RULES)
        assert any(c.action is Action.CLEAN_UP for c in result.changes) is cleaned, (on_failure, evaluation)
