"""The base models the emulator serves, with the limits and defaults recorded
from the real ListModels output, and the tuning defaults of each family."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CREATE_TUNED_MODEL = "createTunedModel"
CREATE_TUNED_TEXT_MODEL = "createTunedTextModel"
TUNING_METHODS = (CREATE_TUNED_MODEL, CREATE_TUNED_TEXT_MODEL)


@dataclass(frozen=True)
class TuningDefaults:
    """Hyperparameters used when a create request leaves them out.

    The API picks batch size and learning rate "based on the number of training
    examples" without saying where the threshold is; `large_dataset` is ours.
    """

    epoch_count: int
    batch_size_small: int
    batch_size_large: int
    learning_rate_small: float
    learning_rate_large: float
    large_dataset: int = 1000

    def batch_size(self, examples: int) -> int:
        return self.batch_size_large if examples >= self.large_dataset else self.batch_size_small

    def learning_rate(self, examples: int) -> float:
        large = examples >= self.large_dataset
        return self.learning_rate_large if large else self.learning_rate_small


GEMINI_TUNING = TuningDefaults(5, 4, 16, 0.001, 0.0002)
PALM_TUNING = TuningDefaults(10, 16, 64, 0.002, 0.0002)


@dataclass(frozen=True)
class BaseModel:
    name: str
    version: str
    display_name: str
    description: str
    input_token_limit: int
    output_token_limit: int
    methods: tuple[str, ...]
    temperature: float
    top_p: float
    top_k: int
    max_temperature: float
    tuning: TuningDefaults

    @property
    def tunable(self) -> bool:
        return any(method in self.methods for method in TUNING_METHODS)

    def to_json(self, version: str) -> dict[str, Any]:
        body = {
            "name": self.name,
            "baseModelId": self.name.removeprefix("models/"),
            "version": self.version,
            "displayName": self.display_name,
            "description": self.description,
            "inputTokenLimit": self.input_token_limit,
            "outputTokenLimit": self.output_token_limit,
            "supportedGenerationMethods": list(self.methods),
            "temperature": self.temperature,
            "maxTemperature": self.max_temperature,
            "topP": self.top_p,
            "topK": self.top_k,
        }
        if version == "v1beta3":  # the PaLM-era Model message has no max_temperature
            del body["maxTemperature"]
        return body


BASE_MODELS: tuple[BaseModel, ...] = (
    BaseModel(
        name="models/gemini-1.0-pro-001",
        version="001",
        display_name="Gemini 1.0 Pro 001 (Tuning)",
        description="The best model for scaling across a wide range of tasks. "
        "This is a stable model that supports tuning.",
        input_token_limit=30720,
        output_token_limit=2048,
        methods=("generateContent", "countTokens", CREATE_TUNED_MODEL),
        temperature=0.9,
        top_p=1.0,
        top_k=1,
        max_temperature=2.0,
        tuning=GEMINI_TUNING,
    ),
    BaseModel(
        name="models/gemini-1.5-flash-001-tuning",
        version="001",
        display_name="Gemini 1.5 Flash 001 Tuning",
        description="Version of Gemini 1.5 Flash that supports tuning, our fast and "
        "versatile multimodal model for scaling across diverse tasks.",
        input_token_limit=16384,
        output_token_limit=8192,
        methods=("generateContent", "countTokens", CREATE_TUNED_MODEL),
        temperature=1.0,
        top_p=0.95,
        top_k=64,
        max_temperature=2.0,
        tuning=GEMINI_TUNING,
    ),
    # Not tunable: lets clients see the "base model does not support tuning" rule.
    BaseModel(
        name="models/gemini-1.5-flash-001",
        version="001",
        display_name="Gemini 1.5 Flash 001",
        description="Fast and versatile multimodal model for scaling across diverse tasks.",
        input_token_limit=1000000,
        output_token_limit=8192,
        methods=("generateContent", "countTokens", "createCachedContent"),
        temperature=1.0,
        top_p=0.95,
        top_k=64,
        max_temperature=2.0,
        tuning=GEMINI_TUNING,
    ),
    BaseModel(
        name="models/text-bison-001",
        version="001",
        display_name="PaLM 2 (Legacy)",
        description="A legacy model that understands text and generates text as an output",
        input_token_limit=8196,
        output_token_limit=1024,
        methods=("generateText", "countTextTokens", CREATE_TUNED_TEXT_MODEL),
        temperature=0.7,
        top_p=0.95,
        top_k=40,
        max_temperature=1.0,
        tuning=PALM_TUNING,
    ),
)

_BY_NAME = {model.name: model for model in BASE_MODELS}


def find_base_model(name: str) -> BaseModel | None:
    return _BY_NAME.get(name)
