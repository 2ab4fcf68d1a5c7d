"""The rules for one declared model against what is live under its key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel, LiveState
from reconciler.model.ownership import Ownership, ownership_for
from reconciler.plan.diff import diff_fields
from reconciler.plan.inputs import input_changes, mismatch_lines
from reconciler.plan.rules import PlanRules
from reconciler.plan.types import Action, Change, FieldDiff, PlanError

_LIFECYCLE_PATHS = {
    "protect": "spec.lifecycle.preventDestroy",
    "orphan": "spec.lifecycle.deletionPolicy",
}


@dataclass(frozen=True)
class Blocked:
    """A model this plan must leave alone; unlike an error, it stops nothing else."""

    error: PlanError


Decision = Change | PlanError | Blocked


def decide(model: DesiredModel, live: LiveModel | None, rules: PlanRules) -> Decision:
    """create, wait, replace, update or noop for one manifest, or why it cannot be planned."""
    if not model.dataset.known:
        return _decide_unknown_data(model, live, rules)
    if live is None:
        return _change(model, Action.CREATE, "no live model has this id")
    if live.ownership is None:
        return Blocked(unmanaged_error(model, rules, live.ownership_note))
    if live.state is LiveState.CREATING:
        return _waiting(model, live, rules)
    if live.ownership.legacy:
        return _migrate(model, live, live.ownership, rules)
    if live.state is LiveState.FAILED:
        return _change(model, Action.REPLACE, "the live model's tuning FAILED")
    if live.broken:
        return _change(model, Action.REPLACE, f"{live.broken}; only a new tuning run serves it again")
    replace = _replace_for_inputs(model, live, rules)
    if replace is not None:
        return replace
    return _update_or_noop(model, live, live.ownership, rules)


def _migrate(model: DesiredModel, live: LiveModel, ownership: Ownership, rules: PlanRules) -> Decision:
    """A marker without a check value could have been written by anyone, so it is
    trusted only where that destroys nothing: when the model matches its manifest
    exactly, the marker is rewritten with a check value; otherwise the model is
    left alone as unmanaged, and the way to adopt it is named."""
    reasons, _, _ = input_changes(model, live, rules.hyperparameter_defaults)
    declared = f"{rules.address(model.id)} (declared in {model.file}:{model.line})"
    if live.state is LiveState.FAILED or reasons or _lifecycle_diffs(model, ownership):
        # The backend's note says why its marker is weak, where that is not its age.
        weak = (
            f"does not match its manifest, and {live.ownership_note}"
            if live.ownership_note
            else "carries an ownership marker without a check value that does not match its manifest"
        )
        return Blocked(
            PlanError(
                model_id=model.id,
                message=f"{declared} {weak}: it is treated as unmanaged and nothing is replaced or deleted on its word",
                hint=f"if it is yours, adopt it with: reconciler import {model.id} --manifest {model.file}",
            )
        )
    update = _update_or_noop(model, live, ownership, rules)
    mask = tuple(dict.fromkeys((*update.update_mask, rules.marker_mask)))
    reason = (
        f"{live.ownership_note}: it is rewritten in place, nothing is re-tuned"
        if live.ownership_note
        else "its ownership marker predates check values: it is rewritten with one"
    )
    if update.action is Action.UPDATE:
        reason += f"; {update.reason}"
    return update.model_copy(update={"action": Action.UPDATE, "reason": reason, "update_mask": mask})


def _decide_unknown_data(model: DesiredModel, live: LiveModel | None, rules: PlanRules) -> Decision:
    """An exported manifest (`trainingData.unknown`) describes a model as it is live.

    Its training data cannot be known, so it can never be created or re-tuned:
    the immutable inputs the API does return are compared instead of the
    fingerprint, an unmanaged model is imported, a managed one updated.
    """
    if live is None:
        return _unknown_data_error(model, rules, "does not exist, and cannot be created")
    _, _, diffs = input_changes(model, live, rules.hyperparameter_defaults)
    if diffs:
        return _unknown_data_error(
            model,
            rules,
            "differs from the live model in inputs that cannot change (" + "; ".join(mismatch_lines(diffs)) + ")",
        )
    if live.ownership is None or live.ownership.legacy:
        return _change(
            model,
            Action.IMPORT,
            "exported manifest: adopt the live model as it is (its training data cannot be verified)",
            update_mask=(rules.marker_mask,),
        )
    if live.state is LiveState.CREATING:
        return _change(model, Action.WAIT, "still CREATING from an earlier run; wait, never create it twice")
    if live.state is LiveState.FAILED:
        return _unknown_data_error(model, rules, "FAILED, and cannot be re-tuned")
    return _update_or_noop(model, live, live.ownership, rules)


def _unknown_data_error(model: DesiredModel, rules: PlanRules, problem: str) -> PlanError:
    return PlanError(
        model_id=model.id,
        message=f"{rules.address(model.id)} (declared in {model.file}:{model.line}) {problem}: "
        "its training data is unknown (trainingData.unknown)",
        hint=f"give spec.trainingData a file or examples in {model.file} to tune it",
    )


def unmanaged_error(model: DesiredModel, rules: PlanRules, why: str | None = None) -> PlanError:
    """`why`: the backend's reason a marker that is there is not trusted; else it has none."""
    return PlanError(
        model_id=model.id,
        message=(
            f"{rules.address(model.id)} (declared in {model.file}:{model.line}) exists but is not "
            f"managed by the reconciler ({why or rules.no_marker})"
        ),
        hint=f"adopt it with: reconciler import {model.id} --manifest {model.file}",
    )


