"""What is specific to the Gemini API's `tunedModels`: which fields can change in
place, their update-mask names, and the server's tuning defaults.

A second backend (Vertex AI tuning jobs) would get a sibling module with its own
table; the planner only walks `MUTABLE_FIELDS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel
from reconciler.plan.ownership import user_description

RESOURCE_PREFIX = "tunedModels/"

# Hyperparameter defaults the API applies when a field is unset (v1beta
# Hyperparameters: epochCount 5, batchSize "4 or 16 by example count", with the
# thresholds undocumented). Estimates use 4: the smaller batch gives the larger,
# safer step count.
DEFAULT_EPOCH_COUNT = 5
DEFAULT_BATCH_SIZE = 4


@dataclass(frozen=True)
class MutableField:
    """A field PATCH can change: where the manifest declares it, and its mask name.

    `desired` returns None when the manifest leaves the field unset; the planner
    then leaves the live value alone (the server fills temperature, topP and topK
    from the base model, and a manifest silent on them must not fight that).
    """

    path: str  # the manifest's field path, shown to people
    mask: str  # the updateMask name the API accepts
    desired: Callable[[DesiredModel], Any]
    live: Callable[[LiveModel], Any]


MUTABLE_FIELDS: tuple[MutableField, ...] = (
    MutableField(
        "spec.displayName", "displayName",
        lambda m: m.manifest.spec.display_name, lambda live: live.display_name,
    ),
    MutableField(
        # Always declared: the reconciler owns the description (it holds the
        # trailer), so an empty manifest description clears the user part.
        "spec.description", "description",
        lambda m: m.manifest.spec.description, lambda live: user_description(live.description),
    ),
    MutableField(
        "spec.generation.temperature", "temperature",
        lambda m: m.manifest.spec.generation.temperature, lambda live: live.temperature,
    ),
    MutableField(
        "spec.generation.topP", "topP",
        lambda m: m.manifest.spec.generation.top_p, lambda live: live.top_p,
    ),
    MutableField(
        "spec.generation.topK", "topK",
        lambda m: m.manifest.spec.generation.top_k, lambda live: live.top_k,
    ),
)

# The lifecycle settings live in the trailer (see ownership.py), so a change to
# them is a PATCH of the description.
LIFECYCLE_MASK = "description"


def live_source(model: LiveModel) -> str:
    """The model a live model was tuned from: `tunedModels/...` or `models/...`."""
    return model.source_model or model.base_model


def source_id(source: str) -> str | None:
    """The tuned model id of a `tunedModels/<id>` source; None for a base model."""
    if source.startswith(RESOURCE_PREFIX):
        return source.removeprefix(RESOURCE_PREFIX)
    return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-6)
    return bool(a == b)


def immutable_mismatches(model: DesiredModel, live: LiveModel) -> list[str]:
    """Immutable inputs the API does return (source model, hyperparameters) that
    differ between the live model and the manifest. Training data never comes
    back from the API, so it cannot be compared this way."""
    spec = model.manifest.spec
    problems = []
    if live_source(live) != spec.source:
        field = "sourceModel" if spec.source_model else "baseModel"
        problems.append(f"spec.{field}: manifest {spec.source!r}, live {live_source(live)!r}")
    for key, value in spec.hyperparameters.as_sent().items():
        live_value = live.hyperparameters.get(key)
        if not _same(value, live_value):
            problems.append(f"spec.hyperparameters.{key}: manifest {value!r}, live {live_value!r}")
    return problems
