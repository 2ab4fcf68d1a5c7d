"""Checks of a model's evaluation set (`spec.evaluation`) beyond those of any dataset.

The set is read with the same readers and row checks as training data
(`datasets.scan`); on top of that it must not be empty, must stay under the
repository's cap (`evaluation.maxExamples`), must not share an example with
the training data (leakage: a model scored on what it was trained on looks
better than it is), and with the `regex` metric each expected output must
compile, since it is used as a pattern.

Leakage is found through the per-example hashes the training scan collects
(`datasets.Scan.lines`), so the training data is not read a second time; the
evaluation rows, at most the cap, are. Those hashes key an example by its
input and output text whatever form the training data writes it in (a pair,
a pair given `spec.systemInstruction`, a `contents` row by its opening
exchange), so an evaluation pair is looked up by its own text alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from reconciler.loader.contents import Turns
from reconciler.loader.datasets import FieldNamer
from reconciler.loader.fingerprint import example_hash
from reconciler.loader.problems import Problem, error
from reconciler.loader.readers import Row
from reconciler.model.desired import DatasetSummary
from reconciler.model.manifest import Metric
from reconciler.model.patterns import compile_problem

# Past this many leaked examples the rest are counted in one line.
MAX_LEAKS_SHOWN = 10


@dataclass(frozen=True)
class TrainingIndex:
    """Where each training example first appears, by its `example_hash`."""

    lines: Mapping[bytes, int]
    file: str  # as displayed: the data file, or the manifest for inline examples


@dataclass(frozen=True)
class Where:
    """Where the manifest declares the evaluation data, for problems about the whole set."""

    file: str
    line: int
    field: str  # spec.evaluation.data


def size_problems(summary: DatasetSummary, max_examples: int, where: Where) -> list[Problem]:
    """An empty set, or one over the cap."""
    if summary.examples == 0:
        return [error(where.file, where.line, where.field, "the evaluation set has no examples")]
    if summary.examples > max_examples:
        message = (
            f"the evaluation set has {summary.examples:,} examples, more than evaluation.maxExamples "
            f"({max_examples:,}, in reconciler.yaml): each one is an inference call on the candidate "
            "and on the model serving now"
        )
        return [error(where.file, where.line, where.field, message)]
    return []


def row_problems(
    rows: Iterable[Row | Turns | Problem],
    display: str,
    field_name: FieldNamer,
    metrics: tuple[Metric, ...],
    training: TrainingIndex | None,
    inline: str | None = None,
) -> Iterator[Problem]:
    """Leakage and, with the regex metric, patterns that do not compile, each at its row.

    Problems the rows carry were reported by the scan already and are skipped;
    `training` is None when the training data is unknown (nothing to compare).
    `inline`: the manifest field of inline examples (a leak names the example);
    None for a file, where the line says which row.
    """
    regex = Metric.REGEX in metrics
    leaks: list[Row] = []
    for row in rows:
        if isinstance(row, Turns):
            yield error(
                display,
                row.line,
                "contents",
                "an evaluation set holds text_input/output pairs "
                "(each is one inference call and one expected answer), not the contents format",
            )
            continue
        if not isinstance(row, Row):
            continue
        if regex and (problem := compile_problem(row.output)) is not None:
            yield error(display, row.line, field_name(row, "output"), f"with the regex metric, {problem}")
        if training is not None and _in_training(row, training):
            leaks.append(row)
    for row in leaks[:MAX_LEAKS_SHOWN]:
        assert training is not None
        first = training.lines[example_hash(row.text_input, row.output)]
        field = f"{inline}[{row.position}]" if inline else ""
        yield error(
            display,
            row.line,
            field,
            f"leakage: the same example is in the training data at {training.file}:{first}; remove it from one of them",
        )
    if len(leaks) > MAX_LEAKS_SHOWN:
        more = len(leaks) - MAX_LEAKS_SHOWN
        yield error(display, 0, "", f"leakage: {more} more examples are also in the training data")


def _in_training(row: Row, training: TrainingIndex) -> bool:
    try:
        return example_hash(row.text_input, row.output) in training.lines
    except UnicodeEncodeError:  # a lone surrogate: the scan reported it
        return False
