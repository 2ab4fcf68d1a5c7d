"""Training data checks: the API's limits, duplicates, totals and the fingerprint.

Rows come from `readers` (files) or from a manifest's inline examples. Each
row is checked and hashed and then dropped, so memory holds 32 bytes an
example (its hash), never a second copy of the data.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from reconciler.loader.contents import Turns, contents_hash, pair_line
from reconciler.loader.fingerprint import Fingerprint, example_hash, example_hashes
from reconciler.loader.limits import NO_LIMITS, DatasetLimits
from reconciler.loader.problems import Problem, error, warning
from reconciler.loader.readers import Batch, Columns, Keys, Row, read_batches, read_rows
from reconciler.model.desired import DatasetSummary

SUFFIXES = (".jsonl", ".json", ".csv")

# `{"textInput": "", "output": ""}, `: what each example adds around its text
# in a create request that carries the examples (the Gemini API's).
EXAMPLE_JSON_OVERHEAD = len('{"textInput": "", "output": ""}, ')

# A broken file can have thousands of bad rows; past this many the rest are counted.
MAX_PROBLEMS_PER_DATASET = 50
MAX_ALIKE_PROBLEMS = 3

FieldNamer = Callable[[Row, str], str]  # (row, "input" | "output") -> field path

__all__ = [
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

    `lines`, kept only when asked for: the line each example first appears
    at, by the `example_hash` of its input and output whatever form it is
    written in (an evaluation set's leakage check looks its examples up in it).
    A text_input/output pair is keyed by its text, without the system
    instruction; a `contents` row by its opening exchange (`Turns.opening`):
    the first answer is learned with no conversation before it, as an
    evaluation pair is asked; later answers follow a conversation no
    evaluation pair holds, so they are not compared.
    """

    summary: DatasetSummary
    problems: tuple[Problem, ...]
    lines: Mapping[bytes, int] | None = None


def scan(
    batches: Iterable[Batch],
    size_bytes: int,
    display: str,
    field_name: FieldNamer,
    *,
    keep_lines: bool = False,
    limits: DatasetLimits = NO_LIMITS,
    system_instruction: str | None = None,
) -> Scan:
    """Check every row against the backend's limits and fingerprint the examples.

    `system_instruction` (spec.systemInstruction) goes into every
    text_input/output example: those are then hashed in their canonical
    `contents` form, instruction included (`contents.pair_line`).
    """
    tally = _Tally(display, field_name, limits, system_instruction or None, keep_lines)
    for batch in batches:
        if not isinstance(batch, Columns):
            tally.add_rows(batch)
        elif not tally.add_clean(batch):
            tally.add_rows(batch.rows())  # something in it needs a problem located: row by row
    return tally.finish(size_bytes)


