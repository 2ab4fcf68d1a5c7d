"""`reconciler schema`: the JSON Schema of a manifest, for editors."""

from __future__ import annotations

import json

import click

from reconciler.cli.app import App, pass_app
from reconciler.loader import manifest_json_schema


def schema_text() -> str:
    """The schema exactly as committed in schema/tunedmodel.schema.json."""
    return json.dumps(manifest_json_schema(), indent=2, ensure_ascii=False) + "\n"


@click.command("schema")
@pass_app
def schema(app: App) -> None:
    """Print the JSON Schema of a TunedModel manifest.

    Save it as schema/tunedmodel.schema.json and start manifests with
    `# yaml-language-server: $schema=../schema/tunedmodel.schema.json`
    so that editors check them as they are typed.
    """
    app.console.print(schema_text(), nl=False)
