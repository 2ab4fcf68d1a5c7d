"""A customization job's training data, read where S3 keeps it, as the job's
validation stage reads it: JSON Lines, one example a line, in the base model's
format.

- Amazon Nova (`bedrock-conversation-2024`): `{"schemaVersion":
  "bedrock-conversation-2024", "system": [{"text"}], "messages": [{"role":
  "user", "content": [{"text"}]}, {"role": "assistant", …}, …]}`, turns
  alternating from a user turn; the last turn the assistant's (a distillation
  job's rows may stop at the prompt: the teacher answers them).
- The others: `{"prompt": "…", "completion": "…"}`; continued pre-training
  `{"input": "…"}`.

What a row teaches, (its last user text, its answer), is what the custom
model answers (`inference.answer`, as the other surfaces' tuned models)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.emulator.bedrock.catalog import CONTINUED_PRE_TRAINING, CONVERSATION, DISTILLATION

MAX_REPORTED_LINE = 100


class InvalidDataset(Exception):
    """Why the validation stage fails the job (its failureMessage)."""


def examples(data: bytes, data_format: str, customization: str) -> list[list[str]]:
    """The (prompt, answer) pairs of a dataset, or InvalidDataset ([infer] the texts)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidDataset("The training data is not UTF-8 text.") from None
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            raise InvalidDataset(f"Line {number} of the training data is not valid JSON.") from None
        if not isinstance(row, dict):
            raise InvalidDataset(f"Line {number} of the training data is not a JSON object.")
        pairs.append(_pair(row, number, data_format, customization))
    if not pairs:
        raise InvalidDataset("The training data has no examples.")
    return pairs


def _pair(row: dict[str, Any], number: int, data_format: str, customization: str) -> list[str]:
    if customization == CONTINUED_PRE_TRAINING:
        return [_text(row, "input", number), ""]
    if data_format == CONVERSATION:
        return _conversation(row, number, answered=customization != DISTILLATION)
    return [_text(row, "prompt", number), _text(row, "completion", number)]


def _conversation(row: dict[str, Any], number: int, answered: bool) -> list[str]:
    if row.get("schemaVersion") != CONVERSATION:
        raise InvalidDataset(f'Line {number}: schemaVersion must be "{CONVERSATION}".')
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidDataset(f"Line {number}: messages must be a non-empty list.")
    turns = [_turn(message, number) for message in messages]
    roles = [role for role, _ in turns]
    expected = ["user" if index % 2 == 0 else "assistant" for index in range(len(roles))]
    if roles != expected or (answered and roles[-1] != "assistant"):
        raise InvalidDataset(f"Line {number}: turns must alternate from user to assistant and end with the assistant.")
    users = [text for role, text in turns if role == "user"]
    answer = turns[-1][1] if roles[-1] == "assistant" else ""
    return [users[-1], answer]


def _turn(message: Any, number: int) -> tuple[str, str]:
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise InvalidDataset(f'Line {number}: each message needs a role, "user" or "assistant".')
    content = message.get("content")
    if not isinstance(content, list) or not content:
        raise InvalidDataset(f"Line {number}: each message needs content blocks.")
    texts = [block.get("text") for block in content if isinstance(block, dict)]
    if not texts or not all(isinstance(text, str) for text in texts):
        raise InvalidDataset(f"Line {number}: content blocks must carry text.")
    return message["role"], "".join(str(text) for text in texts)


def _text(row: dict[str, Any], name: str, number: int) -> str:
    value = row.get(name)
    if not isinstance(value, str):
        raise InvalidDataset(f'Line {number}: "{name}" must be a string.')
    return value
