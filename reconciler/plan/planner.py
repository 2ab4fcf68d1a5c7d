"""`plan(desired, observed, rules, options) -> Plan`: the pure diff. No I/O, no clock.

Models are decided sources first, so a dependent sees what happens to the model
it is tuned from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.evaluation import evaluation_digest, recorded_score
from reconciler.model.live import LiveModel, Observed, Reported
from reconciler.model.manifest import OnFailure
from reconciler.model.ownership import gated
from reconciler.plan.decide import Blocked, decide
from reconciler.plan.estimate import budget_errors, estimate, measured_passes, totals
from reconciler.plan.gate import gate_plan
from reconciler.plan.graph import depth, find_cycles, order_changes, root_base_model, with_sources
from reconciler.plan.permissions import grant_changes, grants_for_new_model
from reconciler.plan.prune import PruneOutcome, prune_model
from reconciler.plan.rules import PlanRules
from reconciler.plan.saved import digest_of, observed_models
from reconciler.plan.types import Action, Change, Plan, PlanError, PlanOptions

_RE_CREATED = (Action.CREATE, Action.REPLACE)
_PENDING = (Action.CREATE, Action.REPLACE, Action.WAIT)


@dataclass
class _Planning:
    """The inputs, indexed once, and what has been decided so far."""

    desired: dict[str, DesiredModel]
    live: dict[str, LiveModel]
    sources: dict[str, str]  # model id -> the tuned model it is tuned from
    options: PlanOptions
    rules: PlanRules
    # What earlier runs reported, by the dataset they tuned on (estimates that learn)
    measured: dict[str, Reported] = field(default_factory=dict)
    decided: dict[str, Change] = field(default_factory=dict)
    errors: list[PlanError] = field(default_factory=list)
    blocked: list[PlanError] = field(default_factory=list)
    verifies: list[Change] = field(default_factory=list)  # smoke tests to run again, earlier models to remove
    notes: list[str] = field(default_factory=list)
    scope: set[str] | None = None  # None: every model

    def limit_to_targets(self) -> None:
        if self.options.targets is not None:
            self.scope = with_sources(self.options.targets, self.sources)

    def in_scope(self, model_id: str) -> bool:
        return self.scope is None or model_id in self.scope


def plan(desired: Desired, observed: Observed, rules: PlanRules, options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    state = _Planning(
        desired.by_id(),
        observed.by_id(),
        _source_map(desired, observed),
        options,
        rules,
        measured_passes(observed.models),
    )
    _check_targets(state)
    _check_cycles(state)
    state.limit_to_targets()
    for model in sorted(state.desired.values(), key=lambda m: (depth(m.id, state.sources), m.id)):
        if state.in_scope(model.id):
            _decide_model(state, model)
    _check_sources(state)
    _note_untrusted_markers(state)
    pruned = _prune(state, observed)
    changes = [_with_order(state, c) for c in (*state.decided.values(), *state.verifies, *pruned.changes)]
    changes += _permission_changes(state, observed)
    _note_unplanned_dependents(state)
    state.errors += budget_errors(changes, desired.settings.budget)
    live_state = observed_models(observed)
    return Plan(
        address_template=rules.address_template,
        replace_order=rules.replace_order,
        backend=rules.backend,
        serving={m.key: dict(m.serving) for m in observed.models if m.serving},
        options=options,
        changes=order_changes(changes),
        errors=tuple(state.errors) + tuple(pruned.errors),
        blocked=tuple(state.blocked) + tuple(pruned.blocked),
        notes=tuple(state.notes),
        notices=_notices(state),
        unmanaged_count=_unmanaged_left_alone(state, observed),
        would_delete=tuple(pruned.would_delete),
        would_forget=tuple(pruned.would_forget),
        totals=totals(changes, desired.settings.budget),
        desired_digest=desired.digest,
        observed_digest=digest_of(live_state),
        observed_models=live_state,
    )


def _unmanaged_left_alone(state: _Planning, observed: Observed) -> int:
    """Unmanaged live models this plan does not touch (an imported one is adopted, not left alone)."""
    imported = {m for m, change in state.decided.items() if change.action is Action.IMPORT}
    return sum(1 for m in observed.models if not _trusted(m, state) and m.id not in imported)


def _source_map(desired: Desired, observed: Observed) -> dict[str, str]:
    """Who is tuned from whom: manifests for declared models, live state for the rest."""
    sources: dict[str, str] = {}
    for live in observed.models:
        if live.source_key:
            sources[live.id] = live.source_key
    for model in desired.models:
        sources.pop(model.id, None)
        tuned_from = model.manifest.spec.source_id
        if tuned_from:
            sources[model.id] = tuned_from
    return sources


def _check_targets(state: _Planning) -> None:
    for target in sorted(state.options.targets or ()):
        if target not in state.desired and target not in state.live:
            state.errors.append(
                PlanError(
                    model_id=target,
                    message=f"--target {target} matches no manifest and no live model",
                    hint="give the tuned model id, e.g. --target number-generator",
                )
            )


def _check_cycles(state: _Planning) -> None:
    for cycle in find_cycles(state.sources):
        chain = " -> ".join(state.rules.address(m) for m in [*cycle, cycle[0]])
        state.errors.append(
            PlanError(
                model_id=cycle[0],
                message=f"sourceModel references form a cycle: {chain}",
                hint="a model cannot be tuned, even indirectly, from itself",
            )
        )
        for model_id in cycle:
            state.sources.pop(model_id, None)


def _trusted(live: LiveModel, state: _Planning) -> bool:
    """Managed, by a marker that verified or (a legacy one) that a manifest claims."""
    return live.ownership is not None and (not live.ownership.legacy or live.id in state.desired)


def _decide_model(state: _Planning, model: DesiredModel) -> None:
    live = state.live.get(model.id)
    result = decide(model, live, state.rules)
    if isinstance(result, PlanError):
        state.errors.append(result)
        return
    if isinstance(result, Blocked):
        state.blocked.append(result.error)
        return
    result = _follow_source(state, model, result)
    source = state.sources.get(model.id)
    if result.action in _RE_CREATED and source in {b.model_id for b in state.blocked}:
        state.blocked.append(
            PlanError(
                model_id=model.id,
                message=f"{state.rules.address(model.id)} must be tuned from {state.rules.address(source or '')}, "
                "which this plan cannot touch (see above)",
                hint="resolve the model it is tuned from first",
            )
        )
        return
    if _smoke_tests_pending(model, live) and result.action in (Action.UPDATE, Action.NOOP):
        state.verifies.append(_verify(model))
    if live is not None and result.action in (Action.UPDATE, Action.NOOP) and _gate_decided(state, model, live):
        return
    if live is not None and live.superseded and result.action in (Action.UPDATE, Action.NOOP):
        state.verifies.append(
            Change(
                action=Action.CLEAN_UP,
                model_id=model.id,
                file=model.file,
                reason=f"earlier models of it still live serve nobody ({', '.join(live.superseded)}): a replace "
                "stopped before removing them; apply deletes them, never the one serving",
            )
        )
    if result.action is Action.REPLACE and not model.dataset.known:
        state.errors.append(
            PlanError(
                model_id=model.id,
                message=f"{state.rules.address(model.id)} must be replaced ({result.reason}) but its training data "
                f"is unknown (trainingData.unknown in {model.file}:{model.line})",
                hint=f"give spec.trainingData a file or examples in {model.file}",
            )
        )
        return
    if result.action is Action.REPLACE and model.manifest.spec.lifecycle.prevent_destroy:
        state.errors.append(
            PlanError(
                model_id=model.id,
                message=f"{state.rules.address(model.id)} must be replaced ({result.reason}) but its "
                f"manifest {model.file}:{model.line} sets lifecycle.preventDestroy",
                hint="revert the change to its immutable inputs, or set preventDestroy: false",
            )
        )
        return
    state.decided[model.id] = result


def _gate_decided(state: _Planning, model: DesiredModel, live: LiveModel) -> bool:
    """A candidate held by its promotion gate, for the manifest's inputs: never
    tuned again (the same run would give the same answer), shown as blocked
    (out of sync) with the ways out, or promoted by a verify with
    `onFailure: promote`. Else an evaluation changed alone plans `evaluate`.
    True when the model is decided (nothing else is planned for it)."""
    evaluation = model.manifest.spec.evaluation
    address = state.rules.address(model.id)
    if live.held:
        if evaluation is not None and evaluation.on_failure is OnFailure.PROMOTE:
            state.verifies.append(
                Change(
                    action=Action.VERIFY,
                    model_id=model.id,
                    file=model.file,
                    paths=("spec.evaluation.onFailure",),
                    reason="its candidate was held by its promotion gate and onFailure is now promote: apply runs "
                    "its gates again and promotes it whatever they say; re-tunes nothing",
                )
            )
            return False
        score = recorded_score(live.evaluation)
        scored = f" (its score {score:.3f})" if score is not None else ""
        state.blocked.append(
            PlanError(
                model_id=model.id,
                message=f"{address} held: its candidate failed its promotion gate{scored}; the model before it "
                f"keeps serving ({live.serving.get('model', 'see status')}), and the same inputs are "
                "never tuned again",
                hint=f"change its inputs in {model.file}, set spec.evaluation.onFailure: promote, run "
                f"`reconciler promote {model.id}`, or remove the manifest (prune deletes the candidate)",
            )
        )
        return True
    digest = evaluation_digest(model)
    if (
        state.rules.records_scores
        and digest is not None
        and not live.candidate
        and live.ownership is not None
        and not live.ownership.untested
        and live.evaluation.get("digest") != digest
    ):
        recorded = live.evaluation.get("digest")
        state.verifies.append(
            Change(
                action=Action.EVALUATE,
                model_id=model.id,
                file=model.file,
                paths=("spec.evaluation",),
                reason=(
                    f"its evaluation changed (digest {recorded} -> {digest})"
                    if recorded
                    else f"its evaluation {digest} has no recorded score"
                )
                + ": apply scores the model serving and records it; never tunes, never deletes",
            )
        )
    return False


def _verify(model: DesiredModel) -> Change:
    """Run the gates of a model marked untested again; with an evaluation, its gate too."""
    if model.manifest.spec.evaluation is None:
        return Change(
            action=Action.VERIFY,
            model_id=model.id,
            file=model.file,
            paths=("spec.smokeTests",),
            reason="its smoke tests have not passed since it was tuned (they failed, were skipped, or the "
            "apply stopped first); apply runs them again and re-tunes nothing",
        )
    paths = ("spec.smokeTests", "spec.evaluation") if model.manifest.spec.smoke_tests else ("spec.evaluation",)
    return Change(
        action=Action.VERIFY,
        model_id=model.id,
        file=model.file,
        paths=paths,
        reason="its smoke tests and promotion gate have not passed since it was tuned (they failed, were "
        "skipped, or the apply stopped first); apply runs them again and re-tunes nothing",
    )


def _smoke_tests_pending(model: DesiredModel, live: LiveModel | None) -> bool:
    return bool(gated(model) and live and live.ownership and live.ownership.untested)


def _notices(state: _Planning) -> tuple[str, ...]:
    """The backend's notices on the managed models this plan keeps (one it
    re-tunes or removes needs no warning about the live run)."""
    kept = (
        live
        for model_id, live in sorted(state.live.items())
        if _trusted(live, state)
        and model_id in state.desired
        and state.in_scope(model_id)
        and (model_id not in state.decided or state.decided[model_id].action not in (*_RE_CREATED, Action.DELETE))
    )
    return tuple(notice for live in kept for notice in live.notices)


def _note_untrusted_markers(state: _Planning) -> None:
    for live in sorted(state.live.values(), key=lambda m: m.id):
        if live.ownership is None and live.ownership_note:
            state.notes.append(f"{live.address} is treated as unmanaged: {live.ownership_note}")
        elif live.ownership and live.ownership_note and live.id not in state.desired:
            state.notes.append(
                f"{live.address} is treated as unmanaged (never deleted): {live.ownership_note}, and no "
                "manifest declares it; to manage it, write its manifest (or `reconciler export`) and "
                "`reconciler import` it"
            )
        elif live.ownership and live.ownership.legacy and live.id not in state.desired:
            state.notes.append(
                f"{live.address} carries an ownership marker without a check value and no manifest declares "
                "it: it is treated as unmanaged (never deleted); to manage it, write its manifest (or "
                "`reconciler export`) and `reconciler import` it"
            )


def _follow_source(state: _Planning, model: DesiredModel, change: Change) -> Change:
    """Replace a kept model whose source is re-created (now or since it was tuned)."""
    tuned_from = state.sources.get(model.id)
    if tuned_from is None or change.action not in (Action.UPDATE, Action.NOOP):
        return change
    source_change = state.decided.get(tuned_from)
    source = state.rules.address(tuned_from)
    if source_change is not None and source_change.action in _RE_CREATED:
        reason = f"its source model {source} is re-created by this plan"
    elif _source_is_newer(state.live.get(tuned_from), state.live[model.id]):
        reason = f"its source model {source} was re-created after it was tuned"
    else:
        return change
    return change.model_copy(
        update={
            "action": Action.REPLACE,
            "reason": reason,
            "paths": ("spec.sourceModel", *change.paths),
            "update_mask": (),
        }
    )


def _source_is_newer(source: LiveModel | None, dependent: LiveModel) -> bool:
    # RFC 3339 UTC timestamps of one server compare correctly as text once the
    # fractional seconds are padded to the same width.
    if source is None or not source.create_time or not dependent.create_time:
        return False
    return _sortable(source.create_time) > _sortable(dependent.create_time)


def _sortable(timestamp: str) -> str:
    stamp = timestamp.rstrip("Z")
    whole, _, fraction = stamp.partition(".")
    return f"{whole}.{fraction.ljust(9, '0')}"


def _check_sources(state: _Planning) -> None:
    """A declared model must be tuned from something declared or live."""
    for model in sorted(state.desired.values(), key=lambda m: m.id):
        tuned_from = state.sources.get(model.id)
        change = state.decided.get(model.id)
        if tuned_from is None or change is None or change.action not in _RE_CREATED:
            continue
        if tuned_from not in state.desired and tuned_from not in state.live:
            state.errors.append(
                PlanError(
                    model_id=model.id,
                    message=f"{state.rules.address(model.id)} ({model.file}:{model.line}) is tuned from "
                    f"{state.rules.address(tuned_from)}, which is neither declared nor live",
                    hint=f"add a manifest for {tuned_from}, or change spec.sourceModel",
                )
            )


def _prune(state: _Planning, observed: Observed) -> PruneOutcome:
    outcome = PruneOutcome()
    for live in sorted(observed.models, key=lambda m: m.id):
        ownership = live.ownership
        if ownership is None or live.id in state.desired or not _trusted(live, state) or not state.in_scope(live.id):
            continue
        needed_by = _declared_dependents(state, live.id)
        if needed_by and state.options.prune and not ownership.orphan:
            outcome.errors.append(
                PlanError(
                    model_id=live.id,
                    message=f"{live.address} has no manifest, but "
                    f"{', '.join(state.rules.address(m) for m in needed_by)} is tuned from it: "
                    "pruning would delete a model a manifest depends on",
                    hint=f"add a manifest for {live.id}, or change the dependents' sourceModel",
                )
            )
            continue
        prune_model(live, ownership, state.options.prune, state.rules, outcome)
    return outcome


def _declared_dependents(state: _Planning, model_id: str) -> list[str]:
    return sorted(m for m in state.desired if state.sources.get(m) == model_id)


def _with_order(state: _Planning, change: Change) -> Change:
    """Add what the change waits for, and the cost of a tuning run."""
    update: dict[str, object] = {}
    if change.action in _RE_CREATED:
        model = state.desired[change.model_id]
        base_model = root_base_model(model.id, state.desired, state.live)
        price = state.rules.price_per_1k_tokens(base_model, model.manifest.spec.customization)
        update["estimate"] = estimate(model, state.rules.tuning_for(base_model), state.measured, price)
        gate = gate_plan(state.desired[change.model_id], state.live.get(change.model_id), state.rules)
        if gate is not None:
            update["gate"] = gate
        tuned_from = state.sources.get(change.model_id)
        source_change = state.decided.get(tuned_from or "")
        if source_change is not None and source_change.action in _PENDING:
            update["depends_on"] = (source_change.model_id,)
    elif change.action is Action.DELETE:
        # Dependents go first: every deleted model tuned from this one.
        update["depends_on"] = tuple(
            sorted(
                m
                for m, s in state.sources.items()
                if s == change.model_id and m not in state.desired and m != change.model_id
            )
        )
    return change.model_copy(update=update) if update else change


def _permission_changes(state: _Planning, observed: Observed) -> list[Change]:
    changes: list[Change] = []
    for model_id, change in state.decided.items():
        model = state.desired[model_id]
        if not model.manifest.spec.permissions:
            continue
        if change.action in _RE_CREATED:
            changes += grants_for_new_model(model)
            continue
        live_grants = observed.permissions.get(model_id, ())
        grants, notes = grant_changes(model, live_grants, change.action is Action.WAIT)
        changes += grants
        state.notes += notes
    return changes


def _note_unplanned_dependents(state: _Planning) -> None:
    """With --target, say which dependents of a re-created model were left out."""
    for model_id, change in state.decided.items():
        if change.action is not Action.REPLACE:
            continue
        left_out = sorted(
            m for m, s in state.sources.items() if s == model_id and m in state.live and not state.in_scope(m)
        )
        for dependent in left_out:
            state.notes.append(
                f"{state.rules.address(dependent)} is tuned from {state.rules.address(model_id)}, which this plan "
                "replaces; it is outside --target and a full plan will replace it too"
            )