class _Tally:
    """Counts, checks and hashes a dataset's examples, batch by batch.

    Two ways in, for speed: `add_clean` takes a batch that passes every
    check with list operations; `add_rows` takes anything, a row at a time,
    and reports each problem at its line.
    """

    def __init__(
        self,
        display: str,
        field_name: FieldNamer,
        limits: DatasetLimits,
        system_instruction: str | None,
        keep_lines: bool = False,
    ) -> None:
        self.display = display
        self.field_name = field_name
        self.limits = limits
        self.system = system_instruction
        # Characters an example may hold: None, or the token limit's estimate less the instruction.
        example_limit = limits.example_characters_limit()
        self.max_example_characters = None if example_limit is None else example_limit - len(system_instruction or "")
        self.fingerprint = Fingerprint()
        self.collector = _Collector()
        self.first_line_of: dict[bytes, int] = {}
        # For the leakage check (`Scan.lines`): the text keys of the examples whose
        # hash above is not that key (contents rows; pairs with a system instruction).
        self.keep_lines = keep_lines
        self.text_keys: dict[bytes, int] = {}
        self.count = self.input_characters = self.output_characters = 0

    def add_clean(self, batch: Columns) -> bool:
        """Take a batch in one go if no example in it breaks a limit; False leaves it to `add_rows`."""
        inputs, outputs = batch.inputs, batch.outputs
        limits = self.limits
        if (
            (
                limits.max_output_characters is not None
                and max(map(len, outputs), default=0) > limits.max_output_characters
            )
            or (
                limits.max_input_characters is not None
                and max(map(len, inputs), default=0) > limits.max_input_characters
            )
            or (
                self.max_example_characters is not None
                and max(map(len, inputs), default=0) + max(map(len, outputs), default=0) > self.max_example_characters
            )
            or not all(outputs)
            or any(map(str.isspace, outputs))
            or (limits.example_format is not None and any(map(limits.example_format.pair_problem, inputs, outputs)))
        ):
            return False
        try:
            digests = self._pair_hashes(inputs, outputs)
        except UnicodeEncodeError:  # a lone surrogate: add_rows says where
            return False
        self.count += len(inputs)
        # The system instruction goes into every pair as uploaded: it is tuned on (and billed).
        self.input_characters += sum(map(len, inputs)) + len(self.system or "") * len(inputs)
        self.output_characters += sum(map(len, outputs))
        self.fingerprint.add_hashes(digests)
        lines = range(batch.first_line, batch.first_line + len(digests))
        if self.keep_lines and self.system is not None:
            for key, line in zip(example_hashes(inputs, outputs), lines, strict=True):
                self.text_keys.setdefault(key, line)
        first_lines = dict(zip(digests, lines, strict=True))
        if len(first_lines) == len(digests) and self.first_line_of.keys().isdisjoint(first_lines):
            self.first_line_of.update(first_lines)  # no duplicates: the common case, in one step
        else:
            self._note_duplicates(digests, lines)
        return True

    def _pair_hashes(self, inputs: list[str], outputs: list[str]) -> list[bytes]:
        if self.system is None:
            return example_hashes(inputs, outputs)
        system = self.system
        return [contents_hash(pair_line(i, o, system)) for i, o in zip(inputs, outputs, strict=True)]

    def _pair_hash(self, text_input: str, output: str) -> bytes:
        if self.system is None:
            return example_hash(text_input, output)
        return contents_hash(pair_line(text_input, output, self.system))

    def add_rows(self, batch: Iterable[Row | Turns | Problem]) -> None:
        # Locals, not attributes, in the loop: it runs once a row.
        add_hash, add_problem = self.fingerprint.add_hash, self.collector.add
        display, field_name = self.display, self.field_name
        first_line = self.first_line_of.setdefault
        limits = self.limits
        max_output = limits.max_output_characters or float("inf")
        max_input = limits.max_input_characters or float("inf")
        max_example = self.max_example_characters or float("inf")
        keep_text_keys, text_key = self.keep_lines, self.text_keys.setdefault
        example_format = limits.example_format
        pairs_need_text_keys = keep_text_keys and self.system is not None
        system_length = len(self.system or "")  # in every pair as uploaded: tuned on, and billed
        count = input_characters = output_characters = 0
        for item in batch:
            if type(item) is Turns:
                digest = self._add_turns(item)
                if digest is not None:
                    count += 1
                    input_characters += item.input_characters
                    output_characters += item.output_characters
                    first = first_line(digest, item.line)
                    if first != item.line:
                        add_problem(_duplicate(display, item.line, first))
                    if keep_text_keys:
                        text_key(example_hash(*item.opening), item.line)
                continue
            if type(item) is not Row:
                add_problem(item)  # type: ignore[arg-type]
                continue
            line, _, text_input, output = item
            count += 1
            input_length, output_length = len(text_input), len(output)
            input_characters += input_length + system_length
            output_characters += output_length
            # Cheap tests first: nearly every row passes them all.
            if (
                output_length > max_output
                or input_length > max_input
                or input_length + output_length > max_example
                or not output
                or output.isspace()
            ):
                for problem in _row_problems(item, display, field_name, limits, self.max_example_characters):
                    add_problem(problem)
            if example_format is not None:
                unwritable = example_format.pair_problem(text_input, output)
                if unwritable is not None:
                    add_problem(error(display, line, field_name(item, unwritable[0]), unwritable[1]))
            try:
                digest = self._pair_hash(text_input, output)
            except UnicodeEncodeError:  # a lone surrogate, from a \ud800-style escape
                add_problem(error(display, line, "", "text is not valid Unicode (a lone surrogate)"))
                continue
            add_hash(digest)
            first = first_line(digest, line)
            if first != line:
                add_problem(_duplicate(display, line, first))
            if pairs_need_text_keys:
                text_key(example_hash(text_input, output), line)
        self.count += count
        self.input_characters += input_characters
        self.output_characters += output_characters

    def _add_turns(self, turns: Turns) -> bytes | None:
        """Check an example in the `contents` format; its hash, or None when the backend refuses the format."""
        limits = self.limits
        if limits.contents_refused is not None:
            self.collector.add(error(self.display, turns.line, "contents", limits.contents_refused))
            return None
        unwritable = limits.example_format and limits.example_format.contents_problem(turns.canonical)
        if unwritable:
            self.collector.add(error(self.display, turns.line, *unwritable))
        characters = turns.input_characters + turns.output_characters
        example_limit = limits.example_characters_limit()
        if example_limit is not None and characters > example_limit:
            self.collector.add(error(self.display, turns.line, "contents", _too_many_tokens(characters, limits)))
        digest = contents_hash(turns.canonical)
        self.fingerprint.add_hash(digest)
        return digest

    def _note_duplicates(self, digests: list[bytes], lines: range) -> None:
        first_line = self.first_line_of.setdefault
        for digest, line in zip(digests, lines, strict=True):
            first = first_line(digest, line)
            if first != line:
                self.collector.add(_duplicate(self.display, line, first))

    def finish(self, size_bytes: int) -> Scan:
        summary = DatasetSummary(
            examples=self.count,
            input_characters=self.input_characters,
            output_characters=self.output_characters,
            size_bytes=size_bytes,
            digest=self.fingerprint.hexdigest(),
        )
        return Scan(summary, self.collector.finish(self.display), self._lines())

    def _lines(self) -> Mapping[bytes, int] | None:
        """`Scan.lines`: without a system instruction a pair's hash is its text key,
        so the duplicate check's map serves, with the contents rows' keys beside it."""
        if not self.keep_lines:
            return None
        if self.system is not None:
            return self.text_keys
        return ChainMap(self.first_line_of, self.text_keys)


