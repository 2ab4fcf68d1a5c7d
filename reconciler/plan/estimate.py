"""What a tuning run will cost, so a reviewer sees it before approving.

- examples: the dataset's example count.
- total_steps: the backend's steps formula (`TuningDefaults.total_steps`).
- tokens: the dataset's tokens a pass times the epochs: every epoch trains on
  every example once. A pass is *measured* when a run on the same dataset
  reported its billable tokens (`LiveModel.reported`); otherwise it is
  estimated as characters / 4, and a budget counts its upper bound
  (`UNMEASURED_MARGIN` more), since tokenizers differ from that rule of thumb.
- cost_usd: `tokens` at the backend's training price for the base model
  (`PlanRules.training_price`, US dollars per 1,000 tokens), where it knows
  one; an estimate twice over (the tokens, and a price from its own data).

A budget (reconciler.yaml `budget:`) turns a plan that would spend more into
errors: nothing of it is applied.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel, Reported
from reconciler.model.ownership import data_digest, data_hash
from reconciler.model.settings import BudgetSettings
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.types import Change, Estimate, PlanError, Totals

# characters / 4 is Google's rule of thumb; real tokenizers give up to about
# half as many characters a token again on code, numbers and other languages.
UNMEASURED_MARGIN = 1.5


def measured_passes(live: Iterable[LiveModel]) -> dict[str, Reported]:
    """The reported figures of every live run, by the dataset it tuned on."""
    return {m.reported.data: m.reported for m in live if m.reported is not None and m.reported.tokens}


def estimate(
    model: DesiredModel,
    tuning: TuningDefaults,
    measured: Mapping[str, Reported] | None = None,
    usd_per_1k_tokens: float | None = None,
) -> Estimate:
    """`usd_per_1k_tokens`: the training price of the model's base model, None if unknown."""
    epochs = tuning.epochs(model)
    reported = (measured or {}).get(data_hash(data_digest(model))) if model.dataset.known else None
    if reported is not None and reported.tokens:
        per_pass, upper = reported.tokens, reported.tokens * epochs
    else:
        per_pass = model.dataset.estimated_tokens
        upper = math.ceil(per_pass * epochs * UNMEASURED_MARGIN)
    return Estimate(
        examples=model.dataset.examples,
        tokens=per_pass * epochs,
        total_steps=tuning.total_steps(model),
        epochs=epochs,
        # None where the service has no batch size (Vertex AI): nothing to show.
        batch_size=tuning.batch(model) if tuning.batch_size_is_setting else None,
        measured=reported is not None,
        tokens_per_pass=per_pass,
        tokens_upper=upper,
        usd_per_1k_tokens=usd_per_1k_tokens,
        cost_usd=None if usd_per_1k_tokens is None else cost(per_pass * epochs, usd_per_1k_tokens),
    )


def cost(tokens: int, usd_per_1k_tokens: float) -> float:
    """US dollars for `tokens` at a price per 1,000, to a millionth of a dollar
    (a plan's JSON shows no float noise, and no price is finer)."""
    return round(tokens * usd_per_1k_tokens / 1000, 6)


def totals(changes: Iterable[Change], budget: BudgetSettings | None = None) -> Totals:
    estimates = [change.estimate for change in changes if change.estimate is not None]
    budget = budget or BudgetSettings()
    costs = [e.cost_usd for e in estimates if e.cost_usd is not None]
    return Totals(
        models=len(estimates),
        examples=sum(e.examples for e in estimates),
        tokens=sum(e.tokens for e in estimates),
        total_steps=sum(e.total_steps for e in estimates),
        tokens_upper=sum(e.tokens_upper for e in estimates),
        cost_usd=round(sum(costs), 6) if costs else None,
        priced_models=len(costs),
        max_training_tokens=budget.max_training_tokens,
        max_training_tokens_per_model=budget.max_training_tokens_per_model,
    )


def budget_errors(changes: Iterable[Change], budget: BudgetSettings) -> list[PlanError]:
    """One error a tuning run over the per-model budget, one for a plan over its total."""
    costed = [c for c in changes if c.estimate is not None]
    errors = []
    per_model = budget.max_training_tokens_per_model
    if per_model is not None:
        for change in costed:
            assert change.estimate is not None
            if change.estimate.tokens_upper > per_model:
                errors.append(
                    PlanError(
                        model_id=change.model_id,
                        message=f"{change.model_id} would spend {_counted(change.estimate)}, "
                        f"{change.estimate.tokens_upper - per_model:,} over budget.maxTrainingTokensPerModel "
                        f"({per_model:,})",
                        hint="fewer examples or epochs, or raise the budget in reconciler.yaml",
                    )
                )
    total = budget.max_training_tokens
    spent = sum(c.estimate.tokens_upper for c in costed if c.estimate is not None)
    if total is not None and spent > total:
        models = ", ".join(f"{c.model_id} ({c.estimate.tokens_upper:,})" for c in costed if c.estimate is not None)
        errors.append(
            PlanError(
                model_id=None,
                message=f"the plan would spend {spent:,} training tokens, {spent - total:,} over "
                f"budget.maxTrainingTokens ({total:,}): {models}",
                hint="apply fewer runs at once (--target), or raise the budget in reconciler.yaml",
            )
        )
    return errors


def _counted(estimate: Estimate) -> str:
    if estimate.measured:
        return f"{estimate.tokens_upper:,} training tokens (measured)"
    return f"up to {estimate.tokens_upper:,} training tokens (the upper bound of an estimate not measured)"
