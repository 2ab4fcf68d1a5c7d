"""`reconciler apply` and `reconciler reconcile`: make the live account match git."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.apply.executor import RESUME_HINT, ApplyOptions, ApplyResult, Executor, check_guards
from reconciler.apply.summary import render_apply_markdown, render_apply_text
from reconciler.apply.usage import usage_json
from reconciler.cli.app import EXIT_ERROR, App, exit_with, pass_app
from reconciler.cli.plan_cmd import F, plan_options
from reconciler.cli.progress import make_reporter
from reconciler.cli.ref_guard import ref_refusal
from reconciler.cli.repository import command_hint
from reconciler.cli.session import Session
from reconciler.cli.truncations import remember, truncation_warnings
from reconciler.loader import load_settings
from reconciler.model.errors import ReconcilerError, UserError
from reconciler.model.secrets import scrub
from reconciler.plan import compare_saved
from reconciler.plan.estimate import budget_errors
from reconciler.plan.types import Action, Plan
from reconciler.render.common import plural
from reconciler.render.json import render_json
from reconciler.render.text import render_text

NO_CHANGES = "No changes. The live account matches the manifests."


def apply_options(command: F) -> F:
    for option in reversed(
        [
            click.option("--yes", "-y", is_flag=True, help="Apply without asking."),
            click.option(
                "--output",
                type=click.Choice(["text", "json"]),
                default="text",
                show_default=True,
                help="json: progress and results as JSON lines.",
            ),
            click.option("--skip-smoke-tests", is_flag=True, help="Do not run smoke tests."),
            click.option(
                "--max-deletions",
                type=click.IntRange(min=0),
                default=None,
                help="Refuse a plan deleting more models (default: reconciler.yaml).",
            ),
            click.option(
                "--apply-ref",
                default=None,
                metavar="REF",
                help="In GitHub Actions, the only ref allowed to apply ('*': any; default: "
                "reconciler.yaml's applyRef, else the default branch).",
            ),
        ]
    ):
        command = option(command)
    return command


def needs_work(plan: Plan) -> bool:
    """Changes to make, or tuning runs of an earlier apply to wait for."""
    return plan.has_changes or any(c.action is Action.WAIT for c in plan.changes)


def confirm(app: App, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError("there is no terminal to confirm on: pass --yes to apply")
    if not click.confirm("Apply these changes?", default=False, err=True):
        app.console.info("Apply cancelled.")
        exit_with(EXIT_ERROR)


@contextmanager
def stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """SIGTERM stops waiting like Ctrl-C does: operations keep running on the server."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def apply_settings(session: Session, smoke: bool, max_deletions: int | None) -> ApplyOptions:
    settings = session.desired.settings
    return ApplyOptions(
        concurrency=settings.concurrency,
        max_deletions=settings.max_deletions if max_deletions is None else max_deletions,
        smoke_tests=smoke,
        evaluation_concurrency=settings.evaluation.concurrency,
    )


def execute(
    app: App,
    session: Session,
    plan: Plan,
    options: ApplyOptions,
    *,
    output: str,
    path: str,
    stop: threading.Event | None = None,
) -> ApplyResult:
    reporter = make_reporter(app.console, output)
    waiter = session.waiter(reporter)
    if stop is not None:
        waiter.stop = stop
    executor = Executor(session.backend, session.desired, reporter, waiter, options)
    with stop_on_sigterm(waiter.stop):
        result = executor.run(plan)
    report(app, result, output, path, endpoints=new_endpoints(session, result), plan=plan)
    warn_truncations(app, session, result, path)
    return result


def warn_truncations(app: App, session: Session, result: ApplyResult, path: str) -> None:
    """The examples each new run's service truncated, at their file and line; kept for `validate`."""
    declared = session.desired.by_id()
    for outcome in result.outcomes:
        model = declared.get(outcome.model_id)
        if not outcome.ok or outcome.reported is None or model is None:
            continue
        warnings = truncation_warnings(model, outcome.reported, session.desired.root)
        if warnings:  # a dataset changed since has another digest: nothing stale to clear
            remember(Path(session.desired.root), model, warnings)
        for warning in warnings:
            app.console.warn(warning)


def new_endpoints(session: Session, result: ApplyResult) -> dict[str, str]:
    """The endpoint each model this run created or replaced now serves from, by
    address, where the backend serves from one (Vertex AI): callers must move to it."""
    endpoints = {}
    for outcome in result.outcomes:
        if outcome.ok and outcome.action in (Action.CREATE, Action.REPLACE):
            live = session.backend.find(outcome.model_id)
            endpoint = live.serving.get("endpoint") if live is not None else None
            if endpoint:
                endpoints[session.backend.rules.address(outcome.model_id)] = endpoint
    return endpoints


