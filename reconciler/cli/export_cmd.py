"""`reconciler export --out DIR`: manifests for the live models, to move an account into git."""

from __future__ import annotations

import os
from pathlib import Path

import click

from reconciler.apply.export import SCHEMA_LINE, manifest_text
from reconciler.cli.annotations import print_problem
from reconciler.cli.app import App, pass_app
from reconciler.cli.session import connect
from reconciler.loader import load_settings
from reconciler.model.errors import UserError
from reconciler.model.live import LiveModel, LivePermission


@click.command("export")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write manifests to.")
@click.option("-C", "--dir", "path", default=".", show_default=True,
              type=click.Path(exists=True, file_okay=False), help="The repository (for reconciler.yaml).")
@click.option("--model", "models", multiple=True, metavar="ID", help="Export only these models.")
@click.option("--force", is_flag=True, help="Overwrite manifests already in the folder.")
@pass_app
def export_command(app: App, out: str, path: str, models: tuple[str, ...], force: bool) -> None:
    """Write a manifest for each live model (training data marked unknown)."""
    settings, root, problems = load_settings(path)
    for problem in problems:
        print_problem(app.console, problem)
    if any(p.is_error for p in problems):
        raise UserError("reconciler.yaml has problems; nothing was exported")
    client, _ = connect(app, settings, str(root))
    live = [LiveModel.from_api(body) for body in client.list_tuned_models()]
    wanted = {m.removeprefix("tunedModels/") for m in models}
    missing = wanted - {model.id for model in live}
    if missing:
        raise UserError(f"no live model {', '.join(sorted(missing))}; nothing was exported")
    chosen = [model for model in live if not wanted or model.id in wanted]
    folder = Path(out)
    targets = {model.id: folder / f"{model.id}.yaml" for model in chosen}
    existing = [str(target) for target in targets.values() if target.exists()]
    if existing and not force:
        raise UserError(f"would overwrite {', '.join(existing)}; pass --force to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    schema_line = schema_comment(folder, root)
    for model in chosen:
        grants = tuple(LivePermission.from_api(p) for p in client.list_permissions(model.id))
        text = schema_line + manifest_text(model, grants).removeprefix(SCHEMA_LINE)
        targets[model.id].write_text(text, encoding="utf-8")
    app.console.print(
        f"Exported {len(chosen)} manifest(s) to {folder}. Training data is marked unknown: "
        "`reconciler plan` imports unmanaged models and never re-tunes these."
    )


def schema_comment(folder: Path, root: Path) -> str:
    """The editor's `$schema` line, as a path from `folder` to the repository's schema.

    A manifest may be exported anywhere (`--out a/b/c`, or outside the
    repository), so the path is worked out from where the file lands.
    """
    schema = root.resolve() / "schema" / "tunedmodel.schema.json"
    relative = Path(os.path.relpath(schema, folder.resolve())).as_posix()
    return f"# yaml-language-server: $schema={relative}\n"
