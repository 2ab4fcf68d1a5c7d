"""`reconciler validate [PATH]`: every problem at once, then a summary per model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from reconciler.backends import backend_checks, backend_class
from reconciler.cli.annotations import print_problem
from reconciler.cli.app import EXIT_ERROR, App, exit_with, pass_app
from reconciler.cli.console import Console
from reconciler.cli.repository import check_repository
from reconciler.cli.truncations import remembered
from reconciler.loader import LoadResult, Problem, load, load_files
from reconciler.loader.checks import BackendChecks
from reconciler.loader.layout import display_path
from reconciler.loader.problems import error
from reconciler.loader.staged import StagedCopy, staged_copy
from reconciler.loader.summary import ModelSummary, summarize
from reconciler.model.errors import UserError
from reconciler.model.settings import Settings
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.graph import root_base_model
from reconciler.plan.rules import PlanRules

JSON_FORMAT_VERSION = "1.0"  # docs/plan-json.md: the JSON of every command
_COLUMNS = ("MODEL", "SOURCE", "EXAMPLES", "CHARACTERS", "~TRAINING-TOKENS", "~STEPS")


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-C",
    "--dir",
    "directory",
    default=".",
    show_default=True,
    type=click.Path(exists=True, file_okay=False),
    help="The repository; PATHS are relative to it.",
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json prints one document on stdout for machines.",
)
@click.option(
    "--staged",
    is_flag=True,
    help="Check what the next commit holds (git's index), not the working tree: the pre-commit hook's mode.",
)
@pass_app
def validate(app: App, paths: tuple[Path, ...], directory: str, output: str, staged: bool) -> None:
    """Check manifests, settings and datasets without calling the API.

    PATHS is a repository root (default: the current folder) or a manifests
    folder; or manifest files (as a pre-commit hook passes them), for which
    the whole repository is loaded and their problems reported. Exits 1 when
    anything is wrong, and when a folder holds no manifest at all (so a wrong
    path cannot pass CI). Files given need not declare a model: a commit may
    change only reconciler.yaml or a dataset.
    """
    given = tuple(Path(directory) / path for path in paths) or (Path(directory),)
    if staged:
        with staged_copy(Path(directory)) as copy:
            result = _load_staged(copy, given)
    else:
        result = _load(given)
    # With reconciler.yaml invalid the backend is unknown: no summary, whose step
    # estimates would be the default backend's (one settings mistake, one error).
    summaries = _summaries(result, backend_class(result.settings).rules) if result.settings_valid else []
    files_given = bool(paths) and not (len(given) == 1 and given[0].is_dir())
    if output == "json":
        app.console.print(json.dumps(_as_json(result, summaries, files_given), indent=2))
    else:
        _print_text(app.console, result, summaries, files_given)
        for model in result.models:  # what the last run on the same data truncated (reconciler/cli/truncations.py)
            for warning in remembered(Path(directory), model):
                app.console.warn(warning)
    if not _valid(result, summaries, files_given):
        exit_with(EXIT_ERROR)


def _summaries(result: LoadResult, rules: PlanRules) -> list[ModelSummary]:
    """Each model's figures, with the defaults of its chain's base model (nothing is live here)."""
    declared = {model.id: model for model in result.models}
    return [summarize(model, rules.tuning_for(root_base_model(model.id, declared, {}))) for model in result.models]


def _valid(result: LoadResult, summaries: list[ModelSummary], files_given: bool) -> bool:
    return result.ok and (bool(summaries) or files_given)


def _load(paths: tuple[Path, ...], cwd: Path | None = None) -> LoadResult:
    if len(paths) == 1 and paths[0].is_dir():
        check_repository(paths[0])
        return load(paths[0], cwd=cwd, checks_for=_checks)
    if any(path.is_dir() for path in paths):
        raise UserError("give one folder, or any number of files")
    return load_files(paths, cwd=cwd, checks_for=_checks)


def _load_staged(copy: StagedCopy, paths: tuple[Path, ...]) -> LoadResult:
    """`_load` of the same paths in the exported index, shown as in the work tree.

    A file given that the index does not hold is a problem of its own (the
    hook is given only staged files; a person may give any).
    """
    cwd = Path.cwd().resolve()
    inside = copy.path_of(cwd) or copy.root  # problems name files relative to the same folder
    if len(paths) == 1 and paths[0].is_dir():
        check_repository(paths[0])  # the work tree's folder, named as given
        folder = copy.path_of(paths[0]) or copy.root
        folder.mkdir(parents=True, exist_ok=True)  # nothing staged under it: no manifests, said as such
        return _load((folder,), inside)
    if any(path.is_dir() for path in paths):
        raise UserError("give one folder, or any number of files")
    missing = [
        error(display_path(Path(os.path.abspath(path)), cwd), 0, "", why)
        for path in paths
        if (why := copy.why_not_exported(path)) is not None
    ]
    staged = tuple(copy.path_of(path) or path for path in paths if copy.why_not_exported(path) is None)
    if not staged:
        return LoadResult(None, tuple(missing))
    result = _load(staged, inside)
    if not missing:
        return result
    return LoadResult(
        None, (*missing, *result.problems), result.models, result.settings, settings_valid=result.settings_valid
    )


def _checks(settings: Settings) -> BackendChecks:
    """What the backend the repository chooses cannot honour, and its dataset limits."""
    return backend_checks(settings)


def _as_json(result: LoadResult, summaries: list[ModelSummary], files_given: bool) -> dict[str, object]:
    return {
        "format_version": JSON_FORMAT_VERSION,
        "valid": _valid(result, summaries, files_given),
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


def _print_text(console: Console, result: LoadResult, summaries: list[ModelSummary], files_given: bool) -> None:
    for problem in result.problems:
        print_problem(console, problem)
    if summaries:
        if result.problems:
            console.print()
        for line in _table(summaries):
            console.print(line)
    console.print()
    console.print(_verdict(result, len(summaries), files_given))


def _table(summaries: list[ModelSummary]) -> list[str]:
    rows = [_COLUMNS] + [_cells(s) for s in summaries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(_align(cell, width, i) for i, (cell, width) in enumerate(zip(row, widths, strict=False)))
        for row in rows
    ]
    lines.append("~TRAINING-TOKENS: estimated tokens of the dataset times the epochs, as `plan` counts them")
    lines.extend(_footnotes(summaries))
    return [line.rstrip() for line in lines]


def _footnotes(summaries: list[ModelSummary]) -> list[str]:
    """What the starred step counts assume: one line, or where base models'
    defaults differ by base model, one a set of defaults, naming its models."""
    assumed: dict[TuningDefaults, list[str]] = {}
    for summary in summaries:
        if summary.assumes_defaults:
            assumed.setdefault(summary.tuning, []).append(summary.id)
    if len(assumed) == 1:
        return [f"* {_assumption(next(iter(assumed)))}"]
    return [f"* {', '.join(ids)}: {_assumption(tuning)}" for tuning, ids in assumed.items()]


def _assumption(tuning: TuningDefaults) -> str:
    if tuning.batch_size_is_setting:
        defaults = f"{tuning.epoch_count} and {tuning.batch_size}"
        return f"epochCount or batchSize not set: the API's defaults ({defaults}) assumed"
    # no batch size to speak of (Vertex AI; Amazon Nova)
    return f"epochCount not set: {tuning.epoch_count} epochs assumed (the service chooses)"


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


def _verdict(result: LoadResult, models: int, files_given: bool) -> str:
    errors, warnings = len(result.errors), len(result.warnings)
    if errors:
        return f"Invalid: {_count(errors, 'error')}, {_count(warnings, 'warning')}."
    if not models and files_given:
        return "Valid: the files given declare no model" + (f", {_count(warnings, 'warning')}." if warnings else ".")
    if not models:
        return "Invalid: no manifests found; a repository to check needs at least one."
    noun = _count(models, "model")
    return f"Valid: {noun}" + (f", {_count(warnings, 'warning')}." if warnings else ".")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
