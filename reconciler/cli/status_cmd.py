"""`reconciler status`: the live models, managed or not, and whether they match git."""

from __future__ import annotations

import json

import click

from reconciler.cli.main import App, pass_app
from reconciler.cli.session import Session
from reconciler.model.live import LiveModel, State
from reconciler.plan import parse_ownership
from reconciler.plan.types import Action, Plan

COLUMNS = ("MODEL", "MANAGED", "STATE", "PROGRESS", "LAST LOSS", "SYNC")


def sync_state(model: LiveModel, plan: Plan, declared: set[str]) -> str:
    if parse_ownership(model.description) is None:
        return "unmanaged"
    if model.id not in declared:
        return "no manifest"
    actions = sorted({c.action.value for c in plan.changes_for(model.id) if c.action is not Action.NOOP})
    return "in sync" if not actions else "drifted: " + ", ".join(actions)


def row(model: LiveModel, plan: Plan, declared: set[str]) -> dict[str, str]:
    last = model.snapshots[-1] if model.snapshots else None
    progress = {State.ACTIVE: "100%", State.CREATING: "tuning"}.get(model.state, "-")
    return {
        "MODEL": model.id,
        "MANAGED": "yes" if parse_ownership(model.description) else "no",
        "STATE": model.state.value,
        "PROGRESS": progress,
        "LAST LOSS": f"{last.mean_loss:.4f}" if last and last.mean_loss is not None else "-",
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
    declared = {m.id for m in session.desired.models}
    rows = [row(model, plan, declared) for model in sorted(observed.models, key=lambda m: m.id)]
    if output == "json":
        app.console.print(json.dumps(rows, indent=2))
    elif rows:
        app.console.print(table(rows), nl=False)
    else:
        app.console.info("No tuned models are live.")
