"""The manifest a user writes: one `TunedModel` document, validated at the edge.

Every model is frozen and rejects unknown fields, so the rest of the code can
trust what it is given. Field names are the manifest's (camelCase, as in the
API); Python attributes are snake_case.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

API_VERSION = "reconciler/v1"
KIND = "TunedModel"

# The API's own rule for tunedModelId (CreateTunedModelRequest.tuned_model_id).
TUNED_MODEL_ID = r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?"
TUNED_MODEL_ID_RE = re.compile(rf"^{TUNED_MODEL_ID}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DISPLAY_NAME_MAX = 40


class Strict(BaseModel):
    """Base of every manifest type: frozen, camelCase aliases, unknown fields rejected."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
    )


class Metadata(Strict):
    name: Annotated[str, Field(description="The model's id, unique in the repository (the Gemini tunedModelId).")]

    @field_validator("name")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not TUNED_MODEL_ID_RE.match(value):
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
    unknown: bool = Field(False, description="The data is not known (written by `reconciler export`).")

    @model_validator(mode="after")
    def _one_source(self) -> TrainingData:
        if [self.file is not None, self.examples is not None, self.unknown].count(True) != 1:
            raise ValueError("give exactly one of file, examples or unknown: true")
        if self.examples is not None and (self.input_key or self.output_key):
            raise ValueError("inputKey/outputKey apply to a file, not to inline examples")
        return self


class Hyperparameters(Strict):
    epoch_count: int | None = Field(None, gt=0)
    batch_size: int | None = Field(None, gt=0)
    learning_rate: float | None = Field(None, gt=0)
    learning_rate_multiplier: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_learning_rate(self) -> Hyperparameters:
        if self.learning_rate is not None and self.learning_rate_multiplier is not None:
            raise ValueError("give learningRate or learningRateMultiplier, not both")
        return self

    def as_sent(self) -> dict[str, Any]:
        """The hyperparameters exactly as they go on the wire (unset ones omitted)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class Generation(Strict):
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=1)


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
        elif not EMAIL_RE.match(self.email_address):
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
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from None
        return self

    def matches(self, text: str) -> bool:
        if self.equals is not None:
            return text.strip() == self.equals.strip()
        if self.contains is not None:
            return self.contains in text
        assert self.regex is not None
        return re.search(self.regex, text) is not None

    def describe(self) -> str:
        for key in ("equals", "contains", "regex"):
            value = getattr(self, key)
            if value is not None:
                return f"{key} {value!r}"
        return ""


class SmokeTest(Strict):
    input: str
    expect: Expectation


class DeletionPolicy(str, Enum):
    DELETE = "Delete"
    ORPHAN = "Orphan"


class Lifecycle(Strict):
    prevent_destroy: bool = False
    deletion_policy: DeletionPolicy = DeletionPolicy.DELETE


class Spec(Strict):
    display_name: str | None = Field(None, max_length=DISPLAY_NAME_MAX)
    description: str = ""
    # The forms each backend accepts are its own check (see `Backend.manifest_problems`).
    base_model: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    # Another manifest's model: its id, optionally after the backend's collection.
    source_model: str | None = Field(None, pattern=rf"^(?:[A-Za-z]+/)?{TUNED_MODEL_ID}$")
    training_data: TrainingData
    hyperparameters: Hyperparameters = Hyperparameters()
    generation: Generation = Generation()
    permissions: tuple[Permission, ...] = ()
    smoke_tests: tuple[SmokeTest, ...] = ()
    lifecycle: Lifecycle = Lifecycle()

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
