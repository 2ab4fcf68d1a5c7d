"""The Gemini API's answers decode into the neutral live state the plan cases
are written in (tests/plan_cases/, read by tests/plan/plan_builders.py): for
every live model of every case, the tuned model the API would return for it
(its description trailer written by the marker and bound to its createTime,
its hyperparameters and snapshots under tuningTask, its grants as permissions)
decodes to that live model, so the cases hold for the Gemini backend as well as
for its rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.backends.gemini import RULES
from reconciler.backends.gemini.live import live_model, live_permission
from reconciler.backends.gemini.trailer import UNKEYED
from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel
from tests.plan.plan_builders import BASE_MODEL, made_from, observed_state

CASES = sorted((Path(__file__).parents[2] / "plan_cases").glob("*.yaml"))
SCENARIOS = sorted((Path(__file__).parents[2] / "golden").glob("*.scenario.yaml"))


class CaseLoader(yaml.SafeLoader):
    """The case files' YAML; a `!per-backend` expectation is read as a mapping (only the inputs matter here)."""


CaseLoader.add_constructor("!per-backend", lambda loader, node: loader.construct_mapping(node, deep=True))
GENERATION = {
    "spec.generation.temperature": "temperature",
    "spec.generation.topP": "topP",
    "spec.generation.topK": "topK",
}


def description(item: dict[str, Any], live: LiveModel, model: DesiredModel | None) -> str:
    """The description the API holds: the user part and, for a model the
    reconciler made, the trailer it wrote (legacy: from before check values;
    not trusted: copied from another model)."""
    user_part = live.fields.get("spec.description") or ""
    if model is None:
        return user_part
    name, created = live.address, live.create_time
    if "ownership_note" in item and not item.get("legacy"):
        copied = UNKEYED.description(model, "tunedModels/another-model", created=created)
        return user_part + "\n\n" + copied.rpartition("\n\n")[2] if user_part else copied
    assert user_part == model.manifest.spec.description, "a managed model's description is its manifest's"
    written = UNKEYED.description(model, name, untested=bool(item.get("untested")), created=created)
    if item.get("legacy"):  # neither a check value nor a createTime, as before check values
        return re.sub(r"( at=\S+)? chk=[0-9a-f]{16}\]\Z", "]", written)
    return written


def api_body(item: dict[str, Any], live: LiveModel, model: DesiredModel | None) -> dict[str, Any]:
    """The tuned model as the Gemini API returns it (proto3 JSON: defaults omitted)."""
    body: dict[str, Any] = {
        "name": live.address,
        "state": live.state.value,
        "description": description(item, live, model),
        **{GENERATION[path]: value for path, value in live.fields.items() if path in GENERATION and value is not None},
    }
    if live.fields.get("spec.displayName"):
        body["displayName"] = live.fields["spec.displayName"]
    if live.source_key:
        body["tunedModelSource"] = {"tunedModel": live.source, "baseModel": live.base_model or BASE_MODEL}
    elif live.source:
        body["baseModel"] = live.source
    task: dict[str, Any] = {"hyperparameters": live.hyperparameters} if live.hyperparameters else {}
    if live.step or live.losses:
        task["snapshots"] = [{"step": live.step, **({"meanLoss": live.losses[-1]} if live.losses else {})}]
    if task:
        body["tuningTask"] = task
    if live.create_time:
        body["createTime"] = live.create_time
    if live.update_time:
        body["updateTime"] = live.update_time
    return body


def comparable(live: LiveModel, *, noted: bool) -> dict[str, Any]:
    """What the decode must give: fields the API did not return are None or
    absent alike; the base model's defaults are read apart (test_defaults.py);
    a note is the backend's own words, so only its presence is compared."""
    dumped = live.model_dump(exclude={"defaults"})
    dumped["fields"] = {path: value for path, value in dumped["fields"].items() if value is not None}
    if noted:
        assert dumped["ownership_note"], "an untrusted marker says why"
        dumped["ownership_note"] = "noted"
    return dumped


@pytest.mark.parametrize("path", [*CASES, *SCENARIOS], ids=lambda p: p.name.removesuffix(".yaml"))
def test_every_live_model_of_the_plan_cases_is_what_the_api_answer_decodes_to(path: Path) -> None:
    case = yaml.load(path.read_text(encoding="utf-8"), Loader=CaseLoader)
    desired = case.get("desired") or []
    items = case.get("observed") or []
    observed = observed_state(items, desired, RULES)
    by_id = {entry["id"]: entry for entry in desired}
    for item, neutral in zip(items, observed.models, strict=True):
        if (neutral.customization, neutral.teacher_model) != ("fineTuning", None):
            continue  # the Gemini API only fine-tunes: no answer of it holds another customization
        body = api_body(item, neutral, made_from(item, by_id))
        noted = "ownership_note" in item
        assert comparable(live_model(body), noted=noted) == comparable(neutral, noted=noted), body
        answered = [
            live_permission(api_grant(neutral, n, grant)) for n, grant in enumerate(item.get("permissions", []))
        ]
        wanted = observed.permissions.get(neutral.key, ())
        assert [(p.role, p.grantee) for p in answered] == [(p.role, p.grantee) for p in wanted]


def api_grant(live: LiveModel, index: int, grant: dict[str, str]) -> dict[str, str]:
    """A permission as the API returns it (camelCase; no email for EVERYONE)."""
    body = {"name": f"{live.address}/permissions/p{index}", "role": grant["role"], "granteeType": grant["grantee_type"]}
    if grant.get("email_address"):
        body["emailAddress"] = grant["email_address"]
    return body
