"""`reconciler show PLANFILE`: a saved plan rendered again, as `terraform show`
does, so a CI job can post exactly the plan it will apply. No API is called."""

from __future__ import annotations

import click

from reconciler.cli.app import App, pass_app
from reconciler.cli.plan_cmd import OUTPUTS, rendered
from reconciler.plan.types import Plan


@click.command("show")
@click.argument("planfile", type=click.Path(exists=True, dir_okay=False))
@click.option("--output", type=click.Choice(OUTPUTS), default="text", show_default=True)
@pass_app
def show_command(app: App, planfile: str, output: str) -> None:
    """Render a saved plan (from `plan --out`) as text, Markdown or JSON."""
    plan = Plan.from_file(planfile)
    app.console.print_chunks(rendered(plan, output, app.console.colour))
