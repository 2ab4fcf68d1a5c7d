"""What a tuning run will cost, so a reviewer sees it before approving.

- examples: the dataset's example count.
- total_steps: the backend's steps formula (`TuningDefaults.total_steps`).
- tokens: the dataset's estimated tokens (characters / 4) times the epochs:
  every epoch trains on every example once.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.model.desired import DesiredModel
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.types import Change, Estimate, Totals


def estimate(model: DesiredModel, tuning: TuningDefaults) -> Estimate:
    epochs = tuning.epochs(model)
    return Estimate(
        examples=model.dataset.examples,
        tokens=tuning.training_tokens(model),
        total_steps=tuning.total_steps(model),
        epochs=epochs,
        # None where the service has no batch size (Vertex AI): nothing to show.
        batch_size=tuning.batch(model) if tuning.batch_size_is_setting else None,
    )


def totals(changes: Iterable[Change]) -> Totals:
    estimates = [change.estimate for change in changes if change.estimate is not None]
    return Totals(
        models=len(estimates),
        examples=sum(e.examples for e in estimates),
        tokens=sum(e.tokens for e in estimates),
        total_steps=sum(e.total_steps for e in estimates),
    )
