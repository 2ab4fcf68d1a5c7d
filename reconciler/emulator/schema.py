"""proto3 JSON input, checked against the messages the API accepts.

`parse(body, message, root)` returns the body with camelCase keys and typed
values. As the real API does, it accepts snake_case names too, numbers sent as
strings, enums as names or integers, and rejects unknown fields and wrong types
with 400 INVALID_ARGUMENT worded as Google's front end words them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.errors import ApiError, invalid_argument

ENUMS: dict[str, tuple[str, ...]] = {
    "State": ("STATE_UNSPECIFIED", "CREATING", "ACTIVE", "FAILED"),
    "Role": ("ROLE_UNSPECIFIED", "OWNER", "WRITER", "READER"),
    "GranteeType": ("GRANTEE_TYPE_UNSPECIFIED", "USER", "GROUP", "EVERYONE"),
    "FinishReason": ("FINISH_REASON_UNSPECIFIED", "STOP", "MAX_TOKENS", "SAFETY"),
    "HarmProbability": ("HARM_PROBABILITY_UNSPECIFIED", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH"),
    # Vertex AI (google.cloud.aiplatform.v1); each tuple index is the proto number.
    "JobState": (
        "JOB_STATE_UNSPECIFIED",
        "JOB_STATE_QUEUED",
        "JOB_STATE_PENDING",
        "JOB_STATE_RUNNING",
        "JOB_STATE_SUCCEEDED",
        "JOB_STATE_FAILED",
        "JOB_STATE_CANCELLING",
        "JOB_STATE_CANCELLED",
        "JOB_STATE_PAUSED",
        "JOB_STATE_EXPIRED",
        "JOB_STATE_UPDATING",
        "JOB_STATE_PARTIALLY_SUCCEEDED",
    ),
    # Not in size order: TWO was added last, as number 6.
    "AdapterSize": (
        "ADAPTER_SIZE_UNSPECIFIED",
        "ADAPTER_SIZE_ONE",
        "ADAPTER_SIZE_FOUR",
        "ADAPTER_SIZE_EIGHT",
        "ADAPTER_SIZE_SIXTEEN",
        "ADAPTER_SIZE_THIRTY_TWO",
        "ADAPTER_SIZE_TWO",
    ),
    "ModelSourceType": (
        "MODEL_SOURCE_TYPE_UNSPECIFIED",
        "AUTOML",
        "CUSTOM",
        "BQML",
        "MODEL_GARDEN",
        "GENIE",
        "CUSTOM_TEXT_EMBEDDING",
        "MARKETPLACE",
    ),
    "VertexFinishReason": ("FINISH_REASON_UNSPECIFIED", "STOP", "MAX_TOKENS", "SAFETY"),
}
HARM_CATEGORIES = {
    "HARM_CATEGORY_HARASSMENT": 7,
    "HARM_CATEGORY_HATE_SPEECH": 8,
    "HARM_CATEGORY_SEXUALLY_EXPLICIT": 9,
    "HARM_CATEGORY_DANGEROUS_CONTENT": 10,
}

INT32_RANGE = (-(2**31), 2**31 - 1)
INT64_RANGE = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Scalar:
    kind: str  # string | float | int32 | int64 | bool | timestamp | enum | any
    enum: str = ""


@dataclass(frozen=True)
class Repeated:
    item: Spec


@dataclass(frozen=True)
class Message:
    name: str
    fields: dict[str, Spec]
    oneofs: tuple[tuple[str, ...], ...] = field(default=())


Spec = Scalar | Repeated | Message

STRING, FLOAT, INT32, INT64 = Scalar("string"), Scalar("float"), Scalar("int32"), Scalar("int64")
BOOL, TIMESTAMP, ANY = Scalar("bool"), Scalar("timestamp"), Scalar("any")


def enum(name: str) -> Scalar:
    return Scalar("enum", name)


def snake_case(name: str) -> str:
    return re.sub(r"([A-Z])", r"_\1", name).lower()


def parse(body: Any, message: Message, root: str = "") -> dict[str, Any]:
    return _parse_message(body, message, root)


def _parse_message(value: Any, message: Message, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid_value(path, message.name, value)
    by_snake = {snake_case(name): name for name in message.fields}
    parsed: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in message.fields else by_snake.get(str(key))
        if name is None:
            where = f" at '{path}'" if path else ""
            raise invalid_argument(
                f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.',
                path or None,
            )
        if item is None:  # proto3 JSON: null means "not set"
            continue
        parsed[name] = _parse_value(item, message.fields[name], _join(path, name))
    _check_oneofs(parsed, message, path)
    return parsed


def _check_oneofs(parsed: dict[str, Any], message: Message, path: str) -> None:
    for group in message.oneofs:
        present = [name for name in group if name in parsed]
        if len(present) > 1:
            fields = ", ".join(snake_case(name) for name in present)
            raise invalid_argument(
                f"Invalid JSON payload received. Multiple values for oneof at '{path}': {fields}.",
                path or None,
            )


def _join(path: str, name: str) -> str:
    return f"{path}.{snake_case(name)}" if path else snake_case(name)


def _parse_value(value: Any, spec: Spec, path: str) -> Any:
    if isinstance(spec, Message):
        return _parse_message(value, spec, path)
    if isinstance(spec, Repeated):
        if not isinstance(value, list):
            raise _invalid_value(path, "list", value)
        return [_parse_value(item, spec.item, f"{path}[{index}]") for index, item in enumerate(value)]
    return _parse_scalar(value, spec, path)


def _parse_scalar(value: Any, spec: Scalar, path: str) -> Any:
    kind = spec.kind
    if kind == "any":
        return value
    if kind in ("string", "timestamp"):
        if not isinstance(value, str):
            raise _invalid_value(path, "TYPE_STRING", value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _invalid_value(path, "TYPE_BOOL", value)
        return value
    if kind == "float":
        return _parse_float(value, path)
    if kind in ("int32", "int64"):
        return _parse_int(value, kind, path)
    return _parse_enum(value, spec.enum, path)


def _parse_float(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise _invalid_value(path, "TYPE_FLOAT", value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)  # also "NaN", "Infinity", as proto3 JSON allows
        except ValueError:
            pass
    raise _invalid_value(path, "TYPE_FLOAT", value)


def _parse_int(value: Any, kind: str, path: str) -> int:
    type_name = "TYPE_INT32" if kind == "int32" else "TYPE_INT64"
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif _integral_float(value) or (isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value)):
        number = int(value)
    low, high = INT32_RANGE if kind == "int32" else INT64_RANGE
    if number is None or not low <= number <= high:
        raise _invalid_value(path, type_name, value)
    return number


def _integral_float(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _parse_enum(value: Any, enum_name: str, path: str) -> str:
    names = ENUMS[enum_name]
    if isinstance(value, str) and value in names:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
        return names[value]
    raise _invalid_value(path, "TYPE_ENUM", value)


def _invalid_value(path: str, type_name: str, value: Any) -> ApiError:
    shown = repr(value)[:100]
    return invalid_argument(f"Invalid value at '{path}' ({type_name}), {shown}", path or None)


def enum_number(enum_name: str, name: str) -> int:
    return ENUMS[enum_name].index(name)


# --- The request messages the emulator accepts -------------------------------------------

EXAMPLE = Message("TuningExample", {"textInput": STRING, "output": STRING})
CONTENT_PART = Message(
    "Part",
    {
        "text": STRING,
        "inlineData": ANY,
        "fileData": ANY,
        "functionCall": ANY,
        "functionResponse": ANY,
        "executableCode": ANY,
        "codeExecutionResult": ANY,
        "videoMetadata": ANY,
        "thought": BOOL,
        "thoughtSignature": STRING,
    },
)
CONTENT = Message("Content", {"role": STRING, "parts": Repeated(CONTENT_PART)})
MULTITURN_EXAMPLE = Message("TuningMultiturnExample", {"systemInstruction": CONTENT, "contents": Repeated(CONTENT)})
DATASET = Message(
    "Dataset",
    {
        "examples": Message("TuningExamples", {"examples": Repeated(EXAMPLE)}),
        "multiturnExamples": Message("TuningMultiturnExamples", {"examples": Repeated(MULTITURN_EXAMPLE)}),
    },
    (("examples", "multiturnExamples"),),
)
HYPERPARAMETERS = Message(
    "Hyperparameters",
    {"learningRate": FLOAT, "learningRateMultiplier": FLOAT, "epochCount": INT32, "batchSize": INT32},
    (("learningRate", "learningRateMultiplier"),),
)
SNAPSHOT = Message(
    "TuningSnapshot",
    {"step": INT32, "epoch": INT32, "meanLoss": FLOAT, "computeTime": TIMESTAMP},
)
TUNING_TASK = Message(
    "TuningTask",
    {
        "startTime": TIMESTAMP,
        "completeTime": TIMESTAMP,
        "snapshots": Repeated(SNAPSHOT),
        "trainingData": DATASET,
        "hyperparameters": HYPERPARAMETERS,
    },
)
TUNED_MODEL = Message(
    "TunedModel",
    {
        "name": STRING,
        "tunedModelSource": Message("TunedModelSource", {"tunedModel": STRING, "baseModel": STRING}),
        "baseModel": STRING,
        "displayName": STRING,
        "description": STRING,
        "temperature": FLOAT,
        "topP": FLOAT,
        "topK": INT32,
        "state": enum("State"),
        "createTime": TIMESTAMP,
        "updateTime": TIMESTAMP,
        "tuningTask": TUNING_TASK,
        "readerProjectNumbers": Repeated(INT64),
    },
    (("tunedModelSource", "baseModel"),),
)
PERMISSION = Message(
    "Permission",
    {"name": STRING, "granteeType": enum("GranteeType"), "emailAddress": STRING, "role": enum("Role")},
)
TRANSFER_OWNERSHIP = Message("TransferOwnershipRequest", {"name": STRING, "emailAddress": STRING})
GENERATION_CONFIG = Message(
    "GenerationConfig",
    {
        "candidateCount": INT32,
        "stopSequences": Repeated(STRING),
        "maxOutputTokens": INT32,
        "temperature": FLOAT,
        "topP": FLOAT,
        "topK": INT32,
        "seed": INT32,
        "presencePenalty": FLOAT,
        "frequencyPenalty": FLOAT,
        "responseLogprobs": BOOL,
        "logprobs": INT32,
        "enableEnhancedCivicAnswers": BOOL,
        "responseMimeType": STRING,
        "responseSchema": ANY,
        "responseJsonSchema": ANY,
        "responseModalities": ANY,
        "speechConfig": ANY,
        "thinkingConfig": ANY,
        "imageConfig": ANY,
        "mediaResolution": ANY,
    },
)
GENERATE_CONTENT = Message(
    "GenerateContentRequest",
    {
        "model": STRING,
        "contents": Repeated(CONTENT),
        "systemInstruction": CONTENT,
        "tools": ANY,
        "toolConfig": ANY,
        "safetySettings": ANY,
        "generationConfig": GENERATION_CONFIG,
        "cachedContent": STRING,
    },
)
GENERATE_TEXT = Message(
    "GenerateTextRequest",
    {
        "model": STRING,
        "prompt": Message("TextPrompt", {"text": STRING}),
        "temperature": FLOAT,
        "candidateCount": INT32,
        "maxOutputTokens": INT32,
        "topP": FLOAT,
        "topK": INT32,
        "safetySettings": ANY,
        "stopSequences": Repeated(STRING),
    },
)
