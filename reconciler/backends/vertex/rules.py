"""What the planner and `validate` need to know about Vertex AI tuning."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources

from reconciler.backends.vertex.names import ADDRESS_TEMPLATE
from reconciler.backends.vertex.settings import VertexSettings
from reconciler.loader.checks import BackendChecks
from reconciler.loader.limits import GIB, DatasetLimits
from reconciler.model.manifest import Customization, Spec, TunedModelManifest
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder

PUBLISHER_PREFIX = "publishers/google/models/"
CATALOGUE_FILE = "base_models.json"


@dataclass(frozen=True)
class BaseModel:
    """One tunable base model: the adapter sizes it allows, and the day it retires if known."""

    name: str
    adapter_sizes: tuple[int, ...]
    retires: date | None = None

    def retired(self, today: date) -> bool:
        return self.retires is not None and today >= self.retires


def _shipped() -> dict[str, BaseModel]:
    """The catalogue shipped with the package (base_models.json, package data)."""
    data = json.loads(resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8"))
    return {
        name: BaseModel(
            name, tuple(entry["adapterSizes"]), date.fromisoformat(entry["retires"]) if entry.get("retires") else None
        )
        for name, entry in data["models"].items()
    }


SHIPPED = _shipped()
# The shipped names, for reading a Model's base-model label back (dots become `_` there).
BASE_MODELS: dict[str, tuple[int, ...]] = {name: model.adapter_sizes for name, model in SHIPPED.items()}


def catalogue(settings: VertexSettings | None) -> dict[str, BaseModel]:
    """The shipped catalogue with reconciler.yaml's `vertex.baseModels` added or overriding."""
    merged = dict(SHIPPED)
    for name, entry in (settings.base_models if settings else {}).items():
        bare = bare_name(name)
        known = merged.get(bare)
        sizes = entry.adapter_sizes or (known.adapter_sizes if known else GEMINI_ADAPTER_SIZES)
        retires = entry.retires if "retires" in entry.model_fields_set else (known.retires if known else None)
        merged[bare] = BaseModel(bare, tuple(sizes), retires)
    return merged


def bare_name(name: str) -> str:
    """`[projects/p/locations/l/]publishers/google/models/X` is the model `X`."""
    return name.rsplit(PUBLISHER_PREFIX, 1)[-1] if PUBLISHER_PREFIX in name else name


# Adapter sizes of an added model that names none (1, 2, 4, 8, 16 are
# documented for the 2.5 models; 32 is refused, python-genai#908).
GEMINI_ADAPTER_SIZES = (1, 2, 4, 8, 16)
ADAPTER_SIZE_NAMES = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}
# proto numbers (not in size order), for answers under enum-encoding=int
ADAPTER_SIZE_NUMBERS = {1: 1, 2: 6, 4: 2, 8: 3, 16: 4, 32: 5}

# The service "adjusts the default [epochs] to your training dataset size", so
# no hyperparameter default is fixed: an undeclared one is compared through
# the fingerprint only. Steps are estimated with 5 epochs [infer]. Vertex AI
# has no batch size for Gemini; it counts steps per epoch, a part-filled last
# batch being a step (tuningStepCount = ceil(examples / 8) x epochs [infer: 8
# a step], as the emulator reports it).
TUNING_DEFAULTS = TuningDefaults(epoch_count=5, batch_size=8, batch_size_is_setting=False, steps_per_epoch=True)

# Vertex AI's limits on tuning data (reference/vertex-ai-tuning.md §6, the
# 2.5 Flash / Flash-Lite / Pro table). Over-long examples are dropped by the
# service, not fatal there; refused here, since a dropped example is data
# the user meant to tune on. Choices where the docs are silent [infer]:
# - at least 16 examples: the only minimum Google ever documented (the
#   1.5-era page); the current pages state none, and fewer is no tuning;
# - tokens estimated as characters / 4, the rule of thumb `plan` uses too;
# - per-example tokens count the system instruction (the docs say so) and
#   every turn's text.
DATASET_LIMITS = DatasetLimits(
    service="Vertex AI",
    min_examples=16,
    max_examples=1_000_000,  # text-only examples per dataset
    max_example_tokens=131_072,  # input and output tokens per training example
    max_file_bytes=GIB,  # a JSONL training file
    max_validation_examples=5_000,
)

RULES = PlanRules(
    mutable_fields=(
        MutableField("spec.displayName", "displayName"),
        MutableField("spec.description", "description"),
    ),
    # The lifecycle flags live in the Model's labels.
    marker_mask="labels",
    no_marker="it has no managed-by=reconciler label that verifies",
    tuning=TUNING_DEFAULTS,
    # The server names each job and Model: the old one serves until the new one can.
    replace_order=ReplaceOrder.CREATE_FIRST,
    records_scores=True,  # reconciler-eval and reconciler-score on the Model
    address_template=ADDRESS_TEMPLATE,
    backend="vertex",
)


