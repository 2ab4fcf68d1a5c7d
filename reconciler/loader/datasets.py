"""Training data checks: the API's limits, duplicates, totals and the fingerprint.

Rows come from `readers` (files) or from a manifest's inline examples. Each
row is checked and hashed and then dropped, so memory holds 32 bytes an
example (its hash), never a second copy of the data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from reconciler.loader.fingerprint import Fingerprint, example_hash, example_hashes
from reconciler.loader.problems import Problem, error, warning
from reconciler.loader.readers import Batch, Columns, Keys, Row, read_batches, read_rows
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
    """What checking a dataset found: its summary and every problem in it.

    `lines`, kept only when asked for: each example's hash (`example_hash`)
    and the line it first appears at, as the duplicate check collected them
    (an evaluation set's leakage check looks its examples up in it).
    """

    summary: DatasetSummary
    problems: tuple[Problem, ...]
    lines: Mapping[bytes, int] | None = None


def scan(
    batches: Iterable[Batch], size_bytes: int, display: str, field_name: FieldNamer, *, keep_lines: bool = False
) -> Scan:
    """Check every row against the API's limits and fingerprint the examples."""
    tally = _Tally(display, field_name)
    for batch in batches:
        if not isinstance(batch, Columns):
            tally.add_rows(batch)
        elif not tally.add_clean(batch):
            tally.add_rows(batch.rows())  # something in it needs a problem located: row by row
    return tally.finish(size_bytes, keep_lines)


class _Tally:
    """Counts, checks and hashes a dataset's examples, batch by batch.

    Two ways in, for speed: `add_clean` takes a batch that passes every
    check with list operations; `add_rows` takes anything, a row at a time,
    and reports each problem at its line.
    """

    def __init__(self, display: str, field_name: FieldNamer) -> None:
        self.display = display
        self.field_name = field_name
        self.fingerprint = Fingerprint()
        self.collector = _Collector()
        self.first_line_of: dict[bytes, int] = {}
        self.count = self.input_characters = self.output_characters = 0

    def add_clean(self, batch: Columns) -> bool:
        """Take a batch in one go if no example in it breaks a limit; False leaves it to `add_rows`."""
        inputs, outputs = batch.inputs, batch.outputs
        if (
            max(map(len, outputs), default=0) > MAX_OUTPUT_CHARACTERS
            or max(map(len, inputs), default=0) > MAX_INPUT_CHARACTERS
            or not all(outputs)
            or any(map(str.isspace, outputs))
        ):
            return False
        try:
            digests = example_hashes(inputs, outputs)
        except UnicodeEncodeError:  # a lone surrogate: add_rows says where
            return False
        self.count += len(inputs)
        self.input_characters += sum(map(len, inputs))
        self.output_characters += sum(map(len, outputs))
        self.fingerprint.add_hashes(digests)
        lines = range(batch.first_line, batch.first_line + len(digests))
        first_lines = dict(zip(digests, lines, strict=True))
        if len(first_lines) == len(digests) and self.first_line_of.keys().isdisjoint(first_lines):
            self.first_line_of.update(first_lines)  # no duplicates: the common case, in one step
        else:
            self._note_duplicates(digests, lines)
        return True

    def add_rows(self, batch: Iterable[Row | Problem]) -> None:
        # Locals, not attributes, in the loop: it runs once a row.
        add_hash, add_problem = self.fingerprint.add_hash, self.collector.add
        display, field_name = self.display, self.field_name
        first_line = self.first_line_of.setdefault
        count = input_characters = output_characters = 0
        for item in batch:
            if type(item) is not Row:
                add_problem(item)  # type: ignore[arg-type]
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
                    add_problem(problem)
            try:
                digest = example_hash(text_input, output)
            except UnicodeEncodeError:  # a lone surrogate, from a \ud800-style escape
                add_problem(error(display, line, "", "text is not valid Unicode (a lone surrogate)"))
                continue
            add_hash(digest)
            first = first_line(digest, line)
            if first != line:
                add_problem(_duplicate(display, line, first))
        self.count += count
        self.input_characters += input_characters
        self.output_characters += output_characters

    def _note_duplicates(self, digests: list[bytes], lines: range) -> None:
        first_line = self.first_line_of.setdefault
        for digest, line in zip(digests, lines, strict=True):
            first = first_line(digest, line)
            if first != line:
                self.collector.add(_duplicate(self.display, line, first))

    def finish(self, size_bytes: int, keep_lines: bool = False) -> Scan:
        summary = DatasetSummary(
            examples=self.count,
            input_characters=self.input_characters,
            output_characters=self.output_characters,
            size_bytes=size_bytes,
            digest=self.fingerprint.hexdigest(),
        )
        return Scan(summary, self.collector.finish(self.display), self.first_line_of if keep_lines else None)


def _duplicate(display: str, line: int, first: int) -> Problem:
    return warning(display, line, "", f"duplicate of the example at line {first}")


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