def report(
    app: App,
    result: ApplyResult,
    output: str,
    path: str,
    *,
    endpoints: dict[str, str] | None = None,
    plan: Plan | None = None,
) -> None:
    endpoints = endpoints or {}
    blocked = blocked_line(plan) if plan is not None else ""
    if output == "text":
        app.console.print(_with_endpoints(render_apply_text(result), endpoints, blocked), nl=False)
    else:
        app.console.print(_json_summary(result, endpoints=endpoints, blocked=blocked))
    if result.interrupted:  # said once, with the command to copy
        resume = command_hint(app.emulator, "apply", path)
        app.console.warn(f"stopped before the end: {RESUME_HINT.replace('`reconciler apply`', f'`{resume}`')}")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        markdown = (
            render_apply_markdown(result) + _endpoints_markdown(endpoints) + (f"\n**{blocked}**\n" if blocked else "")
        )
        with open(summary_file, "a", encoding="utf-8") as handle:  # shown on the run's page: no secret
            handle.write(scrub(markdown, app.console.secrets) + "\n")


def blocked_line(plan: Plan) -> str:
    """The last word of an apply that left blocked models alone: it exits 1."""
    if not plan.blocked:
        return ""
    names = ", ".join(plan.address(error.model_id) for error in plan.blocked if error.model_id)
    return (
        f"Not converged: {plural(len(plan.blocked), 'model')} blocked, left as "
        f"{'it is' if len(plan.blocked) == 1 else 'they are'}" + (f" ({names})" if names else "") + "."
    )


def _with_endpoints(text: str, endpoints: dict[str, str], blocked: str) -> str:
    """The apply text with the new endpoints above its summary line, and the
    blocked models below it: the last line says why the apply exits 1."""
    body, _, last = text.rstrip("\n").rpartition("\n")
    lines = [body] if body else []
    lines += [f"{address} serves at {endpoint}" for address, endpoint in endpoints.items()]
    lines.append(last)
    if blocked:
        lines.append(blocked)
    return "\n".join(lines) + "\n"


def _endpoints_markdown(endpoints: dict[str, str]) -> str:
    if not endpoints:
        return ""
    return "\n**New endpoints:**\n\n" + "".join(f"- `{a}` serves at `{e}`\n" for a, e in endpoints.items())


def _json_summary(
    result: ApplyResult, summary: str | None = None, *, endpoints: dict[str, str] | None = None, blocked: str = ""
) -> str:
    return json.dumps(
        {
            "type": "summary",
            "ok": result.ok,
            "interrupted": result.interrupted,
            "summary": summary or result.summary_line(),
            "counts": result.counts(),
            "outcomes": [
                {
                    "model_id": o.model_id,
                    "action": o.action.value,
                    "status": o.status,
                    "message": o.message or None,
                    "waited_for": o.waited_for,
                    "usage": usage_json(o.estimate, o.reported) if o.ok else None,
                }
                for o in result.outcomes
            ],
            "endpoints": endpoints or {},
            "blocked": blocked or None,
            "smoke_tests": [
                {"model_id": s.model_id, "input": s.input, "expected": s.expected, "got": s.got, "passed": s.passed}
                for s in result.smoke
            ],
            # Scores and thresholds only, never an evaluation answer.
            "gates": [gate.as_json() for gate in result.gates],
        },
        sort_keys=True,
    )


def show_plan(app: App, plan: Plan, output: str) -> None:
    if output == "text":
        app.console.print(render_text(plan, colour=app.console.colour), nl=False)
    else:  # one JSON line, like everything else --output json prints
        app.console.print(json.dumps({"type": "plan", "plan": json.loads(render_json(plan))}, sort_keys=True))


def nothing_to_apply(plan: Plan) -> str:
    """What an apply with nothing to do says; never "matches" next to models
    that require pruning or are blocked."""
    if plan.blocked:
        return blocked_line(plan)
    if plan.notices and not plan.needs_pruning:
        return f"Nothing to apply, but {plural(len(plan.notices), 'notice')} to act on (see the plan)."
    if not plan.needs_pruning:
        return NO_CHANGES
    return (
        f"Nothing to apply, but out of sync: {plural(len(plan.needs_pruning), 'managed model')} without "
        "a manifest require pruning (prune is off; --prune deletes or forgets them)."
    )


def say_no_changes(app: App, plan: Plan, output: str) -> None:
    """The text plan above already said "No changes" (once, on stdout): only what
    it leaves out is said, a blocked model (the apply exits 1) last."""
    if output == "json":
        app.console.print(_json_summary(ApplyResult(), summary=nothing_to_apply(plan)))
    elif plan.blocked:
        app.console.print(blocked_line(plan))
    elif plan.needs_pruning or plan.notices:
        app.console.info(nothing_to_apply(plan))


