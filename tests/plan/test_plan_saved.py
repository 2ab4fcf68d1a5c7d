"""Saved plans: written and read back exactly, and refused once stale."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from plan_builders import desired_state, observed_state

from reconciler.backends import gemini, vertex
from reconciler.model.errors import UserError
from reconciler.model.live import LivePermission, Observed
from reconciler.plan import (
    Plan,
    PlanOptions,
    compare_saved,
    load_plan,
    observed_digest,
    plan,
    save_plan,
)
from reconciler.plan.rules import PlanRules
from reconciler.render import render_json

# A saved plan knows no backend: each test runs under every built-in backend's rules.
RULES = (gemini.RULES, vertex.RULES)
DESIRED: list[dict[str, Any]] = [{"id": "a", "spec": {"displayName": "A"}}, {"id": "b"}]
LIVE: list[dict[str, Any]] = [
    {"created_from": {"id": "a", "spec": {"displayName": "Old"}}},
    {"created_from": "b", "permissions": []},
]


@pytest.fixture(params=RULES, ids=lambda rules: rules.backend)
def rules(request: pytest.FixtureRequest) -> PlanRules:
    given: PlanRules = request.param
    return given


def observed(rules: PlanRules, items: list[dict[str, Any]] | None = None) -> Observed:
    return observed_state(LIVE if items is None else items, DESIRED, rules)


def saved_plan(rules: PlanRules) -> Plan:
    options = PlanOptions(prune=True, targets=frozenset({"a", "b"}))
    return plan(desired_state(DESIRED), observed(rules), rules, options)


def test_a_saved_plan_reads_back_equal(tmp_path: Path, rules: PlanRules) -> None:
    original = saved_plan(rules)
    save_plan(original, tmp_path / "plan.json")
    assert load_plan(tmp_path / "plan.json") == original


def test_the_json_output_is_also_a_saved_plan(tmp_path: Path, rules: PlanRules) -> None:
    original = saved_plan(rules)
    (tmp_path / "plan.json").write_text(render_json(original))
    assert Plan.from_file(tmp_path / "plan.json") == original


def test_serialization_is_deterministic(rules: PlanRules) -> None:
    assert saved_plan(rules).model_dump_json() == saved_plan(rules).model_dump_json()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read the saved plan"),
        ("[]", "a saved plan is a JSON object"),
        ('{"format_version": "2.0"}', "format_version 2.0 is not readable"),
        ('{"format_version": "1.0", "changes": [{"action": "explode"}]}', "not a valid saved plan: changes.0"),
    ],
)
def test_a_bad_plan_file_is_a_user_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message) as caught:
        load_plan(path)
    assert str(path) in str(caught.value)


def test_a_fresh_plan_has_no_differences(rules: PlanRules) -> None:
    assert compare_saved(saved_plan(rules), desired_state(DESIRED), observed(rules), rules.address) == []


def test_changed_manifests_are_reported(rules: PlanRules) -> None:
    changed = desired_state(DESIRED, digest="sha256:new")
    differences = compare_saved(saved_plan(rules), changed, observed(rules), rules.address)
    assert differences == ["manifests or datasets changed since the plan was made"]


def test_a_changed_live_model_is_named_with_its_update_time(rules: PlanRules) -> None:
    items = [{**LIVE[0], "fields": {"spec.displayName": "Edited"}, "update_time": "2024-07-01T00:00:00Z"}, LIVE[1]]
    assert compare_saved(saved_plan(rules), desired_state(DESIRED), observed(rules, items), rules.address) == [
        f"live model {rules.address('a')} changed (updateTime 2024-05-01T10:00:00.123456Z -> 2024-07-01T00:00:00Z)"
    ]


def test_appeared_and_disappeared_models_are_named(rules: PlanRules) -> None:
    items = [LIVE[1], {"key": "c"}]
    assert compare_saved(saved_plan(rules), desired_state(DESIRED), observed(rules, items), rules.address) == [
        f"live model {rules.address('a')} disappeared",
        f"live model {rules.address('c')} appeared",
    ]


def test_changed_permissions_are_named(rules: PlanRules) -> None:
    current = observed(rules)
    grant = LivePermission(name="b/grants/x", role="READER", grantee_type="EVERYONE")
    changed = current.model_copy(update={"permissions": {"b": (grant,)}})
    assert compare_saved(saved_plan(rules), desired_state(DESIRED), changed, rules.address) == [
        f"the permissions of live model {rules.address('b')} changed"
    ]


def test_tuning_progress_does_not_make_a_plan_stale(rules: PlanRules) -> None:
    items = [LIVE[0], {**LIVE[1], "step": 3, "losses": [0.5]}]
    assert observed_digest(observed(rules, items)) == observed_digest(observed(rules))


def test_the_observed_digest_is_the_hash_of_the_entries_as_one_json_list(rules: PlanRules) -> None:
    """Plans saved before keep comparing: the digest, hashed one entry at a time,
    is still that of the whole list's canonical JSON, and no permissions hash as []."""
    entries = saved_plan(rules).observed_models
    whole = json.dumps([e.model_dump(mode="json") for e in entries], sort_keys=True, separators=(",", ":"))
    assert len(entries) == 2
    assert observed_digest(observed(rules)) == "sha256:" + hashlib.sha256(whole.encode()).hexdigest()
    assert {e.permissions_digest for e in entries} == {"sha256:" + hashlib.sha256(b"[]").hexdigest()}
