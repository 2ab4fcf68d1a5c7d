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
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from reconciler.apply.adopt import adopt_model
from reconciler.apply.gemini import create_body, permission_body, update_body
from reconciler.apply.progress import Event, Progress, Reporter
from reconciler.apply.smoke import SmokeResult, run_smoke_tests
from reconciler.apply.waiting import Stopped, TimedOut, Waiter
from reconciler.client.errors import AlreadyExists, NotFound
from reconciler.client.gemini import GeminiClient
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.errors import ReconcilerError
from reconciler.model.live import LiveModel, LivePermission, State
from reconciler.plan.estimate import estimate
from reconciler.plan.ownership import ownership_for, parse_ownership, strip_trailer
from reconciler.plan.types import Action, Change, Plan

RESUME_HINT = (
    "tuning runs keep going on the server; run `reconciler apply` again to pick them up"
)


class ApplyRefused(ReconcilerError):
    """The plan is not safe to apply as it stands; nothing was changed."""


class ChangeFailed(ReconcilerError):
    """One change could not be made; its model's later changes are skipped."""


@dataclass(frozen=True)
class ApplyOptions:
    concurrency: int = 4
    max_deletions: int = 5
    smoke_tests: bool = True


@dataclass(frozen=True)
class Outcome:
    model_id: str
    action: Action
    status: str  # done | failed | skipped | stopped
    message: str = ""
    losses: tuple[float, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "done"


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    smoke: list[SmokeResult] = field(default_factory=list)
    interrupted: bool = False

    def count(self, *actions: Action) -> int:
        return sum(1 for o in self.outcomes if o.ok and o.action in actions)

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
        """One line for people; a model an earlier run started and this one saw
        through to ACTIVE (a `wait`) counts as created."""
        head = "Apply complete" if self.ok else ("Apply stopped" if self.interrupted else "Apply failed")
        passed = len(self.smoke) - len(self.smoke_failures)
        return (
            f"{head}: {self.count(Action.CREATE, Action.WAIT)} created, {self.count(Action.UPDATE)} updated, "
            f"{self.count(Action.REPLACE)} replaced, {self.count(Action.DELETE)} deleted; "
            f"smoke tests {passed}/{len(self.smoke)} passed."
        )


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
        client: GeminiClient,
        desired: Desired,
        reporter: Reporter,
        waiter: Waiter,
        options: ApplyOptions,
    ) -> None:
        self.client = client
        self.desired = desired.by_id()
        self.reporter = reporter
        self.waiter = waiter
        self.options = options
        self._lock = threading.Lock()
        self._smoke: list[SmokeResult] = []

    def run(self, plan: Plan) -> ApplyResult:
        check_guards(plan, self.options)
        result = ApplyResult()
        self._schedule(_group_by_model(plan), result)
        result.smoke = list(self._smoke)
        result.interrupted = self.waiter.stop.is_set()
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
            Outcome(c.model_id, c.action, "stopped", f"not started; {RESUME_HINT}")
            for changes in pending.values()
            for c in changes
            if c.action.is_change or c.action is Action.WAIT
        ]

    def _skip(self, changes: list[Change], deps: set[str]) -> list[Outcome]:
        message = f"skipped: {', '.join(sorted(deps))} did not finish"
        for change in changes:
            self.reporter.event(Event("skipped", change.model_id, change.action.value, message))
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
        self.reporter.event(Event("start", change.model_id, change.action.value, change.reason))
        try:
            losses = self._handlers()[change.action](change)
        except Stopped:
            outcome = Outcome(change.model_id, change.action, "stopped", RESUME_HINT)
        except (TimedOut, ReconcilerError) as exc:  # API errors, failed runs, changed files
            outcome = Outcome(change.model_id, change.action, "failed", str(exc))
        else:
            outcome = Outcome(change.model_id, change.action, "done", losses=tuple(losses or ()))
        kind = {"done": "done", "stopped": "note"}.get(outcome.status, "failed")
        self.reporter.event(Event(kind, change.model_id, change.action.value, outcome.message))
        return outcome

    def _handlers(self) -> dict[Action, Callable[[Change], list[float] | None]]:
        return {
            Action.CREATE: self._create,
            Action.REPLACE: self._replace,
            Action.UPDATE: self._update,
            Action.DELETE: self._delete,
            Action.FORGET: self._forget,
            Action.IMPORT: self._import,
            Action.WAIT: self._wait,
            Action.PERMISSION_ADD: self._permission_add,
            Action.PERMISSION_UPDATE: self._permission_update,
            Action.PERMISSION_REMOVE: self._permission_remove,
        }

    # --- one method an action -------------------------------------------------

    def _create(self, change: Change) -> list[float]:
        model = self.desired[change.model_id]
        try:
            operation = self.client.create_tuned_model(create_body(model), tuned_model_id=model.id)
        except AlreadyExists:
            # A crashed or concurrent run created it first: read what is there
            # instead of making a second model.
            return self._take_over_existing(model)
        if operation.get("done"):  # a run may finish before the create answers
            self.reporter.progress(Progress.from_operation(model.id, operation, 0.0))
        else:
            operation = self.waiter.operation(self.client, model.id, operation["name"])
        return self._finish(model, operation)

    def _take_over_existing(self, model: DesiredModel) -> list[float]:
        live = LiveModel.from_api(self.client.get_tuned_model(model.id))
        ownership = parse_ownership(live.description)
        if ownership is None or ownership.fingerprint != ownership_for(model).fingerprint:
            raise ChangeFailed(
                f"tunedModels/{model.id} already exists and was not made from this manifest; "
                "run `reconciler plan` again"
            )
        if live.state is State.CREATING:
            live = LiveModel.from_api(self.waiter.model_state(self.client, model.id, _total_steps(model)))
        return self._finish_live(model, live)

    def _finish(self, model: DesiredModel, operation: dict[str, Any]) -> list[float]:
        if "error" in operation:
            error = operation["error"]
            raise ChangeFailed(f"tuning failed: {error.get('message', error)}")
        snapshots = (operation.get("metadata") or {}).get("snapshots") or []
        losses = [float(s["meanLoss"]) for s in snapshots if "meanLoss" in s]
        self._smoke_test(model)
        return losses

    def _finish_live(self, model: DesiredModel, live: LiveModel) -> list[float]:
        if live.state is State.FAILED:
            # The model does not keep its operation's error; the operation is not known here.
            raise ChangeFailed("tuning ended FAILED; the next plan replaces the model")
        self._smoke_test(model)
        return [s.mean_loss for s in live.snapshots if s.mean_loss is not None]

    def _smoke_test(self, model: DesiredModel) -> None:
        tests = model.manifest.spec.smoke_tests
        if not (self.options.smoke_tests and tests):
            return
        results = run_smoke_tests(self.client, model.id, self._base_model(model), tests, self.waiter.stop)
        with self._lock:
            self._smoke.extend(results)

    def _base_model(self, model: DesiredModel) -> str:
        """The base model at the root of a sourceModel chain (decides the inference call)."""
        seen = set()
        while model.manifest.spec.source_model and model.id not in seen:
            seen.add(model.id)
            source = model.manifest.spec.source_model.removeprefix("tunedModels/")
            if source not in self.desired:
                break
            model = self.desired[source]
        return model.manifest.spec.base_model or ""

    def _replace(self, change: Change) -> list[float]:
        self._delete(change)
        self.waiter.until(lambda: self._is_gone(change.model_id), f"deletion of {change.name}")
        return self._create(change)

    def _is_gone(self, model_id: str) -> bool:
        try:
            self.client.get_tuned_model(model_id)
        except NotFound:
            return True
        return False

    def _update(self, change: Change) -> None:
        model = self.desired[change.model_id]
        mask = change.update_mask
        self.client.update_tuned_model(model.id, update_body(model, mask), list(mask))

    def _delete(self, change: Change) -> None:
        try:
            live = LiveModel.from_api(self.client.get_tuned_model(change.model_id))
        except NotFound:
            return  # already gone: the goal is reached
        # The plan saw a managed model; between plan and apply someone may have
        # put an unmanaged one under the same id. Unmanaged models are never touched.
        if parse_ownership(live.description) is None:
            raise ChangeFailed(f"{change.name} is no longer managed by the reconciler; not deleted")
        with suppress(NotFound):
            self.client.delete_tuned_model(change.model_id)

    def _forget(self, change: Change) -> None:
        live = LiveModel.from_api(self.client.get_tuned_model(change.model_id))
        body = {"description": strip_trailer(live.description)}
        self.client.update_tuned_model(change.model_id, body, ["description"])

    def _import(self, change: Change) -> None:
        adopt_model(self.client, self.desired[change.model_id])

    def _wait(self, change: Change) -> list[float]:
        model = self.desired[change.model_id]
        live = LiveModel.from_api(self.waiter.model_state(self.client, model.id, _total_steps(model)))
        return self._finish_live(model, live)

    def _permission_add(self, change: Change) -> None:
        grant = _permission(change)
        role = grant.role_after or ""
        body = permission_body(grant.grantee_type, grant.email_address, role)
        try:
            self.client.create_permission(change.model_id, body)
        except AlreadyExists:
            # Granted by a concurrent or crashed apply: make sure the role is right.
            self._set_existing_grant(change.model_id, grant.grantee_type, grant.email_address, role)

    def _set_existing_grant(self, model_id: str, grantee_type: str, email: str, role: str) -> None:
        grantee = (grantee_type, email.lower())
        for live in map(LivePermission.from_api, self.client.list_permissions(model_id)):
            if live.grantee == grantee:
                if live.role != role:
                    self.client.update_permission(live.name, role)
                return
        raise ChangeFailed(f"granting {role} to {grantee_type} {email} on tunedModels/{model_id}: "
                           "the API says the grant exists but does not list it")

    def _permission_update(self, change: Change) -> None:
        grant = _permission(change)
        self.client.update_permission(grant.name or "", grant.role_after or "")

    def _permission_remove(self, change: Change) -> None:
        with suppress(NotFound):
            self.client.delete_permission(_permission(change).name or "")


def _permission(change: Change) -> Any:
    if change.permission is None:
        raise ChangeFailed(f"{change.action.value} of {change.name} names no grant")
    return change.permission


def _total_steps(model: DesiredModel) -> int:
    return estimate(model).total_steps


def _group_by_model(plan: Plan) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {}
    for change in plan.ordered():
        groups.setdefault(change.model_id, []).append(change)
    return groups


def _dependencies(changes: list[Change], groups: dict[str, list[Change]]) -> set[str]:
    """The other models in this apply that these changes must wait for."""
    own = {c.model_id for c in changes}
    return {dep for c in changes for dep in c.depends_on if dep in groups and dep not in own}
