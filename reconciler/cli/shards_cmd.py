"""`reconciler shards`: the repository's shards, as a GitHub Actions matrix.

A shard is one target of reconciler.yaml (the backend block's, then `targets:`)
and the manifests that live there: shards follow the service's quota boundary,
so each can plan and apply as a job of its own with no lock between them
(docs/shards.md). Nothing is sent to any API.
"""

from __future__ import annotations

import json

import click

from reconciler.backends import backend_shards
from reconciler.cli.annotations import print_problem
from reconciler.cli.app import EXIT_ERROR, App, exit_with, pass_app
from reconciler.cli.repository import check_repository
from reconciler.loader import load_settings
from reconciler.model.errors import UserError
from reconciler.model.shards import MAX_SHARDS


@click.command("shards")
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
def shards_command(app: App, path: str, output: str) -> None:
    """List the shards (one a target of reconciler.yaml); json: a GitHub Actions matrix.

    `--output json` prints `{"include": [{"shard": KEY, "label": LABEL}, ...]}`,
    for `strategy.matrix` (`fromJSON`); each job then runs `--shard KEY`.
    """
    check_repository(path)
    settings, _, problems = load_settings(path)
    for problem in problems:
        print_problem(app.console, problem)
    if any(problem.is_error for problem in problems):
        exit_with(EXIT_ERROR)
    shards = backend_shards(settings).all
    if len(shards) > MAX_SHARDS:
        raise UserError(
            f"{len(shards)} shards: a GitHub Actions matrix makes at most {MAX_SHARDS} jobs a workflow run; "
            "split the targets between repositories (or workflows)"
        )
    if output == "json":
        app.console.print(json.dumps({"include": [{"shard": s.key, "label": s.label} for s in shards]}))
        return
    width = max(len(s.key) for s in shards)
    for shard in shards:
        app.console.print(f"{shard.key:<{width}}  {shard.label}")
