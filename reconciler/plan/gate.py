"""What a plan says about the promotion gate of a create or replace: the
thresholds, the size and digest of the evaluation set, and the live model's
last recorded score (docs/promotion-gates.md). Scores and counts, never an
example or an answer."""

from __future__ import annotations

from reconciler.model.desired import DesiredModel
from reconciler.model.evaluation import evaluation_digest, recorded_score
from reconciler.model.live import LiveModel
from reconciler.plan.rules import PlanRules, ReplaceOrder
from reconciler.plan.types import GatePlan


def gate_plan(model: DesiredModel, live: LiveModel | None, rules: PlanRules) -> GatePlan | None:
    """The gate of a model about to be tuned; None without `spec.evaluation`."""
    evaluation = model.manifest.spec.evaluation
    digest = evaluation_digest(model)
    if evaluation is None or digest is None or model.evaluation is None:
        return None
    gate = evaluation.gate
    recorded = _serving_record(live)
    return GatePlan(
        metric=gate.metric.value,
        at_least=gate.at_least,
        not_worse_than=gate.not_worse_than,
        tolerance=gate.tolerance,
        on_failure=evaluation.on_failure.value,
        examples=model.evaluation.examples,
        digest=digest,
        live_score=recorded_score(recorded),
        live_digest=recorded.get("digest") or None,
        old_model_kept=rules.replace_order is ReplaceOrder.CREATE_FIRST,
    )


def _serving_record(live: LiveModel | None) -> dict[str, str]:
    """The gate result recorded on the model serving now (not a candidate beside it)."""
    if live is None:
        return {}
    return dict(live.serving_evaluation) if live.candidate else dict(live.evaluation)
