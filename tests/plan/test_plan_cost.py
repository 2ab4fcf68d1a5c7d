"""The plan's cost line: a tuning run's training tokens at the price a backend
gives for its base model (`PlanRules.training_price`), always marked as an
estimate, and nothing at all where the backend knows no price.

The rules here are made up (no backend's): the planner and the renderers know
only the neutral seam."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from plan_builders import desired_state, observed_state
from test_plan_cases import RULES

from reconciler.model.manifest import Customization
from reconciler.plan import Plan, PlanOptions, plan
from reconciler.plan.rules import PlanRules
from reconciler.render import render_json, render_markdown, render_text

PRICED = "priced-base"
NOTE = "(estimate, from the catalogue's price)"
# 1,000 examples of 2,000 input and 6,000 output characters: 2,000 tokens a pass.
DATASET = {"examples": 1000, "input_characters": 2000, "output_characters": 6000}


def price(base_model: str, customization: Customization) -> float | None:
    """$0.25 per 1,000 tokens for fine-tuning PRICED; nothing else has a price."""
    if base_model == PRICED and customization is Customization.FINE_TUNING:
        return 0.25
    return None


# A neutral backend's rules with prices; the same rules without them.
UNPRICED = RULES["gemini"]
WITH_PRICES = replace(UNPRICED, training_price=price)


def planned(entries: list[dict[str, Any]], rules: PlanRules, observed: list[dict[str, Any]] | None = None) -> Plan:
    return plan(desired_state(entries), observed_state(observed or [], entries, rules), rules, PlanOptions())


def model(model_id: str, base: str = PRICED, **spec: object) -> dict[str, Any]:
    return {
        "id": model_id,
        "spec": {"baseModel": base, "hyperparameters": {"epochCount": 3}, **spec},
        "dataset": DATASET,
    }


def estimate_of(result: Plan, model_id: str) -> dict[str, Any]:
    change = next(c for c in json.loads(render_json(result))["changes"] if c["model_id"] == model_id)
    estimate: dict[str, Any] = change["estimate"]
    return estimate


def test_a_priced_run_shows_its_cost_as_an_estimate_in_text_markdown_and_json() -> None:
    result = planned([model("numbers")], WITH_PRICES)
    estimate = estimate_of(result, "numbers")
    # 2,000 tokens a pass x 3 epochs = 6,000 tokens, at $0.25 per 1,000.
    assert (estimate["tokens"], estimate["usd_per_1k_tokens"], estimate["cost_usd"]) == (6000, 0.25, 1.5)
    document = json.loads(render_json(result))
    assert (document["totals"]["cost_usd"], document["totals"]["priced_models"]) == (1.5, 1)
    assert document["format_version"] == "1.9"
    text, markdown = render_text(result), render_markdown(result)
    for rendered in (text, markdown):
        assert f"3 epochs, batch size 4), ~$1.50 {NOTE}" in rendered  # the run's line
        assert f"steps, ~$1.50 {NOTE}" in rendered.split("Cost")[1]  # the plan's cost line
    # A saved plan reads back with its cost.
    again = Plan.from_data(json.loads(render_json(result)))
    assert again.totals.cost_usd == 1.5 and render_json(again) == render_json(result)


def test_without_a_price_nothing_is_said_of_money() -> None:
    for rules, base in ((UNPRICED, PRICED), (WITH_PRICES, "another-base")):
        result = planned([model("numbers", base)], rules)
        estimate = estimate_of(result, "numbers")
        assert estimate["tokens"] == 6000
        assert estimate["usd_per_1k_tokens"] is None and estimate["cost_usd"] is None
        assert (result.totals.cost_usd, result.totals.priced_models) == (None, 0)
        for rendered in (render_text(result), render_markdown(result)):
            assert "$" not in rendered and "catalogue" not in rendered


def test_the_price_is_asked_for_the_customization_the_manifest_declares() -> None:
    distilled = model("small", customization="distillation", teacherModel="teacher")
    result = planned([distilled], WITH_PRICES)
    assert estimate_of(result, "small")["cost_usd"] is None


def test_a_model_tuned_from_another_is_priced_by_the_base_model_at_the_root_of_its_chain() -> None:
    declared = [model("numbers"), {"id": "roman", "spec": {"sourceModel": "numbers"}, "dataset": DATASET}]
    result = planned(declared, WITH_PRICES)
    # 5 epochs (the rules' default) x 2,000 tokens at $0.25 per 1,000.
    assert estimate_of(result, "roman")["cost_usd"] == 2.5
    # Its source live only, not declared: the live model's base model.
    live_source = [{"key": "numbers", "base_model": PRICED, "source": PRICED}]
    alone = planned([declared[1]], WITH_PRICES, live_source)
    assert estimate_of(alone, "roman")["cost_usd"] == 2.5


def test_the_total_says_how_many_runs_it_prices_and_a_tiny_cost_is_not_rounded_to_nothing() -> None:
    tiny = {**model("tiny"), "dataset": {"examples": 10, "input_characters": 4, "output_characters": 4}}
    result = planned([model("numbers"), model("other", "another-base"), tiny], WITH_PRICES)
    assert estimate_of(result, "tiny")["cost_usd"] == 0.0015  # 2 tokens x 3 epochs at $0.25 per 1,000
    text = render_text(result)
    assert f"under $0.01 {NOTE}" in text
    assert f"~$1.50 for 2 of 3 runs {NOTE}" in text
    assert (result.totals.cost_usd, result.totals.priced_models, result.totals.models) == (1.5015, 2, 3)
