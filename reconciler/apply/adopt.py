"""Adopting a live model the reconciler did not create (`reconciler import`).

Adoption writes the ownership trailer built from the manifest. What the API
returns is checked first (source model, hyperparameters); training data never
comes back from the API, so it is taken on trust, and the caller says so.
"""

from __future__ import annotations

from typing import Any, Protocol

from reconciler.model.desired import DesiredModel
from reconciler.model.errors import ReconcilerError
from reconciler.model.live import LiveModel
from reconciler.plan.gemini import immutable_mismatches
from reconciler.plan.ownership import adopt, parse_ownership


class AdoptingClient(Protocol):
    def get_tuned_model(self, id_or_name: str) -> dict[str, Any]: ...
    def update_tuned_model(
        self, id_or_name: str, body: dict[str, Any], update_mask: list[str]
    ) -> dict[str, Any]: ...


class CannotAdopt(ReconcilerError):
    """The live model is not what the manifest describes, or is managed already."""


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
