"""What the planner and `validate` need to know about Vertex AI tuning."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.backends.vertex.names import ADDRESS_TEMPLATE
from reconciler.model.manifest import TunedModelManifest
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder

# The tunable base models and the adapter sizes each allows (2.5 Flash and
# Flash-Lite: 1, 2, 4, 8, 16 documented, 32 refused, python-genai#908; the
# others were not captured and are assumed the same).
GEMINI_ADAPTER_SIZES = (1, 2, 4, 8, 16)
BASE_MODELS: dict[str, tuple[int, ...]] = {
    "gemini-2.5-flash": GEMINI_ADAPTER_SIZES,
    "gemini-2.5-flash-lite": GEMINI_ADAPTER_SIZES,
    "gemini-2.5-pro": GEMINI_ADAPTER_SIZES,
    "gemini-2.0-flash-001": GEMINI_ADAPTER_SIZES,
    "gemini-2.0-flash-lite-001": GEMINI_ADAPTER_SIZES,
}
ADAPTER_SIZE_NAMES = {1: "ADAPTER_SIZE_ONE", 2: "ADAPTER_SIZE_TWO", 4: "ADAPTER_SIZE_FOUR",
                      8: "ADAPTER_SIZE_EIGHT", 16: "ADAPTER_SIZE_SIXTEEN", 32: "ADAPTER_SIZE_THIRTY_TWO"}
# proto numbers (not in size order), for answers under enum-encoding=int
ADAPTER_SIZE_NUMBERS = {1: 1, 2: 6, 4: 2, 8: 3, 16: 4, 32: 5}

# The service "adjusts the default [epochs] to your training dataset size", so
# no hyperparameter default is fixed: an undeclared one is compared through
# the fingerprint only. Steps are estimated with 5 epochs and batches of 8.
TUNING_DEFAULTS = TuningDefaults(epoch_count=5, batch_size=8)

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
    address_template=ADDRESS_TEMPLATE,
    backend="vertex",
)


def manifest_problems(manifest: TunedModelManifest) -> Iterator[tuple[tuple[str, ...], str]]:
    """What Vertex AI supervised tuning of Gemini cannot honour."""
    spec = manifest.spec
    hyperparameters = spec.hyperparameters
    if hyperparameters.batch_size is not None:
        yield ("spec", "hyperparameters", "batchSize"), "Vertex AI has no batch size for Gemini tuning; remove it"
    if hyperparameters.learning_rate is not None:
        yield ("spec", "hyperparameters", "learningRate"), (
            "Vertex AI has no learning rate for Gemini tuning; use learningRateMultiplier"
        )
    if spec.permissions:
        yield ("spec", "permissions"), "Vertex AI has no per-model grants; use IAM on the project"
    if spec.source_model is not None and "/" in spec.source_model:
        yield ("spec", "sourceModel"), "must be the id (metadata.name) of another manifest's model"
    if spec.base_model is not None:
        sizes = BASE_MODELS.get(spec.base_model)
        if sizes is None:
            yield ("spec", "baseModel"), (
                f"{spec.base_model!r} is not a base model Vertex AI tunes; one of {', '.join(BASE_MODELS)}"
            )
        elif hyperparameters.adapter_size is not None and hyperparameters.adapter_size not in sizes:
            yield ("spec", "hyperparameters", "adapterSize"), (
                f"{spec.base_model} allows adapter sizes {', '.join(map(str, sizes))}"
            )
