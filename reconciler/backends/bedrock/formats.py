"""Training examples in the format each base model reads on Amazon Bedrock.

Every example the loader reads has one canonical form, a Vertex-style
`contents` line (`reconciler.loader.contents`): a text_input/output pair as a
user turn then a model turn, with `spec.systemInstruction` when the manifest
has one. Each Bedrock format is written from that form, so the same examples
give the same bytes whatever file they came from:

- `bedrock-conversation-2024` (Amazon Nova, and every distillation):
  {"schemaVersion", "system": [{"text"}], "messages": [{"role", "content": [{"text"}]}]};
- `prompt-completion` (Titan Text, Llama, Cohere): {"prompt", "completion"};
- `anthropic-messages` (Claude 3 Haiku): {"system", "messages": [{"role", "content"}]};
- `input-text` (continued pre-training): {"input"}, the example's output.

What a format cannot hold is refused by `validate` (`ExampleFormat`), at the
example's file, line and field: a conversation where one exchange is all it
takes, a system instruction in prompt/completion pairs, an input in
continued pre-training's unlabelled text, and Amazon Nova's reserved keywords
in a user or system prompt (its training job fails on them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.backends.bedrock.catalogue import (
    ANTHROPIC_MESSAGES,
    CONVERSATION,
    INPUT_TEXT,
    PROMPT_COMPLETION,
    RESERVED_KEYWORDS,
    ModelEntry,
)
from reconciler.model.errors import UserError
from reconciler.model.manifest import Customization

ROLES = {"user": "user", "model": "assistant"}


def reserved_keyword(text: str) -> str | None:
    """The first of Amazon Nova's reserved keywords in `text`, or None."""
    return next((keyword for keyword in RESERVED_KEYWORDS if keyword in text), None)


def reserved_words(keyword: str, model: str) -> str:
    return (
        f"holds {keyword!r}, a keyword {model} reserves (User:, Bot:, Assistant:, System:, <image>, <video>, "
        "[EOS]): its training job fails on a user or system prompt holding one; write it otherwise"
    )


@dataclass(frozen=True)
class BedrockFormat:
    """How one base model's examples are written for one customization
    (a `reconciler.loader.limits.ExampleFormat`: frozen, with a stable repr)."""

    name: str  # CONVERSATION, PROMPT_COMPLETION, ANTHROPIC_MESSAGES or INPUT_TEXT
    model: str  # the base model's name, for messages
    multi_turn: bool
    reserved_keywords: bool

    def pair_problem(self, text_input: str, output: str) -> tuple[str, str] | None:
        if self.name == INPUT_TEXT and text_input:
            return (
                "input",
                "continued pre-training learns from unlabelled text: put each text in output and leave "
                "text_input empty (or out)",
            )
        keyword = reserved_keyword(text_input) if self.reserved_keywords else None
        return None if keyword is None else ("input", reserved_words(keyword, self.model))

    def contents_problem(self, canonical: bytes) -> tuple[str, str] | None:
        example = json.loads(canonical)
        turns = example["contents"]
        if self.name == INPUT_TEXT:
            return (
                "contents",
                "continued pre-training learns from unlabelled text, not conversations: "
                "give each text as output, with no text_input",
            )
        if not self.multi_turn and len(turns) > 2:
            return (
                "contents",
                f"{self.model} takes one exchange an example here (a user turn, then the answer), "
                f"not a conversation of {len(turns)} turns",
            )
        if self.name == PROMPT_COMPLETION and "systemInstruction" in example:
            return "systemInstruction", f"{self.model} reads prompt/completion pairs, which hold no system instruction"
        return self._reserved_in(example) if self.reserved_keywords else None

    def _reserved_in(self, example: dict[str, Any]) -> tuple[str, str] | None:
        prompts = [("systemInstruction", example.get("systemInstruction", {"parts": []}))]
        prompts += [(f"contents[{i}]", turn) for i, turn in enumerate(example["contents"]) if turn["role"] == "user"]
        for field, turn in prompts:
            for j, part in enumerate(turn["parts"]):
                keyword = reserved_keyword(part["text"])
                if keyword is not None:
                    return f"{field}.parts[{j}].text", reserved_words(keyword, self.model)
        return None

    def line(self, canonical: bytes) -> bytes:
        """The example's line in this format, from its canonical `contents` line.
        Raises UserError for one the format cannot hold (validate refuses it first)."""
        example = json.loads(canonical)
        # Continued pre-training's text is a pair with an empty input, which no `contents` row can be.
        problem = None if self.name == INPUT_TEXT and _is_pair(example) else self.contents_problem(canonical)
        if problem is not None:
            raise UserError(f"an example cannot be written for {self.model}: {problem[0]}: {problem[1]}")
        return _dumps(self._written(example))

    def _written(self, example: dict[str, Any]) -> dict[str, Any]:
        system = [part["text"] for part in example.get("systemInstruction", {}).get("parts", ())]
        turns = [(ROLES[turn["role"]], [part["text"] for part in turn["parts"]]) for turn in example["contents"]]
        if self.name == CONVERSATION:
            written: dict[str, Any] = {"schemaVersion": CONVERSATION}
            if system:
                written["system"] = [{"text": text} for text in system]
            written["messages"] = [
                {"role": role, "content": [{"text": text} for text in texts]} for role, texts in turns
            ]
            return written
        if self.name == ANTHROPIC_MESSAGES:
            written = {"system": "".join(system)} if system else {}
            written["messages"] = [{"role": role, "content": "".join(texts)} for role, texts in turns]
            return written
        if self.name == INPUT_TEXT:
            return {"input": "".join(turns[1][1])}
        return {"prompt": "".join(turns[0][1]), "completion": "".join(turns[1][1])}


def _is_pair(example: dict[str, Any]) -> bool:
    """A text_input/output example with an empty input, as `pair_line` writes it (continued pre-training's text)."""
    turns = example["contents"]
    return len(turns) == 2 and "systemInstruction" not in example and turns[0]["parts"] == [{"text": ""}]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def example_format(entry: ModelEntry, customization: Customization) -> BedrockFormat:
    """How `entry`'s examples are written when customized this way."""
    return BedrockFormat(
        name=entry.format_for(customization),
        model=entry.name,
        multi_turn=entry.multi_turn,
        reserved_keywords=entry.reserved_keywords,
    )