def today() -> date:
    return datetime.now(UTC).date()


def manifest_problems(
    manifest: TunedModelManifest, models: Mapping[str, BaseModel] | None = None, on: date | None = None
) -> Iterator[tuple[tuple[str, ...], str]]:
    """What Vertex AI supervised tuning of Gemini cannot honour: `models` is
    the catalogue (the shipped one if None), `on` the day checked (today)."""
    spec = manifest.spec
    hyperparameters = spec.hyperparameters
    if hyperparameters.batch_size is not None:
        yield ("spec", "hyperparameters", "batchSize"), "Vertex AI has no batch size for Gemini tuning; remove it"
    if hyperparameters.learning_rate is not None:
        yield (
            ("spec", "hyperparameters", "learningRate"),
            ("Vertex AI has no learning rate for Gemini tuning; use learningRateMultiplier"),
        )
    if hyperparameters.learning_rate_warmup_steps is not None:
        yield (
            ("spec", "hyperparameters", "learningRateWarmupSteps"),
            "Vertex AI has no learning rate warmup for Gemini tuning; remove it",
        )
    if spec.customization is not Customization.FINE_TUNING:
        yield (
            ("spec", "customization"),
            f"Vertex AI tunes Gemini by supervised fine-tuning only (customization: fineTuning), "
            f"not {spec.customization.value}",
        )
    if spec.permissions:
        yield ("spec", "permissions"), "Vertex AI has no per-model grants; use IAM on the project"
    if spec.source_model is not None and "/" in spec.source_model:
        yield ("spec", "sourceModel"), "must be the id (metadata.name) of another manifest's model"
    if spec.base_model is not None:
        yield from _base_model_problems(spec, SHIPPED if models is None else models, on or today())


def _base_model_problems(
    spec: Spec, models: Mapping[str, BaseModel], on: date
) -> Iterator[tuple[tuple[str, ...], str]]:
    assert spec.base_model is not None
    name = bare_name(spec.base_model)
    model = models.get(name)
    if model is None:
        nearest = difflib.get_close_matches(name, list(models), n=3, cutoff=0.5) or list(models)[:3]
        yield (
            ("spec", "baseModel"),
            (
                f"{spec.base_model!r} is not a base model Vertex AI tunes (in the catalogue); the nearest are "
                f"{', '.join(nearest)}. A newer model can be added under vertex.baseModels in reconciler.yaml"
            ),
        )
        return
    if model.retired(on):
        yield (
            ("spec", "baseModel"),
            (
                f"{name} retired on {model.retires}: Vertex AI tunes no new model on it; choose a current base "
                "model (or correct its date under vertex.baseModels in reconciler.yaml)"
            ),
        )
    adapter_size = spec.hyperparameters.adapter_size
    if adapter_size is not None and adapter_size not in model.adapter_sizes:
        yield (
            ("spec", "hyperparameters", "adapterSize"),
            (f"{name} allows adapter sizes {', '.join(map(str, model.adapter_sizes))}"),
        )


def canonical_manifest(manifest: TunedModelManifest) -> TunedModelManifest:
    """`publishers/google/models/X` as `X`: one model, one fingerprint, one name in the job."""
    base = manifest.spec.base_model
    if base is None or bare_name(base) == base:
        return manifest
    spec = manifest.spec.model_copy(update={"base_model": bare_name(base)})
    return manifest.model_copy(update={"spec": spec})


def checks(settings: VertexSettings | None, on: date | None = None) -> BackendChecks:
    """What `validate` and every planning command check, with reconciler.yaml's catalogue entries."""
    models = catalogue(settings)
    return BackendChecks(lambda manifest: manifest_problems(manifest, models, on), DATASET_LIMITS, canonical_manifest)


def retirement_notes(
    base_models: Mapping[str, str], settings: VertexSettings | None, on: date | None = None
) -> dict[str, str]:
    """For each model id whose base model retires within `retirementNoticeDays`, a note saying when."""
    models = catalogue(settings)
    on = on or today()
    days = settings.retirement_notice_days if settings else 30
    notes = {}
    for model_id, base in base_models.items():
        known = models.get(bare_name(base))
        if known is None or known.retires is None:
            continue
        left = (known.retires - on).days
        if left <= days:
            when = f"retired on {known.retires}" if left <= 0 else f"retires on {known.retires}, in {left} days"
            notes[model_id] = (
                f"{model_id}: its base model {known.name} {when}; the tuned model retires with it. "
                "Tune it again on a current base model (change spec.baseModel)"
            )
    return notes
