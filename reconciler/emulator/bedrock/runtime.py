"""bedrock-runtime's Converse and InvokeModel (`POST /model/{modelId}/converse`,
`/invoke`), as botocore's `bedrock-runtime/2023-09-30` model shapes them.

The `modelId` is a custom model deployment's ARN (an on-demand custom model
answers through its deployment, as the User Guide says), or a base model's id
(`amazon.nova-micro-v1:0`, `amazon.titan-text-express-v1`, also with a `us.`
cross-region prefix, or its customization id): a deployment answers from its custom model's training
examples, the output of the best-matching one (`inference.answer`, as every
surface's tuned model); a base model echoes the prompt
(`inference.base_model_answer`), so that a test tells the two apart.
Deterministic: the same request gets the same answer.

`inferenceConfig.maxTokens` cuts the answer (`stopReason: max_tokens`), a stop
sequence ends it before the sequence (`stop_sequence`); tokens are counted
as about four characters each. InvokeModel takes and answers each family's
native body: Amazon Nova's `messages-v1`, Titan Text's `inputText`, Llama's
`prompt`."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from reconciler.emulator import inference
from reconciler.emulator.bedrock import catalog, errors, names, shapes
from reconciler.emulator.bedrock.deployments import ACTIVE, CREATING, status
from reconciler.emulator.bedrock.resources import DEPLOYMENTS, MODELS, Bedrock, region_of
from reconciler.emulator.calls import Call, RawReply, Reply
from reconciler.emulator.records import Example

CHARACTERS_PER_TOKEN = 4
INVALID_MODEL = "The provided model identifier is invalid."
PREFIXES = ("us.", "eu.", "apac.", "global.")


@dataclass(frozen=True)
class Generation:
    text: str
    stop_reason: str  # Converse's: end_turn, max_tokens, stop_sequence
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Serving:
    """Who answers a modelId: a deployed custom model's examples, or a base model."""

    base: catalog.BaseModel
    examples: list[Example] | None  # None: the base model itself


