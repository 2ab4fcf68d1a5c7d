"""Training data checks: the API's limits, duplicates, totals and the fingerprint.

Rows come from `readers` (files) or from a manifest's inline examples. Each
row is checked and hashed and then dropped, so memory holds 32 bytes an
example (its hash), never a second copy of the data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from reconciler.loader.fingerprint import Fingerprint, example_hash
from reconciler.loader.problems import Problem, error, warning
from reconciler.loader.readers import Batch, Keys, Row, read_batches, read_rows
from reconciler.model.desired import DatasetSummary

SUFFIXES = (".jsonl", ".json", ".csv")

# Limits of the tuning API (reference/gemini-tuning-api.md §7).
MIN_EXAMPLES = 20
MAX_INPUT_CHARACTERS = 40_000
MAX_OUTPUT_CHARACTERS = 5_000
LARGE_FILE_BYTES = 4 * 1024 * 1024
# The largest request body the API takes is not documented (reference §7); 20 MB
# is Google's documented limit for a generateContent request and what the
# emulator enforces. A create sends every example in its body.
MAX_REQUEST_BYTES = 20 * 1024 * 1024
# A file this far past the request limit is refused without being read.
MAX_FILE_BYTES = 8 * MAX_REQUEST_BYTES
# `{"textInput": "", "output": ""}, `: what each example adds around its text.
EXAMPLE_JSON_OVERHEAD = len('{"textInput": "", "output": ""}, ')

# A broken file can have thousands of bad rows; past this many the rest are counted.
MAX_PROBLEMS_PER_DATASET = 50
MAX_ALIKE_PROBLEMS = 3

FieldNamer = Callable[[Row, str], str]  # (row, "input" | "output") -> field path

__all__ = [
    "LARGE_FILE_BYTES",
    "MAX_FILE_BYTES",
    "MAX_REQUEST_BYTES",
    "MIN_EXAMPLES",
    "SUFFIXES",
    "Keys",
    "Row",
    "Scan",
    "file_field_namer",
    "inline_field_namer",
    "read_batches",
    "read_rows",
    "scan",
]


@dataclass(frozen=True)
class Scan:
    """What checking a dataset found: its summary and every problem in it."""

    summary: DatasetSummary
    problems: tuple[Problem, ...]


def scan(batches: Iterable[Batch], size_bytes: int, display: str, field_name: FieldNamer) -> Scan:
    """Check every row against the API's limits and fingerprint the examples."""
    fingerprint = Fingerprint()
    add_hash = fingerprint.add_hash
    collector = _Collector()
    first_line_of: dict[bytes, int] = {}
    first_line = first_line_of.setdefault
    count = input_characters = output_characters = 0
    for batch in batches:
        for item in batch:
            if type(item) is not Row:
                collector.add(item)  # type: ignore[arg-type]
                continue
            line, _, text_input, output = item
            count += 1
            input_length, output_length = len(text_input), len(output)
            input_characters += input_length
            output_characters += output_length
            # Cheap tests first: nearly every row passes them all.
            if (
                output_length > MAX_OUTPUT_CHARACTERS
                or input_length > MAX_INPUT_CHARACTERS
                or not output
                or output.isspace()
            ):
                for problem in _row_problems(item, display, field_name):
                    collector.add(problem)
            try:
                digest = example_hash(text_input, output)
            except UnicodeEncodeError:  # a lone surrogate, from a \ud800-style escape
                collector.add(error(display, line, "", "text is not valid Unicode (a lone surrogate)"))
                continue
            add_hash(digest)
            first = first_line(digest, line)
            if first != line:
                collector.add(warning(display, line, "", f"duplicate of the example at line {first}"))
    summary = DatasetSummary(
        examples=count,
        input_characters=input_characters,
        output_characters=output_characters,
        size_bytes=size_bytes,
        digest=fingerprint.hexdigest(),
    )
    return Scan(summary, collector.finish(display))


def _row_problems(row: Row, display: str, field_name: FieldNamer) -> Iterator[Problem]:
    if not row.output.strip():
        yield error(display, row.line, field_name(row, "output"), "must not be empty")
    elif len(row.output) > MAX_OUTPUT_CHARACTERS:
        message = _too_long(row.output, MAX_OUTPUT_CHARACTERS)
        yield error(display, row.line, field_name(row, "output"), message)
    if len(row.text_input) > MAX_INPUT_CHARACTERS:
        message = _too_long(row.text_input, MAX_INPUT_CHARACTERS)
        yield error(display, row.line, field_name(row, "input"), message)


def _too_long(text: str, limit: int) -> str:
    return f"is {len(text):,} characters, the API takes at most {limit:,}"


class _Collector:
    """Keeps the first problems of a dataset and counts the rest.

    A wrong key name fails every row the same way; three of a kind say
    enough, the rest are counted in one line.
    """

    def __init__(self) -> None:
        self.kept: list[Problem] = []
        self.seen: dict[tuple[str, str, str], int] = {}
        self.dropped: dict[tuple[str, str, str], int] = {}

    def add(self, problem: Problem) -> None:
        kind = (problem.severity, problem.field, problem.message)
        self.seen[kind] = self.seen.get(kind, 0) + 1
        if self.seen[kind] <= MAX_ALIKE_PROBLEMS and len(self.kept) < MAX_PROBLEMS_PER_DATASET:
            self.kept.append(problem)
        else:
            key = kind if self.seen[kind] > MAX_ALIKE_PROBLEMS else (problem.severity, "", "")
            self.dropped[key] = self.dropped.get(key, 0) + 1

    def finish(self, display: str) -> tuple[Problem, ...]:
        extra = []
        for (severity, field, message), count in self.dropped.items():
            more = f"{message} on {count} more rows" if message else f"{count} more {severity}s not shown"
            make = error if severity == "error" else warning
            extra.append(make(display, 0, field, more))
        return (*self.kept, *extra)


def file_field_namer(keys: Keys) -> FieldNamer:
    """Problems in a data file name the column: `output`, `text_input`."""
    return lambda _row, which: keys.output if which == "output" else keys.inputs[0]


def inline_field_namer(prefix: str) -> FieldNamer:
    """Problems in inline examples name the manifest field: `...examples[3].output`."""

    def name(row: Row, which: str) -> str:
        return f"{prefix}[{row.position}].{'output' if which == 'output' else 'textInput'}"

    return name


def request_bytes_at_least(summary: DatasetSummary) -> int:
    """A lower bound on the examples' size in a create request body.

    Each character takes at least one byte in JSON (more when escaped or not
    ASCII), so a dataset refused on this bound can never fit; one that passes
    is within a few times the bound.
    """
    return summary.input_characters + summary.output_characters + summary.examples * EXAMPLE_JSON_OVERHEAD


def utf8_size(rows: Iterable[tuple[str, str]]) -> int:
    return sum(len(a.encode("utf-8")) + len(b.encode("utf-8")) for a, b in rows)
