"""Tuning defaults that differ by base model (`PlanRules.tuning_by_base_model`):
a run's estimate and `status`'s progress take those of the base model at the
root of its chain; rules without them (the Gemini API's, Vertex AI's) keep
their one set.

The rules here are made up (no backend's): the planner and the CLI's status
know only the neutral seam."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from plan_builders import desired_state, observed_state
from test_plan_cases import RULES

from reconciler.cli.status_cmd import records_of
from reconciler.model.live import LiveModel, LiveState
from reconciler.model.tuning import TuningDefaults
from reconciler.plan import Plan, PlanOptions, plan
from reconciler.plan.rules import PlanRules
from reconciler.render import render_json, render_text

OWN = "own-defaults-base"  # a base model with defaults of its own
OWN_DEFAULTS = TuningDefaults(epoch_count=2, batch_size=1, batch_size_is_setting=False)
DATASET = {"examples": 1000, "input_characters": 2000, "output_characters": 6000}


def by_base_model(base_model: str) -> TuningDefaults | None:
    return OWN_DEFAULTS if base_model == OWN else None


ONE_SET = RULES["gemini"]  # 5 epochs, batch size 4, for every base model
BY_BASE = replace(ONE_SET, tuning_by_base_model=by_base_model)


def planned(entries: list[dict[str, Any]], rules: PlanRules, observed: list[dict[str, Any]] | None = None) -> Plan:
    return plan(desired_state(entries), observed_state(observed or [], entries, rules), rules, PlanOptions())


def model(model_id: str, base: str = OWN) -> dict[str, Any]:
    return {"id": model_id, "spec": {"baseModel": base}, "dataset": DATASET}


def dependent(model_id: str, source: str) -> dict[str, Any]:
    return {"id": model_id, "spec": {"sourceModel": source}, "dataset": DATASET}


def estimate_of(result: Plan, model_id: str) -> dict[str, Any]:
    change = next(c for c in json.loads(render_json(result))["changes"] if c["model_id"] == model_id)
    estimate: dict[str, Any] = change["estimate"]
    return estimate


def test_a_run_is_estimated_with_the_defaults_of_its_base_model() -> None:
    result = planned([model("numbers"), model("other", "another-base")], BY_BASE)
    own = estimate_of(result, "numbers")
    assert (own["epochs"], own["batch_size"], own["total_steps"]) == (2, None, 2000)
    other = estimate_of(result, "other")  # no defaults of its own: the rules' one set
    assert (other["epochs"], other["batch_size"], other["total_steps"]) == (5, 4, 1250)
    text = render_text(result)
    assert "2,000 steps (2 epochs)" in text and "1,250 steps (5 epochs, batch size 4)" in text


def test_rules_with_one_set_use_it_for_every_base_model() -> None:
    assert ONE_SET.tuning_by_base_model is None
    assert ONE_SET.tuning_for(OWN) == ONE_SET.tuning_for(None) == ONE_SET.tuning
    assert estimate_of(planned([model("numbers")], ONE_SET), "numbers")["epochs"] == 5


def test_a_model_tuned_from_another_takes_the_defaults_at_the_root_of_its_chain() -> None:
    result = planned([model("numbers"), dependent("roman", "numbers")], BY_BASE)
    assert estimate_of(result, "roman")["epochs"] == 2
    # Its source live only, not declared: the live model's base model.
    live_source = [{"key": "numbers", "base_model": OWN, "source": OWN}]
    alone = planned([dependent("roman", "numbers")], BY_BASE, live_source)
    assert estimate_of(alone, "roman")["epochs"] == 2


def test_status_counts_a_running_models_progress_with_its_base_models_defaults() -> None:
    entries = [model("numbers"), model("other", "another-base")]
    declared = desired_state(entries).by_id()
    running = [
        LiveModel(key=key, address=f"fake/{key}", state=LiveState.CREATING, step=500) for key in ("numbers", "other")
    ]
    records = records_of(running, planned(entries, BY_BASE), declared, BY_BASE)
    # 500 of 2,000 steps (2 epochs of batches of 1); 500 of 1,250 (5 epochs of 4).
    assert [r["progress_percent"] for r in records] == [25, 40]
