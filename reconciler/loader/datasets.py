"""Training data: read JSONL, JSON, CSV or inline examples, check them, fingerprint them.

Files are streamed: rows are checked and hashed one at a time and dropped, so
memory holds 32 bytes an example (its hash), never a second copy of the data.
A JSON document cannot be split into lines, so its text is read whole, but
its examples are still decoded one at a time.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from reconciler.loader.fingerprint import Fingerprint
from reconciler.loader.problems import Problem, error, warning
from reconciler.model.desired import DatasetSummary

SUFFIXES = (".jsonl", ".json", ".csv")

# Limits of the tuning API (reference/gemini-tuning-api.md §7).
MIN_EXAMPLES = 20
MAX_INPUT_CHARACTERS = 40_000
MAX_OUTPUT_CHARACTERS = 5_000
LARGE_FILE_BYTES = 4 * 1024 * 1024

# A broken file can have thousands of bad rows; past this many the rest are counted.
MAX_PROBLEMS_PER_DATASET = 50
MAX_ALIKE_PROBLEMS = 3

DEFAULT_INPUT_KEYS = ("text_input", "textInput")
DEFAULT_OUTPUT_KEY = "output"


class ByteSink(Protocol):
    """Where the raw bytes go as they are read (a hashlib object)."""

    def update(self, data: bytes, /) -> None: ...


@dataclass(frozen=True)
class Keys:
    """Which keys or columns hold an example's input and output."""

    inputs: tuple[str, ...] = DEFAULT_INPUT_KEYS  # the first one present wins
    output: str = DEFAULT_OUTPUT_KEY

    @classmethod
    def of(cls, input_key: str | None, output_key: str | None) -> Keys:
        return cls(
            inputs=(input_key,) if input_key else DEFAULT_INPUT_KEYS,
            output=output_key or DEFAULT_OUTPUT_KEY,
        )

    def describe_inputs(self) -> str:
        return " or ".join(self.inputs)


@dataclass(frozen=True, slots=True)
class Row:
    """One example as read, with the line it starts on and its place in the data."""

    line: int
    index: int
    text_input: str
    output: str


RowOrProblem = Row | Problem


class _Malformed(Exception):
    """A syntax error after which the rest of a file cannot be read."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


# --------------------------------------------------------------------- readers


def read_rows(
    path: Path, keys: Keys, display: str, sink: ByteSink | None = None
) -> Iterator[RowOrProblem]:
    """The examples of a data file, or problems located at `display:line`."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl_rows(path, keys, display, sink)
    if suffix == ".json":
        return _json_rows(path, keys, display, sink)
    if suffix == ".csv":
        return _csv_rows(path, keys, display, sink)
    raise ValueError(f"unsupported dataset suffix {suffix!r}")