class RuntimeService:
    def __init__(self, bedrock: Bedrock) -> None:
        self.bedrock = bedrock

    def converse(self, call: Call, model_id: str) -> Reply:
        body = shapes.parse(call.body, shapes.CONVERSE)
        serving = self._serving(call, model_id)
        config = body.get("inferenceConfig") or {}
        generation = _generate(
            serving,
            _prompt(body.get("messages") or []),
            _texts(body.get("system")) + _texts_of_messages(body.get("messages") or []),
            config.get("maxTokens"),
            config.get("stopSequences") or [],
        )
        usage = {
            "inputTokens": generation.input_tokens,
            "outputTokens": generation.output_tokens,
            "totalTokens": generation.input_tokens + generation.output_tokens,
        }
        return 200, {
            "output": {"message": {"role": "assistant", "content": [{"text": generation.text}]}},
            "stopReason": generation.stop_reason,
            "usage": usage,
            "metrics": {"latencyMs": _latency(generation)},
        }

    def invoke(self, call: Call, model_id: str) -> Reply:
        serving = self._serving(call, model_id)
        try:
            request = json.loads(call.body or b"{}")
        except (ValueError, RecursionError):
            raise _malformed("the body is not JSON") from None
        if not isinstance(request, dict):
            raise _malformed("the body must be a JSON object")
        if serving.base.data_format == catalog.CONVERSATION:
            answer = _invoke_nova(serving, request)
        elif serving.base.model_id.startswith("amazon.titan"):
            answer = _invoke_titan(serving, request)
        else:
            answer = _invoke_llama(serving, request)
        body, generation = answer
        headers = {
            "X-Amzn-Bedrock-Input-Token-Count": str(generation.input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(generation.output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": str(_latency(generation)),
        }
        return RawReply(200, json.dumps(body).encode(), content_type="application/json", headers=headers)

    def _serving(self, call: Call, model_id: str) -> Serving:
        region = region_of(call)
        kind = names.arn_kind(model_id)
        if kind == "custom-model-deployment":
            return self._deployment(region, model_id, call.now)
        if kind == "custom-model":  # [infer] the text
            raise errors.validation(
                "A custom model answers on demand through a custom model deployment: use the deployment's ARN "
                "as the modelId (or a Provisioned Throughput's)."
            )
        base = _base_model(model_id)
        if base is None:
            raise errors.validation(INVALID_MODEL)
        return Serving(base, None)

    def _deployment(self, region: str, arn: str, now: float) -> Serving:
        deployment = self.bedrock.find(DEPLOYMENTS, region, arn)
        if deployment is None:  # [infer] the text
            raise errors.not_found(f"Could not find the custom model deployment {arn[:200]}.")
        state = status(deployment, now)
        if state == CREATING:
            raise errors.BedrockError(429, "ModelNotReadyException", "The deployment is still being created.")
        if state != ACTIVE:
            raise errors.validation(f"The custom model deployment {deployment['name']} is {state}.")
        model = self.bedrock.find(MODELS, region, deployment["model_arn"])
        if model is None:  # a deployed model cannot be deleted; a state file edited by hand can lose it
            raise errors.not_found(f"Could not find the custom model {deployment['model_arn'][:200]}.")
        examples = [Example(prompt, answer) for prompt, answer in self.bedrock.examples(model)]
        return Serving(catalog.MODELS[model["base_model"]], examples)


def _base_model(model_id: str) -> catalog.BaseModel | None:
    """A base model invoked on demand: by its runtime id (`amazon.nova-micro-v1:0`,
    `amazon.titan-text-express-v1`), a cross-region profile of it
    (`us.amazon.nova-micro-v1:0`), or its customization id or ARN."""
    found = catalog.find(model_id)
    if found is not None:
        return found
    bare = next((model_id.removeprefix(prefix) for prefix in PREFIXES if model_id.startswith(prefix)), model_id)
    return next((model for model in catalog.MODELS.values() if model.runtime_id == bare), None)


def _generate(
    serving: Serving, prompt: str, context: str, max_tokens: int | None, stop_sequences: list[str]
) -> Generation:
    if serving.examples is None:
        text = inference.base_model_answer(prompt)
    elif serving.examples:
        text = inference.answer(serving.examples, prompt)
    else:
        text = ""
    reason = "end_turn"
    for sequence in stop_sequences:
        if sequence in text:
            text, reason = text[: text.index(sequence)], "stop_sequence"
    if max_tokens is not None and _tokens(text) > max_tokens:
        text, reason = text[: max_tokens * CHARACTERS_PER_TOKEN], "max_tokens"
    return Generation(text, reason, max(1, _tokens(context)), _tokens(text))


def _prompt(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (Converse asks it be there)."""
    turns = [message for message in messages if message.get("role") != "system"]
    if not turns or turns[0]["role"] != "user":
        raise errors.validation(
            "A conversation must start with a user message. Try again with a conversation that starts with a "
            "user message."
        )
    roles = [message["role"] for message in turns]
    if any(first == second for first, second in itertools.pairwise(roles)):
        raise errors.validation(
            "A conversation must alternate between user and assistant roles. Make sure the conversation "
            "alternates between user and assistant roles and try again."
        )
    users = [message for message in turns if message["role"] == "user"]
    return _texts(users[-1]["content"])


def _texts(blocks: Any) -> str:
    return "".join(
        block["text"] for block in blocks or [] if isinstance(block, dict) and isinstance(block.get("text"), str)
    )


def _texts_of_messages(messages: list[dict[str, Any]]) -> str:
    return "".join(_texts(message.get("content")) for message in messages)


def _tokens(text: str) -> int:
    return math.ceil(len(text) / CHARACTERS_PER_TOKEN)


def _latency(generation: Generation) -> int:
    """Milliseconds, as a function of the work (runs repeat; no clock is read)."""
    return 20 + 5 * generation.output_tokens


def _invoke_nova(serving: Serving, request: dict[str, Any]) -> tuple[dict[str, Any], Generation]:
    """Amazon Nova's native body: `{"schemaVersion": "messages-v1", "messages",
    "system", "inferenceConfig": {"max_new_tokens" (or maxTokens), "stopSequences"}}`."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        raise _malformed("#: required key [messages] not found")
    shapes.check({"messages": messages}, shapes.Struct({"messages": shapes.ListOf(shapes.MESSAGE)}))
    config = _object(request.get("inferenceConfig"))
    limit = config.get("max_new_tokens", config.get("maxTokens"))
    stops = config.get("stopSequences") or []
    generation = _generate(
        serving, _prompt(messages), _texts(request.get("system")) + _texts_of_messages(messages), _int(limit), stops
    )
    body = {
        "output": {"message": {"content": [{"text": generation.text}], "role": "assistant"}},
        "stopReason": generation.stop_reason,
        "usage": {
            "inputTokens": generation.input_tokens,
            "outputTokens": generation.output_tokens,
            "totalTokens": generation.input_tokens + generation.output_tokens,
        },
    }
    return body, generation


def _invoke_titan(serving: Serving, request: dict[str, Any]) -> tuple[dict[str, Any], Generation]:
    """Titan Text: `{"inputText", "textGenerationConfig": {"maxTokenCount", "stopSequences"}}`."""
    prompt = request.get("inputText")
    if not isinstance(prompt, str):
        raise _malformed("#: required key [inputText] not found")
    config = _object(request.get("textGenerationConfig"))
    generation = _generate(
        serving, prompt, prompt, _int(config.get("maxTokenCount")), config.get("stopSequences") or []
    )
    reason = {"end_turn": "FINISH", "max_tokens": "LENGTH", "stop_sequence": "STOP_CRITERIA_MET"}[
        generation.stop_reason
    ]
    result = {"tokenCount": generation.output_tokens, "outputText": generation.text, "completionReason": reason}
    return {"inputTextTokenCount": generation.input_tokens, "results": [result]}, generation


def _invoke_llama(serving: Serving, request: dict[str, Any]) -> tuple[dict[str, Any], Generation]:
    """Llama: `{"prompt", "max_gen_len"}` answered `{"generation", …, "stop_reason"}`."""
    prompt = request.get("prompt")
    if not isinstance(prompt, str):
        raise _malformed("#: required key [prompt] not found")
    generation = _generate(serving, prompt, prompt, _int(request.get("max_gen_len")), [])
    body = {
        "generation": generation.text,
        "prompt_token_count": generation.input_tokens,
        "generation_token_count": generation.output_tokens,
        "stop_reason": "length" if generation.stop_reason == "max_tokens" else "stop",
    }
    return body, generation


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _malformed(reason: str) -> errors.BedrockError:
    return errors.validation(f"Malformed input request: {reason}, please reformat your input and try again.")