def _change(model: DesiredModel, action: Action, reason: str, **fields: Any) -> Change:
    return Change(action=action, model_id=model.id, reason=reason, file=model.file, **fields)


def _waiting(model: DesiredModel, live: LiveModel, rules: PlanRules) -> Change:
    # The step is known only where the backend read progress (status); a plan's
    # list does not ask for it (the snapshots are most of a long run's bytes).
    step = f" (step {live.step})" if live.step else ""
    reason = f"still CREATING from an earlier run{step}; wait, never create it twice"
    reasons, _, _ = input_changes(model, live, rules.hyperparameter_defaults)
    if reasons:
        reason += "; its inputs differ from the manifest, so a later plan will replace it"
    return _change(model, Action.WAIT, reason)


def _replace_for_inputs(model: DesiredModel, live: LiveModel, rules: PlanRules) -> Change | None:
    """A replace naming every immutable input that changed, or None."""
    reasons, paths, diffs = input_changes(model, live, rules.hyperparameter_defaults)
    if not reasons:
        return None
    mutable = _mutable_diffs(model, live, rules)
    return _change(
        model,
        Action.REPLACE,
        "; ".join(reasons),
        paths=(*paths, *(d.path for d in mutable)),
        diffs=(*diffs, *mutable),
        to_default=_to_default(model, rules, mutable),
    )


def _mutable_diffs(model: DesiredModel, live: LiveModel, rules: PlanRules) -> tuple[FieldDiff, ...]:
    """Differences in the mutable fields, in the backend's table order: a declared
    field against the manifest, an undeclared one against the default the backend
    read for it (a removed line goes back to the default); without a known
    default an undeclared field is left alone."""
    wanted = {**_undeclared_defaults(model, live, rules), **rules.declared_fields(model)}
    diffs = {d.path: d for d in diff_fields({path: live.fields.get(path) for path in wanted}, wanted)}
    return tuple(diffs[f.path] for f in rules.mutable_fields if f.path in diffs)


def _undeclared_defaults(model: DesiredModel, live: LiveModel, rules: PlanRules) -> dict[str, Any]:
    declared = rules.declared_fields(model)
    return {
        f.path: live.defaults[f.path]
        for f in rules.mutable_fields
        if f.path not in declared and live.defaults.get(f.path) is not None
    }


def _to_default(model: DesiredModel, rules: PlanRules, diffs: tuple[FieldDiff, ...]) -> tuple[str, ...]:
    declared = rules.declared_fields(model)
    return tuple(d.path for d in diffs if d.path not in declared)


def _lifecycle_diffs(model: DesiredModel, ownership: Ownership) -> tuple[FieldDiff, ...]:
    wanted = ownership_for(model)
    diffs = []
    if wanted.protect != ownership.protect:
        diffs.append(FieldDiff(path=_LIFECYCLE_PATHS["protect"], before=ownership.protect, after=wanted.protect))
    if wanted.orphan != ownership.orphan:
        diffs.append(
            FieldDiff(
                path=_LIFECYCLE_PATHS["orphan"],
                before="Orphan" if ownership.orphan else "Delete",
                after=model.manifest.spec.lifecycle.deletion_policy.value,
            )
        )
    return tuple(diffs)


def _update_or_noop(model: DesiredModel, live: LiveModel, ownership: Ownership, rules: PlanRules) -> Change:
    mutable = _mutable_diffs(model, live, rules)
    lifecycle = _lifecycle_diffs(model, ownership)
    if not mutable and not lifecycle:
        checked = ", ".join(rules.mask_of(path) for path in rules.declared_fields(model))
        return _change(model, Action.NOOP, f"up to date: fingerprint {ownership.fingerprint} matches; {checked} equal")
    masks = [rules.mask_of(d.path) for d in mutable]
    if lifecycle and rules.marker_mask not in masks:
        masks.append(rules.marker_mask)
    to_default = _to_default(model, rules, mutable)
    changed = [*(d.path for d in mutable if d.path not in to_default), *(d.path for d in lifecycle)]
    return _change(
        model,
        Action.UPDATE,
        _update_reason(changed, to_default),
        paths=(*(d.path for d in mutable), *(d.path for d in lifecycle)),
        diffs=(*mutable, *lifecycle),
        update_mask=tuple(masks),
        to_default=to_default,
    )


def _update_reason(changed: list[str], to_default: tuple[str, ...]) -> str:
    parts = []
    if changed:
        parts.append(f"{', '.join(changed)} differ{'s' if len(changed) == 1 else ''}")
    if to_default:
        goes = "goes" if len(to_default) == 1 else "go"
        parts.append(f"{', '.join(to_default)} left out of the manifest {goes} back to the base model default")
    return "; ".join(parts)
