"""The rules for one declared model against what is live under its id."""

from __future__ import annotations

from typing import Any

from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel, State
from reconciler.plan.diff import changed_roots, diff_fields
from reconciler.plan.gemini import LIFECYCLE_MASK, MUTABLE_FIELDS, immutable_mismatches, live_source
from reconciler.plan.ownership import (
    Ownership,
    hyperparameters_hash,
    ownership_for,
    parse_ownership,
)
from reconciler.plan.types import Action, Change, FieldDiff, PlanError

SOURCE_PATHS = ("spec.baseModel", "spec.sourceModel")
HYPERPARAMETERS_PATH = "spec.hyperparameters"
TRAINING_DATA_PATH = "spec.trainingData"
_LIFECYCLE_PATHS = {
    "protect": "spec.lifecycle.preventDestroy",
    "orphan": "spec.lifecycle.deletionPolicy",
}


def decide(model: DesiredModel, live: LiveModel | None) -> Change | PlanError:
    """create, wait, replace, update or noop for one manifest, or why it cannot be planned."""
    if not model.dataset.known:
        return _decide_unknown_data(model, live)
    if live is None:
        return _change(model, Action.CREATE, "no live model has this id")
    ownership = parse_ownership(live.description)
    if ownership is None:
        return unmanaged_error(model)
    wanted = ownership_for(model)
    if live.state is State.CREATING:
        return _waiting(model, live, ownership, wanted)
    if live.state is State.FAILED:
        return _change(model, Action.REPLACE, "the live model's tuning FAILED")
    replace = _replace_for_inputs(model, live, ownership, wanted)
    if replace is not None:
        return replace
    return _update_or_noop(model, live, ownership, wanted)


def _decide_unknown_data(model: DesiredModel, live: LiveModel | None) -> Change | PlanError:
    """An exported manifest (`trainingData.unknown`) describes a model as it is live.

    Its training data cannot be known, so it can never be created or re-tuned:
    the immutable inputs are compared with what the API returns instead of the
    trailer's fingerprint, an unmanaged model is imported, a managed one updated.
    """
    if live is None:
        return _unknown_data_error(model, "does not exist, and cannot be created")
    mismatches = immutable_mismatches(model, live)
    if mismatches:
        return _unknown_data_error(
            model, "differs from the live model in inputs that cannot change (" + "; ".join(mismatches) + ")"
        )
    ownership = parse_ownership(live.description)
    if ownership is None:
        return _change(model, Action.IMPORT,
                       "exported manifest: adopt the live model as it is (its training data cannot be verified)",
                       update_mask=("description",))
    if live.state is State.CREATING:
        return _change(model, Action.WAIT, "still CREATING from an earlier run; wait, never create it twice")
    if live.state is State.FAILED:
        return _unknown_data_error(model, "FAILED, and cannot be re-tuned")
    return _update_or_noop(model, live, ownership, ownership_for(model))


def _unknown_data_error(model: DesiredModel, problem: str) -> PlanError:
    return PlanError(
        model_id=model.id,
        message=f"tunedModels/{model.id} (declared in {model.file}:{model.line}) {problem}: "
                "its training data is unknown (trainingData.unknown)",
        hint=f"give spec.trainingData a file or examples in {model.file} to tune it",
    )


def unmanaged_error(model: DesiredModel) -> PlanError:
    return PlanError(
        model_id=model.id,
        message=(
            f"tunedModels/{model.id} (declared in {model.file}:{model.line}) exists but is not "
            "managed by the reconciler (its description has no reconciler trailer)"
        ),
        hint=f"adopt it with: reconciler import {model.id} --manifest {model.file}",
    )


def _change(model: DesiredModel, action: Action, reason: str, **fields: Any) -> Change:
    return Change(action=action, model_id=model.id, reason=reason, file=model.file, **fields)


def _waiting(
    model: DesiredModel, live: LiveModel, ownership: Ownership, wanted: Ownership
) -> Change:
    step = live.snapshots[-1].step if live.snapshots else 0
    reason = f"still CREATING from an earlier run (step {step}); wait, never create it twice"
    if ownership.inputs != wanted.inputs:
        reason += "; its inputs differ from the manifest, so a later plan will replace it"
    return _change(model, Action.WAIT, reason)


