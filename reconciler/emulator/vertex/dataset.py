"""A tuning dataset read from its Cloud Storage object: the JSONL check, the
examples a tuned endpoint answers from, and `supervisedTuningDataStats`."""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass
from typing import Any

# The emulator's own tokenizer approximation (`count_tokens`): deliberately not
# the planner's characters / 4, so that a plan's estimate agreeing with what
# the emulator reports means something.
WORD_PIECE_CHARS = 6  # a run of letters and digits: one token every 6 characters
_PIECES = re.compile(r"\w+|[^\w\s]")
BATCH_SIZE = 8  # [infer] examples per step, for tuningStepCount
SHOWN_EXAMPLES = 3  # userDatasetExamples kept in the stats
SHOWN_CHARS = 500  # each shown text is cut here and ends with "..."
BUCKETS = 5


@dataclass(frozen=True)
class Line:
    system: str
    user: list[str]  # the user turns' texts
    model: list[str]  # the model turns' texts
    turns: int
    contents: list[dict[str, Any]]


def read_jsonl(data: bytes) -> list[Line] | None:
    """The examples, or None when the object is not JSONL of `{"contents": [...]}` lines."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        try:
            example = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        line = _line(example)
        if line is None:
            return None
        lines.append(line)
    return lines or None


def _line(example: Any) -> Line | None:
    """An example as Vertex AI documents it: turns alternate user, model,
    ..., the last is the model's, and every turn has text; else None."""
    if not isinstance(example, dict) or not isinstance(example.get("contents"), list) or not example["contents"]:
        return None
    user: list[str] = []
    model: list[str] = []
    expected = "user"
    for content in example["contents"]:
        if not isinstance(content, dict) or not isinstance(content.get("parts", []), list):
            return None
        if content.get("role") != expected:
            return None
        text = _text(content)
        if not text.strip():
            return None
        (model if expected == "model" else user).append(text)
        expected = "user" if expected == "model" else "model"
    if expected != "user":  # the last turn was the user's
        return None
    system = example.get("systemInstruction")
    system_text = _text(system) if isinstance(system, dict) else ""
    return Line(system_text, user, model, len(example["contents"]), example["contents"])


def _text(content: dict[str, Any]) -> str:
    parts = content.get("parts", [])
    if not isinstance(parts, list):
        return ""
    return "".join(str(part.get("text", "")) for part in parts if isinstance(part, dict))


def examples_for_inference(lines: list[Line]) -> list[list[str]]:
    """(last user turn, last model turn) pairs: what the tuned endpoint learned."""
    return [[line.user[-1] if line.user else "", line.model[-1] if line.model else ""] for line in lines]


def steps_per_epoch(lines: list[Line]) -> int:
    return max(1, math.ceil(len(lines) / BATCH_SIZE))


def tuning_data_stats(lines: list[Line], epochs: int, max_example_tokens: int = 0) -> dict[str, Any]:
    """SupervisedTuningDataStats in proto3 JSON (int64 as strings), for one pass
    over the data, with the fields a real job answer carries (the SUCCEEDED and
    FAILED job JSON in mscraftsman/generative-ai's TuningJob.cs): the example
    count, the token distributions, whose sums add up to
    `totalBillableTokenCount`, the messages per example, the first examples,
    and `tuningStepCount` (documented; the steps of every epoch). An example
    whose tokens exceed `max_example_tokens` (0: no limit, the emulator's
    truncation switch) is cut to the limit and listed in
    `truncatedExampleIndices` (one-based, in the uploaded order) with its
    reason in `droppedExampleReasons`."""
    input_tokens = [count_tokens(line.system + "".join(line.user)) for line in lines]
    output_tokens = [count_tokens("".join(line.model)) for line in lines]
    truncated: list[int] = []
    if max_example_tokens:
        for index, (given, wanted) in enumerate(zip(input_tokens, output_tokens, strict=True)):
            if given + wanted > max_example_tokens:
                truncated.append(index + 1)
                input_tokens[index] = min(given, max_example_tokens)
                output_tokens[index] = max_example_tokens - input_tokens[index]
    stats: dict[str, Any] = {
        "tuningDatasetExampleCount": str(len(lines)),
        "totalBillableTokenCount": str(sum(input_tokens) + sum(output_tokens)),
        "tuningStepCount": str(steps_per_epoch(lines) * epochs),
        "userInputTokenDistribution": _distribution(input_tokens),
        "userOutputTokenDistribution": _distribution(output_tokens),
        "userMessagePerExampleDistribution": _distribution([line.turns for line in lines]),
        "userDatasetExamples": [_shown(line) for line in lines[:SHOWN_EXAMPLES]],
    }
    if truncated:
        stats["totalTruncatedExampleCount"] = str(len(truncated))
        stats["truncatedExampleIndices"] = [str(index) for index in truncated]
        stats["droppedExampleReasons"] = [
            f"The example has more than {max_example_tokens} tokens and was truncated." for _ in truncated
        ]
    return stats


def count_tokens(text: str) -> int:
    """The emulator's tokenizer approximation: a run of letters and digits is
    one token every WORD_PIECE_CHARS characters (a started piece counts), any
    other visible character one token, whitespace none."""
    return sum(
        -(-len(piece) // WORD_PIECE_CHARS) if piece[0].isalnum() or piece[0] == "_" else 1
        for piece in _PIECES.findall(text)
    )


def _distribution(values: list[int]) -> dict[str, Any]:
    ordered = sorted(values)
    total = sum(ordered)
    low, high = ordered[0], ordered[-1]
    body: dict[str, Any] = {
        "sum": str(total),
        "min": float(low),
        "max": float(high),
        "mean": total / len(ordered),
        "median": float(statistics.median(ordered)),
        "p5": float(_percentile(ordered, 5)),
        "p95": float(_percentile(ordered, 95)),
        "buckets": _buckets(ordered, low, high),
    }
    # proto3 JSON omits zero numbers
    return {key: value for key, value in body.items() if value not in (0, 0.0, "0", [])}


def _percentile(ordered: list[int], percent: int) -> int:
    return ordered[min(len(ordered) - 1, math.floor(len(ordered) * percent / 100))]


def _buckets(ordered: list[int], low: int, high: int) -> list[dict[str, float]]:
    width = max(1.0, (high - low) / BUCKETS)
    buckets = []
    for index in range(BUCKETS):
        left = low + index * width
        right = left + width
        last = right >= high
        count = sum(1 for v in ordered if left <= v < right or (last and v == right))
        bucket = {"count": float(count), "left": left, "right": right}
        buckets.append({k: v for k, v in bucket.items() if v})
        if last:
            break
    return buckets


def _shown(line: Line) -> dict[str, Any]:
    """The first content of an example, its text cut to SHOWN_CHARS characters."""
    first = line.contents[0] if line.contents else {}
    text = _text(first) if isinstance(first, dict) else ""
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS] + "..."
    content: dict[str, Any] = {"parts": [{"text": text}]}
    role = first.get("role") if isinstance(first, dict) else None
    if isinstance(role, str) and role:
        content["role"] = role
    return content
