"""The plan's cost line under Bedrock's rules: a run's training tokens at the
catalogue's price per 1,000 tokens for its base model, marked as an estimate;
nothing where the catalogue has no price (Amazon Nova 2 Lite), for a
distillation (the teacher's answers are billed apart), or for a model
reconciler.yaml adds `like` a priced one (a like shares facts, not prices)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.backends.bedrock.catalogue import CATALOGUE
from reconciler.backends.bedrock.rules import RULES, training_price
from reconciler.model.live import Observed
from reconciler.model.manifest import Customization
from reconciler.plan import Plan, PlanOptions, plan
from reconciler.render import render_json, render_markdown, render_text
from tests.backends.bedrock.helpers import NOVA, load_repo, manifest, settings, write_repo

NOVA_PRO = "amazon.nova-pro-v1:0:300k"
NOVA_2_LITE = "amazon.nova-2-lite-v1:0:256k"
NOTE = "(estimate, from the catalogue's price)"


def long_pairs(count: int) -> list[dict[str, Any]]:
    """Examples long enough for a cost of cents: 1,000 characters an answer."""
    return [{"text_input": f"question {i}", "output": f"{i:04d}" * 250} for i in range(count)]


def planned(tmp_path: Path, base: str, **spec: Any) -> Plan:
    root = write_repo(tmp_path, [manifest("numbers", baseModel=base, **spec)], {"numbers": long_pairs(20)})
    block = settings(baseModels={"amazon.nova-9-pro-v1:0": {"like": NOVA_PRO}})
    result = load_repo(root, block)
    assert result.desired is not None, [str(p) for p in result.errors]
    return plan(result.desired, Observed(models=()), RULES, PlanOptions())


def test_a_nova_run_is_costed_at_the_catalogue_price() -> None:
    price = CATALOGUE[NOVA_PRO].training_price
    assert price is not None and price.estimate
    assert training_price(NOVA_PRO, Customization.FINE_TUNING) == price.usd
    # Named without its context suffix, or by its ARN: the same model, the same price.
    assert training_price("amazon.nova-pro-v1:0", Customization.FINE_TUNING) == price.usd
    arn = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"
    assert training_price(arn, Customization.FINE_TUNING) == price.usd


def test_the_plan_shows_the_cost_of_a_priced_model(tmp_path: Path) -> None:
    result = planned(tmp_path, NOVA_PRO, hyperparameters={"epochCount": 2})
    (change,) = json.loads(render_json(result))["changes"]
    estimate = change["estimate"]
    usd = CATALOGUE[NOVA_PRO].training_price.usd  # type: ignore[union-attr]
    assert estimate["usd_per_1k_tokens"] == usd
    assert estimate["cost_usd"] == round(estimate["tokens"] * usd / 1000, 6) > 0.01
    shown = f"~${estimate['cost_usd']:.2f} {NOTE}"
    for rendered in (render_text(result), render_markdown(result)):
        assert rendered.count(shown) == 2, rendered  # the run's estimate and the plan's cost line


def test_no_cost_where_the_catalogue_has_no_price(tmp_path: Path) -> None:
    assert CATALOGUE[NOVA_2_LITE].training_price is None
    result = planned(tmp_path, NOVA_2_LITE, hyperparameters={"epochCount": 2})
    (change,) = json.loads(render_json(result))["changes"]
    assert change["estimate"]["tokens"] > 0
    assert change["estimate"]["cost_usd"] is None and change["estimate"]["usd_per_1k_tokens"] is None
    assert result.totals.cost_usd is None
    for rendered in (render_text(result), render_markdown(result)):
        assert "$" not in rendered and NOTE not in rendered


def test_no_cost_for_a_distillation_or_a_model_added_like_a_priced_one(tmp_path: Path) -> None:
    distilled = planned(tmp_path / "d", NOVA, customization="distillation", teacherModel="amazon.nova-pro-v1:0")
    added = planned(tmp_path / "a", "amazon.nova-9-pro-v1:0", hyperparameters={"epochCount": 2})
    for result in (distilled, added):
        (change,) = result.changes
        assert change.estimate is not None and change.estimate.cost_usd is None
        assert "$" not in render_text(result)
