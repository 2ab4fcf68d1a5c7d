"""`reconciler status`: the live models, managed or not, and whether they match git."""

from __future__ import annotations

import json

import click

from reconciler.cli.app import App, pass_app
from reconciler.cli.session import Session
from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel, LiveState
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.types import Action, Plan

COLUMNS = ("MODEL", "MANAGED", "STATE", "PROGRESS", "LAST LOSS", "SYNC")


def sync_state(model: LiveModel, plan: Plan, declared: dict[str, DesiredModel]) -> str:
    if model.ownership is None:
        return "unmanaged"
    if model.id not in declared:
        return "no manifest"
    actions = sorted({c.action.value for c in plan.changes_for(model.id) if c.action is not Action.NOOP})
    return "in sync" if not actions else "drifted: " + ", ".join(actions)


def progress_text(model: LiveModel, declared: dict[str, DesiredModel], tuning: TuningDefaults) -> str:
    """A running model's percentage: its last step of the run its manifest describes."""
    if model.state is LiveState.ACTIVE:
        return "100%"
    if model.state is not LiveState.CREATING:
        return "-"
    manifest = declared.get(model.id)
    if manifest is None or not model.step:
        return "tuning"
    total = tuning.total_steps(manifest)
    return f"{min(100, 100 * model.step // total)}%" if total else "tuning"


def row(model: LiveModel, plan: Plan, declared: dict[str, DesiredModel], tuning: TuningDefaults) -> dict[str, str]:
    return {
        "MODEL": model.id,
        "MANAGED": "yes" if model.managed else "no",
        "STATE": model.state.value,
        "PROGRESS": progress_text(model, declared, tuning),
        "LAST LOSS": f"{model.last_loss:.4f}" if model.last_loss is not None else "-",
        "SYNC": sync_state(model, plan, declared),
    }


def table(rows: list[dict[str, str]]) -> str:
    widths = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in COLUMNS).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


@click.command("status")
@click.option("-C", "--dir", "path", default=".", show_default=True,
              type=click.Path(exists=True, file_okay=False), help="The repository.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@pass_app
def status_command(app: App, path: str, output: str) -> None:
    """A table of live models: managed or not, state, progress, last loss, in sync or not."""
    session = Session.open(app, path)
    plan, observed = session.plan(prune=False)
    declared = session.desired.by_id()
    tuning = session.backend.rules.tuning
    rows = [row(model, plan, declared, tuning) for model in sorted(observed.models, key=lambda m: m.id)]
    if output == "json":
        app.console.print(json.dumps(rows, indent=2))
    elif rows:
        app.console.print(table(rows), nl=False)
    else:
        app.console.info("No tuned models are live.")
