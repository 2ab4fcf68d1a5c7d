"""Per-model figures for `validate`: examples, characters, tokens and tuning steps."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.desired import DesiredModel
from reconciler.model.tuning import TuningDefaults


@dataclass(frozen=True)
class ModelSummary:
    id: str
    file: str
    source: str
    examples: int
    characters: int
    training_tokens: int  # estimated, all epochs (TuningDefaults.training_tokens)
    estimated_steps: int
    assumes_defaults: bool  # epochCount or batchSize left to the API
    digest: str
    tuning: TuningDefaults  # the server's defaults the figures assume (the model's base model's)

    def as_json(self) -> dict[str, object]:
        return {
            "model_id": self.id,
            "file": self.file,
            "source": self.source,
            "examples": self.examples,
            "characters": self.characters,
            "training_tokens": self.training_tokens,
            "total_steps": self.estimated_steps,
            "assumes_default_hyperparameters": self.assumes_defaults,
            "dataset_digest": self.digest,
        }


def summarize(model: DesiredModel, tuning: TuningDefaults) -> ModelSummary:
    """`tuning`: the defaults of the backend the repository uses, for this model's base model."""
    dataset = model.dataset
    return ModelSummary(
        id=model.id,
        file=model.file,
        source=model.manifest.spec.source,
        examples=dataset.examples,
        characters=dataset.characters,
        training_tokens=tuning.training_tokens(model),
        estimated_steps=tuning.total_steps(model),
        assumes_defaults=tuning.assumed(model),
        digest=dataset.digest,
        tuning=tuning,
    )
