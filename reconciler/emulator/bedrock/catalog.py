"""The base models a customization job may start from, with what each allows:
its customization types, the dataset format its rows take, whether a custom
model of it can be deployed for on-demand inference, and its hyperparameters
(names, ranges and defaults, from the Bedrock User Guide's "Custom model
hyperparameters" pages; on-demand deployment from "Deploy a custom model for
on-demand inference": Amazon Nova Micro, Lite and Pro)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.emulator.bedrock import errors

FINE_TUNING, CONTINUED_PRE_TRAINING, DISTILLATION = "FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"
CONVERSATION, PROMPT_COMPLETION = "bedrock-conversation-2024", "prompt-completion"
FOUNDATION_ARN = re.compile(r"arn:aws(?:-[^:]+)?:bedrock:[a-z0-9-]{1,20}::foundation-model/(?P<id>.+)")


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    integer: bool
    low: float
    high: float
    default: str


@dataclass(frozen=True)
class BaseModel:
    model_id: str  # as jobs name it: `amazon.nova-micro-v1:0:128k`
    name: str  # as ListCustomModels shows it (baseModelName)
    customizations: tuple[str, ...]
    data_format: str  # CONVERSATION (Amazon Nova) or PROMPT_COMPLETION
    on_demand: bool  # CreateCustomModelDeployment takes its custom models
    hyperparameters: tuple[Hyperparameter, ...]
    invocation_id: str = ""  # the id the runtime invokes the base model by, on demand

    @property
    def runtime_id(self) -> str:
        return self.invocation_id or self.model_id.rsplit(":", 1)[0]

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        return next((h for h in self.hyperparameters if h.name == name), None)

    def epochs(self, given: dict[str, str]) -> int:
        found = self.hyperparameter("epochCount")
        return int(given.get("epochCount") or (found.default if found else "1"))


NOVA = (
    Hyperparameter("epochCount", True, 1, 5, "2"),
    Hyperparameter("learningRate", False, 1e-6, 1e-4, "0.00001"),
    Hyperparameter("learningRateWarmupSteps", True, 0, 100, "10"),
)
TITAN_TEXT = (
    Hyperparameter("epochCount", True, 1, 10, "5"),
    Hyperparameter("batchSize", True, 1, 64, "1"),
    Hyperparameter("learningRate", False, 0.0, 1.0, "0.00001"),
    Hyperparameter("learningRateWarmupSteps", True, 0, 250, "5"),
)
LLAMA_3_1 = (
    Hyperparameter("epochCount", True, 1, 10, "5"),
    Hyperparameter("batchSize", True, 1, 1, "1"),
    Hyperparameter("learningRate", False, 5e-6, 0.1, "0.0001"),
)

MODELS = {
    model.model_id: model
    for model in (
        BaseModel("amazon.nova-micro-v1:0:128k", "Nova Micro", (FINE_TUNING, DISTILLATION), CONVERSATION, True, NOVA),
        BaseModel("amazon.nova-lite-v1:0:300k", "Nova Lite", (FINE_TUNING, DISTILLATION), CONVERSATION, True, NOVA),
        BaseModel("amazon.nova-pro-v1:0:300k", "Nova Pro", (FINE_TUNING, DISTILLATION), CONVERSATION, True, NOVA),
        BaseModel(
            "amazon.titan-text-express-v1:0:8k",
            "Titan Text G1 - Express",
            (FINE_TUNING, CONTINUED_PRE_TRAINING),
            PROMPT_COMPLETION,
            False,
            TITAN_TEXT,
            "amazon.titan-text-express-v1",
        ),
        BaseModel(
            "amazon.titan-text-lite-v1:0:4k",
            "Titan Text G1 - Lite",
            (FINE_TUNING, CONTINUED_PRE_TRAINING),
            PROMPT_COMPLETION,
            False,
            TITAN_TEXT,
            "amazon.titan-text-lite-v1",
        ),
        BaseModel(
            "meta.llama3-1-8b-instruct-v1:0:128k",
            "Llama 3.1 8B Instruct",
            (FINE_TUNING, DISTILLATION),
            PROMPT_COMPLETION,
            False,
            LLAMA_3_1,
        ),
    )
}


def find(identifier: str) -> BaseModel | None:
    """The base model a `baseModelIdentifier` names: its id or its foundation-model ARN."""
    found = FOUNDATION_ARN.fullmatch(identifier)
    return MODELS.get(found["id"] if found else identifier)


def customizable(identifier: str) -> BaseModel:
    model = find(identifier)
    if model is None:  # [infer] the text
        raise errors.validation(f"The base model {identifier[:200]} can't be customized. Choose a customizable model.")
    return model


def check_customization(model: BaseModel, customization: str) -> None:
    if customization not in model.customizations:  # [infer] the text
        raise errors.validation(
            f"The base model {model.model_id} doesn't support customization type {customization}. "
            f"Supported types: {', '.join(model.customizations)}."
        )


def check_hyperparameters(model: BaseModel, given: dict[str, str]) -> None:
    """Every name one the model takes, every value a number in its range ([infer] the texts)."""
    for name, text in given.items():
        spec = model.hyperparameter(name)
        if spec is None:
            names = ", ".join(h.name for h in model.hyperparameters)
            raise errors.validation(
                f"The hyperparameter {name[:100]} isn't supported for {model.model_id}: use {names}."
            )
        value = _number(text, spec.integer)
        if value is None or not spec.low <= value <= spec.high:
            kind = "an integer" if spec.integer else "a number"
            raise errors.validation(
                f"The value {text[:50]!r} of hyperparameter {name} must be {kind} from {spec.low:g} to {spec.high:g}."
            )


def _number(text: str, integer: bool) -> float | None:
    try:
        return float(int(text)) if integer else float(text)
    except ValueError:
        return None
