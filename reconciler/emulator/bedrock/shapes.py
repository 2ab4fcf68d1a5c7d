"""The requests' shapes, from botocore's service model, and the front end's
check of them: required members, JSON types, lengths, patterns (matched whole)
and enums. A violated constraint is a 400 ValidationException listing them
(`1 validation error detected: Value 'x' at 'jobName' failed to satisfy
constraint: Member must satisfy regular expression pattern: …`); a member of
the wrong JSON type, or a body that is not a JSON object, a
SerializationException. Members the shape does not have are ignored, as the
service's JSON reader does."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.bedrock import errors, names


@dataclass(frozen=True)
class Text:
    low: int = 0
    high: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()


@dataclass(frozen=True)
class Number:
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class Real:
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Flag:
    pass


@dataclass(frozen=True)
class ListOf:
    member: Shape
    low: int = 0
    high: int | None = None


@dataclass(frozen=True)
class MapOf:
    value: Shape


@dataclass(frozen=True)
class Struct:
    members: dict[str, Shape] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    open: bool = False  # a Document (any JSON object), as Converse's additionalModelRequestFields


Shape = Text | Number | Real | Flag | ListOf | MapOf | Struct

TAG = Struct(
    {"key": Text(1, 128, names.TAG_TEXT), "value": Text(0, 256, names.TAG_TEXT)},
    required=("key", "value"),
)
TAGS = ListOf(TAG, 0, 200)
S3_URI = Text(1, 1024, names.S3_URI)
CUSTOMIZATION_TYPES = ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION", "REINFORCEMENT_FINE_TUNING", "IMPORTED")

CREATE_JOB = Struct(
    {
        "jobName": Text(1, 63, names.JOB_NAME),
        "customModelName": Text(1, 63, names.MODEL_NAME),
        "roleArn": Text(0, 2048, names.ROLE_ARN),
        "clientRequestToken": Text(1, 256, names.TOKEN),
        "baseModelIdentifier": Text(1, 2048),
        "customizationType": Text(enum=CUSTOMIZATION_TYPES),
        "customModelKmsKeyId": Text(1, 2048, names.KMS_KEY),
        "jobTags": TAGS,
        "customModelTags": TAGS,
        "trainingDataConfig": Struct({"s3Uri": S3_URI, "invocationLogsConfig": Struct(open=True)}),
        "validationDataConfig": Struct(
            {"validators": ListOf(Struct({"s3Uri": S3_URI}, required=("s3Uri",)), 0, 10)}, required=("validators",)
        ),
        "outputDataConfig": Struct({"s3Uri": S3_URI}, required=("s3Uri",)),
        "hyperParameters": MapOf(Text()),
        "vpcConfig": Struct(
            {"subnetIds": ListOf(Text(0, 32), 1, 16), "securityGroupIds": ListOf(Text(0, 32), 1, 5)},
            required=("subnetIds", "securityGroupIds"),
        ),
        "customizationConfig": Struct(open=True),
    },
    required=("jobName", "customModelName", "roleArn", "baseModelIdentifier", "trainingDataConfig", "outputDataConfig"),
)
CREATE_DEPLOYMENT = Struct(
    {
        "modelDeploymentName": Text(1, 63, names.MODEL_NAME),
        "modelArn": Text(20, 1011),
        "description": Text(1, 2048),
        "tags": TAGS,
        "clientRequestToken": Text(1, 256, names.TOKEN),
    },
    required=("modelDeploymentName", "modelArn"),
)
RESOURCE_ARN = Text(20, 1011)
TAG_RESOURCE = Struct({"resourceARN": RESOURCE_ARN, "tags": TAGS}, required=("resourceARN", "tags"))
UNTAG_RESOURCE = Struct(
    {"resourceARN": RESOURCE_ARN, "tagKeys": ListOf(Text(1, 128, names.TAG_TEXT), 0, 200)},
    required=("resourceARN", "tagKeys"),
)
LIST_TAGS = Struct({"resourceARN": RESOURCE_ARN}, required=("resourceARN",))


MESSAGE = Struct(
    {"role": Text(enum=("user", "assistant", "system")), "content": ListOf(Struct(open=True))},
    required=("role", "content"),
)
CONVERSE = Struct(
    {
        "messages": ListOf(MESSAGE),
        "system": ListOf(Struct(open=True)),
        "inferenceConfig": Struct(
            {
                "maxTokens": Number(1),
                "temperature": Real(0, 1),
                "topP": Real(0, 1),
                "stopSequences": ListOf(Text(1), 0, 2500),
            }
        ),
        "toolConfig": Struct(open=True),
        "additionalModelRequestFields": Struct(open=True),
        "requestMetadata": MapOf(Text(1, 256)),
    }
)


def parse(body: bytes, shape: Struct) -> dict[str, Any]:
    """A request body: JSON, an object, of `shape` (an empty body is an empty object)."""
    if not body.strip():
        value: Any = {}
    else:
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            raise errors.serialization("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise errors.serialization("Start of list found where not expected; the body must be a JSON object.")
    check(value, shape)
    return value


def check(value: dict[str, Any], shape: Struct, where: str = "") -> None:
    failures: list[str] = []
    _struct(value, shape, where, failures)
    if failures:
        raise errors.constraint_failures(failures)


def check_text(value: str, shape: Text, where: str) -> None:
    """One string member out of a body (a path or query parameter)."""
    failures: list[str] = []
    _text(value, shape, where, failures)
    if failures:
        raise errors.constraint_failures(failures)


def _check(value: Any, shape: Shape, where: str, failures: list[str]) -> None:
    if isinstance(shape, Text):
        _text(_typed(value, str, "a string", where), shape, where, failures)
    elif isinstance(shape, Number):
        number = _typed(value, int, "a number", where)
        if isinstance(number, bool) or (shape.low is not None and number < shape.low):
            failures.append(_failure(value, where, f"Member must have value greater than or equal to {shape.low}"))
        elif shape.high is not None and number > shape.high:
            failures.append(_failure(value, where, f"Member must have value less than or equal to {shape.high}"))
    elif isinstance(shape, Real):
        real = _typed(value, (int, float), "a number", where)
        if isinstance(real, bool) or (shape.low is not None and real < shape.low):
            failures.append(_failure(value, where, f"Member must have value greater than or equal to {shape.low}"))
        elif shape.high is not None and real > shape.high:
            failures.append(_failure(value, where, f"Member must have value less than or equal to {shape.high}"))
    elif isinstance(shape, Flag):
        _typed(value, bool, "a boolean", where)
    elif isinstance(shape, ListOf):
        items = _typed(value, list, "a list", where)
        _length(items, shape.low, shape.high, where, failures)
        for index, item in enumerate(items):
            _check(item, shape.member, f"{where}.{index + 1}.member", failures)
    elif isinstance(shape, MapOf):
        for key, item in _typed(value, dict, "a map", where).items():
            _check(item, shape.value, f"{where}.{key}", failures)
    else:
        _struct(_typed(value, dict, "a structure", where), shape, where, failures)


def _struct(value: dict[str, Any], shape: Struct, where: str, failures: list[str]) -> None:
    if shape.open:
        return
    for name in shape.required:
        if value.get(name) is None:
            failures.append(
                f"Value null at '{_join(where, name)}' failed to satisfy constraint: Member must not be null"
            )
    for name, member in shape.members.items():
        if value.get(name) is not None:
            _check(value[name], member, _join(where, name), failures)


def _text(value: str, shape: Text, where: str, failures: list[str]) -> None:
    if shape.enum and value not in shape.enum:
        failures.append(_failure(value, where, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"))
        return
    if (
        _length(value, shape.low, shape.high, where, failures)
        and shape.pattern
        and not re.fullmatch(shape.pattern, value)
    ):
        failures.append(_failure(value, where, f"Member must satisfy regular expression pattern: {shape.pattern}"))


def _length(value: str | list[Any], low: int, high: int | None, where: str, failures: list[str]) -> bool:
    if len(value) < low:
        failures.append(_failure(value, where, f"Member must have length greater than or equal to {low}"))
        return False
    if high is not None and len(value) > high:
        failures.append(_failure(value, where, f"Member must have length less than or equal to {high}"))
        return False
    return True


def _typed(value: Any, kind: type | tuple[type, ...], noun: str, where: str) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise errors.serialization(f"Expected {noun} at '{where}'.")
    return value


def _failure(value: Any, where: str, constraint: str) -> str:
    shown = value if isinstance(value, str) else json.dumps(value)
    return f"Value '{shown[:200]}' at '{where}' failed to satisfy constraint: {constraint}"


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
