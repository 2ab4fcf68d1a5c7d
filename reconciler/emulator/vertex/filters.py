"""The list `filter` of tuningJobs, models and endpoints: the standard list
filter as ListModels documents it, restricted to what the tuning loop needs.

Terms are ANDed (with `AND`, or by sending `filter` more than once, as
google-genai does): `labels.KEY=VALUE`, `labels.KEY!=VALUE`, `labels.KEY:*`,
`labels:KEY`, and `FIELD=VALUE`, `FIELD!=VALUE`, `FIELD:VALUE` (substring) on
the fields each resource offers. Values may be quoted. OR, NOT and brackets
are answered 400 INVALID_ARGUMENT [infer: unsupported here, not upstream].
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.emulator.errors import invalid_argument

Getter = Callable[[dict[str, Any]], str]
Predicate = Callable[[dict[str, Any]], bool]

TERM = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*(!=|=|:)\s*(\"(?:[^\"\\]|\\.)*\"|[^\s\"]+)\s*")
AND = re.compile(r"\s+AND\s+")


def compile_filter(
    text: str, fields: Mapping[str, Getter], labels: Callable[[dict[str, Any]], Mapping[str, str]]
) -> Predicate:
    """A predicate over store documents; `fields` maps snake and camel names to getters."""
    if not text.strip():
        return lambda _: True
    if re.search(r"(^|\s)(OR|NOT)(\s|$)|[()]", text):
        raise _unsupported(text)
    terms = [_term(raw, fields, labels, text) for raw in AND.split(text.strip())]
    return lambda document: all(term(document) for term in terms)


def _term(
    raw: str, fields: Mapping[str, Getter], labels: Callable[[dict[str, Any]], Mapping[str, str]], whole: str
) -> Predicate:
    match = TERM.fullmatch(raw)
    if not match:
        raise _unsupported(whole)
    name, operator, value = match.groups()
    if value.startswith('"'):
        value = re.sub(r"\\(.)", r"\1", value[1:-1])
    if name == "labels" and operator == ":":
        return lambda document: value in labels(document)
    if name.startswith("labels."):
        key = name.removeprefix("labels.")
        return _label_term(key, operator, value, labels)
    getter = fields.get(name)
    if getter is None:
        raise _unsupported(whole)
    return _field_term(getter, operator, value)


def _label_term(
    key: str, operator: str, value: str, labels: Callable[[dict[str, Any]], Mapping[str, str]]
) -> Predicate:
    if operator == ":":
        if value == "*":
            return lambda document: key in labels(document)
        return lambda document: value in labels(document).get(key, "")
    if operator == "=":
        return lambda document: labels(document).get(key) == value
    return lambda document: labels(document).get(key) != value


def _field_term(getter: Getter, operator: str, value: str) -> Predicate:
    if operator == "=":
        return lambda document: getter(document) == value
    if operator == "!=":
        return lambda document: getter(document) != value
    if value == "*":
        return lambda document: bool(getter(document))
    return lambda document: value in getter(document)


def _unsupported(text: str) -> Exception:
    return invalid_argument(
        f'Unsupported filter: "{text[:200]}". This emulator supports '
        "terms joined by AND: labels.KEY=VALUE, labels.KEY:*, labels:KEY, "
        "and FIELD=VALUE, FIELD!=VALUE, FIELD:VALUE.",
        "filter",
    )
