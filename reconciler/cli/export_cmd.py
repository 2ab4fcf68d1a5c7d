"""`reconciler export --out DIR`: manifests for the live models, to move an account into git."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import yaml

from reconciler.backends import backend_shards
from reconciler.cli.annotations import print_problem
from reconciler.cli.app import App, pass_app, repository_option
from reconciler.cli.repository import command_hint, is_repository
from reconciler.cli.session import chosen_shards, connect
from reconciler.loader import load_settings
from reconciler.model.errors import UserError

HEADER = (
    "# Exported from the live model {name} by `reconciler export`.\n"
    "# The API never returns training data: `unknown: true` keeps the first plan from\n"
    "# re-tuning the model. Give a `file:` instead to re-tune it on known data.\n"
)


def manifest_text(address: str, manifest: dict[str, Any], schema_line: str = "") -> str:
    body = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True)
    return schema_line + HEADER.format(name=address) + body


@click.command("export")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder to write manifests to.")
@repository_option("The repository (for reconciler.yaml).")
@click.option("--model", "models", multiple=True, metavar="ID", help="Export only these models.")
@click.option("--force", is_flag=True, help="Overwrite manifests already in the folder.")
@click.option("--shard", metavar="KEY", default=None, help="Export from this shard's target (default: the first).")
@pass_app
def export_command(app: App, out: str, path: str, models: tuple[str, ...], force: bool, shard: str | None) -> None:
    """Write a manifest for each live model (training data marked unknown).

    With --shard, from that target of reconciler.yaml; the manifests then say so (spec.target)."""
    settings, root, problems = load_settings(path)
    for problem in problems:
        print_problem(app.console, problem)
    if any(p.is_error for p in problems):
        raise UserError("reconciler.yaml has problems; nothing was exported")
    shards = backend_shards(settings)
    chosen = chosen_shards(shards, shard)[0]
    # Outside a repository (exporting into a new one), the embedded emulator's
    # state goes in the folder given, never in its parent.
    backend, _ = connect(app, chosen.settings, str(root if is_repository(root) else Path(path)))
    manifests = backend.export(models)
    if chosen != shards.default:  # planned back at this target, not the default one
        for manifest in manifests.values():
            manifest["spec"]["target"] = dict(chosen.target)
    folder = Path(out)
    targets = {key: folder / f"{key}.yaml" for key in manifests}
    existing = [str(target) for target in targets.values() if target.exists()]
    if existing and not force:
        raise UserError(f"would overwrite {', '.join(existing)}; pass --force to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    schema_line = schema_comment(folder, root)
    if not schema_line:
        app.console.info(NO_SCHEMA_HINT)
    for key, manifest in manifests.items():
        text = manifest_text(backend.rules.address(key), manifest, schema_line)
        targets[key].write_text(text, encoding="utf-8")
    noun = "manifest" if len(manifests) == 1 else "manifests"
    app.console.print(
        f"Exported {len(manifests)} {noun} to {folder}. Training data is marked unknown: "
        f"`{command_hint(app.emulator, 'plan', path)}` imports unmanaged models and never re-tunes these."
    )


SCHEMA_FILE = "schema/tunedmodel.schema.json"
NO_SCHEMA_HINT = (
    f"The repository has no {SCHEMA_FILE}, so the manifests have no `$schema` line; "
    f"`reconciler schema > {SCHEMA_FILE}` writes it, for editors to check manifests as they are typed."
)


def schema_comment(folder: Path, root: Path) -> str:
    """The editor's `$schema` line, as a path from `folder` to the repository's
    committed schema; none when the repository has none (a line pointing
    nowhere would only make editors complain).

    A manifest may be exported anywhere (`--out a/b/c`, or outside the
    repository), so the path is worked out from where the file lands.
    """
    schema = root.resolve() / SCHEMA_FILE
    if not schema.is_file():
        return ""
    relative = Path(os.path.relpath(schema, folder.resolve())).as_posix()
    return f"# yaml-language-server: $schema={relative}\n"
