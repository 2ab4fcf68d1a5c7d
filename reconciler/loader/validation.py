"""Pydantic validation with problems a person can read: file, line, field, plain words."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from reconciler.loader.problems import Problem, error
from reconciler.loader.yamldoc import Document, Path, field_path

M = TypeVar("M", bound=BaseModel)

# Where a regular expression says less than a sentence.
_PATTERN_MESSAGES = {
    "baseModel": "must be a base model name (letters, digits, '.', '_', '-' and '/')",
    "sourceModel": "must name another manifest's model by its id (metadata.name)",
    "apiVersion": "must be v1, v1alpha, v1beta or v1beta3",
    # reconciler.yaml's vertex block
    "project": "must be a Google Cloud project id such as my-project (6 to 30 lowercase letters, digits and "
    "'-', starting with a letter) or a project number",
    "location": "must be a location such as us-central1 (or global, us, eu)",
    "datasets": "must be a Cloud Storage bucket and prefix such as gs://my-bucket/reconciler/datasets",
}

# Messages by pydantic error type; `{...}` are filled from the error's context.
_TYPE_MESSAGES = {
    "missing": "field required",
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} characters",
    "literal_error": "must be {expected}",
    "enum": "must be {expected}",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "finite_number": "must be a finite number",
}
# A number or a flag written as text (`1:30`, `017`, `1e-4`, `y`): the text,
# quoted, shows why it was not read as one. Short texts only: a message stays one line.
_TEXT_FOR_A_VALUE = {"int_type", "int_parsing", "float_type", "float_parsing", "bool_type", "bool_parsing"}
_QUOTED_MAX = 40


def validate(model: type[M], document: Document, file: str) -> tuple[M | None, list[Problem]]:
    """`document` as a `model`, or None and one problem per thing wrong with it."""
    if not isinstance(document.data, dict):
        return None, [error(file, document.line, "", "must be a mapping of fields")]
    try:
        return model.model_validate(document.data), []
    except ValidationError as exc:
        return None, [_problem(detail, model, document, file) for detail in exc.errors()]


def _problem(detail: ErrorDetails, model: type[BaseModel], document: Document, file: str) -> Problem:
    path: Path = tuple(detail["loc"])
    return error(file, document.line_of(path), field_path(path), _message(detail, model))


def _message(detail: ErrorDetails, model: type[BaseModel]) -> str:
    kind = detail["type"]
    context: dict[str, Any] = dict(detail.get("ctx") or {})
    last = str(detail["loc"][-1]) if detail["loc"] else ""
    if kind == "extra_forbidden":
        return _unknown_field(last, model)
    if kind == "string_pattern_mismatch":
        return _PATTERN_MESSAGES.get(last, "must match {pattern}".format(**context))
    if kind in ("value_error", "assertion_error"):
        return str(context.get("error", detail["msg"]))
    if kind == "literal_error":
        return "must be {expected}".format(**context) + _did_you_mean(detail["input"], str(context["expected"]))
    template = _TYPE_MESSAGES.get(kind)
    if template is None:
        return detail["msg"]
    try:
        message = template.format(**context)
    except KeyError:
        return detail["msg"]
    return message + _the_text(detail["input"]) if kind in _TEXT_FOR_A_VALUE else message


def _did_you_mean(value: object, expected: str) -> str:
    """` (did you mean vertex?)` for a misspelt choice (`'gemini' or 'vertex'` given as `expected`)."""
    import difflib

    if not isinstance(value, str):
        return ""
    choices = re.findall(r"'([^']*)'", expected)
    if len(choices) < 2:  # the one choice is named already
        return ""
    close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _the_text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    if len(value) > _QUOTED_MAX or not value.isprintable():
        return ", not text"
    return f", not the text {value!r}"


def _unknown_field(name: str, model: type[BaseModel]) -> str:
    import difflib  # only an unknown field needs a suggestion: not at every start-up

    close = difflib.get_close_matches(name, sorted(_field_names(model)), n=1)
    return f"unknown field (did you mean {close[0]}?)" if close else "unknown field"


@cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    """Every field name (alias) of `model` and of the models nested in it."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [model]
    seen: set[type[BaseModel]] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for name, info in current.model_fields.items():
            names.add(info.alias or name)
            pending.extend(_nested_models(info.annotation))
    return frozenset(names)


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in getattr(annotation, "__args__", ()):
        found.extend(_nested_models(argument))
    return found
