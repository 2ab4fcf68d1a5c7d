"""The `reconciler` command: global options, error handling and exit codes.

Exit codes: 0 success (no changes), 1 any error, 2 changes present (only with
--detailed-exitcode). Click's own usage errors are mapped to 1 so that 2 keeps
one meaning.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import click

from reconciler.cli.console import Console
from reconciler.cli.global_options import hoist_global_flags
from reconciler.model.errors import ReconcilerError

EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2


@dataclass
class App:
    """What every command gets as `ctx.obj`."""

    console: Console = field(default_factory=Console)
    debug: bool = False
    emulator: bool = False


pass_app = click.make_pass_decorator(App)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.option(
    "--emulator",
    is_flag=True,
    help="Run against an embedded emulator whose state persists under .reconciler/.",
)
@click.version_option(package_name="reconciler")
@click.pass_context
def cli(ctx: click.Context, debug: bool, emulator: bool) -> None:
    """Declarative, GitOps-style reconciler for Gemini API tuned models."""
    ctx.obj = App(debug=debug, emulator=emulator)


def _register_commands() -> None:
    # One module a command (thin click wrappers); imported here so that
    # `reconciler --help` lists them all.
    from reconciler.cli import commands

    for command in commands.ALL:
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    _register_commands()
    console = Console()
    args = hoist_global_flags(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args
    try:
        code = cli.main(args=args, standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.Abort:
        console.error("aborted")
        code = EXIT_ERROR
    except click.ClickException as exc:
        exc.show(file=console.err)
        code = EXIT_ERROR
    except ReconcilerError as exc:
        if debug:
            traceback.print_exc()
        console.error(str(exc))
        code = EXIT_ERROR
    except KeyboardInterrupt:
        console.error("interrupted")
        code = 130
    except Exception:  # a bug: one line, the trace only on request
        if debug:
            traceback.print_exc()
        else:
            exc_type, exc_value, _ = sys.exc_info()
            console.error(
                f"internal error ({exc_type.__name__ if exc_type else 'unknown'}: {exc_value}); "
                "re-run with --debug for the traceback and report it"
            )
        code = EXIT_ERROR
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def exit_with(code: int) -> Any:
    """Leave a command with an exit code (click's way, caught in main)."""
    raise click.exceptions.Exit(code)