def _jsonl_rows(
    path: Path, keys: Keys, display: str, sink: ByteSink | None
) -> Iterator[RowOrProblem]:
    index = 0
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, 1):
            if sink is not None:
                sink.update(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield error(display, number, "", _utf8_message(exc))
                continue
            if number == 1:
                text = text.removeprefix("\ufeff")
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield error(display, number, "", f"malformed JSON: {exc.msg} (column {exc.colno})")
                continue
            yield _row(value, number, index, keys, display)
            index += 1


def _json_rows(
    path: Path, keys: Keys, display: str, sink: ByteSink | None
) -> Iterator[RowOrProblem]:
    data = path.read_bytes()
    if sink is not None:
        sink.update(data)
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        yield error(display, data.count(b"\n", 0, exc.start) + 1, "", _utf8_message(exc))
        return
    del data  # keep one copy of the file, not two
    cursor = _JsonCursor(text)
    try:
        for index, (line, value) in enumerate(cursor.examples()):
            yield _row(value, line, index, keys, display)
    except _Malformed as exc:
        yield error(display, exc.line, "", exc.message)


def _csv_rows(
    path: Path, keys: Keys, display: str, sink: ByteSink | None
) -> Iterator[RowOrProblem]:
    with path.open("rb") as stream:
        lines = _DecodedLines(stream, display, sink)
        reader = csv.reader(lines, strict=True)
        header = next(_csv_records(reader, lines), None)
        yield from lines.drain()
        if header is None:
            return
        columns = _csv_columns(header[1], keys, display)
        if isinstance(columns, Problem):
            yield columns
            return
        width = len(header[1])
        for index, (line, record) in enumerate(_csv_records(reader, lines)):
            yield from lines.drain()
            if len(record) != width:
                yield error(
                    display, line, "", f"row has {len(record)} fields, the header has {width}"
                )
                continue
            yield Row(line, index, record[columns[0]], record[columns[1]])
        yield from lines.drain()


def _csv_records(reader: Any, lines: _DecodedLines) -> Iterator[tuple[int, list[str]]]:
    """(start line, fields) of each non-blank record; quoting errors become problems."""
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            lines.pending.append(error(lines.display, reader.line_num, "", f"malformed CSV: {exc}"))
            continue
        if record:
            yield start, record


def _csv_columns(header: list[str], keys: Keys, display: str) -> tuple[int, int] | Problem:
    header = [name.removeprefix("\ufeff") for name in header]
    input_column = next((header.index(k) for k in keys.inputs if k in header), None)
    if input_column is None:
        return error(
            display, 1, keys.inputs[0], f"no {keys.describe_inputs()} column in the header"
        )
    if keys.output not in header:
        return error(display, 1, keys.output, f"no {keys.output} column in the header")
    return input_column, header.index(keys.output)


class _DecodedLines:
    """Feeds csv text lines decoded from bytes, keeping bad UTF-8 as problems."""

    def __init__(self, stream: Iterable[bytes], display: str, sink: ByteSink | None) -> None:
        self._stream = stream
        self.display = display
        self._sink = sink
        self.pending: list[Problem] = []

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._stream, 1):
            if self._sink is not None:
                self._sink.update(raw)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.pending.append(error(self.display, number, "", _utf8_message(exc)))
                yield raw.decode("utf-8", errors="replace")

    def drain(self) -> Iterator[Problem]:
        while self.pending:
            yield self.pending.pop(0)


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _JsonCursor:
    """Walks a JSON document's example list one element at a time, counting lines."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line = 1
        self._counted_to = 0

    def line_at(self, position: int) -> int:
        # Positions only move forward, so newlines are counted once in total.
        self._line += self.text.count("\n", self._counted_to, position)
        self._counted_to = position
        return self._line

    def examples(self) -> Iterator[tuple[int, Any]]:
        position = self._skip(0)
        opening = self._char(position)
        if opening == "[":
            end = yield from self._array(position)
        elif opening == "{":
            end = yield from self._examples_member(position)
        else:
            raise _Malformed(
                self.line_at(position), 'expected a list of examples or {"examples": [...]}'
            )
        end = self._skip(end)
        if end < len(self.text):
            raise _Malformed(
                self.line_at(end), "unexpected text after the end of the JSON document"
            )

    def _examples_member(self, position: int) -> Generator[tuple[int, Any], None, int]:
        """Read `{"examples": [...], ...}` and return the position after it."""
        position, found = self._skip(position + 1), False
        while self._char(position) != "}":
            key, position = self._decode(position)
            position = self._expect(self._skip(position), ":")
            if key == "examples":
                if self._char(position) != "[":
                    raise _Malformed(self.line_at(position), "examples must be a list")
                position, found = (yield from self._array(position)), True
            else:
                _, position = self._decode(position)
            position = self._skip(position)
            if self._char(position) == ",":
                position = self._skip(position + 1)
        if not found:
            raise _Malformed(self.line_at(position), 'no "examples" key in the JSON object')
        return position + 1

    def _array(self, position: int) -> Generator[tuple[int, Any], None, int]:
        """Yield (line, value) for each element of the array at `position`; return its end."""
        position = self._skip(position + 1)
        if self._char(position) == "]":
            return position + 1
        while True:
            line = self.line_at(position)
            value, position = self._decode(position)
            yield line, value
            position = self._skip(position)
            if self._char(position) == "]":
                return position + 1
            position = self._skip(self._expect(position, ","))

    def _decode(self, position: int) -> tuple[Any, int]:
        try:
            return _DECODER.raw_decode(self.text, position)
        except json.JSONDecodeError as exc:
            raise _Malformed(
                exc.lineno, f"malformed JSON: {exc.msg} (column {exc.colno})"
            ) from None

    def _expect(self, position: int, char: str) -> int:
        found = self._char(position)
        if found != char:
            raise _Malformed(
                self.line_at(position), f"malformed JSON: expected {char!r}, found {found!r}"
            )
        return self._skip(position + 1)

    def _char(self, position: int) -> str:
        if position >= len(self.text):
            raise _Malformed(self.line_at(len(self.text)), "malformed JSON: unexpected end of file")
        return self.text[position]

    def _skip(self, position: int) -> int:
        match = _WHITESPACE.match(self.text, position)
        return match.end() if match else position


def _row(value: Any, line: int, index: int, keys: Keys, display: str) -> RowOrProblem:
    if not isinstance(value, dict):
        return error(display, line, "", f"an example must be an object, not {_json_type(value)}")
    input_key = next((k for k in keys.inputs if k in value), None)
    if input_key is None:
        return error(
            display, line, keys.inputs[0], f"missing (expected a {keys.describe_inputs()} key)"
        )
    if keys.output not in value:
        return error(display, line, keys.output, "missing")
    text_input, output = value[input_key], value[keys.output]
    if not isinstance(text_input, str):
        return error(display, line, input_key, f"must be a string, not {_json_type(text_input)}")
    if not isinstance(output, str):
        return error(display, line, keys.output, f"must be a string, not {_json_type(output)}")
    return Row(line, index, text_input, output)


def _json_type(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    return names.get(type(value), "a number")


def _utf8_message(exc: UnicodeDecodeError) -> str:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return f"invalid UTF-8 (byte 0x{byte})"


# ------------------------------------------------------------------- checking


@dataclass(frozen=True)
class Scan:
    """What checking a dataset found: its summary and every problem in it."""

    summary: DatasetSummary
    problems: tuple[Problem, ...]


FieldNamer = Callable[[Row, str], str]  # (row, "input" | "output") -> field path


def scan(
    rows: Iterable[RowOrProblem], size_bytes: int, display: str, field_name: FieldNamer
) -> Scan:
    """Check every row against the API's limits and fingerprint the examples."""
    fingerprint = Fingerprint()
    collector = _Collector()
    first_line_of: dict[bytes, int] = {}
    count = input_characters = output_characters = 0
    for item in rows:
        if isinstance(item, Problem):
            collector.add(item)
            continue
        count += 1
        input_characters += len(item.text_input)
        output_characters += len(item.output)
        for problem in _row_problems(item, display, field_name):
            collector.add(problem)
        digest = fingerprint.add(item.text_input, item.output)
        first = first_line_of.setdefault(digest, item.line)
        if first != item.line:
            collector.add(
                warning(display, item.line, "", f"duplicate of the example at line {first}")
            )
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
            more = (
                f"{message} on {count} more rows"
                if message
                else f"{count} more {severity}s not shown"
            )
            make = error if severity == "error" else warning
            extra.append(make(display, 0, field, more))
        return (*self.kept, *extra)


def file_field_namer(keys: Keys) -> FieldNamer:
    """Problems in a data file name the column: `output`, `text_input`."""
    return lambda _row, which: keys.output if which == "output" else keys.inputs[0]


def inline_field_namer(prefix: str) -> FieldNamer:
    """Problems in inline examples name the manifest field: `...examples[3].output`."""
    return lambda row, which: (
        f"{prefix}[{row.index}].{'output' if which == 'output' else 'textInput'}"
    )


def utf8_size(rows: Iterable[tuple[str, str]]) -> int:
    return sum(len(a.encode("utf-8")) + len(b.encode("utf-8")) for a, b in rows)
