"""The JSON plan written in pieces is the same text as the document dumped at once.

`json_chunks` encodes each change and observed model on its own (a large
plan's document and text are never whole in memory); its joined text must be
`json.dumps(plan_document(plan), indent=2)` byte for byte, for every plan case
under every backend's rules.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_plan_cases import CASES, RULES, load_case, plan_for

from reconciler.plan import Plan
from reconciler.plan.types import Change, FieldDiff, ObservedModel
from reconciler.render.json import json_chunks, plan_document, render_json

GOLDEN = Path(__file__).parents[1] / "golden"


def dumped_at_once(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("backend", RULES)
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_every_plan_case_renders_as_one_document(path: Path, backend: str) -> None:
    plan = plan_for(load_case(path), RULES[backend])
    assert "".join(json_chunks(plan)) == dumped_at_once(plan)


def test_nested_values_and_other_scripts_keep_their_layout() -> None:
    diff = FieldDiff(path="spec.description", before={"a": [1, {"b": "x\ny"}]}, after="naïve ✓\n::error::")
    plan = Plan(
        changes=(Change(action="update", model_id="m", reason="é", diffs=(diff,), paths=("spec.description",)),),
        observed_models=(ObservedModel(model_id="m", update_time="t", model_digest="d", permissions_digest="p"),),
        notes=("one", "two"),
    )
    assert render_json(plan) == dumped_at_once(plan)


def test_an_empty_plan_renders_its_empty_lists() -> None:
    assert render_json(Plan()) == dumped_at_once(Plan())
    assert '"changes": []' in render_json(Plan())


def test_the_chunks_are_small() -> None:
    """No piece holds the whole list: each is at most one entry."""
    plan = Plan.from_file(GOLDEN / "full.json")
    chunks = list(json_chunks(plan))
    assert len(plan.changes) > 1
    assert max(len(chunk) for chunk in chunks) < len(render_json(plan)) // 2
