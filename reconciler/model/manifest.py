"""The manifest a user writes: one `TunedModel` document, validated at the edge.

Every model is frozen and rejects unknown fields, so the rest of the code can
trust what it is given. Field names are the manifest's (camelCase, as in the
API); Python attributes are snake_case.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from reconciler.model import patterns
from reconciler.model.compact import Compact

API_VERSION = "reconciler/v1"
KIND = "TunedModel"

# The API's own rule for tunedModelId (CreateTunedModelRequest.tuned_model_id).
TUNED_MODEL_ID = r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?"
# Always used with fullmatch: `$` would also match before a trailing newline,
# and "name\n" would pass validate only to fail at the API.
TUNED_MODEL_ID_RE = re.compile(TUNED_MODEL_ID)
EMAIL_RE = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
DISPLAY_NAME_MAX = 40
# The API's integer fields (epochCount, batchSize, topK) are int32.
INT32_MAX = 2**31 - 1

# Numbers in manifests and settings: a YAML `true` is not 1 (bool is an int in
# Python, so pydantic's lax mode would take it), and an int32 field takes no
# more than the API does. Floats accept whole numbers; `.inf` and `.nan` are
# refused by `allow_inf_nan=False` on every model.
Int32 = Annotated[StrictInt, Field(le=INT32_MAX)]
Number = StrictFloat
Flag = StrictBool


class Strict(Compact):
    """Base of every manifest type: frozen, camelCase aliases, unknown fields rejected."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
        allow_inf_nan=False,
    )


class Metadata(Strict):
    name: Annotated[str, Field(description="The model's id, unique in the repository (the Gemini tunedModelId).")]

    @field_validator("name")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not TUNED_MODEL_ID_RE.fullmatch(value):
            raise ValueError(
                "must be a tuned model id: 1-40 characters of a-z, 0-9 and '-', "
                "starting with a letter and not ending with '-'"
            )
        return value


class Example(Strict):
    text_input: str = ""
    output: str


class TrainingData(Strict):
    """Where the examples come from: a file next to the manifest, inline, or unknown.

    `unknown: true` is what `reconciler export` writes: the API never returns
    training data, so a manifest made from a live model cannot say what it was
    tuned on. Such a model can be adopted and updated, never created or replaced.
    """

    file: str | None = Field(None, description="Path to a .jsonl, .json or .csv file, relative to the manifest.")
    input_key: str | None = Field(None, description="Column holding the input (default text_input, also textInput).")
    output_key: str | None = Field(None, description="Column holding the output (default output).")
    examples: tuple[Example, ...] | None = None
    unknown: Flag = Field(False, description="The data is not known (written by `reconciler export`).")

    @field_validator("file", "input_key", "output_key")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # A NUL byte makes every file system call raise ValueError.
        if value is not None and "\0" in value:
            raise ValueError("must not contain a NUL byte")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> TrainingData:
        if [self.file is not None, self.examples is not None, self.unknown].count(True) != 1:
            raise ValueError("give exactly one of file, examples or unknown: true")
        if self.examples is not None and (self.input_key or self.output_key):
            raise ValueError("inputKey/outputKey apply to a file, not to inline examples")
        return self


