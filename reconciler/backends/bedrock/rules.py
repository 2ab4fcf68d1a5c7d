"""What the planner and `validate` need to know about Amazon Bedrock model customization."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping

from reconciler.backends.bedrock.catalogue import (
    ANTHROPIC_MESSAGES,
    CATALOGUE,
    CONVERSATION,
    ModelEntry,
    bare_id,
    canonical_id,
    catalogue,
)
from reconciler.backends.bedrock.formats import example_format, reserved_keyword, reserved_words
from reconciler.backends.bedrock.names import ADDRESS_TEMPLATE
from reconciler.backends.bedrock.settings import BedrockSettings
from reconciler.loader.checks import BackendChecks
from reconciler.loader.limits import GIB, DatasetLimits
from reconciler.model.manifest import Customization, Spec, TunedModelManifest
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder

SERVICE = "Amazon Bedrock"

# The defaults differ by base model (catalogue.json: 2 epochs for Nova and
# Claude 3 Haiku, 5 for Titan Text and Llama; a batch of 32 for Haiku, 1 for
# Titan and Llama, none to set on Nova): `tuning_defaults` gives each model's.
# A model whose base model is not in the shipped catalogue (one reconciler.yaml
# adds, or a chain not known) takes the larger step count [infer], 5 epochs of
# batches of 1, as Vertex AI's estimate does.
TUNING_DEFAULTS = TuningDefaults(epoch_count=5, batch_size=1)

# What every manifest is held to where its base model is not known here (a
# model tuned from another manifest's, or one that failed validation): the
# largest file Bedrock reads (continued pre-training's 10 GB, the Titan Text
# requirements page), and at least one example.
DATASET_LIMITS = DatasetLimits(service=SERVICE, max_file_bytes=10 * GIB)


def training_price(base_model: str, customization: Customization) -> float | None:
    """US dollars per 1,000 training tokens for customizing `base_model` this way,
    from the shipped catalogue's price (an estimate); None where it has none.

    A model reconciler.yaml adds `like` a catalogue entry shares its facts, not
    its price: it has none here. A distillation has none either: Bedrock bills
    the teacher's answers at its inference price on top of the student's
    training [infer: the Bedrock pricing page], and the answers' tokens are not
    known before the run."""
    if customization is Customization.DISTILLATION:
        return None
    entry = CATALOGUE.get(canonical_id(base_model))
    price = entry.training_price if entry is not None else None
    return price.usd if price is not None else None


def tuning_defaults(entry: ModelEntry) -> TuningDefaults:
    """A catalogue model's documented defaults. Where it has no batch size to
    set (Amazon Nova) the steps are counted as batches of one [infer]: the
    larger count; the plan shows no batch size."""
    epochs = entry.default_epochs or TUNING_DEFAULTS.epoch_count
    batch = dict(entry.hyperparameters).get("batchSize")
    if batch is None:
        return TuningDefaults(epoch_count=epochs, batch_size=1, batch_size_is_setting=False)
    return TuningDefaults(epoch_count=epochs, batch_size=int(batch.default or batch.minimum))


def tuning_for(base_model: str) -> TuningDefaults | None:
    """The defaults of a base model (by id, alias or ARN) in the shipped catalogue; None if not in it."""
    entry = CATALOGUE.get(canonical_id(base_model))
    return None if entry is None else tuning_defaults(entry)


RULES = PlanRules(
    mutable_fields=(
        MutableField("spec.displayName", "displayName"),
        MutableField("spec.description", "description"),
    ),
    # Display name, description and the lifecycle flags live in the custom model's tags.
    marker_mask="tags",
    no_marker="it has no managed-by=reconciler tag that verifies",
    tuning=TUNING_DEFAULTS,
    # The client names each job and custom model, once ever (jobs are never
    # deleted): the old model serves until the new one can.
    replace_order=ReplaceOrder.CREATE_FIRST,
    address_template=ADDRESS_TEMPLATE,
    backend="bedrock",
    records_scores=True,  # a gate's score is kept in the custom model's tags
    training_price=training_price,
    tuning_by_base_model=tuning_for,
)

_CUSTOMIZATION = ("spec", "customization")
_TEACHER = ("spec", "teacherModel")
_BASE_MODEL = ("spec", "baseModel")


def manifest_problems(
    manifest: TunedModelManifest, models: Mapping[str, ModelEntry] | None = None, region: str | None = None
) -> Iterator[tuple[tuple[str, ...], str]]:
    """What Amazon Bedrock cannot honour in a valid manifest: `models` is the
    catalogue (the shipped one if None), `region` bedrock.region (unchecked if None)."""
    spec = manifest.spec
    if spec.permissions:
        yield ("spec", "permissions"), f"{SERVICE} has no per-model grants; use IAM policies on the account"
    if spec.source_model is not None and "/" in spec.source_model:
        yield ("spec", "sourceModel"), "must be the id (metadata.name) of another manifest's model"
    if spec.customization is Customization.DISTILLATION and spec.validation_data is not None:
        yield ("spec", "validationData"), f"{SERVICE} takes no validation data for a distillation [infer]"
    if spec.base_model is not None:
        yield from _base_model_problems(spec, CATALOGUE if models is None else models, region)


def _base_model_problems(
    spec: Spec, models: Mapping[str, ModelEntry], region: str | None
) -> Iterator[tuple[tuple[str, ...], str]]:
    assert spec.base_model is not None
    entry = models.get(canonical_id(spec.base_model, models))
    if entry is None:
        yield _BASE_MODEL, _unknown(spec.base_model, models)
        return
    if region is not None and region not in entry.regions:
        yield (
            _BASE_MODEL,
            f"{SERVICE} customizes {entry.name} in {' and '.join(entry.regions)}, not in {region} "
            "(bedrock.region in reconciler.yaml)",
        )
    customization = spec.customization
    if not entry.allows(customization):
        allowed = ", ".join(c.value for c in entry.customizations)
        yield _CUSTOMIZATION, f"{SERVICE} cannot customize {entry.name} by {customization.value}; it allows {allowed}"
        return
    if spec.teacher_model is not None and not entry.teaches(spec.teacher_model):
        yield _TEACHER, _not_a_teacher(spec.teacher_model, entry)
    yield from _hyperparameter_problems(spec, entry)
    yield from _system_instruction_problems(spec, entry)


def _unknown(base_model: str, models: Mapping[str, ModelEntry]) -> str:
    name = bare_id(base_model)
    nearest = difflib.get_close_matches(name, list(models), n=3, cutoff=0.5) or list(models)[:3]
    return (
        f"{base_model!r} is not a base model {SERVICE} customizes (in the catalogue); the nearest are "
        f"{', '.join(nearest)}. A newer model can be added under bedrock.baseModels in reconciler.yaml"
    )


def _not_a_teacher(teacher: str, entry: ModelEntry) -> str:
    listed = ", ".join(entry.teachers)
    return (
        f"{teacher} is not a teacher {SERVICE} distils {entry.name} from; it takes {listed} "
        f"(a teacher is from the student's provider; bedrock.baseModels in reconciler.yaml can add one)"
    )


def _hyperparameter_problems(spec: Spec, entry: ModelEntry) -> Iterator[tuple[tuple[str, ...], str]]:
    ranges = entry.ranges_for(spec.customization)
    for key, value in spec.hyperparameters.as_sent().items():
        path = ("spec", "hyperparameters", key)
        known = ranges.get(key)
        if known is None:
            takes = f"it takes {', '.join(ranges)}" if ranges else f"{SERVICE} chooses them itself"
            yield path, f"{entry.name} takes no {key} for {spec.customization.value}; {takes}"
        elif not known.holds(value):
            yield path, f"must be {known.describe()} for {entry.name} ({SERVICE}'s range; default {known.default:g})"


def _system_instruction_problems(spec: Spec, entry: ModelEntry) -> Iterator[tuple[tuple[str, ...], str]]:
    instruction = spec.system_instruction
    if instruction is None:
        return
    written = example_format(entry, spec.customization)
    if written.name not in (CONVERSATION, ANTHROPIC_MESSAGES):
        yield (
            ("spec", "systemInstruction"),
            f"{entry.name} reads {written.name} examples for {spec.customization.value}, which hold no "
            "system instruction; remove it (or put it into each input)",
        )
        return
    keyword = reserved_keyword(instruction) if written.reserved_keywords else None
    if keyword is not None:
        yield ("spec", "systemInstruction"), reserved_words(keyword, entry.name)


def dataset_limits(entry: ModelEntry, customization: Customization) -> DatasetLimits:
    """What `validate` holds a manifest's training and validation data to: its base model's limits and format."""
    largest = entry.max_file_bytes or DATASET_LIMITS.max_file_bytes
    if customization is Customization.CONTINUED_PRE_TRAINING and entry.continued_pre_training_max_file_bytes:
        largest = entry.continued_pre_training_max_file_bytes
    return DatasetLimits(
        service=f"{entry.name} on {SERVICE}",
        min_examples=entry.min_examples,
        max_examples=entry.max_examples,
        max_example_tokens=entry.max_example_tokens,
        max_file_bytes=largest,
        example_format=example_format(entry, customization),
    )


def canonical_manifest(
    manifest: TunedModelManifest, models: Mapping[str, ModelEntry] | None = None
) -> TunedModelManifest:
    """A base model named by an alias or its ARN as the catalogue's id: one model, one fingerprint, one name sent."""
    base = manifest.spec.base_model
    if base is None:
        return manifest
    model_id = canonical_id(base, CATALOGUE if models is None else models)
    if model_id == base:
        return manifest
    return manifest.model_copy(update={"spec": manifest.spec.model_copy(update={"base_model": model_id})})


def checks(settings: BedrockSettings | None) -> BackendChecks:
    """What `validate` and every planning command check, with reconciler.yaml's catalogue entries and Region."""
    models = catalogue(settings.base_models if settings else None)
    region = settings.region if settings else None

    def limits_for(manifest: TunedModelManifest) -> DatasetLimits:
        spec = manifest.spec
        entry = None if spec.base_model is None else models.get(canonical_id(spec.base_model, models))
        return DATASET_LIMITS if entry is None else dataset_limits(entry, spec.customization)

    return BackendChecks(
        lambda manifest: manifest_problems(manifest, models, region),
        DATASET_LIMITS,
        lambda manifest: canonical_manifest(manifest, models),
        limits_for=limits_for,
    )
