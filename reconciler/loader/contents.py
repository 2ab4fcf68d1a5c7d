"""Examples in Vertex AI's own supervised-tuning format, one JSON object a line:

    {"systemInstruction": {"parts": [{"text": "..."}]},
     "contents": [{"role": "user", "parts": [{"text": "..."}]},
                  {"role": "model", "parts": [{"text": "..."}]}]}

Checked as the Vertex AI documentation states: turns alternate between
`user` and `model`, starting with the user's [infer: the docs show no other],
the last turn is the model's, and no text is empty. Only text parts are
accepted: the reconciler tunes text.

Each example has one canonical form: compact UTF-8 JSON with a fixed key
order, the role of the system instruction dropped (the service ignores it).
Those bytes are what is uploaded and what the fingerprint hashes, so the
same examples written with other whitespace or key order are the same data.
A text_input/output pair has a canonical form too (`pair_line`): with a
system instruction it is hashed in that form, so changing the instruction
changes the fingerprint; without one it keeps its pair hash (unchanged
fingerprints for every dataset written before this format existed).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, NamedTuple

from reconciler.loader.problems import Problem, error

ROLES = ("user", "model")
_TOP_KEYS = frozenset({"contents", "systemInstruction"})
_DOMAIN = b"reconciler/contents/v1\n"


class Turns(NamedTuple):
    """One example in the `contents` format, as read and checked."""

    line: int
    position: int
    canonical: bytes  # the line uploaded, newline included
    input_characters: int  # system instruction and user turns
    output_characters: int  # model turns
    # The first user turn's text and the model's answer to it, each part joined:
    # what the example teaches with no conversation before it (the leakage check's key).
    opening: tuple[str, str]


def is_contents_row(value: Any) -> bool:
    return type(value) is dict and "contents" in value


def contents_hash(canonical: bytes) -> bytes:
    """The fingerprint's hash of one canonical line (a domain of its own: never equal to a pair's)."""
    return hashlib.sha256(_DOMAIN + canonical).digest()


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _system(text: str) -> dict[str, Any]:
    return {"parts": [{"text": text}]}


def pair_line(text_input: str, output: str, system_instruction: str | None = None) -> bytes:
    """A text_input/output example as a canonical `contents` line."""
    example: dict[str, Any] = {}
    if system_instruction:
        example["systemInstruction"] = _system(system_instruction)
    example["contents"] = [
        {"role": "user", "parts": [{"text": text_input}]},
        {"role": "model", "parts": [{"text": output}]},
    ]
    return _dumps(example)


def to_turns(value: dict[str, Any], line: int, index: int, display: str) -> Turns | list[Problem]:
    """A decoded `contents` object as an example, or every problem with it."""
    problems: list[Problem] = []

    def wrong(field: str, message: str) -> None:
        problems.append(error(display, line, field, message))

    for key in sorted(set(value) - _TOP_KEYS, key=str):
        wrong(str(key), "is not supported: the reconciler tunes on contents and systemInstruction only")
    system, system_chars = _system_instruction(value.get("systemInstruction"), wrong)
    contents, user_chars, model_chars = _contents(value["contents"], wrong)
    if problems:
        return problems
    example: dict[str, Any] = {}
    if system:
        example["systemInstruction"] = {"parts": system}
    example["contents"] = contents
    try:
        canonical = _dumps(example)
    except UnicodeEncodeError:  # a lone surrogate, from a \ud800-style escape
        return [error(display, line, "", "text is not valid Unicode (a lone surrogate)")]
    return Turns(line, index, canonical, system_chars + user_chars, model_chars, _opening(contents))


def _opening(contents: list[dict[str, Any]]) -> tuple[str, str]:
    """The first exchange of checked turns (user then model, as `_contents` requires)."""
    user, model = ("".join(part["text"] for part in turn["parts"]) for turn in contents[:2])
    return user, model


def _system_instruction(value: Any, wrong: Any) -> tuple[list[dict[str, str]], int]:
    if value is None:
        return [], 0
    if type(value) is not dict:
        wrong("systemInstruction", "must be an object with parts")
        return [], 0
    for key in sorted(set(value) - {"parts", "role"}, key=str):
        wrong(f"systemInstruction.{key}", "is not supported (give parts, with text)")
    parts, characters = _parts(value.get("parts"), "systemInstruction.parts", wrong)
    return parts, characters


def _contents(value: Any, wrong: Any) -> tuple[list[dict[str, Any]], int, int]:
    if type(value) is not list or not value:
        wrong("contents", "must be a list of turns, the user's then the model's")
        return [], 0, 0
    turns: list[dict[str, Any]] = []
    characters = {"user": 0, "model": 0}
    previous = None
    for i, turn in enumerate(value):
        field = f"contents[{i}]"
        if type(turn) is not dict:
            wrong(field, "must be an object with role and parts")
            continue
        for key in sorted(set(turn) - {"role", "parts"}, key=str):
            wrong(f"{field}.{key}", "is not supported (give role and parts, with text)")
        role = turn.get("role")
        if role not in ROLES:
            wrong(f"{field}.role", f"must be user or model, not {json.dumps(role, ensure_ascii=False)[:40]}")
            continue
        expected = "user" if previous in (None, "model") else "model"
        if role != expected:
            where = "the first turn" if previous is None else f"after a {previous} turn"
            wrong(f"{field}.role", f"must be {expected}: turns alternate, starting with user ({where})")
        previous = role
        parts, count = _parts(turn.get("parts"), f"{field}.parts", wrong)
        characters[role] += count
        turns.append({"role": role, "parts": parts})
    if previous == "user":
        wrong(f"contents[{len(value) - 1}].role", "the last turn must be the model's: it is what the model learns")
    return turns, characters["user"], characters["model"]


def _parts(value: Any, field: str, wrong: Any) -> tuple[list[dict[str, str]], int]:
    if type(value) is not list or not value:
        wrong(field, "must be a list of parts, each with text")
        return [], 0
    parts = []
    characters = 0
    for j, part in enumerate(value):
        where = f"{field}[{j}]"
        if type(part) is not dict or "text" not in part:
            wrong(where, "must be an object with text (the reconciler tunes on text only)")
            continue
        for key in sorted(set(part) - {"text"}, key=str):
            wrong(f"{where}.{key}", "is not supported (text parts only)")
        text = part["text"]
        if type(text) is not str:
            wrong(f"{where}.text", "must be a string")
        elif not text.strip():
            wrong(f"{where}.text", "must not be empty")
        else:
            parts.append({"text": text})
            characters += len(text)
    return parts, characters
