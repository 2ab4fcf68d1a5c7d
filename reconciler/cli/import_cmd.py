"""`reconciler import ID --manifest FILE`: adopt a live model the manifest describes."""

from __future__ import annotations

import click

from reconciler.cli.app import App, pass_app
from reconciler.cli.session import Session
from reconciler.model.errors import UserError


@click.command("import")
@click.argument("model_id", metavar="ID")
@click.option("--manifest", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The manifest that describes the live model.")
@pass_app
def import_command(app: App, model_id: str, manifest: str) -> None:
    """Adopt a live model: from now on the reconciler manages it."""
    session = Session.open(app, manifest)
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
        f"Imported {session.backend.rules.address(model_id)}. Run `reconciler plan` to see any difference "
        "in its mutable fields."
    )