def _replace_for_inputs(
    model: DesiredModel, live: LiveModel, ownership: Ownership, wanted: Ownership
) -> Change | None:
    """A replace naming every immutable input that changed, or None."""
    reasons: list[str] = []
    paths: list[str] = []
    diffs: list[FieldDiff] = []
    if wanted.source != ownership.source:
        path = SOURCE_PATHS[0] if model.manifest.spec.base_model else SOURCE_PATHS[1]
        reasons.append("the source model changed")
        paths.append(path)
        diffs.append(FieldDiff(path=path, before=live_source(live) or None,
                               after=model.manifest.spec.source))
    if wanted.hyperparameters != ownership.hyperparameters:
        reasons.append("the hyperparameters changed")
        paths.append(HYPERPARAMETERS_PATH)
        diffs.extend(_hyperparameter_diffs(model, live, ownership))
    if (wanted.data, wanted.examples) != (ownership.data, ownership.examples):
        reasons.append(_data_reason(ownership, wanted))
        paths.append(TRAINING_DATA_PATH)
        diffs.append(_data_diff(ownership, wanted))
    if not reasons:
        return None
    mutable = _mutable_diffs(model, live)
    return _change(
        model, Action.REPLACE, "; ".join(reasons),
        paths=(*paths, *changed_roots(mutable, _declared_mutable(model))),
        diffs=(*diffs, *mutable),
    )


def _hyperparameter_diffs(
    model: DesiredModel, live: LiveModel, ownership: Ownership
) -> tuple[FieldDiff, ...]:
    before = {HYPERPARAMETERS_PATH: live.hyperparameters}
    after = {HYPERPARAMETERS_PATH: model.manifest.spec.hyperparameters.as_sent()}
    diffs = diff_fields(before, after)
    if diffs:
        return diffs
    # The server echoes defaults, so the live values can match while what was
    # sent differs (e.g. epochCount 5 now given explicitly): show the hashes.
    return (FieldDiff(path=HYPERPARAMETERS_PATH, before={"hash": ownership.hyperparameters},
                      after={"hash": hyperparameters_hash(model)}),)


def _data_reason(before: Ownership, after: Ownership) -> str:
    delta = after.examples - before.examples
    examples = "example" if abs(delta) == 1 else "examples"
    if delta > 0:
        counted = f"{delta} {examples} added"
    elif delta < 0:
        counted = f"{-delta} {examples} removed"
    else:
        counted = "same count, examples changed"
    return (
        f"the training data changed ({before.examples} -> {after.examples} examples, {counted}; "
        f"data hash {before.data} -> {after.data})"
    )


def _data_diff(before: Ownership, after: Ownership) -> FieldDiff:
    return FieldDiff(
        path=TRAINING_DATA_PATH,
        before={"examples": before.examples, "hash": before.data},
        after={"examples": after.examples, "hash": after.data},
    )


def _declared_mutable(model: DesiredModel) -> dict[str, Any]:
    values = {field.path: field.desired(model) for field in MUTABLE_FIELDS}
    return {path: value for path, value in values.items() if value is not None}


def _mutable_diffs(model: DesiredModel, live: LiveModel) -> tuple[FieldDiff, ...]:
    """Differences in the mutable fields the manifest declares (others are left alone)."""
    declared = _declared_mutable(model)
    current = {f.path: f.live(live) for f in MUTABLE_FIELDS if f.path in declared}
    return diff_fields(current, declared)


def _lifecycle_diffs(
    model: DesiredModel, ownership: Ownership, wanted: Ownership
) -> tuple[FieldDiff, ...]:
    diffs = []
    if wanted.protect != ownership.protect:
        diffs.append(FieldDiff(path=_LIFECYCLE_PATHS["protect"],
                               before=ownership.protect, after=wanted.protect))
    if wanted.orphan != ownership.orphan:
        diffs.append(FieldDiff(
            path=_LIFECYCLE_PATHS["orphan"],
            before="Orphan" if ownership.orphan else "Delete",
            after=model.manifest.spec.lifecycle.deletion_policy.value,
        ))
    return tuple(diffs)


def _update_or_noop(
    model: DesiredModel, live: LiveModel, ownership: Ownership, wanted: Ownership
) -> Change:
    mutable = _mutable_diffs(model, live)
    lifecycle = _lifecycle_diffs(model, ownership, wanted)
    if not mutable and not lifecycle:
        checked = ", ".join(field.mask for field in MUTABLE_FIELDS
                            if field.path in _declared_mutable(model))
        return _change(model, Action.NOOP,
                       f"up to date: fingerprint {ownership.fingerprint} matches; {checked} equal")
    paths = changed_roots(mutable, _declared_mutable(model))
    masks = [f.mask for f in MUTABLE_FIELDS if f.path in paths]
    if lifecycle and LIFECYCLE_MASK not in masks:
        masks.append(LIFECYCLE_MASK)
    changed = [*paths, *(d.path for d in lifecycle)]
    return _change(
        model, Action.UPDATE, f"{', '.join(changed)} differ{'s' if len(changed) == 1 else ''}",
        paths=tuple(changed), diffs=(*mutable, *lifecycle), update_mask=tuple(masks),
    )
