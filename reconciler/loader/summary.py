"""Per-model figures for `validate`: examples, characters, tokens and tuning steps."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.desired import DesiredModel

# The API's defaults when a manifest leaves them out (reference §2.1). The
# batch size default is "4 or 16 by example count" with undocumented
# thresholds; 4 is assumed, and the figure is marked as an estimate.
DEFAULT_EPOCH_COUNT = 5
DEFAULT_BATCH_SIZE = 4


@dataclass(frozen=True)
class ModelSummary:
    id: str
    file: str
    source: str
    examples: int
    characters: int
    estimated_tokens: int
    estimated_steps: int
    assumes_defaults: bool  # epochCount or batchSize left to the API
    digest: str

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "file": self.file,
            "source": self.source,
            "examples": self.examples,
            "characters": self.characters,
            "estimatedTokens": self.estimated_tokens,
            "estimatedSteps": self.estimated_steps,
            "assumesDefaultHyperparameters": self.assumes_defaults,
            "datasetDigest": self.digest,
        }


def estimated_steps(examples: int, epoch_count: int, batch_size: int) -> int:
    """totalSteps as the API reports it: ceil(examples * epochs / batchSize)."""
    return -(-examples * epoch_count // batch_size)


def summarize(model: DesiredModel) -> ModelSummary:
    hyperparameters = model.manifest.spec.hyperparameters
    epochs = hyperparameters.epoch_count or DEFAULT_EPOCH_COUNT
    batch = hyperparameters.batch_size or DEFAULT_BATCH_SIZE
    dataset = model.dataset
    return ModelSummary(
        id=model.id,
        file=model.file,
        source=model.manifest.spec.source,
        examples=dataset.examples,
        characters=dataset.characters,
        estimated_tokens=dataset.estimated_tokens,
        estimated_steps=estimated_steps(dataset.examples, epochs, batch),
        assumes_defaults=hyperparameters.epoch_count is None or hyperparameters.batch_size is None,
        digest=dataset.digest,
    )
