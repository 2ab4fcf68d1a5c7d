"""The one object commands print through: colour only on a TTY, never with NO_COLOR."""

from __future__ import annotations

import os
import sys
from typing import TextIO

import click


def wants_colour(stream: TextIO) -> bool:
    if "NO_COLOR" in os.environ:
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class Console:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.colour = wants_colour(self.out)
        self.err_colour = wants_colour(self.err)

    @property
    def is_tty(self) -> bool:
        return hasattr(self.out, "isatty") and self.out.isatty()

    def print(self, text: str = "", *, nl: bool = True) -> None:
        click.echo(text, file=self.out, nl=nl, color=self.colour)

    def style(self, text: str, **styles: object) -> str:
        return click.style(text, **styles) if self.colour else text  # type: ignore[arg-type]

    def info(self, text: str) -> None:
        click.echo(text, file=self.err, color=self.err_colour)

    def warn(self, text: str) -> None:
        self._err("Warning: " + text, fg="yellow")

    def error(self, text: str) -> None:
        self._err("Error: " + text, fg="red")

    def _err(self, text: str, fg: str) -> None:
        styled = click.style(text, fg=fg) if self.err_colour else text
        click.echo(styled, file=self.err, color=self.err_colour)
