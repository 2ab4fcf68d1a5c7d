"""`reconciler plan`: what would change, and why."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.cli.app import EXIT_CHANGES, EXIT_ERROR, App, exit_with, pass_app
from reconciler.cli.repository import command_hint
from reconciler.cli.session import ManifestsInvalid, Session
from reconciler.plan.types import FORMAT_VERSION, Plan

OUTPUTS = ("text", "markdown", "json")
F = TypeVar("F", bound=Callable[..., Any])


def rendered(plan: Plan, output: str, colour: bool) -> Iterable[str]:
    """The plan's text, in pieces: JSON as it is encoded, so a large plan's
    text is never whole in memory (see Console.print_chunks)."""
    # Imported once there is a plan to show, not at start-up: the model list goes out sooner.
    from reconciler.render import json_chunks, render_markdown, render_text

    if output == "json":
        return json_chunks(plan)
    return [render_markdown(plan) if output == "markdown" else render_text(plan, colour=colour)]


def plan_options(command: F) -> F:
    """The options every planning command shares (plan, apply, reconcile)."""
    for option in reversed(
        [
            click.option(
                "-C",
                "--dir",
                "path",
                default=".",
                show_default=True,
                type=click.Path(exists=True, file_okay=False),
                help="The repository (or its manifests folder).",
            ),
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
    out: str | None,
    output: str,
    markdown_out: str | None,
    detailed_exitcode: bool,
) -> None:
    """Show what apply would change in the live account, and why.

    With --detailed-exitcode: 0 in sync, 2 out of sync (changes to make, or
    managed models without a manifest that prune is off for), 1 an error.
    """
    session = open_session(app, path, output)
    plan = session.plan(prune=prune, targets=targets, allow_empty=allow_empty)[0]
    # Showing the plan needs neither the desired nor the observed state: let
    # their memory serve the rendering (a large account's peak is here).
    del session
    app.console.print_chunks(rendered(plan, output, app.console.colour))
    if markdown_out:
        Path(markdown_out).write_text("".join(rendered(plan, "markdown", colour=False)), encoding="utf-8")
    if plan.has_errors:
        exit_with(EXIT_ERROR)
    if out:
        plan.to_file(out)
        hint = command_hint(app.emulator, "apply", path, out)
        app.console.info(f"Saved the plan to {out}; run `{hint}` to apply it.")
    if detailed_exitcode and not plan.in_sync:
        exit_with(EXIT_CHANGES)


def open_session(app: App, path: str, output: str) -> Session:
    """The session; with `--output json`, manifests that do not load still give
    a JSON document on stdout (their diagnostics), as `terraform plan -json` does."""
    try:
        return Session.open(app, path)
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
