"""The one object commands print through: colour only on a TTY, never with NO_COLOR.

Everything printed is cleaned on the way out, whoever wrote it:
- every form of a secret the environment holds is replaced by [REDACTED];
- in GitHub Actions, text that the runner would take for a workflow command
  (`::error ...` at the start of a line, `##[...]` anywhere) is defused. A
  model's answer or an API error message is text from outside; printed as
  is, it could add annotations, masks or outputs to the job. Only
  `command()` prints a workflow command on purpose.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import TextIO

import click

from reconciler.model.secrets import scrub, secrets_in_env

# The runner reads a line as a command when, after leading whitespace, it
# starts with `::` (actions/runner ActionCommand.TryParseV2), or when it holds
# `##[` anywhere (the legacy syntax). It splits lines on CR as well as LF.
_LINE_COMMAND = re.compile(r"(^|[\r\n])([^\S\r\n]*)(?=::)")
_LEGACY_COMMAND = "##["
# A zero-width space: the text reads the same, the runner no longer matches it.
_BREAK = "\u200b"


def wants_colour(stream: TextIO) -> bool:
    if "NO_COLOR" in os.environ:
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def in_github_actions(env: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job (the runner sets GITHUB_ACTIONS=true)."""
    return (os.environ if env is None else env).get("GITHUB_ACTIONS") == "true"


def defuse_workflow_commands(text: str) -> str:
    """`text` with nothing the Actions runner would execute as a workflow command."""
    text = _LINE_COMMAND.sub(lambda m: m.group(1) + m.group(2) + _BREAK, text)
    return text.replace(_LEGACY_COMMAND, "##" + _BREAK + "[")


class Console:
    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, secrets: Sequence[str] | None = None
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.colour = wants_colour(self.out)
        self.err_colour = wants_colour(self.err)
        self.secrets = tuple(secrets_in_env(os.environ) if secrets is None else secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Scrub these too (the chosen backend's credentials, once it is known)."""
        self.secrets = tuple(dict.fromkeys((*self.secrets, *secrets)))

    @property
    def is_tty(self) -> bool:
        return hasattr(self.out, "isatty") and self.out.isatty()

    def clean(self, text: str) -> str:
        """`text` safe to print: no secret, and no workflow command in CI."""
        text = scrub(text, self.secrets)
        return defuse_workflow_commands(text) if in_github_actions() else text

    def print(self, text: str = "", *, nl: bool = True) -> None:
        click.echo(self.clean(text), file=self.out, nl=nl, color=self.colour)

    def print_chunks(self, chunks: Iterable[str], block_chars: int = 1 << 16) -> None:
        """`print("".join(chunks), nl=False)` without holding the whole text: a
        large plan's JSON is written (and cleaned) a block of whole lines at a
        time. Cleaning works within a line, unless a secret holds a line break:
        then the text is joined and cleaned at once."""
        if any("\n" in secret for secret in self.secrets):
            self.print("".join(chunks), nl=False)
            return
        pending = ""
        for chunk in chunks:
            pending += chunk
            if len(pending) >= block_chars and (cut := pending.rfind("\n") + 1):
                self.print(pending[:cut], nl=False)
                pending = pending[cut:]
        self.print(pending, nl=False)

    def style(self, text: str, **styles: object) -> str:
        return click.style(text, **styles) if self.colour else text  # type: ignore[arg-type]

    def info(self, text: str) -> None:
        click.echo(self.clean(text), file=self.err, color=self.err_colour)

    def command(self, text: str) -> None:
        """A workflow command we mean (an annotation), on stderr; its data is escaped by its maker."""
        click.echo(scrub(text, self.secrets), file=self.err, color=False)

    def warn(self, text: str) -> None:
        self._err("Warning: " + text, fg="yellow")

    def error(self, text: str) -> None:
        self._err("Error: " + text, fg="red")

    def _err(self, text: str, fg: str) -> None:
        text = self.clean(text)
        styled = click.style(text, fg=fg) if self.err_colour else text
        click.echo(styled, file=self.err, color=self.err_colour)
