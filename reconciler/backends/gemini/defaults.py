"""The base models' generation defaults: what a field a manifest leaves out
goes back to.

A tuned model starts with its base model's temperature, topP and topK; the API
reports them on the base model. Observe reads them for the managed models'
base models with one list of base models (so a plan makes list calls only, one
page for every base model there is), so the planner can plan a removed
`generation` line back to its default, and an update can send that value. A
base model outside the list (retired) has none: an undeclared field is left
alone. Outside an observe, one base model is read with a GET.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from reconciler.backends.gemini.client import GeminiClient
from reconciler.client.errors import NotFound

# The base model's key for each mutable generation field, by manifest path.
GENERATION_KEYS = {
    "spec.generation.temperature": "temperature",
    "spec.generation.topP": "topP",
    "spec.generation.topK": "topK",
}


def defaults_of(base_body: dict[str, Any]) -> dict[str, Any]:
    """A base model's generation defaults by manifest path (those it reports)."""
    return {path: base_body[key] for path, key in GENERATION_KEYS.items() if base_body.get(key) is not None}


class BaseModelDefaults:
    """Each base model read at most once per backend (one observe and its apply)."""

    def __init__(self, client: GeminiClient) -> None:
        self.client = client
        self._known: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def read(self, base_models: Iterable[str]) -> None:
        """Know the defaults of every one of `base_models`, with one list of base models."""
        with self._lock:
            missing = {b for b in base_models if b} - set(self._known)
        if not missing:
            return
        listed = {body.get("name", ""): defaults_of(body) for body in self.client.list_base_models()}
        with self._lock:
            for name in missing:
                self._known[name] = listed.get(name, {})

    def of(self, base_model: str) -> dict[str, Any]:
        """The defaults of one base model; none for one the API no longer has
        (an undeclared field is then left alone, as before)."""
        if not base_model:
            return {}
        with self._lock:
            if base_model in self._known:
                return self._known[base_model]
        try:
            found = defaults_of(self.client.get_base_model(base_model))
        except NotFound:
            found = {}
        with self._lock:
            self._known[base_model] = found
        return found
