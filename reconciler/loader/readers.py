"""Dataset file readers: JSONL, JSON and CSV -> rows of (line, input, output), or problems.

Readers yield batches of rows, so per-example work stays in tight loops: a
list of rows and problems, or (a clean JSONL chunk) `Columns`, two lists the
scan checks and hashes whole. Files are streamed: a JSONL or CSV file is read a chunk at a time; a
JSON document cannot be split, so its text is read whole, but its examples
are still decoded one at a time and dropped.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from reconciler.loader.contents import Turns, is_contents_row, to_turns
from reconciler.loader.problems import Problem, error


def _chunk_parser() -> Callable[[bytes], Any]:
    """orjson when installed (about 2.5x faster on JSONL chunks), else the json module.

    orjson is optional (the `fast` extra) so that no install ever needs a Rust
    toolchain where it has no wheel yet. Both raise a ValueError on anything
    the fast path must leave to the line-by-line reader, and that reader uses
    the json module, so results are the same either way.
    """
    try:
        import orjson
    except ImportError:
        return json.loads
    return orjson.loads


_parse_chunk = _chunk_parser()

DEFAULT_INPUT_KEYS = ("text_input", "textInput")
DEFAULT_OUTPUT_KEY = "output"

# JSONL is parsed about a megabyte at a time: one json.loads per chunk instead
# of one per line is what makes validating thousands of files fast.
_CHUNK_BYTES = 1 << 20
_BOM = "\ufeff"
# The json module recurses per nesting level; an example is one flat object.
TOO_DEEP = "malformed JSON: nested too deeply to be an example"


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


class Row(NamedTuple):
    """One example as read, with the line it starts on and its place in the data."""

    line: int
    position: int  # 0-based place among the examples (`index` would shadow tuple.index)
    text_input: str
    output: str


class Columns(NamedTuple):
    """Well-formed examples on consecutive lines, as two columns.

    The JSONL fast path's shape: no tuple a row, so the scan checks and
    hashes a whole batch with list operations.
    """

    first_line: int
    first_position: int
    inputs: list[str]
    outputs: list[str]

    def rows(self) -> list[Row]:
        start_line, start = self.first_line, self.first_position
        return [
            Row(start_line + offset, start + offset, text_input, output)
            for offset, (text_input, output) in enumerate(zip(self.inputs, self.outputs, strict=True))
        ]


RowOrProblem = Row | Turns | Problem
Rows = list[RowOrProblem]
Batch = Rows | Columns  # Columns only from the JSONL fast path


class Digest(Protocol):
    """What is fed every byte of a file as it is read (a hashlib object)."""

    def update(self, data: bytes, /) -> None: ...


class _Discard:
    def update(self, data: bytes, /) -> None:
        pass


def read_batches(path: Path, keys: Keys, display: str, digest: Digest | None = None) -> Iterator[Batch]:
    """The examples of a data file in batches, with problems located at `display:line`.

    `digest` is fed every byte of the file, in order, as it is read: the file
    is hashed in the same pass that parses it, never read a second time.
    """
    suffix = path.suffix.lower()
    fed = digest or _Discard()
    if suffix == ".jsonl":
        return _jsonl_batches(path, keys, display, fed)
    if suffix == ".json":
        return _json_batches(path, keys, display, fed)
    if suffix == ".csv":
        return _csv_batches(path, keys, display, fed)
    raise ValueError(f"unsupported dataset suffix {suffix!r}")


def read_rows(path: Path, keys: Keys, display: str) -> Iterator[RowOrProblem]:
    """The same as `read_batches`, one row at a time."""
    for batch in read_batches(path, keys, display):
        yield from batch.rows() if isinstance(batch, Columns) else batch


# ----------------------------------------------------------------------- JSONL


def _jsonl_batches(path: Path, keys: Keys, display: str, digest: Digest) -> Iterator[Batch]:
    line = index = 0  # lines and examples read so far
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            chunk += stream.readline()  # end the chunk on a line boundary
            digest.update(chunk)
            count = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
            clean = _jsonl_fast(chunk, count, line, index, keys)
            if clean is not None:
                yield clean
                index += count
            else:
                rows = _jsonl_slow(chunk.split(b"\n")[:count], line, index, keys, display)
                yield rows
                index += sum(1 for item in rows if type(item) is Row)
            line += count


_ONLY_DICTS = frozenset({dict})
_ONLY_STRINGS = frozenset({str})


def _jsonl_fast(chunk: bytes, count: int, line: int, index: int, keys: Keys) -> Columns | None:
    """A clean chunk parsed as one JSON array; None when anything is off.

    The rows are trusted only if the chunk parses, holds one value a line and
    every value is a well-formed example: a value that spans lines can only
    be an array (the commas put between lines break anything else), and an
    array is not an example. Anything else is re-read line by line, which
    locates each problem exactly.
    """
    body = chunk[:-1] if chunk.endswith(b"\n") else chunk
    if line == 0 and body.startswith(_BOM.encode()):
        body = body[3:]
    try:
        values = _parse_chunk(b"[" + body.replace(b"\n", b",") + b"]")
    except ValueError:  # malformed JSON, a blank line, bad UTF-8 or (orjson) a lone surrogate
        return None
    if len(values) != count or not _ONLY_DICTS.issuperset(map(type, values)):
        return None
    # Whole-list operations, not a loop: this runs once an example of every dataset.
    # The input key choice is to_row's (the first key present wins) for the one or two keys there are.
    first_key, last_key = keys.inputs[0], keys.inputs[-1]
    inputs = [value[first_key] if first_key in value else value.get(last_key) for value in values]
    outputs = [value.get(keys.output) for value in values]
    if not (_ONLY_STRINGS.issuperset(map(type, inputs)) and _ONLY_STRINGS.issuperset(map(type, outputs))):
        return None
    return Columns(line + 1, index, inputs, outputs)


def _jsonl_slow(lines: list[bytes], line: int, index: int, keys: Keys, display: str) -> Rows:
    batch: Rows = []
    for number, raw in enumerate(lines, line + 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            batch.append(error(display, number, "", utf8_message(exc)))
            continue
        if number == 1:
            text = text.removeprefix(_BOM)
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"malformed JSON: {exc.msg} (column {exc.colno})"
            batch.append(error(display, number, "", message))
            continue
        except RecursionError:
            batch.append(error(display, number, "", TOO_DEEP))
            continue
        item = to_row(value, number, index, keys, display)
        if type(item) is list:
            batch.extend(item)
            continue
        index += type(item) is not Problem
        batch.append(item)  # type: ignore[arg-type]
    return batch


# ------------------------------------------------------------------------ JSON


class _Malformed(Exception):
    """A syntax error after which the rest of a file cannot be read."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _json_batches(path: Path, keys: Keys, display: str, digest: Digest) -> Iterator[Batch]:
    data = path.read_bytes()
    digest.update(data)
    try:
        text = data.decode("utf-8").removeprefix(_BOM)
    except UnicodeDecodeError as exc:
        yield [error(display, data.count(b"\n", 0, exc.start) + 1, "", utf8_message(exc))]
        return
    del data  # keep one copy of the file, not two
    batch: Rows = []
    try:
        for index, (line, value) in enumerate(_JsonCursor(text).examples()):
            item = to_row(value, line, index, keys, display)
            if type(item) is list:
                batch.extend(item)
            else:
                batch.append(item)  # type: ignore[arg-type]
            if len(batch) >= 1000:
                yield batch
                batch = []
    except _Malformed as exc:
        batch.append(error(display, exc.line, "", exc.message))
    yield batch


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
            expected = 'expected a list of examples or {"examples": [...]}'
            raise _Malformed(self.line_at(position), expected)
        end = self._skip(end)
        if end < len(self.text):
            message = "unexpected text after the end of the JSON document"
            raise _Malformed(self.line_at(end), message)

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
            message = f"malformed JSON: {exc.msg} (column {exc.colno})"
            raise _Malformed(exc.lineno, message) from None
        except RecursionError:
            raise _Malformed(self.line_at(position), TOO_DEEP) from None

    def _expect(self, position: int, char: str) -> int:
        found = self._char(position)
        if found != char:
            message = f"malformed JSON: expected {char!r}, found {found!r}"
            raise _Malformed(self.line_at(position), message)
        return self._skip(position + 1)

    def _char(self, position: int) -> str:
        if position >= len(self.text):
            message = "malformed JSON: unexpected end of file"
            raise _Malformed(self.line_at(len(self.text)), message)
        return self.text[position]

    def _skip(self, position: int) -> int:
        match = _WHITESPACE.match(self.text, position)
        return match.end() if match else position


