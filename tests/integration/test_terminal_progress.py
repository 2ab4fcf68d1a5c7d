"""The live progress lines under a real pseudo-terminal, 80 and 60 columns wide.

`apply` runs as a child process whose stdout is a pty of that size; what it
writes is replayed on a small model of a terminal (wrapping at the width,
cursor-up and clear-below, the only controls the reporter uses). When the
apply ends, no live line may be left on the screen: a line wider than the
terminal wraps onto two rows, the redraw moves up one row a line, and the
extra row stays behind, once per refresh.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.emulator import EmulatorServer

from .helpers_apply import ROOT, cli_env, live_models, manifest, write_repo

# 40 characters, the longest id the API accepts: the case that broke 80 columns.
IDS = [f"a-tuned-model-with-a-long-identifier-{n:03d}" for n in range(3)]
CONTROL = re.compile(r"\x1b\[(\d*)([A-Za-z])")
LIVE_LINE = re.compile(r"step \d+/\d+|\d+\.\d%|\btuning\b.*\d\dm\d\ds")


class Screen:
    """Rows of text as a terminal `width` columns wide shows them (xterm's deferred wrap)."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.rows: list[list[str]] = [[]]
        self.row = self.col = 0

    def feed(self, text: str) -> None:
        position = 0
        for match in CONTROL.finditer(text):
            self._text(text[position : match.start()])
            self._control(int(match.group(1) or 1), match.group(2))
            position = match.end()
        self._text(text[position:])

    def lines(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.rows]

    def _control(self, count: int, command: str) -> None:
        if command == "F":  # up `count` rows, to the first column
            self.row, self.col = max(0, self.row - count), 0
        elif command == "J":  # clear from the cursor to the end of the screen
            self.rows[self.row] = self.rows[self.row][: self.col]
            del self.rows[self.row + 1 :]
        # "m" (colours) changes nothing on the grid

    def _text(self, text: str) -> None:
        for char in text:
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self._next_row()
            else:
                if self.col >= self.width:  # the terminal wraps before the next character
                    self._next_row()
                row = self.rows[self.row]
                row.extend(" " * (self.col - len(row) + 1))
                row[self.col] = char
                self.col += 1

    def _next_row(self) -> None:
        self.row, self.col = self.row + 1, 0
        while len(self.rows) <= self.row:
            self.rows.append([])


def run_in_pty(
    repo: Path, emulator: EmulatorServer, columns: int, *args: str, typed: bytes | None = None
) -> tuple[int, str]:
    """`python -m reconciler ARGS` with stdout and stderr on a pty `columns` wide;
    with `typed`, stdin is the pty too and that is what the user types."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, "PYTHONPATH": str(ROOT), **cli_env(emulator), "TERM": "xterm"}
    env.pop("COLUMNS", None)
    stdin = slave if typed is not None else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args], cwd=repo, env=env, stdin=stdin, stdout=slave, stderr=slave
    )
    os.close(slave)
    if typed is not None:
        os.write(master, typed)  # the terminal keeps it until the prompt reads it
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return process.wait(timeout=30), b"".join(chunks).decode("utf-8", errors="replace")


@pytest.mark.parametrize("columns", [80, 60])
def test_live_lines_fit_the_terminal_and_leave_no_stale_rows(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path, columns: int
) -> None:
    emulator = make_emulator(seed=3, step_seconds=0.05)
    repo = write_repo(tmp_path, [manifest(model_id) for model_id in IDS])

    code, written = run_in_pty(repo, emulator, columns, "apply", "--yes")

    assert code == 0, written
    assert {body["state"] for body in live_models(emulator).values()} == {"ACTIVE"}
    redraws = written.count("\x1b[J")
    assert redraws >= len(IDS), "the live block was never redrawn: nothing was tested"
    screen = Screen(columns)
    screen.feed(written)
    stale = [line for line in screen.lines() if LIVE_LINE.search(line) and ": loss " not in line]
    assert stale == [], "live lines left behind:\n" + "\n".join(stale)
    assert any(line.startswith("Apply complete: 3 created") for line in screen.lines())
    # Every live line as written fits: shorter than the width, so it never wraps.
    live = [line for line in re.split(r"\r?\n", CONTROL.sub("", written)) if LIVE_LINE.search(line)]
    assert live and max(len(line) for line in live) < columns


def test_answering_no_at_the_prompt_cancels_the_apply(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])

    code, written = run_in_pty(repo, emulator, 80, "apply", typed=b"n\n")

    assert code == 1
    assert "Apply these changes? [y/N]" in written
    assert "Apply cancelled." in written and "Error" not in written
    assert live_models(emulator) == {}