class Hyperparameters(Strict):
    epoch_count: Int32 | None = Field(None, gt=0)
    batch_size: Int32 | None = Field(None, gt=0)
    learning_rate: Number | None = Field(None, gt=0)
    learning_rate_multiplier: Number | None = Field(None, gt=0)
    # Steps over which the learning rate rises to its value (which services take it is each backend's check).
    learning_rate_warmup_steps: Int32 | None = Field(None, ge=0)
    # LoRA adapter size (Vertex AI only; which sizes a base model allows is the backend's check).
    adapter_size: Literal[1, 2, 4, 8, 16, 32] | None = None

    @model_validator(mode="after")
    def _one_learning_rate(self) -> Hyperparameters:
        if self.learning_rate is not None and self.learning_rate_multiplier is not None:
            raise ValueError("give learningRate or learningRateMultiplier, not both")
        return self

    def as_sent(self) -> dict[str, Any]:
        """The hyperparameters exactly as they go on the wire (unset ones omitted)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Generation(Strict):
    temperature: Number | None = Field(None, ge=0, le=1)
    top_p: Number | None = Field(None, ge=0, le=1)
    top_k: Int32 | None = Field(None, ge=1)


class Role(str, Enum):
    READER = "READER"
    WRITER = "WRITER"


class GranteeType(str, Enum):
    USER = "USER"
    GROUP = "GROUP"
    EVERYONE = "EVERYONE"


class Permission(Strict):
    role: Role
    grantee_type: GranteeType
    email_address: str | None = None

    @model_validator(mode="after")
    def _grantee(self) -> Permission:
        if self.grantee_type is GranteeType.EVERYONE:
            if self.email_address is not None:
                raise ValueError("granteeType EVERYONE takes no emailAddress")
        elif self.email_address is None:
            raise ValueError(f"granteeType {self.grantee_type.value} needs an emailAddress")
        elif not EMAIL_RE.fullmatch(self.email_address):
            raise ValueError(f"emailAddress {self.email_address!r} is not a valid address")
        return self

    @property
    def grantee(self) -> tuple[str, str]:
        """What identifies a grant: its type and (lower-cased) address."""
        return (self.grantee_type.value, (self.email_address or "").lower())


class Expectation(Strict):
    equals: str | None = None
    contains: str | None = None
    regex: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Expectation:
        given = [k for k in ("equals", "contains", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, contains or regex")
        if self.regex is not None:
            problem = patterns.compile_problem(self.regex)
            if problem is not None:
                raise ValueError(problem)
        return self

    def matches(self, text: str) -> bool:
        """Whether `text` meets the expectation; PatternTimeout if a regex takes too long."""
        if self.equals is not None:
            return text.strip() == self.equals.strip()
        if self.contains is not None:
            return self.contains in text
        assert self.regex is not None
        return patterns.search(self.regex, text)

    def describe(self) -> str:
        for key in ("equals", "contains", "regex"):
            value = getattr(self, key)
            if value is not None:
                return f"{key} {value!r}"
        return ""


class SmokeTest(Strict):
    input: str
    expect: Expectation


class Metric(str, Enum):
    """How an evaluation scores one answer against one expected output
    (docs/promotion-gates.md has each precise definition)."""

    EXACT_MATCH = "exactMatch"  # the answer, trimmed, equals the expected output, trimmed
    CONTAINS = "contains"  # the expected output, trimmed, appears in the answer
    REGEX = "regex"  # the expected output is a pattern, searched for in the answer
    ROUGE_L = "rougeL"  # ROUGE-L F1 over lower-case alphanumeric tokens


class OnFailure(str, Enum):
    HOLD = "hold"  # the model serving now keeps serving; the candidate is kept aside
    PROMOTE = "promote"  # the candidate replaces it anyway (the scores are still recorded)


class Gate(Strict):
    """What a candidate's score on `metric` must reach to replace the model serving now."""

    metric: Metric
    at_least: Number | None = Field(None, ge=0, le=1)
    # Compared with the model serving now, scored on the same evaluation set.
    not_worse_than: Literal["live"] | None = None
    tolerance: Number = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _some_threshold(self) -> Gate:
        if self.at_least is None and self.not_worse_than is None:
            raise ValueError("give atLeast, notWorseThan: live, or both")
        if "tolerance" in self.model_fields_set and self.not_worse_than is None:
            raise ValueError("tolerance applies to notWorseThan: live; give it too, or remove tolerance")
        return self


class Evaluation(Strict):
    """An evaluation set, the metrics scored on it and the gate a replacement must pass."""

    # The same readers and formats as trainingData: a file or inline examples.
    data: TrainingData
    metrics: tuple[Metric, ...] = Field(min_length=1)
    gate: Gate
    on_failure: OnFailure = OnFailure.HOLD

    @field_validator("data")
    @classmethod
    def _known_data(cls, value: TrainingData) -> TrainingData:
        if value.unknown:
            raise ValueError("evaluation data must be a file or examples (unknown: true is for trainingData)")
        return value

    @field_validator("metrics")
    @classmethod
    def _no_duplicate_metric(cls, value: tuple[Metric, ...]) -> tuple[Metric, ...]:
        seen = [metric.value for metric in value]
        twice = sorted({name for name in seen if seen.count(name) > 1})
        if twice:
            raise ValueError(f"metric {', '.join(twice)} is listed more than once")
        return value

    @field_validator("gate")
    @classmethod
    def _gate_on_a_listed_metric(cls, value: Gate, info: ValidationInfo) -> Gate:
        metrics = info.data.get("metrics")  # absent when metrics itself is invalid: reported there
        if metrics is not None and value.metric not in metrics:
            listed = ", ".join(metric.value for metric in metrics)
            raise ValueError(f"the gate's metric {value.metric.value} is not in metrics ({listed})")
        return value


class Customization(str, Enum):
    """How a model is made from its base model; which a base model allows is the backend's check."""

    FINE_TUNING = "fineTuning"  # learns the examples' outputs from their inputs
    CONTINUED_PRE_TRAINING = "continuedPreTraining"  # learns from unlabelled text
    DISTILLATION = "distillation"  # learns a larger teacher model's answers to the examples' inputs


