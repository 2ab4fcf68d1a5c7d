"""`reconciler import ID --manifest FILE`: adopt a live model the manifest describes."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.app import App, pass_app
from reconciler.cli.repository import check_repository, command_hint
from reconciler.cli.session import Session
from reconciler.model.errors import UserError


@click.command("import")
@click.argument("model_id", metavar="ID")
@click.option("--manifest", required=True, type=click.Path(dir_okay=False),
              help="The manifest that describes the live model (relative to -C DIR).")
@click.option("-C", "--dir", "path", default=".", show_default=True,
              type=click.Path(exists=True, file_okay=False), help="The repository.")
@pass_app
def import_command(app: App, model_id: str, manifest: str, path: str) -> None:
    """Adopt a live model: from now on the reconciler manages it."""
    check_repository(path)
    manifest_path = Path(path) / manifest
    if not manifest_path.is_file():
        raise UserError(f"{manifest_path}: no such manifest file")
    session = Session.open(app, str(manifest_path))
    model_id = model_id.rpartition("/")[2]  # an id, or the API's name of the model
    model = session.desired.by_id().get(model_id)
    if model is None:
        raise UserError(f"{manifest} does not describe {model_id} (metadata.name)")
    session.backend.adopt(model)
    source = model.manifest.spec.training_data.file or "the inline examples"
    app.console.warn(
        "training data cannot be verified: the API never returns it, so the model is "
        f"recorded as tuned on the {model.dataset.examples} examples of {source}"
    )
    app.console.print(
        f"Imported {session.backend.rules.address(model_id)}. Run `{command_hint(app.emulator, 'plan', path)}` "
        "to see any difference in its mutable fields."
    )
