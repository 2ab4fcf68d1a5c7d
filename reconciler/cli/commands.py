"""Every command the CLI offers, one module each."""

from __future__ import annotations

import click

from reconciler.cli.apply_cmd import apply_command, reconcile_command
from reconciler.cli.emulator_cmd import emulator
from reconciler.cli.export_cmd import export_command
from reconciler.cli.import_cmd import import_command
from reconciler.cli.plan_cmd import plan_command
from reconciler.cli.schema import schema
from reconciler.cli.show_cmd import show_command
from reconciler.cli.status_cmd import status_command
from reconciler.cli.validate import validate

ALL: list[click.Command] = [
    validate,
    schema,
    plan_command,
    show_command,
    apply_command,
    reconcile_command,
    status_command,
    import_command,
    export_command,
    emulator,
]
