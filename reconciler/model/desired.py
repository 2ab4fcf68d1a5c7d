"""Desired state: what the manifests and datasets in git ask for, once loaded."""

from __future__ import annotations

from pydantic import ConfigDict

from reconciler.model.compact import Compact
from reconciler.model.manifest import TunedModelManifest
from reconciler.model.settings import Settings


class Frozen(Compact):
    model_config = ConfigDict(frozen=True, extra="forbid")


UNKNOWN_DIGEST = "unknown"


class DatasetSummary(Frozen):
    """What a plan may say about training data: counts and a hash, never contents."""

    examples: int
    input_characters: int
    output_characters: int
    size_bytes: int
    # Canonical fingerprint of the examples: independent of file format, key
    # order, whitespace and example order ("sha256:<hex>").
    digest: str

    @classmethod
    def unknown(cls) -> DatasetSummary:
        """The summary of `trainingData: {unknown: true}` (an exported model)."""
        return cls(examples=0, input_characters=0, output_characters=0, size_bytes=0, digest=UNKNOWN_DIGEST)

    @property
    def known(self) -> bool:
        return self.digest != UNKNOWN_DIGEST

    @property
    def characters(self) -> int:
        return self.input_characters + self.output_characters

    @property
    def estimated_tokens(self) -> int:
        # The API documents no tokenizer for tuning; ~4 characters a token is
        # the rule of thumb Google gives for Gemini models.
        return -(-self.characters // 4)


class DatasetSource(Frozen):
    """Where to read the examples again when they must be sent (apply)."""

    path: str | None = None  # absolute path of the data file; None when inline
    input_key: str | None = None
    output_key: str | None = None


class EvaluationSet(Frozen):
    """A model's `spec.evaluation` data once loaded: counts and a digest, never
    the examples (read them again with `reconciler.loader.read_evaluation`)."""

    summary: DatasetSummary  # summary.digest: the canonical digest of the evaluation examples
    source: DatasetSource

    @property
    def examples(self) -> int:
        return self.summary.examples

    @property
    def digest(self) -> str:
        return self.summary.digest


class DesiredModel(Frozen):
    manifest: TunedModelManifest
    file: str  # path of the manifest, relative to the repository root
    line: int  # line of the document's start
    dataset: DatasetSummary
    dataset_source: DatasetSource
    # spec.validationData, when the manifest has it
    validation: DatasetSummary | None = None
    validation_source: DatasetSource | None = None
    # spec.evaluation's data, when the manifest has one (never a tuning input)
    evaluation: EvaluationSet | None = None

    @property
    def id(self) -> str:
        return self.manifest.id


class Desired(Frozen):
    """Every model the repository declares, plus repository settings.

    `digest` covers every manifest and dataset byte, so a saved plan can tell
    whether the repository changed since it was made.
    """

    models: tuple[DesiredModel, ...]
    settings: Settings
    root: str
    digest: str

    def by_id(self) -> dict[str, DesiredModel]:
        return {m.id: m for m in self.models}
