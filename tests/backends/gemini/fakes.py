"""An in-memory Gemini API client for the Gemini backend's tests: tuned models
and permissions in the API's own shapes, runs that finish at once (or never, or
fail), and a way to load desired models from generated manifests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconciler.backends.gemini import GeminiBackend
from reconciler.client.errors import AlreadyExists, NotFound
from reconciler.model.desired import Desired
from tests.integration.helpers_apply import load_repo, write_repo


def desired_for(root: Path, documents: list[dict[str, Any]], **settings: Any) -> Desired:
    return load_repo(write_repo(root, documents, **settings))


def gemini_backend(client: Any) -> GeminiBackend:
    """The backend over a stand-in client (duck-typed: not a GeminiClient)."""
    return GeminiBackend(client)


class FakeClient:
    """Tuned models in a dict; every call is recorded as (method, model id)."""

    def __init__(self, *, running: bool = False, failing: frozenset[str] = frozenset()) -> None:
        self.models: dict[str, dict[str, Any]] = {}
        self.permissions: dict[str, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, str]] = []
        self.running = running  # True: runs never finish
        self.failing = failing  # ids whose runs end FAILED

    def create_tuned_model(self, body: dict[str, Any], tuned_model_id: str | None = None) -> dict[str, Any]:
        model_id = tuned_model_id or "generated"
        self.calls.append(("create", model_id))
        if model_id in self.models:
            raise AlreadyExists(f"tunedModels/{model_id} already exists", http_status=409)
        snapshots = [{"step": n, "epoch": 1, "meanLoss": 1.0 / n} for n in (1, 2, 3)]
        state = "CREATING" if self.running else "FAILED" if model_id in self.failing else "ACTIVE"
        self.models[model_id] = {
            **body,
            "name": f"tunedModels/{model_id}",
            "state": state,
            "tuningTask": {"hyperparameters": body["tuningTask"]["hyperparameters"], "snapshots": snapshots},
        }
        metadata = {"totalSteps": 3, "snapshots": snapshots}
        return {"name": f"tunedModels/{model_id}/operations/op", "metadata": metadata}

    def list_tuned_models(self) -> list[dict[str, Any]]:
        return list(self.models.values())

    def tuned_model_pages(self, fields: str | None = None) -> Iterator[list[dict[str, Any]]]:
        # Ignores `fields`, as a server may: decoding must keep only what is needed.
        yield list(self.models.values())

    def get_base_model(self, name: str) -> dict[str, Any]:
        # Reports no generation defaults, so undeclared fields are left alone here.
        return {"name": name}

    def list_base_models(self) -> list[dict[str, Any]]:
        return []

    def get_operation(self, name: str, fields: str | None = None) -> dict[str, Any]:
        model_id = name.split("/")[1]
        self.calls.append(("get_operation", model_id))
        state = self.models[model_id]["state"]
        operation: dict[str, Any] = {"name": name, "metadata": {"totalSteps": 3}}
        if state == "FAILED":
            return {**operation, "done": True, "error": {"code": 13, "message": "Tuning failed at step 1 of 3."}}
        return {**operation, "done": True} if state == "ACTIVE" else operation

    def get_tuned_model(self, name: str, fields: str | None = None) -> dict[str, Any]:
        model_id = name.removeprefix("tunedModels/")
        self.calls.append(("get", model_id))
        if model_id not in self.models:
            raise NotFound(f"tunedModels/{model_id} does not exist", http_status=404)
        return self.models[model_id]

    def update_tuned_model(self, name: str, body: dict[str, Any], update_mask: list[str]) -> dict[str, Any]:
        self.calls.append(("update", name))
        self.models[name].update({key: body[key] for key in update_mask if key in body})
        return self.models[name]

    def delete_tuned_model(self, name: str) -> None:
        self.calls.append(("delete", name))
        if self.models.pop(name, None) is None:
            raise NotFound(f"tunedModels/{name} does not exist", http_status=404)

    def list_permissions(self, name: str) -> list[dict[str, Any]]:
        return self.permissions.get(name, [])

    def create_permission(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("grant", name))
        granted = self.permissions.setdefault(name, [])
        if any(p["emailAddress"] == body.get("emailAddress") for p in granted):
            raise AlreadyExists("A permission for this grantee already exists", http_status=409)
        granted.append({**body, "name": f"tunedModels/{name}/permissions/p{len(granted)}"})
        return granted[-1]

    def update_permission(self, name: str, role: str) -> dict[str, Any]:
        self.calls.append(("update_permission", name))
        model_id = name.split("/")[1]
        for permission in self.permissions[model_id]:
            if permission["name"] == name:
                permission["role"] = role
        return {}

    def delete_permission(self, name: str) -> None:
        self.calls.append(("revoke", name))

    def generate_content(self, model: str, text: str) -> dict[str, Any]:
        return {"candidates": [{"content": {"parts": [{"text": str(int(text) + 1)}]}}]}

    def generate_text(self, model: str, text: str) -> dict[str, Any]:
        return {"candidates": [{"output": str(int(text) + 1)}]}