@click.command("apply")
@click.argument("planfile", required=False, type=click.Path(exists=True, dir_okay=False))
@plan_options
@apply_options
@pass_app
def apply_command(
    app: App,
    planfile: str | None,
    path: str,
    targets: tuple[str, ...],
    prune: bool | None,
    allow_empty: bool,
    shard: str | None,
    yes: bool,
    output: str,
    skip_smoke_tests: bool,
    max_deletions: int | None,
    apply_ref: str | None,
) -> None:
    """Apply a saved plan exactly, or plan, show and (after confirmation) apply.

    A repository with several targets is applied a shard after another, unless
    --shard names one; a saved plan applies to its own shard only."""
    if planfile:
        refuse_planning_options(targets, prune, allow_empty)
    refuse_other_refs(app, path, apply_ref, "apply")
    if planfile:
        saved = Plan.from_file(planfile)
        session = Session.open(app, path, shard=shard_of_saved(saved, shard, planfile))
        options = apply_settings(session, not skip_smoke_tests, max_deletions)
        plan = saved_plan(app, session, saved, planfile, path)
        # Blocked models are left alone, and the apply says it did not converge.
        ok = execute(app, session, plan, options, output=output, path=path).ok and not plan.blocked
    else:
        pass_ = Pass(targets, prune, allow_empty, yes, output, not skip_smoke_tests, max_deletions, path)
        stop = threading.Event()
        ok = all([reconcile_once(app, session, pass_, stop) for session in Session.open_shards(app, path, shard=shard)])
    if not ok:
        exit_with(EXIT_ERROR)


def shard_of_saved(plan: Plan, shard: str | None, planfile: str) -> str | None:
    """The shard a saved plan is applied to: its own; `--shard` may only repeat it."""
    made_for = plan.shard.key if plan.shard is not None else None
    if shard is not None and shard != made_for:
        of = f"shard {made_for}" if made_for else "no shard (a repository with one target)"
        raise UserError(f"the saved plan {planfile} is of {of}, not of shard {shard}; nothing was applied")
    return made_for


def refuse_other_refs(app: App, path: str, apply_ref: str | None, command: str) -> None:
    """In GitHub Actions, only the configured ref applies (reconciler/cli/ref_guard.py).

    Before the session opens, so a refused run sends nothing. The embedded
    emulator (--emulator) writes to no account and is not refused."""
    if app.emulator or os.environ.get("GITHUB_ACTIONS") != "true":
        return
    if apply_ref is None:
        # reconciler.yaml's, or (when it has problems, which the session reports) the default: the default branch.
        apply_ref = load_settings(path)[0].apply_ref
    refusal = ref_refusal(os.environ, apply_ref, command)
    if refusal:
        raise UserError(refusal)


def refuse_planning_options(targets: tuple[str, ...], prune: bool | None, allow_empty: bool) -> None:
    """A saved plan is applied exactly as it was made: options that change what
    is planned are refused with it (as Terraform refuses -var with a saved plan),
    never silently ignored."""
    given = [f"--target {t}" for t in targets]
    if prune is not None:
        given.append("--prune" if prune else "--no-prune")
    if allow_empty:
        given.append("--allow-empty")
    if given:
        raise UserError(
            f"{', '.join(given)}: these options change what is planned and cannot be used with a "
            "saved plan, which is applied exactly as it was made; pass them to `reconciler plan --out` instead"
        )


def saved_plan(app: App, session: Session, plan: Plan, planfile: str, path: str) -> Plan:
    """The saved plan, if it is of this shard and the manifests and the live
    state are still what it saw."""
    shard = ("--shard", session.shard.key) if session.shard is not None else ()
    again = command_hint(app.emulator, "plan", path, *shard, "--out", planfile)
    if session.shard is not None and plan.shard is None:
        raise UserError(
            f"the saved plan {planfile} was made for the whole repository, which now has shards; "
            f"nothing was applied\nRun `{again}`."
        )
    # Checked again here: a saved plan made before the budget (or edited) never spends past it.
    over = budget_errors(plan.changes, session.desired.settings.budget)
    if over:
        raise UserError(
            f"the saved plan {planfile} is over budget, nothing was applied:\n  - "
            + "\n  - ".join(error.message for error in over)
        )
    stale = compare_saved(plan, session.desired, session.observe(), plan.address)
    if stale:
        raise UserError(
            f"the saved plan {planfile} is stale, nothing was applied:\n  - "
            + "\n  - ".join(stale)
            + f"\nRun `{again}` again."
        )
    return plan


