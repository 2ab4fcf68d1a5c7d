"""One test per file in tests/plan_cases/: desired, observed, options, and the
changes, errors and counts the plan must contain. A failure prints both sides.

Changes compare exactly: the reason, and the paths, diffs, update mask and
dependencies (empty when a case leaves them out), so a row that should not be
there fails as surely as a missing one. Errors compare their whole message and
hint where a case gives them, and notes one for one (none when a case lists none)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from plan_builders import desired_state, observed_state

from reconciler.backends.gemini import RULES
from reconciler.plan import Plan, PlanOptions, plan

CASES = sorted((Path(__file__).parents[1] / "plan_cases").glob("*.yaml"))
CHANGE_KEYS = ("paths", "diffs", "update_mask", "to_default", "depends_on")


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return case


def plan_for(case: dict[str, Any]) -> Plan:
    options = dict(case.get("options") or {})
    if "targets" in options:
        options["targets"] = frozenset(options["targets"])
    desired_entries = case.get("desired") or []
    return plan(
        desired_state(desired_entries),
        observed_state(case.get("observed") or [], desired_entries),
        RULES,
        PlanOptions(**options),
    )


def change_problems(expected: dict[str, Any], change: dict[str, Any]) -> list[str]:
    problems = []
    if change["reason"] != expected["reason"]:
        problems.append(f"reason is {change['reason']!r}, expected {expected['reason']!r}")
    for key in CHANGE_KEYS:
        if list(change[key]) != expected.get(key, []):
            problems.append(f"{key} is {list(change[key])}, expected {expected.get(key, [])}")
    for key in ("estimate", "permission"):
        for field, value in (expected.get(key) or {}).items():
            if (change[key] or {}).get(field) != value:
                problems.append(f"{key}.{field} is {(change[key] or {}).get(field)}, expected {value}")
    return problems


def changes_problems(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    wanted = [(c["action"], c["model"]) for c in expected]
    actual = [(c["action"], c["model_id"]) for c in got]
    if wanted != actual:
        return [f"changes are {actual}, expected {wanted}"]
    return [
        f"{c['action']} {c['model_id']}: {problem}"
        for e, c in zip(expected, got, strict=True)
        for problem in change_problems(e, c)
    ]


def error_problems(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    if [e["model"] for e in expected] != [g["model_id"] for g in got]:
        return [f"errors are {got}, expected {expected}"]
    return [
        f"error {g['model_id']}: {key} is {g[key]!r}, expected {e[key]!r}"
        for e, g in zip(expected, got, strict=True)
        for key in ("message", "hint")
        if key in e and e[key] != g[key]
    ]


def note_problems(expected: list[str], got: list[str]) -> list[str]:
    """One expected fragment per note, in order: a note that should not be there fails."""
    if len(expected) != len(got) or any(e not in g for e, g in zip(expected, got, strict=True)):
        return [f"notes are {got}, expected one each containing {expected}"]
    return []


def plan_problems(expect: dict[str, Any], result: Plan) -> list[str]:
    data = result.model_dump(mode="json")
    problems = changes_problems(expect.get("changes", []), data["changes"])
    problems += error_problems(expect.get("errors", []), data["errors"])
    problems += [f"blocked: {p}" for p in error_problems(expect.get("blocked", []), data["blocked"])]
    for key in ("unmanaged_count", "would_delete", "would_forget"):
        if key in expect and data[key] != expect[key]:
            problems.append(f"{key} is {data[key]}, expected {expect[key]}")
    problems += note_problems(expect.get("notes", []), data["notes"])
    if "has_changes" in expect and result.has_changes != expect["has_changes"]:
        problems.append(f"has_changes is {result.has_changes}")
    if "totals" in expect and data["totals"] != {**data["totals"], **expect["totals"]}:
        problems.append(f"totals are {data['totals']}, expected {expect['totals']}")
    return problems


def both_sides(case: dict[str, Any], result: Plan) -> str:
    sides = {key: case.get(key) for key in ("options", "desired", "observed")}
    got = result.model_dump(
        mode="json", include={"changes", "errors", "blocked", "notes", "would_delete", "would_forget"}
    )
    return (
        "\n--- case input ---\n"
        + yaml.safe_dump(sides, sort_keys=False)
        + "--- plan ---\n"
        + yaml.safe_dump(got, sort_keys=False)
    )


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_plan_case(path: Path) -> None:
    case = load_case(path)
    result = plan_for(case)
    problems = plan_problems(case["expect"], result)
    assert not problems, "\n".join(problems) + both_sides(case, result)