# ------------------------------------------------------------------------- CSV


def _csv_batches(path: Path, keys: Keys, display: str, digest: Digest) -> Iterator[Batch]:
    with path.open("rb") as stream:
        lines = _DecodedLines(stream, display, digest)
        reader = csv.reader(lines, strict=True)
        records = _csv_records(reader, lines)
        header = next(records, None)
        if header is None:
            yield lines.drain()
            return
        columns = _csv_columns(header[1], keys, display)
        if isinstance(columns, Problem):
            yield [*lines.drain(), columns]
            while rest := stream.read(_CHUNK_BYTES):  # the digest covers the whole file
                digest.update(rest)
            return
        width = len(header[1])
        batch: Rows = lines.drain()
        for index, (line, record) in enumerate(records):
            batch.extend(lines.drain())
            if len(record) != width:
                message = f"row has {len(record)} fields, the header has {width}"
                batch.append(error(display, line, "", message))
            else:
                batch.append(Row(line, index, record[columns[0]], record[columns[1]]))
            if len(batch) >= 1000:
                yield batch
                batch = []
        yield [*batch, *lines.drain()]


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
    header = [name.removeprefix(_BOM) for name in header]
    input_column = next((header.index(k) for k in keys.inputs if k in header), None)
    if input_column is None:
        message = f"no {keys.describe_inputs()} column in the header"
        return error(display, 1, keys.inputs[0], message)
    if keys.output not in header:
        return error(display, 1, keys.output, f"no {keys.output} column in the header")
    return input_column, header.index(keys.output)


