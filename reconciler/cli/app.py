"""What the command modules share with the entry point: the App, exit codes, `exit_with`,
the `-C DIR` option.

A module of its own so that the command modules never import `main`, and
`main` imports a command module only when that command runs (see main.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from reconciler.cli.console import Console

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """What every command gets as `ctx.obj`."""

    console: Console = field(default_factory=Console)
    debug: bool = False
    emulator: bool = False


pass_app = click.make_pass_decorator(App)


def exit_with(code: int) -> Any:
    """Leave a command with an exit code (click's way, caught in main)."""
    raise click.exceptions.Exit(code)


def repository_option(help: str = "The repository.") -> Callable[[F], F]:
    """`-C DIR` / `--dir DIR`: the repository a command works on (its `path`)."""
    return click.option(
        "-C", "--dir", "path", default=".", show_default=True, type=click.Path(exists=True, file_okay=False), help=help
    )
