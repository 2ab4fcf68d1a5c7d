"""The base models Amazon Bedrock customizes: catalogue.json (package data), read once.

Each entry says how the model may be customized, the hyperparameters it
takes and their ranges, the format its training data is written in, how a
custom model of it is served, the Regions it is customized in, its dataset
limits and its training price (an estimate). catalogue.json cites a source
for each entry and names what was inferred. reconciler.yaml's
`bedrock.baseModels` adds a model (`like` an entry) or overrides facts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any, Protocol

from reconciler.model.manifest import Customization

CATALOGUE_FILE = "catalogue.json"

# The training data formats (catalogue.json's "formats" says each one's shape).
CONVERSATION = "bedrock-conversation-2024"  # Amazon Nova, and every distillation
PROMPT_COMPLETION = "prompt-completion"
ANTHROPIC_MESSAGES = "anthropic-messages"
INPUT_TEXT = "input-text"  # continued pre-training

# How a custom model is served.
CUSTOM_MODEL_DEPLOYMENT = "customModelDeployment"  # on demand
PROVISIONED_THROUGHPUT = "provisionedThroughput"

# `arn:aws:bedrock:us-east-1::foundation-model/<id>` names the model `<id>`.
_FOUNDATION_MODEL_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]+::foundation-model/(?P<id>.+)")
# A cross-Region inference profile is a model id behind a geography: `us.amazon.nova-premier-v1:0`.
_GEOGRAPHY = re.compile(r"(?:us|eu|apac|us-gov|global)\.(?P<id>.+)")


@dataclass(frozen=True)
class Range:
    """A hyperparameter's documented range (inclusive) and default."""

    kind: str  # "integer" or "float"
    minimum: float
    maximum: float
    default: float | None

    def holds(self, value: float) -> bool:
        return self.minimum <= value <= self.maximum

    def describe(self) -> str:
        if self.minimum == self.maximum:
            return f"{_number(self.minimum)} (the only value)"
        return f"from {_number(self.minimum)} to {_number(self.maximum)}"


@dataclass(frozen=True)
class Price:
    usd: float  # per 1,000 training tokens
    estimate: bool = True


@dataclass(frozen=True)
class ModelEntry:
    """One base model Amazon Bedrock customizes (`id`: its baseModelIdentifier)."""

    id: str
    name: str
    provider: str  # amazon, anthropic, meta, cohere: a teacher is of its student's
    aliases: tuple[str, ...]
    customizations: tuple[Customization, ...]
    teachers: tuple[str, ...]  # the models a distillation of it may learn from
    format: str  # its fine-tuning data's format
    # Whether its examples may hold a conversation, fine-tuned or distilled (Anthropic
    # and Meta students take one exchange, Amazon Nova several).
    multi_turn: bool
    reserved_keywords: bool  # whether user and system prompts may not hold Amazon Nova's reserved keywords
    hyperparameters: tuple[tuple[str, Range], ...]  # by the name the hyperParameters map uses
    inference: tuple[str, ...]
    regions: tuple[str, ...]
    min_examples: int = 1
    max_examples: int | None = None
    max_example_tokens: int | None = None
    max_file_bytes: int | None = None
    # Continued pre-training reads larger files (10 GB for Titan Text).
    continued_pre_training_max_file_bytes: int | None = None
    training_price: Price | None = None
    sources: tuple[str, ...] = ()

    def allows(self, customization: Customization) -> bool:
        return customization in self.customizations

    def format_for(self, customization: Customization) -> str:
        """The format of its training data when customized this way."""
        if customization is Customization.CONTINUED_PRE_TRAINING:
            return INPUT_TEXT
        if customization is Customization.DISTILLATION:
            return CONVERSATION
        return self.format

    def ranges_for(self, customization: Customization) -> dict[str, Range]:
        """The hyperparameters it takes when customized this way, by name.
        [infer] A distillation takes none: Bedrock chooses them."""
        if customization is Customization.DISTILLATION:
            return {}
        return dict(self.hyperparameters)

    @property
    def default_epochs(self) -> int | None:
        epochs = dict(self.hyperparameters).get("epochCount")
        return None if epochs is None or epochs.default is None else int(epochs.default)

    def teaches(self, teacher: str) -> bool:
        """Whether `teacher` (an id, a foundation-model ARN or a cross-Region profile) may teach it."""
        bare = bare_id(teacher)
        geography = _GEOGRAPHY.fullmatch(bare)
        return bare in self.teachers or (geography is not None and geography["id"] in self.teachers)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def bare_id(name: str) -> str:
    """A foundation model's ARN as its id; anything else as it is."""
    match = _FOUNDATION_MODEL_ARN.fullmatch(name)
    return match["id"] if match else name


