"""`reconciler import ID --manifest FILE`: adopt a live model the manifest describes."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.app import App, pass_app
from reconciler.cli.repository import check_repository, command_hint
from reconciler.cli.session import Session
from reconciler.model.desired import DesiredModel
from reconciler.model.errors import UserError


@click.command("import")
@click.argument("model_id", metavar="ID")
@click.option(
    "--manifest",
    required=True,
    type=click.Path(dir_okay=False),
    help="The manifest that describes the live model (relative to -C DIR).",
)
@click.option(
    "-C",
    "--dir",
    "path",
    default=".",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="The repository.",
)
@pass_app
def import_command(app: App, model_id: str, manifest: str, path: str) -> None:
    """Adopt a live model: from now on the reconciler manages it."""
    check_repository(path)
    manifest_path = Path(path) / manifest
    if not manifest_path.is_file():
        raise UserError(f"{manifest_path}: no such manifest file")
    session = Session.open(app, str(manifest_path), model_id=model_id)
    model, live_key = _described(session, model_id, manifest)
    backend = session.backend
    backend.adopt(model, live_key)
    app.console.warn(_training_data_warning(model))
    address = backend.rules.address(model.id)
    under = f" ({live_key} is now {model.id})" if live_key else ""
    app.console.print(
        f"Imported {address}{under}. Run `{command_hint(app.emulator, 'plan', path)}` "
        "to see any difference in its mutable fields."
    )


def _described(session: Session, model_id: str, manifest: str) -> tuple[DesiredModel, str | None]:
    """The manifest's model, and the live model's own name when it is imported
    under another id: where the service names a model made by hand (Vertex AI:
    `model-<digits>`), a manifest that describes one model may give it the id
    of the user's choosing; the backend refuses where an id is the model's name."""
    models = session.desired.by_id()
    short = model_id.rpartition("/")[2]  # an id, or the API's name of the model
    if short in models:
        return models[short], None
    if len(models) == 1:
        return next(iter(models.values())), model_id
    raise UserError(
        f"{manifest} does not describe {short} (metadata.name); to import it under another id, "
        "give a manifest file that describes that one model"
    )


def _training_data_warning(model: DesiredModel) -> str:
    """What is recorded about the training data, which no API returns."""
    if not model.dataset.known:
        return (
            "training data cannot be verified: the API never returns it, and the manifest says "
            "`trainingData: {unknown: true}`, so none is recorded; a later `trainingData` re-tunes the model"
        )
    source = model.manifest.spec.training_data.file or "the inline examples"
    return (
        "training data cannot be verified: the API never returns it, so the model is "
        f"recorded as tuned on the {model.dataset.examples} examples of {source}"
    )