class _DecodedLines:
    """Feeds csv text lines decoded from bytes, keeping bad UTF-8 as problems."""

    def __init__(self, stream: Iterable[bytes], display: str, digest: Digest) -> None:
        self._stream = stream
        self.display = display
        self.digest = digest
        self.pending: list[Problem] = []

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._stream, 1):
            self.digest.update(raw)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.pending.append(error(self.display, number, "", utf8_message(exc)))
                yield raw.decode("utf-8", errors="replace")

    def drain(self) -> Rows:
        drained: Rows = list(self.pending)
        self.pending.clear()
        return drained


# ---------------------------------------------------------------------- shared


def to_row(value: Any, line: int, index: int, keys: Keys, display: str) -> RowOrProblem | list[Problem]:
    """One decoded JSON value as an example, or the problem(s) with it.

    An object with `contents` and none of the input keys is an example in
    Vertex AI's own format (`contents.to_turns`); whether the backend takes
    it is the scan's question.
    """
    if type(value) is not dict:
        return error(display, line, "", f"an example must be an object, not {_json_type(value)}")
    for input_key in keys.inputs:
        if input_key in value:
            break
    else:
        if is_contents_row(value):
            return to_turns(value, line, index, display)
        message = f"missing (expected a {keys.describe_inputs()} key)"
        return error(display, line, keys.inputs[0], message)
    if keys.output not in value:
        return error(display, line, keys.output, "missing")
    text_input, output = value[input_key], value[keys.output]
    if type(text_input) is not str:
        return error(display, line, input_key, f"must be a string, not {_json_type(text_input)}")
    if type(output) is not str:
        return error(display, line, keys.output, f"must be a string, not {_json_type(output)}")
    return Row(line, index, text_input, output)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), "a number")


def utf8_message(exc: UnicodeDecodeError) -> str:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return f"invalid UTF-8 (byte 0x{byte})"
