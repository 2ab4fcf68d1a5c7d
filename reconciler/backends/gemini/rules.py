"""What the planner and `validate` need to know about the Gemini API."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.backends.gemini.names import ADDRESS_TEMPLATE, BASE_PREFIX, TUNED_PREFIX
from reconciler.loader.checks import BackendChecks
from reconciler.loader.limits import DatasetLimits
from reconciler.model.manifest import Customization, TunedModelManifest
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder

# The API's defaults when a manifest leaves them out (v1beta Hyperparameters):
# epochCount 5; batchSize "4 or 16 by example count", with the thresholds
# undocumented, so estimates assume 4: the larger, safer step count. The
# learning rate's default also depends on the dataset, so only epochCount is a
# default the planner can compare an undeclared value with.
TUNING_DEFAULTS = TuningDefaults(epoch_count=5, batch_size=4)
HYPERPARAMETER_DEFAULTS = {"epochCount": TUNING_DEFAULTS.epoch_count}

# The API's limits on training data (reference/gemini-tuning-api.md §7).
# The largest request body it takes is not documented; 20 MB is Google's
# documented limit for a generateContent request and what the emulator
# enforces. A create sends every example in its body.
MAX_REQUEST_BYTES = 20 * 1024 * 1024
SINGLE_TURN_ONLY = (
    "the Gemini API tunes on single-turn text pairs only (text_input and output); "
    "examples in Vertex AI's contents format need backend: vertex"
)
DATASET_LIMITS = DatasetLimits(
    service="the API",
    min_examples=20,
    max_input_characters=40_000,
    max_output_characters=5_000,
    max_request_bytes=MAX_REQUEST_BYTES,
    warn_file_bytes=4 * 1024 * 1024,
    warn_file_reason="the API's 4 MB reference limit",
    # A file this far past the request limit is refused without being read.
    max_file_bytes=8 * MAX_REQUEST_BYTES,
    contents_refused=SINGLE_TURN_ONLY,
)

RULES = PlanRules(
    mutable_fields=(
        MutableField("spec.displayName", "displayName"),
        MutableField("spec.description", "description"),
        MutableField("spec.generation.temperature", "temperature"),
        MutableField("spec.generation.topP", "topP"),
        MutableField("spec.generation.topK", "topK"),
    ),
    # The lifecycle flags live in the trailer, so changing them patches the description.
    marker_mask="description",
    no_marker="its description has no reconciler trailer",
    tuning=TUNING_DEFAULTS,
    hyperparameter_defaults=HYPERPARAMETER_DEFAULTS,
    # The client names the model (tunedModelId): the id must be free again first.
    replace_order=ReplaceOrder.DESTROY_FIRST,
    address_template=ADDRESS_TEMPLATE,
    backend="gemini",
)


def manifest_problems(manifest: TunedModelManifest) -> Iterator[tuple[tuple[str, ...], str]]:
    """The names the Gemini API accepts for what a model is tuned from."""
    spec = manifest.spec
    if spec.system_instruction is not None:
        yield (
            ("spec", "systemInstruction"),
            (
                "the Gemini API takes no system instruction: it tunes on single-turn text pairs only "
                "(text_input and output); systemInstruction needs backend: vertex"
            ),
        )
    if spec.validation_data is not None:
        yield ("spec", "validationData"), "the Gemini API takes no validation data (Vertex AI does)"
    if spec.evaluation is not None and spec.evaluation.gate.not_worse_than is not None:
        # A replace deletes the old model before it creates the new one (the
        # tunedModelId must be free), so there is no live model left to score.
        yield (
            ("spec", "evaluation", "gate", "notWorseThan"),
            (
                "the Gemini API cannot keep the old model during a replace (it is deleted first, to free "
                "its id), so there is no live model to compare with; use atLeast, or backend: vertex"
            ),
        )
    if spec.hyperparameters.adapter_size is not None:
        yield ("spec", "hyperparameters", "adapterSize"), "the Gemini API has no adapter size (Vertex AI has)"
    if spec.hyperparameters.learning_rate_warmup_steps is not None:
        yield ("spec", "hyperparameters", "learningRateWarmupSteps"), "the Gemini API has no learning rate warmup"
    if spec.customization is not Customization.FINE_TUNING:
        yield (
            ("spec", "customization"),
            f"the Gemini API only fine-tunes (customization: fineTuning), not {spec.customization.value}",
        )
    if spec.base_model is not None and not spec.base_model.startswith(BASE_PREFIX):
        yield ("spec", "baseModel"), "must be a base model name such as models/gemini-1.5-flash-001-tuning"
    if spec.source_model is not None and not spec.source_model.startswith(TUNED_PREFIX):
        yield ("spec", "sourceModel"), (f"must be a tuned model name such as {TUNED_PREFIX}number-generator")


CHECKS = BackendChecks(manifest_problems, DATASET_LIMITS)
