"""`reconciler validate [PATH]`: every problem at once, then a summary per model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.backends import backend_class
from reconciler.cli.annotations import print_problem
from reconciler.cli.app import EXIT_ERROR, App, exit_with, pass_app
from reconciler.cli.console import Console
from reconciler.cli.repository import check_repository
from reconciler.loader import LoadResult, Problem, load, load_files
from reconciler.loader.checks import ManifestCheck
from reconciler.loader.summary import ModelSummary, summarize
from reconciler.model.errors import UserError
from reconciler.model.settings import Settings
from reconciler.model.tuning import TuningDefaults

JSON_FORMAT_VERSION = "1.0"  # docs/plan-json.md: the JSON of every command
_COLUMNS = ("MODEL", "SOURCE", "EXAMPLES", "CHARACTERS", "~TRAINING-TOKENS", "~STEPS")


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-C", "--dir", "directory", default=".", show_default=True,
              type=click.Path(exists=True, file_okay=False),
              help="The repository; PATHS are relative to it.")
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one document on stdout for machines.",
)
@pass_app
def validate(app: App, paths: tuple[Path, ...], directory: str, output: str) -> None:
    """Check manifests, settings and datasets without calling the API.

    PATHS is a repository root (default: the current folder) or a manifests
    folder; or manifest files (as a pre-commit hook passes them), for which
    the whole repository is loaded and their problems reported. Exits 1 when
    anything is wrong, and when there is no manifest at all (so a wrong path
    cannot pass CI).
    """
    result = _load(tuple(Path(directory) / path for path in paths) or (Path(directory),))
    tuning = backend_class(result.settings).rules.tuning
    summaries = [summarize(model, tuning) for model in result.models]
    if output == "json":
        app.console.print(json.dumps(_as_json(result, summaries), indent=2))
    else:
        _print_text(app.console, result, summaries, tuning)
    if not result.ok or not summaries:
        exit_with(EXIT_ERROR)


def _load(paths: tuple[Path, ...]) -> LoadResult:
    if len(paths) == 1 and paths[0].is_dir():
        check_repository(paths[0])
        return load(paths[0], checks_for=_checks)
    if any(path.is_dir() for path in paths):
        raise UserError("give one folder, or any number of files")
    return load_files(paths, checks_for=_checks)


def _checks(settings: Settings) -> ManifestCheck:
    """What the backend the repository chooses cannot honour."""
    return backend_class(settings).manifest_problems


def _as_json(result: LoadResult, summaries: list[ModelSummary]) -> dict[str, object]:
    return {
        "format_version": JSON_FORMAT_VERSION,
        "valid": result.ok and bool(summaries),
        "error_count": len(result.errors),
        "warning_count": len(result.warnings),
        "diagnostics": [diagnostic(p) for p in result.problems],
        "models": [s.as_json() for s in summaries],
    }


def diagnostic(problem: Problem) -> dict[str, object]:
    """A loading problem in the JSON of every command: 0 line and "" field become null."""
    return {
        "severity": problem.severity,
        "file": problem.file,
        "line": problem.line or None,
        "field": problem.field or None,
        "message": problem.message,
    }


def _print_text(
    console: Console, result: LoadResult, summaries: list[ModelSummary], tuning: TuningDefaults
) -> None:
    for problem in result.problems:
        print_problem(console, problem)
    if summaries:
        if result.problems:
            console.print()
        for line in _table(summaries, tuning):
            console.print(line)
    console.print()
    console.print(_verdict(result, len(summaries)))


def _table(summaries: list[ModelSummary], tuning: TuningDefaults) -> list[str]:
    rows = [_COLUMNS] + [_cells(s) for s in summaries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(
            _align(cell, width, i) for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        )
        for row in rows
    ]
    lines.append("~TRAINING-TOKENS: estimated tokens of the dataset times the epochs, as `plan` counts them")
    if any(s.assumes_defaults for s in summaries):
        lines.append(
            "* epochCount or batchSize not set: the API's defaults "
            f"({tuning.epoch_count} and {tuning.batch_size}) assumed"
        )
    return [line.rstrip() for line in lines]


def _cells(summary: ModelSummary) -> tuple[str, ...]:
    steps = f"{summary.estimated_steps:,}" + ("*" if summary.assumes_defaults else "")
    return (
        summary.id,
        summary.source,
        f"{summary.examples:,}",
        f"{summary.characters:,}",
        f"{summary.training_tokens:,}",
        steps,
    )


def _align(cell: str, width: int, column: int) -> str:
    # Names read left to right; numbers line up on their last digit.
    return cell.ljust(width) if column < 2 else cell.rjust(width)


def _verdict(result: LoadResult, models: int) -> str:
    errors, warnings = len(result.errors), len(result.warnings)
    if errors:
        return f"Invalid: {_count(errors, 'error')}, {_count(warnings, 'warning')}."
    if not models:
        return "Invalid: no manifests found; a repository to check needs at least one."
    noun = _count(models, "model")
    return f"Valid: {noun}" + (f", {_count(warnings, 'warning')}." if warnings else ".")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
