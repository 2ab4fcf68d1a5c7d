"""Saved plans: what live state a plan saw, and what changed since.

The digests cover only what the planner reads (not tuning progress), so a
model that merely advanced a few steps does not make a saved plan stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from reconciler.model.desired import Desired
from reconciler.model.live import LiveModel, LivePermission, Observed
from reconciler.plan.types import ObservedModel, Plan

# Tuning progress (step, losses) is left out: a model that merely advanced a
# few steps does not make a saved plan stale. So are notices, which follow the
# calendar (a retirement a day nearer), not the live model, and what a finished
# run reported (`reported`): read from the snapshots on the Gemini API
# (progress), and fixed once a run has succeeded, which the state already covers.
_PROGRESS_FIELDS = {"step", "losses", "state_words", "notices", "reported"}


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(_canonical(value)).hexdigest()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def _model_digest(model: LiveModel) -> str:
    return _digest(model.model_dump(mode="json", exclude=_PROGRESS_FIELDS))


def _permissions_digest(permissions: tuple[LivePermission, ...]) -> str:
    if not permissions:  # most models: one string for them all
        return _NO_PERMISSIONS
    return _digest([p.model_dump(mode="json") for p in sorted(permissions, key=lambda p: p.name)])


_NO_PERMISSIONS = _digest([])


def observed_models(observed: Observed) -> tuple[ObservedModel, ...]:
    return tuple(
        ObservedModel(
            model_id=model.id,
            update_time=model.update_time,
            model_digest=_model_digest(model),
            permissions_digest=_permissions_digest(observed.permissions.get(model.id, ())),
        )
        for model in sorted(observed.models, key=lambda m: m.id)
    )


def observed_digest(observed: Observed) -> str:
    """One digest of every live field the planner depends on."""
    return digest_of(observed_models(observed))


def digest_of(entries: tuple[ObservedModel, ...]) -> str:
    """`_digest` of the list of entries, hashed one entry at a time: at 10,000
    models the list of dicts and its text were a plan's peak memory."""
    total = hashlib.sha256(b"[")
    for index, entry in enumerate(entries):
        total.update(b"," if index else b"")
        total.update(_canonical(entry.model_dump(mode="json")))
    total.update(b"]")
    return "sha256:" + total.hexdigest()


def compare_saved(saved: Plan, desired: Desired, observed: Observed, address: Callable[[str], str] = str) -> list[str]:
    """What changed since `saved` was made, one sentence each; empty when it still holds."""
    differences: list[str] = []
    if saved.desired_digest != desired.digest:
        differences.append("manifests or datasets changed since the plan was made")
    current = observed_models(observed)
    if saved.observed_digest == digest_of(current):
        return differences
    before = {entry.model_id: entry for entry in saved.observed_models}
    after = {entry.model_id: entry for entry in current}
    changed = [
        message
        for model_id in sorted(before.keys() | after.keys())
        if (message := _model_difference(address(model_id), before.get(model_id), after.get(model_id)))
    ]
    # A plan saved without per-model entries can only say that something changed.
    return differences + (changed or ["the live state changed since the plan was made"])


def _model_difference(name: str, before: ObservedModel | None, after: ObservedModel | None) -> str | None:
    if before is None:
        return f"live model {name} appeared"
    if after is None:
        return f"live model {name} disappeared"
    if before.model_digest != after.model_digest:
        if before.update_time != after.update_time:
            times = f"{before.update_time} -> {after.update_time}"
            return f"live model {name} changed (updateTime {times})"
        return f"live model {name} changed"
    if before.permissions_digest != after.permissions_digest:
        return f"the permissions of live model {name} changed"
    return None