@click.command("reconcile")
@plan_options
@apply_options
@click.option(
    "--watch",
    type=click.FloatRange(min=1),
    default=None,
    metavar="SECONDS",
    help="Keep converging every SECONDS, reporting drift, until SIGTERM or Ctrl-C.",
)
@pass_app
def reconcile_command(
    app: App,
    path: str,
    targets: tuple[str, ...],
    prune: bool | None,
    allow_empty: bool,
    yes: bool,
    output: str,
    skip_smoke_tests: bool,
    max_deletions: int | None,
    watch: float | None,
    apply_ref: str | None,
    shard: str | None,
) -> None:
    """Plan and apply in one step; with --watch, keep doing it.

    A repository with several targets is reconciled a shard after another,
    unless --shard names one."""
    refuse_other_refs(app, path, apply_ref, "reconcile")
    stop = threading.Event()
    sessions = Session.open_shards(app, path, shard=shard)
    pass_ = Pass(targets, prune, allow_empty, yes, output, not skip_smoke_tests, max_deletions, path)
    with stop_on_sigterm(stop):
        if watch is None:
            ok = all([reconcile_once(app, session, pass_, stop) for session in sessions])
        else:
            ok = watch_loop(app, sessions, pass_, stop, watch)
    if not ok:
        exit_with(EXIT_ERROR)


@dataclass(frozen=True)
class Pass:
    """What one reconcile pass was asked for on the command line."""

    targets: tuple[str, ...]
    prune: bool | None
    allow_empty: bool
    yes: bool
    output: str
    smoke: bool
    max_deletions: int | None
    path: str = "."


def reconcile_once(
    app: App, session: Session, pass_: Pass, stop: threading.Event, watch: WatchState | None = None
) -> bool:
    """Plan, show, confirm and apply: `apply` without a plan file, and each reconcile pass.

    In watch mode a pass says one line, and shows the plan only when there is
    something to do or it differs from the last pass's.
    """
    plan, _ = session.plan(prune=pass_.prune, targets=pass_.targets, allow_empty=pass_.allow_empty)
    if watch is None or watch.worth_showing(app, plan):
        show_plan(app, plan, pass_.output)
    if plan.has_errors:
        return False
    if not needs_work(plan):
        if watch is None:
            say_no_changes(app, plan, pass_.output)
        return not plan.blocked
    options = apply_settings(session, pass_.smoke, pass_.max_deletions)
    check_guards(plan, options)  # refuse before asking, not after
    if plan.has_changes:
        confirm(app, pass_.yes)
    # Blocked models are left alone, and the apply says it did not converge.
    return execute(app, session, plan, options, output=pass_.output, path=pass_.path, stop=stop).ok and not plan.blocked


@dataclass
class WatchState:
    """What the passes of `reconcile --watch` have shown so far."""

    passes: int = 0
    last_plan: str = ""

    def worth_showing(self, app: App, plan: Plan) -> bool:
        """Say one line for this pass; whether the plan is worth showing too."""
        self.passes += 1
        rendered = render_text(plan)
        changed = rendered != self.last_plan
        self.last_plan = rendered
        app.console.info(f"[{time.strftime('%H:%M:%S')}] pass {self.passes}: {pass_verdict(plan)}")
        return needs_work(plan) or plan.has_errors or (changed and not plan.in_sync)


def pass_verdict(plan: Plan) -> str:
    if plan.has_errors:
        return f"the plan failed ({plural(len(plan.errors), 'error')})"
    if needs_work(plan):
        return "changes to apply: " + plan.summary.line().removeprefix("Plan: ").rstrip(".")
    if plan.blocked:
        return f"out of sync: {plural(len(plan.blocked), 'model')} blocked (left as they are)"
    if plan.needs_pruning:
        return f"out of sync: {plural(len(plan.needs_pruning), 'managed model')} without a manifest (prune is off)"
    if plan.notices:
        return f"out of sync: {plural(len(plan.notices), 'notice')} to act on"
    return "in sync"


def watch_loop(app: App, sessions: list[Session], pass_: Pass, stop: threading.Event, interval: float) -> bool:
    """Converge every `interval` seconds until SIGTERM or Ctrl-C.

    The manifests are read again each pass (a `git pull` between passes is
    seen); a pass that fails (a bad manifest, an outage) is reported and the
    next one tries again. The exit status says whether the last pass converged.
    """
    ok = True
    watches = [WatchState() for _ in sessions]
    try:
        while not stop.is_set():
            ok = all([_watch_pass(app, s, pass_, stop, w) for s, w in zip(sessions, watches, strict=True)])
            if stop.wait(interval):
                break
    except KeyboardInterrupt:
        stop.set()
    app.console.info("Stopped watching.")
    return ok


def _watch_pass(app: App, session: Session, pass_: Pass, stop: threading.Event, watch: WatchState) -> bool:
    try:
        return reconcile_once(app, session.reloaded(), pass_, stop, watch)
    except ReconcilerError as exc:
        app.console.error(f"{exc}; trying again at the next pass")
        return False