def _duplicate(display: str, line: int, first: int) -> Problem:
    return warning(display, line, "", f"duplicate of the example at line {first}")


def _row_problems(
    row: Row, display: str, field_name: FieldNamer, limits: DatasetLimits, max_example: int | None
) -> Iterator[Problem]:
    max_output, max_input = limits.max_output_characters, limits.max_input_characters
    if not row.output.strip():
        yield error(display, row.line, field_name(row, "output"), "must not be empty")
    elif max_output is not None and len(row.output) > max_output:
        message = _too_long(row.output, max_output, limits.service)
        yield error(display, row.line, field_name(row, "output"), message)
    if max_input is not None and len(row.text_input) > max_input:
        message = _too_long(row.text_input, max_input, limits.service)
        yield error(display, row.line, field_name(row, "input"), message)
    if max_example is not None and len(row.text_input) + len(row.output) > max_example:
        characters = len(row.text_input) + len(row.output) + (limits.example_characters_limit() or 0) - max_example
        yield error(display, row.line, "", _too_many_tokens(characters, limits))


def _too_long(text: str, limit: int, service: str) -> str:
    return f"is {len(text):,} characters, {service} takes at most {limit:,}"


def _too_many_tokens(characters: int, limits: DatasetLimits) -> str:
    tokens = -(-characters // 4)
    return (
        f"the example is about {tokens:,} tokens ({characters:,} characters, ~4 a token, system "
        f"instruction included), {limits.service} takes at most {limits.max_example_tokens:,} an example"
    )


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
