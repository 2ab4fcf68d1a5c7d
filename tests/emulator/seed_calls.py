"""The HTTP calls recorded in the seeds (tests/emulator/seeds/*.txt), parsed
out of the tutorials' text: curl commands and Python `requests` calls, each
with the answer printed after it when there is one.

A call is kept only when the seed holds the request the real server got:
- a curl body must be as long as the upload curl's progress meter recorded
  (which also proves that the trailing commas were sent as they are);
- every body must be balanced JSON or a Python literal.
Damaged calls are returned with the reason they were skipped.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEEDS = Path(__file__).parent / "seeds"
CURL = re.compile(r"^curl -X (GET|POST|PATCH|DELETE) (\S+)", re.MULTILINE)
PYTHON = re.compile(r"requests\.(get|post|patch|delete)\(")
PYTHON_URL = re.compile(r"url\s*=\s*f'\{base_url\}(/[^']*)'")
METER = re.compile(r"^\s*\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+(\d+)\s", re.MULTILINE)
NEXT_CALL = re.compile(r"requests\.\w+\(|^curl ", re.MULTILINE)


@dataclass(frozen=True)
class RecordedCall:
    seed: str
    line: int
    client: str  # "curl" or "python"
    method: str
    path: str  # with the tutorial's variables: /v1beta/${modelname}:generateContent
    raw_body: str | None  # exactly what was sent (curl), or None
    body: Any  # the body as data, or None
    answer: Any  # the printed answer as data, or None when none was recorded
    grep: str  # the word of `| grep WORD`, or ""
    grep_lines: tuple[str, ...]  # what that grep printed

    @property
    def where(self) -> str:
        return f"{self.seed}:{self.line} {self.client} {self.method} {self.path}"

    @property
    def lists(self) -> bool:
        """A list of the whole account, whose recorded answer holds models made
        before the tutorial: compared as 'nothing the real list did not show'."""
        return self.method == "GET" and self.path.rstrip("/").endswith("/tunedModels")


@dataclass(frozen=True)
class Skipped:
    seed: str
    line: int
    reason: str


def seed_files() -> list[Path]:
    return sorted(SEEDS.glob("*.txt"))


def recorded_calls(seed: Path) -> tuple[list[RecordedCall], list[Skipped]]:
    text = seed.read_text(encoding="utf-8")
    found: list[tuple[int, RecordedCall | Skipped]] = []
    for match in CURL.finditer(text):
        found.append((match.start(), _curl_call(seed.name, text, match)))
    for match in PYTHON.finditer(text):
        found.append((match.start(), _python_call(seed.name, text, match)))
    found.sort(key=lambda item: item[0])
    calls = [item for _, item in found if isinstance(item, RecordedCall)]
    skipped = [item for _, item in found if isinstance(item, Skipped)]
    return calls, skipped


# --- curl ----------------------------------------------------------------------------------


def _curl_call(seed: str, text: str, match: re.Match[str]) -> RecordedCall | Skipped:
    line = _line_of(text, match.start())
    end = _shell_command_end(text, match.start())
    command = text[match.start() : end]
    body_match = re.search(r"-d '(.*?)'", command, re.DOTALL)
    raw_body = body_match.group(1) if body_match else None
    output = _output_after(text, end)
    uploaded = _uploaded_bytes(output)
    if raw_body is not None:
        if uploaded is not None and uploaded != len(raw_body.encode()):
            return Skipped(
                seed,
                line,
                f"body of {len(raw_body.encode())} bytes, but curl uploaded {uploaded}: not the request that was sent",
            )
        if not _balanced(raw_body):
            return Skipped(seed, line, "unbalanced body")
    grep = re.search(r"\| grep (\w+)", command)
    path = re.sub(r"^\$\{?base_url\}?", "", match.group(2))
    answer, grep_lines = None, ()
    if grep:
        grep_lines = tuple(line for line in _printed_lines(output) if grep.group(1) in line)
    elif output.lstrip().startswith("{"):
        block = _balanced_block(output, output.index("{"))
        if block is None:
            return Skipped(seed, line, "unbalanced answer")
        answer = json.loads(block)
    return RecordedCall(
        seed,
        line,
        "curl",
        match.group(1),
        path,
        raw_body,
        _lenient_json(raw_body),
        answer,
        grep.group(1) if grep else "",
        grep_lines,
    )


def _shell_command_end(text: str, start: int) -> int:
    """The newline that ends a shell command: not quoted, not escaped by `\\`."""
    quoted = False
    for index in range(start, len(text)):
        char = text[index]
        if char == "'":
            quoted = not quoted
        elif char == "\n" and not quoted and text[index - 1] != "\\":
            return index
    return len(text)


def _output_after(text: str, end: int) -> str:
    following = NEXT_CALL.search(text, end)
    return text[end + 1 : following.start() if following else len(text)]


def _uploaded_bytes(output: str) -> int | None:
    meter = METER.search(output)
    return int(meter.group(1)) if meter and "% Total" in output else None


def _printed_lines(output: str) -> list[str]:
    lines = []
    for line in output.splitlines():
        if line.lstrip().startswith("% Total") or (not line.strip() and lines):
            break
        if line.strip():
            lines.append(line.strip())
    return lines


def _lenient_json(raw: str | None) -> Any:
    """For reading the seed only (the emulator gets the raw text)."""
    if raw is None:
        return None
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", raw))


# --- Python requests -----------------------------------------------------------------------


def _python_call(seed: str, text: str, match: re.Match[str]) -> RecordedCall | Skipped:
    line = _line_of(text, match.start())
    arguments = _balanced_block(text, match.end() - 1, "(", ")")
    url = PYTHON_URL.search(arguments or "")
    if arguments is None or url is None:
        return Skipped(seed, line, "no complete call with a url")
    body = None
    body_at = re.search(r"json\s*=\s*\{", arguments)
    if body_at:
        literal = _balanced_block(arguments, body_at.end() - 1)
        try:
            body = ast.literal_eval(literal or "")
        except (SyntaxError, ValueError):
            return Skipped(seed, line, "body is not a Python literal")
    output = _output_after(text, match.end() - 1 + len(arguments))
    answer = _python_answer(output)
    return RecordedCall(seed, line, "python", match.group(1).upper(), url.group(1), None, body, answer, "", ())


def _python_answer(output: str) -> Any:
    """The first printed dict after the call (`x.json()` or pprint), if any."""
    printed = re.search(r"^\{", output, re.MULTILINE)
    if printed is None:
        return None
    block = _balanced_block(output, printed.start())
    return ast.literal_eval(block) if block else None


# --- text helpers --------------------------------------------------------------------------


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _balanced(text: str) -> bool:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return False
    opener = text[start]
    block = _balanced_block(text, start, opener, "}" if opener == "{" else "]")
    return block is not None and not text[start + len(block) :].strip()


def _balanced_block(text: str, start: int, opener: str = "{", closer: str = "}") -> str | None:
    """text[start:] up to the bracket that closes text[start], skipping quoted text."""
    depth, quote, index = 0, "", start
    pairs = {"{": "}", "[": "]", "(": ")"}
    stack: list[str] = []
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in pairs:
            stack.append(pairs[char])
            depth += 1
        elif char in pairs.values():
            if not stack or stack.pop() != char:
                return None
            depth -= 1
            if depth == 0:
                return text[start : index + 1] if text[start] == opener and char == closer else None
        index += 1
    return None
