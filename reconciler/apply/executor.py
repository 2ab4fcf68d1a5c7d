"""Execute a Plan: order, concurrency, idempotent creates, waits and smoke tests.

Apply decides from `Change.action` alone (the reason only explains). Changes of
one model run in plan order on one worker; a model starts once every model it
depends on has finished, and is skipped when one of them failed. Independent
models run concurrently up to the configured limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from reconciler.apply.backend import Backend, ChangeFailed, Tuned
from reconciler.apply.evaluation import EmptyEvaluation, EvaluationResult, decide, format_score, score
from reconciler.apply.progress import Event, Reporter
from reconciler.apply.smoke import SmokeResult, run_smoke_tests
from reconciler.apply.waiting import Stopped, TimedOut, Waiter
from reconciler.loader import read_evaluation
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.errors import ReconcilerError
from reconciler.model.evaluation import evaluation_digest, recorded_score, score_label
from reconciler.model.live import LiveModel, Reported
from reconciler.model.manifest import Gate, Metric
from reconciler.model.ownership import gated
from reconciler.plan.graph import order_changes
from reconciler.plan.rules import ReplaceOrder
from reconciler.plan.types import Action, Change, Estimate, PermissionChange, Plan

RESUME_HINT = "tuning runs keep going on the server; run `reconciler apply` again to pick them up"
# What a stopped model's outcome says; the resume hint is said once, by the CLI.
STOPPED_WAITING = "stopped waiting; the tuning run goes on on the server"
NOT_STARTED = "not started"


class ApplyRefused(ReconcilerError):
    """The plan is not safe to apply as it stands; nothing was changed."""


@dataclass(frozen=True)
class ApplyOptions:
    concurrency: int = 4
    max_deletions: int = 5
    smoke_tests: bool = True
    evaluation_concurrency: int = 4  # inference calls in flight while one model is scored


@dataclass(frozen=True)
class GateResult:
    """One promotion gate's decision: scores and thresholds only, never an answer."""

    model_id: str
    metric: str
    candidate: float
    live: float | None  # the model serving now, on the same set; None: not compared
    threshold: str  # "atLeast 0.80", "live - 0.02", both joined by "; "
    decision: str  # promote | hold | promote (gate failed)
    reason: str
    examples: int

    def as_json(self) -> dict[str, object]:
        return {
            "model_id": self.model_id,
            "metric": self.metric,
            "candidate": self.candidate,
            "live": self.live,
            "threshold": self.threshold,
            "decision": self.decision,
            "reason": self.reason,
            "examples": self.examples,
        }


@dataclass(frozen=True)
class Outcome:
    model_id: str
    action: Action
    status: str  # done | failed | skipped | stopped
    message: str = ""
    losses: tuple[float, ...] = ()
    # Created by another (concurrent or earlier) run; this one only waited for it.
    found: bool = False
    # A tuning run's estimate (from the plan) and what the service reported (reconciler/apply/usage.py).
    estimate: Estimate | None = None
    reported: Reported | None = None

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def waited_for(self) -> bool:
        return self.action is Action.WAIT or (self.found and self.action in (Action.CREATE, Action.REPLACE))


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    smoke: list[SmokeResult] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    interrupted: bool = False
    smoke_tests_skipped: bool = False  # --skip-smoke-tests

    def count(self, *actions: Action) -> int:
        """Successful outcomes of these actions that this run made (not those it
        found made by another run and only waited for)."""
        return sum(1 for o in self.outcomes if o.ok and o.action in actions and not o.waited_for)

    @property
    def waited(self) -> int:
        return sum(1 for o in self.outcomes if o.ok and o.waited_for)

    def counts(self) -> dict[str, int]:
        """What this run did, by what it says in the summary line (JSON too)."""
        return {
            "created": self.count(Action.CREATE),
            "waited_for": self.waited,
            "updated": self.count(Action.UPDATE),
            "replaced": self.count(Action.REPLACE),
            "deleted": self.count(Action.DELETE),
            "imported": self.count(Action.IMPORT),
            "forgotten": self.count(Action.FORGET),
        }

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in ("failed", "skipped")]

    @property
    def smoke_failures(self) -> list[SmokeResult]:
        return [s for s in self.smoke if not s.passed]

    @property
    def ok(self) -> bool:
        return not (self.failures or self.smoke_failures or self.interrupted)

    def summary_line(self) -> str:
        """One line for people. "created" is what this run created; a model
        another run (concurrent, or an earlier interrupted one) had created and
        this run saw through to the end is counted apart, so three concurrent
        applies of 30 models say 30 created between them."""
        head = "Apply complete" if self.ok else ("Apply stopped" if self.interrupted else "Apply failed")
        counts = self.counts()
        parts = [f"{counts['created']} created"]
        if counts["waited_for"]:
            parts.append(f"{counts['waited_for']} created by another run and waited for")
        parts += [f"{counts['updated']} updated", f"{counts['replaced']} replaced", f"{counts['deleted']} deleted"]
        parts += [f"{counts[key]} {key}" for key in ("imported", "forgotten") if counts[key]]
        return f"{head}: {', '.join(parts)}{self._smoke_text()}{self._gate_text()}."

    def _gate_text(self) -> str:
        """Each promotion gate's decision, with its scores (never an answer)."""
        held = [gate for gate in self.gates if gate.decision == "hold"]
        done = [gate for gate in self.gates if gate.decision != "hold"]
        text = "".join(f"; gate {gate.model_id}: {gate.reason} ({gate.decision})" for gate in done)
        if held:
            text += "; held by its promotion gate, the old model keeps serving: " + "; ".join(
                f"{gate.model_id} ({gate.reason})" for gate in held
            )
        return text

    def _smoke_text(self) -> str:
        if self.smoke_tests_skipped:
            return "; smoke tests skipped"
        if not self.smoke:
            return ""
        passed = len(self.smoke) - len(self.smoke_failures)
        return f"; smoke tests {passed}/{len(self.smoke)} passed"


