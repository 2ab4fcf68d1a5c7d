"""Managed live models that no manifest describes: delete, forget, or report."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.model.live import LiveModel
from reconciler.model.ownership import Ownership
from reconciler.plan.rules import PlanRules
from reconciler.plan.types import Action, Change, PlanError


@dataclass
class PruneOutcome:
    changes: list[Change] = field(default_factory=list)
    errors: list[PlanError] = field(default_factory=list)
    blocked: list[PlanError] = field(default_factory=list)
    would_delete: list[str] = field(default_factory=list)
    would_forget: list[str] = field(default_factory=list)


def prune_model(live: LiveModel, ownership: Ownership, prune: bool, rules: PlanRules, outcome: PruneOutcome) -> None:
    """Record what happens to one managed model without a manifest.

    The lifecycle comes from the ownership marker: the manifest that set it is gone.
    With prune off nothing is touched, not even a forget, because a missing
    manifest may only mean the desired set was read from the wrong folder.
    """
    if not prune:
        (outcome.would_forget if ownership.orphan else outcome.would_delete).append(live.id)
    elif ownership.orphan:
        outcome.changes.append(
            Change(
                action=Action.FORGET,
                model_id=live.id,
                update_mask=(rules.marker_mask,),
                reason="no manifest declares it and its deletionPolicy is Orphan",
            )
        )
    elif ownership.protect:
        # Blocked, not an error: one protected model must not stop every other change.
        outcome.blocked.append(
            PlanError(
                model_id=live.id,
                message=f"{live.address} has no manifest but has preventDestroy set: refusing to delete it",
                hint="restore its manifest with preventDestroy: false and apply before removing "
                "the manifest, or set deletionPolicy: Orphan to keep the model",
            )
        )
    else:
        outcome.changes.append(
            Change(
                action=Action.DELETE,
                model_id=live.id,
                reason="no manifest declares it and prune is on",
            )
        )
