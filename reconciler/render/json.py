"""The plan for machines: the saved-plan form plus derived keys (see
docs/plan-json.md). `Plan.from_file` reads this output back."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel

from reconciler.plan.types import Plan
from reconciler.render.common import summary_line

# The plan's lists with an entry a model: rendered one entry at a time.
_PER_MODEL = ("changes", "observed_models")
_INDENT = "  "


def plan_document(plan: Plan) -> dict[str, Any]:
    document = plan.model_dump(mode="json")
    document.update(_derived(plan))
    return document


def _derived(plan: Plan) -> dict[str, Any]:
    return {
        "summary": {
            "line": summary_line(plan),
            "counts": {action.value: count for action, count in sorted(plan.summary.counts.items())},
        },
        "has_changes": plan.has_changes,
        "has_errors": plan.has_errors,
        "in_sync": plan.in_sync,
    }


def render_json(plan: Plan) -> str:
    return "".join(json_chunks(plan))


def json_chunks(plan: Plan) -> Iterator[str]:
    """The text of `render_json` (`json.dumps(plan_document(plan), indent=2)`
    and a newline), in pieces. For 10,000 models the document as one dict and
    its text at once were most of a plan's peak memory: here each change and
    each observed model is dumped and encoded on its own, as it is written."""
    head = plan.model_dump(mode="json", exclude=set(_PER_MODEL))
    names = [name for name in type(plan).model_fields if name in head or name in _PER_MODEL]
    document = {name: getattr(plan, name) if name in _PER_MODEL else head[name] for name in names}
    document.update(_derived(plan))
    yield "{"
    for index, (key, value) in enumerate(document.items()):
        yield f"{',' if index else ''}\n{_INDENT}{_ENCODER.encode(key)}: "
        if key in _PER_MODEL:
            yield from _entries(value)
        else:
            yield _indented(_ENCODER.encode(value), 1)
    yield "\n}\n"


def _entries(values: Sequence[BaseModel]) -> Iterator[str]:
    """A list at the document's first level, one entry encoded at a time."""
    if not values:
        yield "[]"
        return
    yield "["
    for index, value in enumerate(values):
        text = _ENCODER.encode(value.model_dump(mode="json"))
        yield f"{',' if index else ''}\n{_INDENT * 2}{_indented(text, 2)}"
    yield f"\n{_INDENT}]"


def _indented(text: str, level: int) -> str:
    """JSON encoded at the top level, moved `level` levels in. Its only line
    breaks are the encoder's own: a string's are escaped."""
    return text.replace("\n", "\n" + _INDENT * level)


_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False)
