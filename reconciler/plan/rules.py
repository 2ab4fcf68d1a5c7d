"""What the pure planner needs to know about a backend, as data.

A backend (see `reconciler.apply.backend.Backend`) hands the planner a
`PlanRules`: which fields change in place and how an update names them, the
defaults its server fills in, how people address a model, and in which order a
replace runs. The planner never learns which backend it plans for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from reconciler.model.desired import DesiredModel
from reconciler.model.manifest import Customization
from reconciler.model.tuning import TuningDefaults

# US dollars per 1,000 training tokens for tuning a base model (its id as the
# manifest gives it, after the backend's checks made it canonical) in one way;
# None where the backend knows no price. Always an estimate: the backend's own
# data, not the bill.
TrainingPrice = Callable[[str, Customization], float | None]

# The tuning defaults of one base model (its id as the manifest gives it, or as
# a live model reports it), where a backend's differ by base model; None where
# it knows none for it.
TuningByBaseModel = Callable[[str], TuningDefaults | None]


class ReplaceOrder(str, Enum):
    # The id must be free before it is used again (Gemini: the client names the model).
    DESTROY_FIRST = "destroy-first"
    # The server names the new model, so the old one serves until the new one can.
    CREATE_FIRST = "create-first"


@dataclass(frozen=True)
class MutableField:
    """A field an update can change: the manifest path people see, and the
    name the backend's update mask gives it."""

    path: str
    mask: str


# How a manifest declares each field a backend may make mutable; None: unset,
# and the live value is left alone.
_DECLARED: dict[str, Callable[[DesiredModel], Any]] = {
    "spec.displayName": lambda m: m.manifest.spec.display_name,
    # Always declared: the reconciler owns the description, so an empty
    # manifest description clears the live one.
    "spec.description": lambda m: m.manifest.spec.description,
    "spec.generation.temperature": lambda m: m.manifest.spec.generation.temperature,
    "spec.generation.topP": lambda m: m.manifest.spec.generation.top_p,
    "spec.generation.topK": lambda m: m.manifest.spec.generation.top_k,
}


def declared_value(model: DesiredModel, path: str) -> Any:
    return _DECLARED[path](model)


@dataclass(frozen=True)
class PlanRules:
    mutable_fields: tuple[MutableField, ...]
    # The update-mask entry that rewrites the ownership marker (lifecycle flags live there).
    marker_mask: str
    # Why a model without the marker is unmanaged, for people.
    no_marker: str
    # The server's tuning defaults: every model's, or, where they differ by base
    # model (`tuning_by_base_model`), those of a model whose base is not known.
    # Read them through `tuning_for`.
    tuning: TuningDefaults
    # Server defaults that hold whatever the dataset, by hyperparameter key: an
    # undeclared key is compared with its default (others are out of scope).
    hyperparameter_defaults: Mapping[str, Any] = field(default_factory=dict)
    replace_order: ReplaceOrder = ReplaceOrder.DESTROY_FIRST
    address_template: str = "{key}"  # how people name a model; {key} is its manifest id
    backend: str = ""  # the backend's name, as reconciler.yaml's `backend:` says it (plan JSON)
    # Whether the backend records a gate's scores on the model (Vertex AI's labels):
    # only then does an evaluation changed alone plan `evaluate`, which would
    # otherwise find nothing recorded on every plan and never be in sync.
    records_scores: bool = False
    # The price the plan's cost line is worked out from (see TrainingPrice);
    # None where the backend has no prices: the plan then shows tokens only.
    training_price: TrainingPrice | None = None
    # Where the defaults differ by base model (see TuningByBaseModel); None: `tuning` for all.
    tuning_by_base_model: TuningByBaseModel | None = None

    def address(self, key: str) -> str:
        return self.address_template.format(key=key)

    def declared_fields(self, model: DesiredModel) -> dict[str, Any]:
        """The mutable fields the manifest declares, by path, in table order."""
        values = {f.path: declared_value(model, f.path) for f in self.mutable_fields}
        return {path: value for path, value in values.items() if value is not None}

    def mask_of(self, path: str) -> str:
        return next(f.mask for f in self.mutable_fields if f.path == path)

    def tuning_for(self, base_model: str | None) -> TuningDefaults:
        """The defaults a run from this base model (the root of its chain; None
        if not known) is estimated with: its own where the backend has them."""
        if self.tuning_by_base_model is None or not base_model:
            return self.tuning
        return self.tuning_by_base_model(base_model) or self.tuning

    def price_per_1k_tokens(self, base_model: str | None, customization: Customization) -> float | None:
        """The backend's training price for this base model and customization; None if unknown."""
        if self.training_price is None or not base_model:
            return None
        return self.training_price(base_model, customization)
