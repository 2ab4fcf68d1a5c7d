"""What a tuning run will cost, so a reviewer sees it before approving.

- examples: the dataset's example count.
- total_steps: ceil(examples * epochs / batch size), the formula the API's own
  operation metadata follows; unset epochCount / batchSize use the API defaults
  5 and 4 (see gemini.py).
- tokens: the dataset's estimated tokens (characters / 4) times the epochs:
  every epoch trains on every example once.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.model.desired import DesiredModel
from reconciler.plan.gemini import DEFAULT_BATCH_SIZE, DEFAULT_EPOCH_COUNT
from reconciler.plan.types import Change, Estimate, Totals


def estimate(model: DesiredModel) -> Estimate:
    hyperparameters = model.manifest.spec.hyperparameters
    epochs = hyperparameters.epoch_count or DEFAULT_EPOCH_COUNT
    batch_size = hyperparameters.batch_size or DEFAULT_BATCH_SIZE
    examples = model.dataset.examples
    return Estimate(
        examples=examples,
        tokens=model.dataset.estimated_tokens * epochs,
        total_steps=-(-examples * epochs // batch_size),
        epochs=epochs,
        batch_size=batch_size,
    )


def totals(changes: Iterable[Change]) -> Totals:
    estimates = [change.estimate for change in changes if change.estimate is not None]
    return Totals(
        models=len(estimates),
        examples=sum(e.examples for e in estimates),
        tokens=sum(e.tokens for e in estimates),
        total_steps=sum(e.total_steps for e in estimates),
    )
