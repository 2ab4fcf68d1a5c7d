"""The renderings of two scenario plans, compared with tests/golden/*.

Refresh with `pytest tests/plan --update-golden` and review the diff.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

import pytest
from test_plan_cases import RULES, load_case, plan_for

from reconciler.plan import Plan
from reconciler.render import render_json, render_markdown, render_text

GOLDEN = Path(__file__).parents[1] / "golden"
SCENARIOS = ("full", "no-changes")
RENDERERS: dict[str, Callable[[Plan], str]] = {
    "txt": render_text,
    "colour.txt": lambda plan: render_text(plan, colour=True),
    "md": render_markdown,
    "json": render_json,
}


# The renderers know no backend; a scenario is planned under one backend's rules
# (the Gemini API's), whose renderings docs/plan-json.md cites.
SCENARIO_BACKEND = "gemini"


def scenario_plan(name: str) -> Plan:
    return plan_for(load_case(GOLDEN / f"{name}.scenario.yaml"), RULES[SCENARIO_BACKEND])


@pytest.mark.parametrize("suffix", RENDERERS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendering_matches_golden(scenario: str, suffix: str, update_golden: bool) -> None:
    compare(RENDERERS[suffix](scenario_plan(scenario)), f"{scenario}.{suffix}", update_golden)


def compare(rendered: str, name: str, update_golden: bool) -> None:
    """`rendered` against tests/golden/NAME (or, with --update-golden, written there)."""
    golden = GOLDEN / name
    if update_golden:
        golden.write_text(rendered, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8") if golden.exists() else ""
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            fromfile=str(golden),
            tofile="rendered",
        )
    )
    assert rendered == expected, f"output differs from {golden.name}:\n{diff}"
