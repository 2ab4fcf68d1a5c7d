"""`reconciler status`: the live models, managed or not, and whether they match git.

Out of sync means what `plan --detailed-exitcode` exits 2 for: a change to
make, or a managed model no manifest describes (it requires pruning, even with
prune off). A model still being created is `pending`: on its way, not drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import click

from reconciler.apply.usage import usage_json
from reconciler.cli.app import App, pass_app
from reconciler.cli.session import Session
from reconciler.model.desired import DesiredModel
from reconciler.model.evaluation import recorded_score
from reconciler.model.live import LiveModel, LiveState
from reconciler.model.ownership import data_digest, data_hash
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.estimate import estimate
from reconciler.plan.graph import root_base_model
from reconciler.plan.rules import PlanRules
from reconciler.plan.types import Action, Plan

JSON_FORMAT_VERSION = "1.3"  # docs/plan-json.md; 1.1: backend, serving; 1.2: evaluation; 1.3: usage
COLUMNS = ("MODEL", "MANAGED", "STATE", "PROGRESS", "LAST LOSS", "SYNC", "ENDPOINT")
REQUIRES_PRUNING = "requires_pruning"
BLOCKED = "blocked"  # the plan refuses to change it (a held candidate, a marker that does not verify, ...)


@dataclass(frozen=True)
class Sync:
    state: str  # in_sync | out_of_sync | pending | unmanaged
    reasons: tuple[str, ...] = ()  # the planned actions, requires_pruning or blocked

    def text(self) -> str:
        words = self.state.replace("_", " ")
        reasons = ", ".join(r.replace("_", " ") for r in self.reasons)
        return f"{words}: {reasons}" if reasons and self.state == "out_of_sync" else words


def sync_of(model: LiveModel, plan: Plan) -> Sync:
    if model.ownership is None:
        return Sync("unmanaged")
    if model.id in plan.needs_pruning:
        return Sync("out_of_sync", (REQUIRES_PRUNING,))
    if any(problem.model_id == model.id for problem in (*plan.blocked, *plan.errors)):
        return Sync("out_of_sync", (BLOCKED,))
    actions = sorted({c.action.value for c in plan.changes_for(model.id) if c.action.is_change})
    if actions:
        return Sync("out_of_sync", tuple(actions))
    if any(c.action is Action.WAIT for c in plan.changes_for(model.id)):
        return Sync("pending")
    return Sync("in_sync")


def progress_percent(model: LiveModel, declared: dict[str, DesiredModel], tuning: TuningDefaults) -> int | None:
    """A model's share of its run: 100 when ACTIVE; a running model's last step of
    the run its manifest describes; None when not known (or FAILED)."""
    if model.state is LiveState.ACTIVE:
        return 100
    manifest = declared.get(model.id)
    if model.state is not LiveState.CREATING or manifest is None or not model.step:
        return None
    total = tuning.total_steps(manifest)
    return min(100, 100 * model.step // total) if total else None


def record(
    model: LiveModel, plan: Plan, declared: dict[str, DesiredModel], tuning: TuningDefaults, backend: str = ""
) -> dict[str, object]:
    """One model for `--output json`: typed values, null where absent; `tuning`:
    the defaults of its base model (`PlanRules.tuning_for`)."""
    sync = sync_of(model, plan)
    return {
        "model_id": model.id,
        "address": model.address,
        "backend": backend,
        # the handles callers of the tuned model read (Vertex AI: Model and Endpoint)
        "serving": dict(model.serving) or None,
        "managed": model.managed,
        "state": model.state.value,
        "progress_percent": progress_percent(model, declared, tuning),
        "last_loss": model.last_loss,
        "sync": sync.state,
        "sync_reasons": list(sync.reasons),
        "evaluation": evaluation_record(model),
        "usage": usage(model, declared.get(model.id), tuning),
    }


def records_of(
    models: list[LiveModel], plan: Plan, declared: dict[str, DesiredModel], rules: PlanRules, backend: str = ""
) -> list[dict[str, object]]:
    """`record` of each live model, its progress and usage worked out with the
    defaults of its chain's base model."""
    live = {model.id: model for model in models}
    return [
        record(model, plan, declared, rules.tuning_for(root_base_model(model.id, declared, live)), backend)
        for model in models
    ]


