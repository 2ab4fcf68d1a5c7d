"""How apply progress is shown: the Reporter implementations.

- terminal: a live line per running model, redrawn in place;
- plain (no TTY, CI logs): a line per model at most every `every` seconds;
- json: one JSON object per event or progress update (JSON lines).
Workers call these from several threads, hence the lock.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict

from reconciler.apply.progress import Event, Progress, Reporter, one_line
from reconciler.cli.console import Console

BAR_WIDTH = 20
EVENT_WORDS = {"start": "started", "done": "done", "failed": "FAILED", "skipped": "skipped", "stopped": "stopped"}


def clock_text(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}m{secs:02d}s"


def progress_line(progress: Progress, bar: bool) -> str:
    parts = [progress.model_id]
    if progress.total_steps:
        if bar:
            filled = round(progress.percent / 100 * BAR_WIDTH)
            parts.append("[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]")
        parts.append(f"{progress.percent:5.1f}%")
        parts.append(f"step {progress.completed_steps}/{progress.total_steps}")
        parts.append(f"epoch {progress.epoch}")
        if progress.mean_loss is not None:
            parts.append(f"loss {progress.mean_loss:.4f}")
    elif not progress.stage:
        parts.append("tuning")
    if progress.stage:
        parts.append(one_line(progress.stage))
    parts.append(clock_text(progress.elapsed))
    return "  ".join(parts)


def fitted_progress_line(progress: Progress, width: int) -> str:
    """The live line for a terminal `width` columns wide: the bar goes first, then
    the line is cut. A line as wide as the terminal would wrap (or leave the
    cursor in the last column), and every redraw would then leave a stale row."""
    room = max(1, width - 1)
    line = progress_line(progress, bar=True)
    if len(line) > room:
        line = progress_line(progress, bar=False)
    return line if len(line) <= room else line[: room - 1] + "…"


def terminal_width(stream: object) -> int:
    """The columns of the terminal `stream` writes to, read at each redraw (windows resize)."""
    try:
        return os.get_terminal_size(stream.fileno()).columns  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return shutil.get_terminal_size().columns


def event_line(event: Event) -> str:
    word = EVENT_WORDS.get(event.kind, event.kind)
    text = f"{event.model_id}: {_what(event)} {word}".rstrip()
    return f"{text}: {one_line(event.message)}" if event.message and event.kind != "start" else text


def _what(event: Event) -> str:
    """What a change does, in words: a grant names its grantee, not `permission_add`."""
    return str(event.details.get("grant") or event.action)


class TerminalReporter:
    """A block of live lines at the bottom of the terminal, one per running model."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.lines: dict[str, Progress] = {}  # the running models' last progress
        self.drawn = 0
        self.lock = threading.Lock()

    def _redraw(self, above: str | None = None) -> None:
        out = self.console.out
        if self.drawn:
            out.write(f"\x1b[{self.drawn}F\x1b[J")  # up to the block's start, clear below
        # Written around Console.print (which cannot redraw in place), so cleaned
        # here: an event's message and a run's stage come from the API.
        if above is not None:
            out.write(self.console.clean(above) + "\n")
        width = terminal_width(out)
        for progress in self.lines.values():
            out.write(self.console.clean(fitted_progress_line(progress, width)) + "\n")
        self.drawn = len(self.lines)
        out.flush()

    def event(self, event: Event) -> None:
        with self.lock:
            if event.kind != "start":
                self.lines.pop(event.model_id, None)
            self._redraw(event_line(event))

    def progress(self, progress: Progress) -> None:
        with self.lock:
            self.lines[progress.model_id] = progress
            self._redraw()


class PlainReporter:
    """Lines for logs: events as they happen, progress at most every `every` seconds."""

    def __init__(self, console: Console, every: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.console = console
        self.every = every
        self.clock = clock
        self.last: dict[str, float] = {}
        self.lock = threading.Lock()

    def event(self, event: Event) -> None:
        with self.lock:
            self.console.print(event_line(event))

    def progress(self, progress: Progress) -> None:
        now = self.clock()
        with self.lock:
            if now - self.last.get(progress.model_id, -self.every) < self.every:
                return
            self.last[progress.model_id] = now
            self.console.print(progress_line(progress, bar=False))


class JsonLinesReporter:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.lock = threading.Lock()

    def _emit(self, kind: str, body: dict[str, object]) -> None:
        with self.lock:
            self.console.print(json.dumps({"type": kind, **body}, sort_keys=True))

    def event(self, event: Event) -> None:
        # The JSON convention: null where a value is absent, never "".
        self._emit("event", {key: (None if value == "" else value) for key, value in asdict(event).items()})

    def progress(self, progress: Progress) -> None:
        self._emit("progress", asdict(progress))


def make_reporter(console: Console, output: str) -> Reporter:
    if output == "json":
        return JsonLinesReporter(console)
    if console.is_tty:
        return TerminalReporter(console)
    return PlainReporter(console)