def _range(value: Mapping[str, Any]) -> Range:
    return Range(value["type"], value["min"], value["max"], value.get("default"))


def _entry(model_id: str, value: Mapping[str, Any]) -> ModelEntry:
    limits = value.get("limits", {})
    price = value.get("trainingPricePer1kTokens")
    return ModelEntry(
        id=model_id,
        name=value["name"],
        provider=value["provider"],
        aliases=tuple(value.get("aliases", ())),
        customizations=tuple(Customization(name) for name in value["customizations"]),
        teachers=tuple(value.get("teachers", ())),
        format=value["format"],
        multi_turn=value["multiTurn"],
        reserved_keywords=value.get("reservedKeywords", False),
        hyperparameters=tuple((name, _range(spec)) for name, spec in value["hyperparameters"].items()),
        inference=tuple(value["inference"]),
        regions=tuple(value["regions"]),
        min_examples=limits.get("minExamples", 1),
        max_examples=limits.get("maxExamples"),
        max_example_tokens=limits.get("maxExampleTokens"),
        max_file_bytes=limits.get("maxFileBytes"),
        continued_pre_training_max_file_bytes=value.get("continuedPreTrainingLimits", {}).get("maxFileBytes"),
        training_price=None if price is None else Price(price["usd"], price.get("estimate", True)),
        sources=tuple(value.get("sources", ())),
    )


def _shipped() -> dict[str, ModelEntry]:
    data = json.loads(resources.files(__package__).joinpath(CATALOGUE_FILE).read_text(encoding="utf-8"))
    return {model_id: _entry(model_id, value) for model_id, value in data["models"].items()}


CATALOGUE: dict[str, ModelEntry] = _shipped()
RESERVED_KEYWORDS: tuple[str, ...] = ("User:", "Bot:", "Assistant:", "System:", "<image>", "<video>", "[EOS]")


def canonical_id(name: str, models: Mapping[str, ModelEntry] | None = None) -> str:
    """The catalogue's id for a model named by its id, an alias or its ARN; the bare name if none has it."""
    models = CATALOGUE if models is None else models
    bare = bare_id(name)
    if bare in models:
        return bare
    return next((model_id for model_id, entry in models.items() if bare in entry.aliases), bare)


class Override(Protocol):
    """One entry of reconciler.yaml's `bedrock.baseModels` (settings.BaseModelOverride)."""

    @property
    def like(self) -> str | None: ...
    @property
    def customizations(self) -> tuple[Customization, ...] | None: ...
    @property
    def teachers(self) -> tuple[str, ...] | None: ...
    @property
    def regions(self) -> tuple[str, ...] | None: ...


def catalogue(overrides: Mapping[str, Override] | None = None) -> dict[str, ModelEntry]:
    """The shipped catalogue with reconciler.yaml's `bedrock.baseModels` (`settings.base_models`)
    added or overriding. A model the catalogue lacks is copied from its `like` (the settings check it has one)."""
    merged = dict(CATALOGUE)
    for name, override in (overrides or {}).items():
        model_id = canonical_id(name)
        known = merged.get(model_id)
        if override.like is not None:
            like = merged[canonical_id(override.like)]
            known = replace(like, id=model_id, name=model_id, aliases=()) if known is None else known
        if known is None:
            continue  # the settings refuse it: no `like` for a model the catalogue lacks
        merged[model_id] = replace(
            known,
            customizations=override.customizations or known.customizations,
            teachers=known.teachers if override.teachers is None else override.teachers,
            regions=override.regions or known.regions,
        )
    return merged


def entry(base_model: str, overrides: Mapping[str, Override] | None = None) -> ModelEntry | None:
    """The catalogue entry of a base model (by id, alias or ARN), with `bedrock.baseModels`'
    overrides (`settings.base_models`); None if unknown."""
    models = catalogue(overrides)
    return models.get(canonical_id(base_model, models))
