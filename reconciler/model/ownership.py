"""Ownership: what the reconciler records on every model it manages.

Each backend keeps it in its own marker (the description trailer on Gemini,
labels elsewhere) and decodes it for the planner; this module only says what it
is and how a manifest's fingerprint is computed.

- `source`, `hyperparameters`: short SHA-256 of the source model and of the
  hyperparameters as declared; `data`: the start of the dataset's canonical
  digest. A changed part names the immutable input that changed; `examples`
  turns a data change into counts.
- `orphan` / `protect` record `deletionPolicy: Orphan` and `preventDestroy`,
  so they still hold once the manifest is gone (a delete is planned exactly
  when there is no manifest to read them from).
- `untested`: the manifest declares smoke tests that have not passed on this
  model yet (they failed, were skipped, or the apply stopped before them), so
  the next plan runs them again, as Terraform's "tainted" survives a run.
- `parts`: with validation data, the training and the validation data recorded
  apart (the fingerprint's `data` covers both together), so a plan can say
  which of the two changed. None where the marker records no validation data:
  the model had none, or its marker predates `parts` (then unknown).
- `legacy`: the marker predates check values, so anyone could have written
  it: it is trusted only where trusting it destroys nothing (see
  docs/ownership.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from reconciler.model.desired import DesiredModel
from reconciler.model.manifest import DeletionPolicy

FINGERPRINT_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class DataParts:
    """The two datasets of a run with validation data, each as the start of its digest."""

    training: str  # 12 hex digits of the training data's digest
    validation: str  # 12 hex digits of the validation data's digest
    validation_examples: int


@dataclass(frozen=True, slots=True)  # one a live model: no __dict__ each
class Ownership:
    source: str
    hyperparameters: str
    data: str
    examples: int
    orphan: bool = False
    protect: bool = False
    version: str = FINGERPRINT_VERSION
    untested: bool = False
    legacy: bool = False
    parts: DataParts | None = None

    @property
    def fingerprint(self) -> str:
        return f"{self.version}:{self.source}.{self.hyperparameters}.{self.data}"

    @property
    def inputs(self) -> tuple[str, int]:
        """What the immutable inputs are: equal inputs, same model."""
        return (self.fingerprint, self.examples)


def short_hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def data_hash(digest: str) -> str:
    """The first 12 hex digits of a "sha256:<hex>" digest (hashed again if not hex)."""
    hex_part = digest.split(":", 1)[-1].lower()
    if re.fullmatch(r"[0-9a-f]{12,}", hex_part):
        return hex_part[:12]
    return short_hash(digest, 12)


def hyperparameters_hash(model: DesiredModel) -> str:
    sent = model.manifest.spec.hyperparameters.as_sent()
    return short_hash(json.dumps(sent, sort_keys=True, separators=(",", ":")), 8)


def data_digest(model: DesiredModel) -> str:
    """The digest the fingerprint's data part records: the training data's, or
    with validation data, one over both (either changing re-tunes)."""
    if model.validation is None:
        return model.dataset.digest
    both = f"{model.dataset.digest}\nvalidation {model.validation.digest}"
    return "sha256:" + hashlib.sha256(both.encode("utf-8")).hexdigest()


def gated(model: DesiredModel) -> bool:
    """Whether a new model of this manifest starts `untested`: it has smoke tests
    or an evaluation to pass before it may serve (docs/promotion-gates.md)."""
    spec = model.manifest.spec
    return bool(spec.smoke_tests) or spec.evaluation is not None


def data_parts(model: DesiredModel) -> DataParts | None:
    """The training and validation data apart, when the manifest has validation data."""
    if model.validation is None:
        return None
    return DataParts(
        training=data_hash(model.dataset.digest),
        validation=data_hash(model.validation.digest),
        validation_examples=model.validation.examples,
    )


def ownership_for(model: DesiredModel, *, untested: bool = False) -> Ownership:
    """The ownership a model created from this manifest carries."""
    lifecycle = model.manifest.spec.lifecycle
    return Ownership(
        source=short_hash(model.manifest.spec.source, 8),
        hyperparameters=hyperparameters_hash(model),
        data=data_hash(data_digest(model)),
        examples=model.dataset.examples,
        orphan=lifecycle.deletion_policy is DeletionPolicy.ORPHAN,
        protect=lifecycle.prevent_destroy,
        untested=untested,
        parts=data_parts(model),
    )
