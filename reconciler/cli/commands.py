"""Every command the CLI offers, one module each (add yours to ALL)."""

from __future__ import annotations

import click

ALL: list[click.Command] = []