# A model id as a service writes it: `models/x`, `publishers/google/models/x`, `vendor.model-v1:0:128k`.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"


class DeletionPolicy(str, Enum):
    DELETE = "Delete"
    ORPHAN = "Orphan"


class Lifecycle(Strict):
    prevent_destroy: Flag = False
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE


TARGET_KEY = r"^[a-z][A-Za-z0-9]{0,62}$"
TARGET_VALUE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Spec(Strict):
    display_name: str | None = Field(None, max_length=DISPLAY_NAME_MAX)
    description: str = ""
    # The forms each backend accepts are its own check (see `Backend.manifest_problems`).
    base_model: str | None = Field(None, pattern=MODEL_NAME)
    # Another manifest's model: its id, optionally after the backend's collection.
    source_model: str | None = Field(None, pattern=rf"^(?:[A-Za-z]+/)?{TUNED_MODEL_ID}$")
    customization: Customization = Field(
        Customization.FINE_TUNING,
        description="fineTuning (the default), continuedPreTraining or distillation, as the base model allows.",
    )
    teacher_model: str | None = Field(
        None,
        pattern=MODEL_NAME,
        description="customization: distillation: the larger model whose answers the new model learns.",
    )
    training_data: TrainingData
    # Vertex AI only: put into every text_input/output example, as Vertex's
    # own `systemInstruction`; part of the data the model is tuned on.
    system_instruction: str | None = Field(
        None,
        min_length=1,
        description="Vertex AI: the system instruction put into every text_input/output example.",
    )
    # Examples the tuning evaluates on, not trains on (Vertex AI only).
    validation_data: TrainingData | None = None
    hyperparameters: Hyperparameters = Hyperparameters()
    generation: Generation = Generation()
    permissions: tuple[Permission, ...] = ()
    smoke_tests: tuple[SmokeTest, ...] = ()
    # Scored on a replacement before it may take over (docs/promotion-gates.md);
    # not a tuning input: changing it alone never re-tunes.
    evaluation: Evaluation | None = None
    lifecycle: Lifecycle = Lifecycle()
    # Where the model lives when not at reconciler.yaml's default target: one of
    # its `targets:`, by the backend's keys (a shard; docs/shards.md).
    target: dict[Annotated[str, Field(pattern=TARGET_KEY)], Annotated[str, Field(pattern=TARGET_VALUE)]] | None = Field(
        None,
        min_length=1,
        description="Where the model lives, if not at reconciler.yaml's default target: one of its targets, "
        "by the backend's keys (Vertex AI: project, location; Amazon Bedrock: account, region).",
    )

    @model_validator(mode="after")
    def _known_validation_data(self) -> Spec:
        if self.validation_data is not None and self.validation_data.unknown:
            raise ValueError("validationData must be a file or examples (unknown: true is for trainingData)")
        return self

    @model_validator(mode="after")
    def _teacher_for_distillation(self) -> Spec:
        distilled = self.customization is Customization.DISTILLATION
        if distilled and self.teacher_model is None:
            raise ValueError("customization: distillation needs a teacherModel, the model whose answers it learns")
        if not distilled and self.teacher_model is not None:
            raise ValueError("teacherModel applies to customization: distillation; remove it, or distil")
        return self

    @model_validator(mode="after")
    def _one_source_model(self) -> Spec:
        if (self.base_model is None) == (self.source_model is None):
            raise ValueError("give exactly one of baseModel or sourceModel")
        return self

    @field_validator("permissions")
    @classmethod
    def _no_duplicate_grantee(cls, value: tuple[Permission, ...]) -> tuple[Permission, ...]:
        seen: set[tuple[str, str]] = set()
        for permission in value:
            if permission.grantee in seen:
                kind, email = permission.grantee
                raise ValueError(f"duplicate grantee {kind} {email}".rstrip())
            seen.add(permission.grantee)
        return value

    @property
    def source(self) -> str:
        """The model this one is tuned from, as the manifest writes it."""
        return self.base_model or self.source_model or ""

    @property
    def source_id(self) -> str | None:
        """The id of the declared model this one is tuned from; None for a base model."""
        return self.source_model.rpartition("/")[2] if self.source_model else None


class TunedModelManifest(Strict):
    """One `kind: TunedModel` document."""

    api_version: Literal["reconciler/v1"]
    kind: Literal["TunedModel"]
    metadata: Metadata
    spec: Spec

    @property
    def id(self) -> str:
        return self.metadata.name
