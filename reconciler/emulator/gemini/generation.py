"""generateContent (Gemini) and generateText (PaLM) on tuned and base models,
answered in the real response shapes."""

from __future__ import annotations

import math
from typing import Any

from reconciler.emulator import inference
from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.errors import (
    failed_precondition,
    invalid_argument,
    not_found,
    tuned_model_not_found,
)
from reconciler.emulator.gemini.catalog import BaseModel, find_base_model
from reconciler.emulator.gemini.tuning import progress
from reconciler.emulator.records import TunedModelRecord
from reconciler.emulator.schema import GENERATE_CONTENT, GENERATE_TEXT, HARM_CATEGORIES, parse
from reconciler.emulator.store import Store
from reconciler.emulator.wire import Enums

# The documented input limit of a tuned model (Gemini 1.5 Flash), applied to every tuned model.
MAX_TUNED_PROMPT_CHARS = 40_000
MAX_TEXT_CANDIDATES = 8  # GenerateTextRequest.candidate_count: "between [1, 8], inclusive"
# The order of every recorded generateContent answer, candidates and prompt feedback alike.
RECORDED_RATING_ORDER = (
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)


class GenerationService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def generate_content_tuned(self, call: Call, model_id: str) -> Reply:
        request = parse(call.body, GENERATE_CONTENT)
        prompt = _tuned_model_prompt(_last_turn_text(request))
        record = self._ready_model(model_id, call)
        _require_method(_base(record), "generateContent", record.name, call.version)
        return 200, _content_response(inference.answer(record.examples, prompt), prompt, call.enums)

    def generate_content_base(self, call: Call, base_id: str) -> Reply:
        request = parse(call.body, GENERATE_CONTENT)
        prompt = _last_turn_text(request)
        _within_token_limit(prompt, _known_base(base_id, "generateContent", call.version))
        return 200, _content_response(inference.base_model_answer(prompt), prompt, call.enums)

    def generate_text_tuned(self, call: Call, model_id: str) -> Reply:
        request = parse(call.body, GENERATE_TEXT)
        prompt, count = _tuned_model_prompt(_prompt_text(request)), _candidate_count(request)
        record = self._ready_model(model_id, call)
        _require_method(_base(record), "generateText", record.name, call.version)
        return 200, _text_response(inference.answers(record.examples, prompt, count), call.enums)

    def generate_text_base(self, call: Call, base_id: str) -> Reply:
        request = parse(call.body, GENERATE_TEXT)
        prompt, count = _prompt_text(request), _candidate_count(request)
        _within_token_limit(prompt, _known_base(base_id, "generateText", call.version))
        return 200, _text_response([inference.base_model_answer(prompt)] * count, call.enums)

    def _ready_model(self, model_id: str, call: Call) -> TunedModelRecord:
        record = self.store.get(model_id)
        if record is None:
            raise tuned_model_not_found(model_id)
        state = progress(record, call.now).state
        if state != "ACTIVE":
            # The real API's answer here is not recorded; FAILED_PRECONDITION is the
            # canonical code for "the resource is not in a state for this call".
            raise failed_precondition(f"Tuned model {record.name} is not ready for inference: its state is {state}.")
        return record


def _base(record: TunedModelRecord) -> BaseModel:
    base = find_base_model(record.base_model)
    assert base is not None  # records are only made from known base models
    return base


def _known_base(base_id: str, method: str, version: str) -> BaseModel:
    base = find_base_model(f"models/{base_id}")
    _require_method(base, method, f"models/{base_id}", version)
    assert base is not None
    return base


def _require_method(base: BaseModel | None, method: str, name: str, version: str) -> None:
    if base is None or method not in base.methods:
        # The recorded wording of the real API.
        raise not_found(
            f"{name[:200]} is not found for API version {version}, or is not "
            f"supported for {method}. Call ListModels to see the list of available "
            "models and their supported methods."
        )


def _last_turn_text(request: dict[str, Any]) -> str:
    contents = request.get("contents", [])
    if not contents:
        raise invalid_argument("* GenerateContentRequest.contents: contents is not specified", "contents")
    parts = contents[-1].get("parts", [])
    texts = [part["text"] for part in parts if "text" in part]
    if not texts:
        raise invalid_argument(
            "* GenerateContentRequest.contents[-1].parts: a tuned model answers text parts only, and none was sent",
            "contents",
        )
    return "".join(texts)


def _prompt_text(request: dict[str, Any]) -> str:
    text = request.get("prompt", {}).get("text", "")
    if not text:
        raise invalid_argument("prompt.text is required.", "prompt")
    return str(text)


def _tuned_model_prompt(prompt: str) -> str:
    if len(prompt) > MAX_TUNED_PROMPT_CHARS:
        raise invalid_argument(
            f"The input of a tuned model is limited to {MAX_TUNED_PROMPT_CHARS} characters; "
            f"this prompt has {len(prompt)}.",
            "contents",
        )
    return prompt


def _within_token_limit(prompt: str, base: BaseModel) -> None:
    tokens = _tokens(prompt)
    if tokens > base.input_token_limit:
        raise invalid_argument(
            f"The input token count ({tokens}) exceeds the maximum number of tokens allowed ({base.input_token_limit})."
        )


def _candidate_count(request: dict[str, Any]) -> int:
    count = request.get("candidateCount") or 1  # proto3: 0 is unset
    if not 1 <= count <= MAX_TEXT_CANDIDATES:
        raise invalid_argument(
            f"candidate_count must be between 1 and {MAX_TEXT_CANDIDATES}, not {count}.", "candidate_count"
        )
    return int(count)


def _safety_ratings(enums: Enums) -> list[dict[str, Any]]:
    negligible = enums("HarmProbability", "NEGLIGIBLE")
    return [
        {"category": HARM_CATEGORIES[name] if enums.as_int else name, "probability": negligible}
        for name in RECORDED_RATING_ORDER
    ]


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))  # about four characters a token


def _content_response(text: str, prompt: str, enums: Enums) -> dict[str, Any]:
    candidate = {
        "content": {"parts": [{"text": text}], "role": "model"},
        "finishReason": enums("FinishReason", "STOP"),
        "index": 0,  # the real API sends index 0 here, unlike proto3 defaults elsewhere
        "safetyRatings": _safety_ratings(enums),
    }
    prompt_tokens, answer_tokens = _tokens(prompt), _tokens(text)
    return {
        "candidates": [candidate],
        "promptFeedback": {"safetyRatings": _safety_ratings(enums)},
        "usageMetadata": {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": answer_tokens,
            "totalTokenCount": prompt_tokens + answer_tokens,
        },
    }


def _text_response(texts: list[str], enums: Enums) -> dict[str, Any]:
    return {"candidates": [{"output": text, "safetyRatings": _palm_safety_ratings(enums)} for text in texts]}


def _palm_safety_ratings(enums: Enums) -> list[dict[str, Any]]:
    # PaLM's harm categories (v1beta3 HarmCategory values 1..6).
    categories = (
        "HARM_CATEGORY_DEROGATORY",
        "HARM_CATEGORY_TOXICITY",
        "HARM_CATEGORY_VIOLENCE",
        "HARM_CATEGORY_SEXUAL",
        "HARM_CATEGORY_MEDICAL",
        "HARM_CATEGORY_DANGEROUS",
    )
    negligible = enums("HarmProbability", "NEGLIGIBLE")
    return [
        {"category": index if enums.as_int else name, "probability": negligible}
        for index, name in enumerate(categories, start=1)
    ]