def evaluation_record(model: LiveModel) -> dict[str, object] | None:
    """The promotion gate's result recorded on the model (docs/promotion-gates.md):
    the current model's score and the decision on it (`hold` for a held candidate,
    `promote` once it passed, null while its gates are still to run), and the score
    recorded on the model serving beside a candidate. Scores only, never an answer."""
    current, serving = model.evaluation, model.serving_evaluation if model.candidate else {}
    if not current and not serving:
        return None
    untested = model.ownership is not None and model.ownership.untested
    decision = "hold" if model.held else (None if untested or not current else "promote")
    return {
        "score": recorded_score(current),
        "digest": current.get("digest") or None,
        "decision": decision,
        "candidate": model.candidate,
        "serving_score": recorded_score(serving) if model.candidate else recorded_score(current),
        "serving_digest": (serving if model.candidate else current).get("digest") or None,
    }


def usage(model: LiveModel, manifest: DesiredModel | None, tuning: TuningDefaults) -> dict[str, object] | None:
    """The manifest's estimate (characters / 4) against what the service reported
    for the run that made the model, when that run tuned the data the manifest has."""
    reported = model.reported
    if manifest is None or reported is None or reported.data != data_hash(data_digest(manifest)):
        return None
    return usage_json(estimate(manifest, tuning), reported)


def state_words(model: LiveModel) -> str:
    """The state as the backend's own console says it (Vertex AI: the tuning
    job's RUNNING, SUCCEEDED, ...; the Gemini API: the model's)."""
    return model.state_words or model.state.value


def cells(item: dict[str, object], model: LiveModel, plan: Plan) -> dict[str, str]:
    percent, loss = item["progress_percent"], item["last_loss"]
    running = model.state is LiveState.CREATING
    return {
        "MODEL": model.id,
        "MANAGED": "yes" if model.managed else "no",
        "STATE": state_words(model),
        "PROGRESS": f"{percent}%" if percent is not None else ("tuning" if running else "-"),
        "LAST LOSS": f"{loss:.4f}" if isinstance(loss, float) else "-",
        "SYNC": sync_of(model, plan).text(),
        # where callers send requests, when the backend serves from an endpoint
        "ENDPOINT": model.serving.get("endpoint", "-"),
    }


def table(rows: list[dict[str, str]]) -> str:
    """The columns; ENDPOINT only where some model serves from one (Vertex AI)."""
    columns = [c for c in COLUMNS if c != "ENDPOINT" or any(r[c] != "-" for r in rows)]
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def status_document(records: list[dict[str, object]]) -> dict[str, object]:
    managed = [r for r in records if r["managed"]]
    return {
        "format_version": JSON_FORMAT_VERSION,
        "in_sync": all(r["sync"] in ("in_sync", "pending") for r in managed),
        "models": records,
    }


@click.command("status")
@click.option(
    "-C",
    "--dir",
    "path",
    default=".",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="The repository.",
)
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def status_command(app: App, path: str, output: str) -> None:
    """A table of live models: managed or not, state, progress, last loss, in sync or not.

    A repository with several targets shows every shard's, one after another."""
    records: list[dict[str, object]] = []
    rows: list[dict[str, str]] = []
    for session in Session.open_shards(app, path, progress=True):
        plan, observed = session.plan(prune=False, allow_empty=True)
        models = sorted(observed.models, key=lambda m: m.id)
        found = records_of(models, plan, session.desired.by_id(), session.backend.rules, session.backend.name)
        records += found
        rows += [cells(r, m, plan) for r, m in zip(found, models, strict=True)]
    if output == "json":
        app.console.print(json.dumps(status_document(records), indent=2))
    elif rows:
        app.console.print(table(rows), nl=False)
    else:
        app.console.info("No tuned models are live.")
