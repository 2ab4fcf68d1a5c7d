"""Every command the CLI offers, one module each (add yours to ALL)."""

from __future__ import annotations

import click

ALL: list[click.Command] = []

from reconciler.cli.schema import schema  # noqa: E402
from reconciler.cli.validate import validate  # noqa: E402

ALL += [validate, schema]

from reconciler.cli.emulator_cmd import emulator  # noqa: E402

ALL += [emulator]
