"""How the Gemini API names things, and how a manifest refers to them."""

from __future__ import annotations

TUNED_PREFIX = "tunedModels/"
BASE_PREFIX = "models/"
ADDRESS_TEMPLATE = TUNED_PREFIX + "{key}"


def key_of(name: str) -> str:
    """`tunedModels/x` -> `x` (a bare id stays as it is)."""
    return name.removeprefix(TUNED_PREFIX)


def tuned_key(source: str) -> str | None:
    """The key of a `tunedModels/<id>` source; None for a base model."""
    return key_of(source) if source.startswith(TUNED_PREFIX) else None
