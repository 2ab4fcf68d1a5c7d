"""Adopting a live model the reconciler did not create (`reconciler import`).

Adoption writes the ownership trailer built from the manifest. What the API
returns is checked first (source model, hyperparameters); training data never
comes back from the API, so it is taken on trust, and the caller says so.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from reconciler.model.desired import DesiredModel
from reconciler.model.errors import ReconcilerError
from reconciler.model.live import LiveModel
from reconciler.plan.gemini import live_source
from reconciler.plan.ownership import adopt, parse_ownership


class AdoptingClient(Protocol):
    def get_tuned_model(self, id_or_name: str) -> dict[str, Any]: ...
    def update_tuned_model(
        self, id_or_name: str, body: dict[str, Any], update_mask: list[str]
    ) -> dict[str, Any]: ...


class CannotAdopt(ReconcilerError):
    """The live model is not what the manifest describes, or is managed already."""


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-6)
    return bool(a == b)


def immutable_mismatches(model: DesiredModel, live: LiveModel) -> list[str]:
    """Immutable inputs the API does return, where the live model differs from the manifest."""
    spec = model.manifest.spec
    problems = []
    if live_source(live) != spec.source:
        problems.append(f"spec.{'sourceModel' if spec.source_model else 'baseModel'}: "
                        f"manifest {spec.source!r}, live {live_source(live)!r}")
    for key, value in spec.hyperparameters.as_sent().items():
        live_value = live.hyperparameters.get(key)
        if not _same(value, live_value):
            problems.append(f"spec.hyperparameters.{key}: manifest {value!r}, live {live_value!r}")
    return problems


def adopt_model(client: AdoptingClient, model: DesiredModel) -> LiveModel:
    """Write the trailer onto the live model; returns it as it was before."""
    live = LiveModel.from_api(client.get_tuned_model(model.id))
    if parse_ownership(live.description) is not None:
        raise CannotAdopt(f"{live.name} is managed already; `reconciler plan` shows its state")
    mismatches = immutable_mismatches(model, live)
    if mismatches:
        raise CannotAdopt(
            f"{live.name} does not match {model.file}; fix the manifest to describe it:\n  - "
            + "\n  - ".join(mismatches)
        )
    client.update_tuned_model(model.id, {"description": adopt(model, live)}, ["description"])
    return live
