"""Saved plans: written and read back exactly, and refused once stale."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from plan_builders import desired_state, observed_state

from reconciler.backends.gemini import RULES
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
from reconciler.render import render_json

DESIRED: list[dict[str, Any]] = [{"id": "a", "spec": {"displayName": "A"}}, {"id": "b"}]
LIVE: list[dict[str, Any]] = [
    {"created_from": {"id": "a", "spec": {"displayName": "Old"}}},
    {"created_from": "b", "permissions": []},
]


def observed(items: list[dict[str, Any]] | None = None) -> Observed:
    return observed_state(LIVE if items is None else items, DESIRED)


def saved_plan() -> Plan:
    options = PlanOptions(prune=True, targets=frozenset({"a", "b"}))
    return plan(desired_state(DESIRED), observed(), RULES, options)


def test_a_saved_plan_reads_back_equal(tmp_path: Path) -> None:
    original = saved_plan()
    save_plan(original, tmp_path / "plan.json")
    assert load_plan(tmp_path / "plan.json") == original


def test_the_json_output_is_also_a_saved_plan(tmp_path: Path) -> None:
    original = saved_plan()
    (tmp_path / "plan.json").write_text(render_json(original))
    assert Plan.from_file(tmp_path / "plan.json") == original


def test_serialization_is_deterministic() -> None:
    assert saved_plan().model_dump_json() == saved_plan().model_dump_json()


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


def test_a_fresh_plan_has_no_differences() -> None:
    assert compare_saved(saved_plan(), desired_state(DESIRED), observed(), RULES.address) == []


def test_changed_manifests_are_reported() -> None:
    changed = desired_state(DESIRED, digest="sha256:new")
    differences = compare_saved(saved_plan(), changed, observed(), RULES.address)
    assert differences == ["manifests or datasets changed since the plan was made"]


def test_a_changed_live_model_is_named_with_its_update_time() -> None:
    items = [{**LIVE[0], "body": {"displayName": "Edited", "updateTime": "2024-07-01T00:00:00Z"}}, LIVE[1]]
    assert compare_saved(saved_plan(), desired_state(DESIRED), observed(items), RULES.address) == [
        "live model tunedModels/a changed (updateTime 2024-05-01T10:00:00.123456Z -> 2024-07-01T00:00:00Z)"
    ]


def test_appeared_and_disappeared_models_are_named() -> None:
    items = [LIVE[1], {"body": {"name": "tunedModels/c"}}]
    assert compare_saved(saved_plan(), desired_state(DESIRED), observed(items), RULES.address) == [
        "live model tunedModels/a disappeared",
        "live model tunedModels/c appeared",
    ]


def test_changed_permissions_are_named() -> None:
    current = observed()
    grant = LivePermission(name="tunedModels/b/permissions/x", role="READER", grantee_type="EVERYONE")
    changed = current.model_copy(update={"permissions": {"b": (grant,)}})
    assert compare_saved(saved_plan(), desired_state(DESIRED), changed, RULES.address) == [
        "the permissions of live model tunedModels/b changed"
    ]


def test_tuning_progress_does_not_make_a_plan_stale() -> None:
    items = [LIVE[0], {**LIVE[1], "body": {"tuningTask": {"snapshots": [{"step": 3}]}}}]
    assert observed_digest(observed(items)) == observed_digest(observed())


def test_the_observed_digest_is_the_hash_of_the_entries_as_one_json_list() -> None:
    """Plans saved before keep comparing: the digest, hashed one entry at a time,
    is still that of the whole list's canonical JSON, and no permissions hash as []."""
    entries = saved_plan().observed_models
    whole = json.dumps([e.model_dump(mode="json") for e in entries], sort_keys=True, separators=(",", ":"))
    assert len(entries) == 2
    assert observed_digest(observed()) == "sha256:" + hashlib.sha256(whole.encode()).hexdigest()
    assert {e.permissions_digest for e in entries} == {"sha256:" + hashlib.sha256(b"[]").hexdigest()}
