"""The `reconciler` command: global options, error handling and exit codes.

Exit codes: 0 success (no changes), 1 any error, 2 changes present (only with
--detailed-exitcode). Click's own usage errors are mapped to 1 so that 2 keeps
one meaning.

Commands load lazily: each lives in its own module, imported only when it
runs, so `reconciler --version`, `reconciler --help` (from SUMMARIES) and
shell completion start without pydantic, requests, google-auth or the emulator.
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from reconciler import __version__
from reconciler.cli.app import EXIT_ERROR, EXIT_OK, App
from reconciler.cli.console import Console
from reconciler.cli.global_options import hoist_global_flags
from reconciler.model.errors import ReconcilerError

# Command name -> "module:attribute" of its click command, one module a command.
COMMANDS: dict[str, str] = {
    "validate": "reconciler.cli.validate:validate",
    "schema": "reconciler.cli.schema:schema",
    "plan": "reconciler.cli.plan_cmd:plan_command",
    "show": "reconciler.cli.show_cmd:show_command",
    "apply": "reconciler.cli.apply_cmd:apply_command",
    "reconcile": "reconciler.cli.apply_cmd:reconcile_command",
    "status": "reconciler.cli.status_cmd:status_command",
    "import": "reconciler.cli.import_cmd:import_command",
    "export": "reconciler.cli.export_cmd:export_command",
    "promote": "reconciler.cli.promote_cmd:promote_command",
    "shards": "reconciler.cli.shards_cmd:shards_command",
    "emulator": "reconciler.cli.emulator_cmd:emulator",
}

# Each command's one-line summary, the first paragraph of its docstring, for
# `reconciler --help`: listing the commands then loads none of them (and so
# none of pydantic, requests or google-auth). tests/packaging/test_startup.py
# checks each against the command's own docstring.
SUMMARIES: dict[str, str] = {
    "apply": "Apply a saved plan exactly, or plan, show and (after confirmation) apply.",
    "emulator": "Serve a local emulator of the Gemini API and Vertex AI tuning (with Cloud Storage) "
    "until SIGINT/SIGTERM.",
    "export": "Write a manifest for each live model (training data marked unknown).",
    "import": "Adopt a live model: from now on the reconciler manages it.",
    "plan": "Show what apply would change in the live account, and why.",
    "promote": "Promote a candidate held by its promotion gate; the model it replaces is removed.",
    "reconcile": "Plan and apply in one step; with --watch, keep doing it.",
    "schema": "Print the JSON Schema of a TunedModel manifest (or of reconciler.yaml).",
    "shards": "List the shards (one a target of reconciler.yaml); json: a GitHub Actions matrix.",
    "show": "Render a saved plan (from `plan --out`) as text, Markdown or JSON.",
    "status": "A table of live models: managed or not, state, progress, last loss, in sync or not.",
    "validate": "Check manifests, settings and datasets without calling the API.",
}


class LazyGroup(click.Group):
    """A group that imports a command's module the first time the command is asked for."""

    def __init__(self, *args: object, lazy_commands: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their summaries, as click lists them, loading none that is not loaded yet."""
        names = [
            name for name in self.list_commands(ctx) if name not in self.commands or not self.commands[name].hidden
        ]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (
                name,
                self.commands[name].get_short_help_str(limit)
                if name in self.commands
                else self._short_help(name, limit),
            )
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    @staticmethod
    def _short_help(name: str, limit: int) -> str:
        # Shortened by click's own rule, as the loaded command's docstring would be.
        return click.Command(name, help=SUMMARIES.get(name, "")).get_short_help_str(limit)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.add_command(_load_command(self.lazy_commands[cmd_name]), cmd_name)
        return super().get_command(ctx, cmd_name)


def _load_command(spec: str) -> click.Command:
    module_name, attribute = spec.split(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{spec} is not a click command")
    return command


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--debug", is_flag=True, help="Show tracebacks for internal errors.")
@click.option(
    "--emulator",
    is_flag=True,
    help="Run against an embedded emulator whose state persists under .reconciler/.",
)
# The version from the package itself: no metadata lookup, whatever the
# distribution is called.
@click.version_option(version=__version__, prog_name="reconciler")
@click.pass_context
def cli(ctx: click.Context, debug: bool, emulator: bool) -> None:
    """Declarative, GitOps-style reconciler for tuned models on the Gemini API or Vertex AI."""
    ctx.obj = App(debug=debug, emulator=emulator)


def main(argv: list[str] | None = None) -> None:
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
            _print_traceback(console)
        console.error(str(exc))
        code = EXIT_ERROR
    except KeyboardInterrupt:
        console.error("interrupted")
        code = 130
    except Exception:  # a bug: one line, the trace only on request
        if debug:
            _print_traceback(console)
        else:
            exc_type, exc_value, _ = sys.exc_info()
            console.error(
                f"internal error ({exc_type.__name__ if exc_type else 'unknown'}: {exc_value}); "
                "re-run with --debug for the traceback and report it"
            )
        code = EXIT_ERROR
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _print_traceback(console: Console) -> None:
    # Through the console, so a secret in a frame's message is scrubbed like any other output.
    console.info(traceback.format_exc().rstrip("\n"))
