"""One test per file in tests/plan_cases/, under the rules of every built-in
backend: desired, observed, options, and the changes, errors and counts the
plan must contain. A failure prints both sides.

The observed side is neutral live state (tests/plan/plan_builders.py says how
an entry reads), so one case runs unchanged under each backend's `PlanRules`.
An expectation is shared by every backend except where their rules plan
otherwise: there a `!per-backend {gemini: ..., vertex: ...}` value gives each
backend's own, and only there (a per-backend value whose entries agree fails).
`<id>` in an expected text is the address the rules give that model
(`tunedModels/id` under Gemini's rules, `vertex/id` under Vertex AI's).

Changes compare exactly: the reason, and the paths, diffs, update mask and
dependencies (empty when a case leaves them out), so a row that should not be
there fails as surely as a missing one. Errors compare their whole message and
hint where a case gives them, and notes one for one (none when a case lists none)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from plan_builders import desired_state, observed_state

from reconciler.backends import gemini, vertex
from reconciler.plan import Plan, PlanOptions, plan
from reconciler.plan.rules import PlanRules

# Every built-in backend's rules, by its name in reconciler.yaml.
RULES: dict[str, PlanRules] = {"gemini": gemini.RULES, "vertex": vertex.RULES}
CASES = sorted((Path(__file__).parents[1] / "plan_cases").glob("*.yaml"))
CHANGE_KEYS = ("paths", "diffs", "update_mask", "to_default", "depends_on")
ADDRESS = re.compile(r"<([a-z0-9][a-z0-9-]*)>")


class PerBackend(dict[str, Any]):
    """An expected value the backends' rules plan differently: one entry each."""


class CaseLoader(yaml.SafeLoader):
    """YAML as yaml.safe_load reads it, plus the `!per-backend` mapping."""


def _per_backend(loader: yaml.SafeLoader, node: yaml.MappingNode) -> PerBackend:
    return PerBackend(loader.construct_mapping(node, deep=True))


CaseLoader.add_constructor("!per-backend", _per_backend)


def load_case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=CaseLoader)
    return case


def for_backend(value: Any, backend: str) -> Any:
    """The expectation as it reads under one backend's rules: its entry of every
    per-backend value, and `<id>` as the address its rules give that model."""
    if isinstance(value, PerBackend):
        assert set(value) == set(RULES), f"a per-backend value names {sorted(value)}, not each of {sorted(RULES)}"
        return for_backend(value[backend], backend)
    if isinstance(value, str):
        return ADDRESS.sub(lambda match: RULES[backend].address(match[1]), value)
    if isinstance(value, list):
        return [for_backend(item, backend) for item in value]
    if isinstance(value, dict):
        return {key: for_backend(item, backend) for key, item in value.items()}
    return value


def per_backend_values(value: Any) -> Iterator[PerBackend]:
    if isinstance(value, PerBackend):
        yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from per_backend_values(child)


def plan_for(case: dict[str, Any], rules: PlanRules) -> Plan:
    options = dict(case.get("options") or {})
    if "targets" in options:
        options["targets"] = frozenset(options["targets"])
    desired_entries = case.get("desired") or []
    return plan(
        desired_state(desired_entries),
        observed_state(case.get("observed") or [], desired_entries, rules),
        rules,
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


@pytest.mark.parametrize("backend", RULES)
@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_plan_case(path: Path, backend: str) -> None:
    case = load_case(path)
    result = plan_for(case, RULES[backend])
    problems = plan_problems(for_backend(case["expect"], backend), result)
    assert not problems, "\n".join(problems) + both_sides(case, result)


def test_a_per_backend_value_is_one_the_backends_differ_on() -> None:
    """Shared where the backends agree: a per-backend value whose entries are
    equal is written once."""
    values = [(path.name, value) for path in CASES for value in per_backend_values(load_case(path)["expect"])]
    same = [
        f"{name}: {dict(value)}"
        for name, value in values
        if all(for_backend(value, backend) == for_backend(value, next(iter(RULES))) for backend in RULES)
    ]
    assert values, "no case has a per-backend value to check"
    assert same == []
