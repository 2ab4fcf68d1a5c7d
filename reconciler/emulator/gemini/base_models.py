"""The base models: list and get, from the catalog."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.errors import not_found
from reconciler.emulator.gemini.catalog import BASE_MODELS, find_base_model
from reconciler.emulator.paging import encode_token, page_request


class BaseModelService:
    def list_base_models(self, call: Call) -> Reply:
        page = page_request(call.query, default_size=50, max_size=1000)
        chosen = BASE_MODELS[page.position : page.position + page.size]
        body: dict[str, Any] = {"models": [model.to_json(call.version) for model in chosen]}
        if page.position + page.size < len(BASE_MODELS):
            body["nextPageToken"] = encode_token(page.position + page.size, page.filter)
        return 200, body

    def get_base_model(self, call: Call, base_id: str) -> Reply:
        model = find_base_model(f"models/{base_id}")
        if model is None:
            raise not_found(
                f"models/{base_id[:200]} is not found for API version {call.version}, or is not supported for getModel."
            )
        return 200, model.to_json(call.version)
