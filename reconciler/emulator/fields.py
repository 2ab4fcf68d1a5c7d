"""Partial responses: the `fields` system parameter (also `$fields` and the
`X-Goog-FieldMask` header), as Google's front end applies it to every REST API.

The grammar (Google Cloud's "System parameters" and partial-response pages):

    selection := item ("," item)*
    item      := path ["(" selection ")"]
    path      := name ("/" name)*          a/b is a(b); a.b (FieldMask style) too
    name      := a field's JSON name, or "*" (every field at that level)

A selection on a list applies to each element. A name the response message
does not have is a 400 (`Invalid field selection <name>`), even when this one
answer happens to omit the field; so the answer's shape is declared with each
route (`routing.Endpoint.response`; the Gemini shapes are in `gemini/shapes.py`).
A method without a declared shape (Vertex AI, Cloud Storage, generation) gets
the mask as a filter only. The mask is checked before the handler runs, so a
bad mask changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.errors import invalid_argument

# A selection: field name -> its sub-selection, or None for the whole field.
Selection = dict[str, "Selection | None"]
# A message's shape: field name -> the shape of its value, None for a scalar,
# or ANY for a value whose fields are not checked (a google.protobuf.Struct).
Shape = Mapping[str, Any]
ANY: Shape = {"*": None}
WILDCARD = "*"
_TOKEN = re.compile(r"\s*([A-Za-z_@$][A-Za-z0-9_@$]*|\*|[(),/.])\s*")


@dataclass(frozen=True)
class FieldMask:
    """A parsed `fields` value: which parts of the answer to keep."""

    selection: Selection

    def selects(self, *path: str) -> bool:
        """Whether anything at or under `path` is kept (a list is transparent)."""
        level = self.selection
        for name in path:
            if name in level:
                sub = level[name]
            elif WILDCARD in level:
                sub = level[WILDCARD]
            else:
                return False
            if sub is None:
                return True
            level = sub
        return True

    def apply(self, body: Any) -> Any:
        return _project(body, self.selection)


def mask_of(query: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """The mask a request asks for: `fields` or `$fields`, else the header; None without one."""
    for key in ("fields", "$fields"):
        if key in query:
            return query[key]
    return headers.get("x-goog-fieldmask")


def parse_mask(text: str, shape: Shape | None = None) -> FieldMask:
    """Parse `text`; with a `shape`, every name must be a field of it (else 400)."""
    parser = _Parser(text)
    selection = parser.selection()
    parser.end()
    if shape is not None:
        _check(selection, shape, "")
    return FieldMask(selection)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.at = 0

    def _tokenize(self, text: str) -> list[str]:
        tokens, position = [], 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:
                raise _invalid(text)
            tokens.append(match.group(1))
            position = match.end()
        return tokens

    def _peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def _take(self) -> str:
        token = self._peek()
        self.at += 1
        return token

    def end(self) -> None:
        if self.at != len(self.tokens):
            raise _invalid(self.text)

    def selection(self) -> Selection:
        chosen: Selection = {}
        while True:
            _merge(chosen, self.item())
            if self._peek() != ",":
                return chosen
            self._take()

    def item(self) -> Selection:
        names = [self._name()]
        while self._peek() in ("/", "."):  # a/b, or a.b as FieldMask paths write it
            self._take()
            names.append(self._name())
        sub: Selection | None = None
        if self._peek() == "(":
            self._take()
            sub = self.selection()
            if self._take() != ")":
                raise _invalid(self.text)
        for name in reversed(names):
            sub = {name: sub}
        assert sub is not None
        return sub

    def _name(self) -> str:
        token = self._take()
        if not token or token in "(),/.":
            raise _invalid(self.text)
        return _camel(token)


def _merge(into: Selection, more: Selection) -> None:
    """`a,a/b` keeps all of a; `a(b),a(c)` keeps b and c."""
    for name, sub in more.items():
        if name not in into:
            into[name] = sub
        elif into[name] is not None:
            if sub is None:
                into[name] = None
            else:
                _merge(into[name], sub)  # type: ignore[arg-type]


def _check(selection: Selection, shape: Shape, prefix: str) -> None:
    if shape is ANY:
        return
    for name, sub in selection.items():
        path = f"{prefix}{name}"
        if name == WILDCARD:
            for field_shape in shape.values():
                if sub is not None and field_shape is not None:
                    _check(sub, field_shape, f"{path}/")
            continue
        if name not in shape:
            raise invalid_argument(f"Invalid field selection {path[:200]}")
        if sub is not None:
            if shape[name] is None:  # a scalar has no fields to choose from
                raise invalid_argument(f"Invalid field selection {path[:200]}/{next(iter(sub))[:100]}")
            _check(sub, shape[name], f"{path}/")


def _project(value: Any, selection: Selection | None) -> Any:
    if selection is None:
        return value
    if isinstance(value, list):
        return [_project(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    if WILDCARD in selection:
        every = selection[WILDCARD]
        return {key: _project(item, selection.get(key, every)) for key, item in value.items()}
    return {key: _project(value[key], sub) for key, sub in selection.items() if key in value}


def _camel(name: str) -> str:
    """proto field names may be given in snake_case, as in the API's own paths."""
    if "_" not in name or name.startswith("_"):
        return name
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _invalid(text: str) -> Exception:
    return invalid_argument(f'Invalid field selection: cannot parse "{text[:200]}"')
