"""`reconciler schema [manifest|settings]`: the JSON Schemas, for editors and schema checkers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from reconciler.cli.app import App, pass_app
from reconciler.loader import manifest_json_schema, settings_json_schema

SCHEMAS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "manifest": ("schema/tunedmodel.schema.json", manifest_json_schema),
    "settings": ("schema/reconciler.schema.json", settings_json_schema),
}


def schema_text(kind: str = "manifest") -> str:
    """A schema exactly as committed under schema/."""
    return json.dumps(SCHEMAS[kind][1](), indent=2, ensure_ascii=False) + "\n"


@click.command("schema")
@click.argument("kind", type=click.Choice(sorted(SCHEMAS)), default="manifest")
@pass_app
def schema(app: App, kind: str) -> None:
    """Print the JSON Schema of a TunedModel manifest (or of reconciler.yaml).

    Save them as schema/tunedmodel.schema.json and schema/reconciler.schema.json
    and start manifests with
    `# yaml-language-server: $schema=../schema/tunedmodel.schema.json`
    so that editors check them as they are typed.
    """
    app.console.print(schema_text(kind), nl=False)
