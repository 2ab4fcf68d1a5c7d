"""The JSON types a backend expects of the fields it decodes, checked where a
list entry arrives, so that a field of the wrong type (a number where a name
belongs, a string where an object does) is a clear error naming the request
and the field, never a TypeError deep in the decoding.

A shape names only the fields the backend reads; the rest of an entry is not
looked at. An absent field is fine (proto3 JSON omits defaults); `null` is a
wrong type like any other (the APIs omit a field rather than send null).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias


@dataclass(frozen=True)
class Kind:
    """A JSON scalar type: its name for messages and its test."""

    name: str
    test: Callable[[Any], bool] = field(repr=False)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int64(value: Any) -> bool:
    # proto3 JSON sends 64-bit integers as strings, and accepts them as numbers.
    if isinstance(value, str):
        return value.isascii() and value.lstrip("-").isdigit() and len(value) <= 20
    return isinstance(value, int) and not isinstance(value, bool)


TEXT = Kind("a string", lambda value: isinstance(value, str))
NUMBER = Kind("a finite number", _is_number)
INTEGER = Kind("an integer", _is_int64)
ENUM = Kind("an enum name or number", lambda value: isinstance(value, str) or _is_int64(value))
SCALAR = Kind("a string, number or boolean", lambda value: isinstance(value, (str, bool)) or _is_number(value))


@dataclass(frozen=True)
class Obj:
    """A JSON object: the declared fields' shapes; `rest` for any other field."""

    fields: Mapping[str, Shape]
    required: tuple[str, ...] = ()
    rest: Shape | None = None


@dataclass(frozen=True)
class ListOf:
    item: Shape


@dataclass(frozen=True)
class MapOf:
    """A JSON object used as a map (labels): every value of one shape."""

    value: Shape


Shape: TypeAlias = Kind | Obj | ListOf | MapOf


def shape_problem(value: Any, shape: Shape, path: str) -> str | None:
    """Why `value` (found at `path`) does not have `shape`, or None."""
    if isinstance(shape, Kind):
        return None if shape.test(value) else f"{path} is {_described(value)}, not {shape.name}"
    if isinstance(shape, ListOf):
        if not isinstance(value, list):
            return f"{path} is {_described(value)}, not an array"
        return _first(shape_problem(item, shape.item, f"{path}[{index}]") for index, item in enumerate(value))
    if not isinstance(value, dict):
        return f"{path} is {_described(value)}, not an object"
    if isinstance(shape, MapOf):
        return _first(shape_problem(item, shape.value, f"{path}.{key}") for key, item in value.items())
    missing = next((name for name in shape.required if name not in value), None)
    if missing is not None:
        return f"{path} has no {missing}"
    return _first(
        shape_problem(item, inner, f"{path}.{key}")
        for key, item in value.items()
        if (inner := shape.fields.get(key, shape.rest)) is not None
    )


def _first(problems: Any) -> str | None:
    return next((problem for problem in problems if problem is not None), None)


def _described(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number" if _is_number(value) else f"the number {value}"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"
