"""The Gemini backend reads each base model's generation defaults once per
observe, puts them in the neutral live state, and sends them when an update
takes a removed field back to its default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.backends.gemini import RULES
from reconciler.backends.gemini.requests import create_body
from reconciler.client.errors import NotFound
from reconciler.plan import PlanOptions, plan
from reconciler.plan.types import Action
from tests.backends.gemini.fakes import FakeClient, desired_for, gemini_backend
from tests.integration.helpers_apply import BASE_MODEL, manifest

RETIRED = "models/a-retired-base-model"


DEFAULTS = {"temperature": 1.0, "topP": 0.95, "topK": 64}


class BaseModels(FakeClient):
    """FakeClient whose base models report defaults, which a create fills in as
    the server does; a retired base model is gone."""

    def create_tuned_model(self, body: dict[str, Any], tuned_model_id: str | None = None) -> dict[str, Any]:
        return super().create_tuned_model({**DEFAULTS, **body}, tuned_model_id)

    def get_base_model(self, name: str) -> dict[str, Any]:
        self.calls.append(("get_base_model", name))
        if name == RETIRED:
            raise NotFound(f"{name} is not found", http_status=404)
        return {"name": name, **DEFAULTS}

    def list_base_models(self) -> list[dict[str, Any]]:
        self.calls.append(("list_base_models", ""))
        return [{"name": BASE_MODEL, **DEFAULTS}, {"name": "models/another-base-model", **DEFAULTS}]


def without_generation(model_id: str, base_model: str = BASE_MODEL) -> dict[str, Any]:
    document = manifest(model_id)
    del document["spec"]["generation"]
    document["spec"]["baseModel"] = base_model
    return document


def test_observe_lists_the_base_models_once_and_plans_removed_fields_back(tmp_path: Path) -> None:
    client = BaseModels()
    before = desired_for(tmp_path / "before", [manifest("alpha", temperature=0.6), manifest("beta")])
    for model in before.models:
        client.create_tuned_model(create_body(model), tuned_model_id=model.id)
    after = desired_for(tmp_path / "after", [without_generation("alpha"), manifest("beta")])
    backend = gemini_backend(client)

    observed = backend.observe(after)

    assert [call for call in client.calls if "base_model" in call[0]] == [("list_base_models", "")]
    alpha = observed.by_id()["alpha"]
    assert alpha.defaults == {
        "spec.generation.temperature": 1.0,
        "spec.generation.topP": 0.95,
        "spec.generation.topK": 64,
    }
    (change,) = [c for c in plan(after, observed, RULES, PlanOptions()).changes if c.model_id == "alpha"]
    assert (change.action, change.update_mask, change.to_default) == (
        Action.UPDATE,
        ("temperature",),
        ("spec.generation.temperature",),
    )

    backend.update(after.by_id()["alpha"], change.update_mask)
    assert client.models["alpha"]["temperature"] == 1.0  # sent explicitly, not left to the server


def test_a_base_model_the_api_no_longer_has_leaves_undeclared_fields_alone(tmp_path: Path) -> None:
    client = BaseModels()
    created = manifest("alpha", temperature=0.6)
    created["spec"]["baseModel"] = RETIRED
    desired = desired_for(tmp_path, [created])
    client.create_tuned_model(create_body(desired.models[0]), tuned_model_id="alpha")
    edited = desired_for(tmp_path / "edited", [without_generation("alpha", RETIRED)])

    observed = gemini_backend(client).observe(edited)

    assert observed.by_id()["alpha"].defaults == {}
    (change,) = plan(edited, observed, RULES, PlanOptions()).changes
    assert change.action is Action.NOOP