def check_guards(plan: Plan, options: ApplyOptions) -> None:
    """Refuse, before touching anything, a plan that is unsafe to apply."""
    if plan.has_errors:
        problems = "; ".join(error.message for error in plan.errors)
        raise ApplyRefused(f"the plan has errors, nothing was applied: {problems}")
    deletes = [c.model_id for c in plan.changes if c.action is Action.DELETE]
    if deletes and not plan.options.prune:
        raise ApplyRefused("the plan deletes models but prune is off; nothing was applied")
    if len(deletes) > options.max_deletions:
        raise ApplyRefused(
            f"the plan deletes {len(deletes)} models, over the cap of {options.max_deletions} "
            "(maxDeletions in reconciler.yaml, or --max-deletions); nothing was applied"
        )


class Executor:
    def __init__(
        self,
        backend: Backend,
        desired: Desired,
        reporter: Reporter,
        waiter: Waiter,
        options: ApplyOptions,
    ) -> None:
        self.backend = backend
        self.desired = desired.by_id()
        self.reporter = reporter
        self.waiter = waiter
        self.options = options
        self._lock = threading.Lock()
        self._smoke: list[SmokeResult] = []
        self._gates: list[GateResult] = []
        self._to_verify: set[str] = set()
        self._plan = Plan()

    def run(self, plan: Plan) -> ApplyResult:
        check_guards(plan, self.options)
        # The replace order and addresses are the saved plan's, as reviewed: the
        # apply does what the plan said, whatever the backend would decide now.
        self._plan = plan
        result = ApplyResult()
        self._to_verify = {c.model_id for c in plan.changes if c.action is Action.VERIFY}
        self._schedule(_group_by_model(plan), result)
        result.smoke = list(self._smoke)
        result.gates = list(self._gates)
        result.interrupted = self.waiter.stop.is_set()
        result.smoke_tests_skipped = not self.options.smoke_tests
        return result

    def _schedule(self, groups: dict[str, list[Change]], result: ApplyResult) -> None:
        pending = dict(groups)
        finished: dict[str, bool] = {}
        running: dict[Future[list[Outcome]], str] = {}
        with ThreadPoolExecutor(max_workers=self.options.concurrency) as pool:
            while pending or running:
                if self.waiter.stop.is_set():
                    result.outcomes.extend(self._not_started(pending))
                    pending.clear()
                for model_id in list(pending):
                    deps = _dependencies(pending[model_id], groups)
                    if any(finished.get(dep) is False for dep in deps):
                        result.outcomes.extend(self._skip(pending.pop(model_id), deps))
                        finished[model_id] = False
                    elif all(dep in finished for dep in deps):
                        running[pool.submit(self._run_model, pending.pop(model_id))] = model_id
                for future in self._wait_for_some(running):
                    result.outcomes.extend(future.result())
                    finished[running.pop(future)] = all(o.ok for o in future.result())

    def _wait_for_some(self, running: dict[Future[list[Outcome]], str]) -> set[Future[list[Outcome]]]:
        """The workers that finished; Ctrl-C asks them all to stop and keeps collecting
        their outcomes, so the summary says what became of every model."""
        if not running:
            return set()
        try:
            done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
        except KeyboardInterrupt:
            self.waiter.stop.set()
            return set()
        return done

    def _not_started(self, pending: dict[str, list[Change]]) -> list[Outcome]:
        return [
            Outcome(c.model_id, c.action, "stopped", NOT_STARTED)
            for changes in pending.values()
            for c in changes
            if c.action.is_change or c.action is Action.WAIT
        ]

    def _skip(self, changes: list[Change], deps: set[str]) -> list[Outcome]:
        message = f"skipped: {', '.join(sorted(deps))} did not finish"
        for change in changes:
            self.reporter.event(Event("skipped", change.model_id, change.action.value, message, details_of(change)))
        return [Outcome(c.model_id, c.action, "skipped", message) for c in changes]

    def _run_model(self, changes: list[Change]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for index, change in enumerate(changes):
            if not change.action.is_change and change.action is not Action.WAIT:
                continue
            outcome = self._run_change(change)
            outcomes.append(outcome)
            if not outcome.ok:
                rest = [c for c in changes[index + 1 :] if c.action.is_change]
                outcomes.extend(self._skip(rest, {change.model_id}))
                break
        return outcomes

    def _run_change(self, change: Change) -> Outcome:
        self.reporter.event(Event("start", change.model_id, change.action.value, change.reason, details_of(change)))
        try:
            tuned = self._handlers()[change.action](change) or Tuned()
        except Stopped:
            outcome = Outcome(change.model_id, change.action, "stopped", STOPPED_WAITING)
        except (TimedOut, ReconcilerError) as exc:  # API errors, failed runs, changed files
            outcome = Outcome(change.model_id, change.action, "failed", str(exc))
        else:
            outcome = Outcome(
                change.model_id,
                change.action,
                "done",
                losses=tuned.losses,
                found=tuned.found,
                estimate=change.estimate,
                reported=tuned.reported,
            )
        kind = outcome.status if outcome.status in ("done", "stopped") else "failed"
        self.reporter.event(Event(kind, change.model_id, change.action.value, outcome.message, details_of(change)))
        return outcome

    def _handlers(self) -> dict[Action, Callable[[Change], Tuned | None]]:
        return {
            Action.CREATE: self._create,
            Action.REPLACE: self._replace,
            Action.UPDATE: self._update,
            Action.DELETE: self._delete,
            Action.FORGET: self._forget,
            Action.IMPORT: self._import,
            Action.WAIT: self._wait,
            Action.VERIFY: self._verify,
            Action.CLEAN_UP: self._clean_up,
            Action.EVALUATE: self._evaluate_serving,
            Action.PERMISSION_ADD: self._permission_add,
            Action.PERMISSION_UPDATE: self._permission_update,
            Action.PERMISSION_REMOVE: self._permission_remove,
        }

    # --- one method an action -------------------------------------------------

    def _create(self, change: Change) -> Tuned:
        model = self.desired[change.model_id]
        return self._finish(model, self.backend.create(model, self.waiter))

    def _wait(self, change: Change) -> Tuned:
        model = self.desired[change.model_id]
        return self._finish(model, self.backend.wait(model, self.waiter))

    def _finish(self, model: DesiredModel, tuned: Tuned) -> Tuned:
        self._pass_gates(model)
        return tuned

    def _verify(self, change: Change) -> None:
        self._pass_gates(self.desired[change.model_id])

    def _pass_gates(self, model: DesiredModel) -> None:
        """Smoke tests, then the evaluation gate; only a model that passes both
        (or a failed gate with `onFailure: promote`) is marked tested and
        promoted. The marker says `untested` until then, so a kill at any step
        leaves the old model serving and the next plan runs the gates again."""
        if not self._smoke_test(model):
            return
        record = self._gate(model)
        if gated(model):
            self.backend.mark_tested(model, evaluation=record)
        self._promote(model.id)

    def _smoke_test(self, model: DesiredModel) -> bool:
        """Run the model's smoke tests. Whether they let the model go on to its
        gate: no tests declared, or all passed now."""
        tests = model.manifest.spec.smoke_tests
        if not tests:
            return True
        if not self.options.smoke_tests:
            return False
        base_model = self._base_model(model)
        results = run_smoke_tests(
            lambda text: self.backend.generate(model.id, base_model, text), model.id, tests, self.waiter.stop
        )
        with self._lock:
            self._smoke.extend(results)
        return len(results) == len(tests) and all(result.passed for result in results)

    def _gate(self, model: DesiredModel) -> dict[str, str] | None:
        """Score the candidate (and the model serving now, for `notWorseThan: live`)
        and decide. Returns what to record on a promoted model; on a hold,
        records it on the candidate and raises ChangeFailed saying why."""
        evaluation = model.manifest.spec.evaluation
        if evaluation is None:
            return None
        base_model = self._base_model(model)
        candidate = self._score(model, lambda text: self.backend.generate(model.id, base_model, text))
        live = self._live_scores(model, base_model) if evaluation.gate.not_worse_than else None
        decision = decide(evaluation.gate, candidate.scores, live, evaluation.on_failure)
        metric = evaluation.gate.metric
        record = {"digest": evaluation_digest(model) or "", "score": score_label(candidate.scores[metric])}
        verdict = "promote" if decision.passed else ("promote (gate failed)" if decision.promote else "hold")
        with self._lock:
            self._gates.append(
                GateResult(
                    model.id,
                    metric.value,
                    candidate.scores[metric],
                    None if live is None else live[metric],
                    _thresholds(evaluation.gate),
                    verdict,
                    decision.reason,
                    candidate.examples,
                )
            )
        if decision.promote:
            return record
        self.backend.hold(model, record)
        if self._creates_first:
            raise ChangeFailed(f"held: {decision.reason}; the old model keeps serving (the candidate is kept)")
        raise ChangeFailed(
            f"failed its gate: {decision.reason}; the old model was deleted first, so this one "
            "stays marked untested and the plan shows verify until it passes"
        )

    @property
    def _creates_first(self) -> bool:
        return self._plan.replace_order is ReplaceOrder.CREATE_FIRST

    def _score(self, model: DesiredModel, generate: Callable[[str], str]) -> EvaluationResult:
        evaluation = model.manifest.spec.evaluation
        assert evaluation is not None
        try:
            return score(
                generate,
                read_evaluation(model),
                evaluation.metrics,
                concurrency=self.options.evaluation_concurrency,
                stop=self.waiter.stop,
            )
        except EmptyEvaluation:
            source = model.evaluation.source.path if model.evaluation is not None else None
            where = source or f"{model.file}: spec.evaluation.data.examples"
            raise ChangeFailed(
                f"{where}: the evaluation set has no examples now (it changed since it was "
                "validated); nothing was decided, and the old model keeps serving"
            ) from None

    def _live_scores(self, model: DesiredModel, base_model: str) -> dict[Metric, float] | None:
        """The serving model's score on the gate metric: its recorded one when it is
        for this exact evaluation (by digest), else scored now; None when no
        other model serves (a first create, or a backend that deletes first)."""
        if not self._creates_first:
            return None
        live = self.backend.find(model.id)
        if live is None or not live.candidate or not live.serving.get("model"):
            return None
        evaluation = model.manifest.spec.evaluation
        assert evaluation is not None
        recorded = live.serving_evaluation
        score = recorded_score(recorded)
        if recorded.get("digest") == evaluation_digest(model) and score is not None:
            return {evaluation.gate.metric: score}
        result = self._score(model, lambda text: self.backend.generate_serving(model.id, base_model, text))
        return dict(result.scores)

    def _evaluate_serving(self, change: Change) -> None:
        """An evaluation changed alone: score the model serving and record it; never tunes or deletes."""
        model = self.desired[change.model_id]
        evaluation = model.manifest.spec.evaluation
        if evaluation is None:
            return
        base_model = self._base_model(model)
        result = self._score(model, lambda text: self.backend.generate_serving(model.id, base_model, text))
        got = result.scores[evaluation.gate.metric]
        with self._lock:
            self._gates.append(
                GateResult(
                    model.id,
                    evaluation.gate.metric.value,
                    got,
                    got,
                    _thresholds(evaluation.gate),
                    "recorded",
                    f"the model serving scored {evaluation.gate.metric.value} {format_score(got)}",
                    result.examples,
                )
            )
        self.backend.record_evaluation(model, {"digest": evaluation_digest(model) or "", "score": score_label(got)})

    def _promote(self, model_id: str) -> None:
        """The new model serves: what it supersedes goes, decided from a fresh read
        (never the model just made, whatever ran concurrently or was interrupted).
        Until then, on a backend that creates first, the old model keeps serving."""
        if not self._creates_first:
            return
        live = self.backend.find(model_id)
        if live is not None and live.ownership is not None and live.superseded:
            self.backend.remove_superseded(live, self.waiter)

    def _clean_up(self, change: Change) -> None:
        self._promote(change.model_id)

    def _base_model(self, model: DesiredModel) -> str:
        """The base model at the root of a sourceModel chain (decides the inference call)."""
        seen = set()
        while model.manifest.spec.source_id and model.id not in seen:
            seen.add(model.id)
            source = model.manifest.spec.source_id
            if source not in self.desired:
                break
            model = self.desired[source]
        return model.manifest.spec.base_model or ""

    def _replace(self, change: Change) -> Tuned:
        if self._creates_first:
            # The old model serves until the new one has passed its smoke tests
            # (`_promote`); a failed run or test leaves it serving.
            self._managed(change)
            return self._create(change)
        self._delete(change)
        address = self._plan.address_template.format(key=change.model_id)
        self.waiter.until(lambda: self.backend.find(change.model_id) is None, f"deletion of {address}")
        return self._create(change)

    def _managed(self, change: Change) -> LiveModel | None:
        """The live model a change deletes; None when it is gone. Between plan and
        apply someone may have put an unmanaged model under the same id:
        unmanaged models are never touched."""
        live = self.backend.find(change.model_id)
        if live is not None and live.ownership is None:
            raise ChangeFailed(f"{live.address} is no longer managed by the reconciler; not deleted")
        return live

    def _update(self, change: Change) -> None:
        untested = change.model_id in self._to_verify  # still so until the verify after it passes
        self.backend.update(self.desired[change.model_id], change.update_mask, untested=untested)

    def _delete(self, change: Change) -> None:
        live = self._managed(change)
        if live is not None:  # already gone: the goal is reached
            self.backend.delete(live, self.waiter)

    def _forget(self, change: Change) -> None:
        live = self.backend.find(change.model_id)
        if live is not None and live.ownership is not None:  # else: nothing left to forget
            self.backend.forget(live)

    def _import(self, change: Change) -> None:
        self.backend.adopt(self.desired[change.model_id])

    def _permission_add(self, change: Change) -> None:
        self.backend.grant(change.model_id, _permission(change))

    def _permission_update(self, change: Change) -> None:
        self.backend.update_grant(change.model_id, _permission(change))

    def _permission_remove(self, change: Change) -> None:
        self.backend.revoke(change.model_id, _permission(change))


def _thresholds(gate: Gate) -> str:
    parts = [f"atLeast {format_score(gate.at_least)}"] if gate.at_least is not None else []
    if gate.not_worse_than:
        parts.append(f"live - {format_score(gate.tolerance)}" if gate.tolerance else "live")
    return "; ".join(parts)


def details_of(change: Change) -> dict[str, str]:
    """For a grant, what progress lines say instead of the action's name:
    `grant READER to USER a@example.com`."""
    grant = change.permission
    if grant is None:
        return {}
    grantee = f"{grant.grantee_type} {grant.email_address or ''}".rstrip()
    if change.action is Action.PERMISSION_REMOVE:
        return {"grant": f"revoke {grant.role_before} from {grantee}"}
    if change.action is Action.PERMISSION_UPDATE:
        return {"grant": f"change {grantee} from {grant.role_before} to {grant.role_after}"}
    return {"grant": f"grant {grant.role_after} to {grantee}"}


def _permission(change: Change) -> PermissionChange:
    if change.permission is None:
        raise ChangeFailed(f"{change.action.value} of {change.model_id} names no grant")
    return change.permission


def _group_by_model(plan: Plan) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {}
    for change in order_changes(plan.changes):
        groups.setdefault(change.model_id, []).append(change)
    return groups


def _dependencies(changes: list[Change], groups: dict[str, list[Change]]) -> set[str]:
    """The other models in this apply that these changes must wait for."""
    own = {c.model_id for c in changes}
    return {dep for c in changes for dep in c.depends_on if dep in groups and dep not in own}
