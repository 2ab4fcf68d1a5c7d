"""The plan for machines: the saved-plan form plus derived keys (see
docs/plan-json.md). `Plan.from_file` reads this output back."""

from __future__ import annotations

import io
import json
from typing import Any

from reconciler.plan.types import Plan
from reconciler.render.common import summary_line


def plan_document(plan: Plan) -> dict[str, Any]:
    document = plan.model_dump(mode="json")
    document["summary"] = {
        "line": summary_line(plan),
        "counts": {action.value: count for action, count in sorted(plan.summary.counts.items())},
    }
    document["has_changes"] = plan.has_changes
    document["has_errors"] = plan.has_errors
    document["in_sync"] = plan.in_sync
    return document


def render_json(plan: Plan) -> str:
    # json.dumps(indent=2) joins a list of every chunk the (pure Python) indenting
    # encoder yields: for 10,000 changes, millions of small strings at once.
    # Written to a buffer as they come, the text is the same.
    text = io.StringIO()
    for chunk in _ENCODER.iterencode(plan_document(plan)):
        text.write(chunk)
    text.write("\n")
    return text.getvalue()


_ENCODER = json.JSONEncoder(indent=2, ensure_ascii=False)
