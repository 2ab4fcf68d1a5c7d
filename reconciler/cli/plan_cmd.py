"""`reconciler plan`: what would change, and why."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from reconciler.cli.app import EXIT_CHANGES, EXIT_ERROR, App, F, exit_with, pass_app, repository_option
from reconciler.cli.repository import command_hint
from reconciler.cli.session import ManifestsInvalid, Session, several_shards
from reconciler.model.errors import UserError
from reconciler.plan.types import FORMAT_VERSION, Plan

OUTPUTS = ("text", "markdown", "json")


def rendered(plan: Plan, output: str, colour: bool, markdown_limit: int | None = None) -> Iterable[str]:
    """The plan's text, in pieces: JSON as it is encoded, so a large plan's
    text is never whole in memory (see Console.print_chunks)."""
    # Imported once there is a plan to show, not at start-up: the model list goes out sooner.
    from reconciler.render import json_chunks, render_markdown, render_text

    if output == "json":
        return json_chunks(plan)
    if output == "markdown":
        return [render_markdown(plan) if markdown_limit is None else render_markdown(plan, markdown_limit)]
    return [render_text(plan, colour=colour)]


def rendered_plans(plans: list[Plan], output: str, colour: bool) -> Iterator[str]:
    """One plan as `rendered` gives it; the plans of several shards one after the
    other, each under its shard's name (JSON: `{"shards": [plan, ...]}`, with the
    verdicts of the whole; a Markdown comment shares GitHub's size limit)."""
    if len(plans) == 1:
        yield from rendered(plans[0], output, colour)
        return
    if output == "json":
        yield '{\n"format_version": ' + json.dumps(FORMAT_VERSION) + ',\n"shards": ['
        for index, plan in enumerate(plans):
            yield ",\n" if index else "\n"
            yield from rendered(plan, output, colour)
        verdicts = {
            "has_changes": any(p.has_changes for p in plans),
            "has_errors": any(p.has_errors for p in plans),
            "in_sync": all(p.in_sync for p in plans),
        }
        yield "],\n" + json.dumps(verdicts)[1:-1] + "\n}\n"
        return
    from reconciler.render.markdown import GITHUB_COMMENT_LIMIT

    separator = "\n---\n\n" if output == "markdown" else "\n"
    for index, plan in enumerate(plans):
        if index:
            yield separator
        yield from rendered(plan, output, colour, GITHUB_COMMENT_LIMIT // len(plans) - len(separator))


def plan_options(command: F) -> F:
    """The options every planning command shares (plan, apply, reconcile)."""
    for option in reversed(
        [
            repository_option("The repository (or its manifests folder)."),
            click.option(
                "--target",
                "targets",
                multiple=True,
                metavar="ID",
                help="Plan only these models and those they are tuned from.",
            ),
            click.option(
                "--prune/--no-prune",
                default=None,
                help="Delete managed models no manifest describes (default: reconciler.yaml).",
            ),
            click.option("--allow-empty", is_flag=True, help="Allow pruning when there are no manifests at all."),
            click.option(
                "--shard",
                metavar="KEY",
                default=None,
                help="Only this shard: the models of one target of reconciler.yaml (`reconciler shards` lists them).",
            ),
        ]
    ):
        command = option(command)
    return command


@click.command("plan")
@plan_options
@click.option("--out", "out", type=click.Path(dir_okay=False), help="Save the plan for `apply`.")
@click.option("--output", type=click.Choice(OUTPUTS), default="text", show_default=True)
@click.option(
    "--markdown-out",
    type=click.Path(dir_okay=False),
    help="Also write the Markdown plan here (for a pull-request comment).",
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes.")
@pass_app
def plan_command(
    app: App,
    path: str,
    targets: tuple[str, ...],
    prune: bool | None,
    allow_empty: bool,
    shard: str | None,
    out: str | None,
    output: str,
    markdown_out: str | None,
    detailed_exitcode: bool,
) -> None:
    """Show what apply would change in the live account, and why.

    With --detailed-exitcode: 0 in sync, 2 out of sync (changes to make, or
    managed models without a manifest that prune is off for), 1 an error.
    A repository with several targets is planned a shard after another, unless
    --shard names one.
    """
    sessions = open_sessions(app, path, output, shard)
    if out and len(sessions) > 1:
        raise UserError(f"--out saves the plan of one shard: {several_shards(sessions)}")
    plans = [session.plan(prune=prune, targets=targets, allow_empty=allow_empty)[0] for session in sessions]
    # Showing the plans needs neither the desired nor the observed state: let
    # their memory serve the rendering (a large account's peak is here).
    del sessions
    app.console.print_chunks(rendered_plans(plans, output, app.console.colour))
    if markdown_out:
        Path(markdown_out).write_text("".join(rendered_plans(plans, "markdown", colour=False)), encoding="utf-8")
    if any(plan.has_errors for plan in plans):
        exit_with(EXIT_ERROR)
    if out:
        plans[0].to_file(out)
        hint = command_hint(app.emulator, "apply", path, out)
        app.console.info(f"Saved the plan to {out}; run `{hint}` to apply it.")
    if detailed_exitcode and not all(plan.in_sync for plan in plans):
        exit_with(EXIT_CHANGES)


def open_sessions(app: App, path: str, output: str, shard: str | None) -> list[Session]:
    """A session a shard; with `--output json`, manifests that do not load still give
    a JSON document on stdout (their diagnostics), as `terraform plan -json` does."""
    try:
        return Session.open_shards(app, path, shard=shard)
    except ManifestsInvalid as exc:
        if output == "json":
            app.console.print(json.dumps(invalid_manifests_document(exc), indent=2))
        raise


def invalid_manifests_document(exc: ManifestsInvalid) -> dict[str, Any]:
    from reconciler.cli.validate import diagnostic  # the validate command's module: only this error path needs it

    return {
        "format_version": FORMAT_VERSION,
        "has_changes": False,
        "has_errors": True,
        "in_sync": False,
        "changes": [],
        "errors": [{"model_id": None, "message": str(exc), "hint": None}],
        "diagnostics": [diagnostic(problem) for problem in exc.problems],
    }
