"""Hostile-input tests: the CLI as a child process, under resource limits.

Every run is bounded: an address-space limit (RLIMIT_AS) and a CPU-time limit
set in the child before it runs, and a wall-clock timeout. A regression that
reads /dev/zero, expands an alias bomb or backtracks forever then fails the
test with a MemoryError or a kill, instead of eating the machine or hanging CI.
The bounds are generous: they catch unbounded growth, not slowness.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .forkserver import ForkServer

ROOT = Path(__file__).resolve().parents[2]
# Python, pydantic, google-auth and requests reserve ~300 MB of address space
# before anything is read; a hostile input must stay within a few hundred MB more.
MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024
CPU_LIMIT_SECONDS = 60
WALL_TIMEOUT_SECONDS = 60.0
# What a hostile input may take: "within seconds" (a normal run takes about
# one) and "a few hundred MB" (a normal run peaks near 100 MB).
EXPECTED_SECONDS = 20.0
EXPECTED_PEAK_BYTES = 400 * 1024 * 1024
BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
EXAMPLES = 20


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    seconds: float
    peak_rss_bytes: int

    @property
    def text(self) -> str:
        return self.out + self.err


# Set in each child after the fork, before its run.
LIMITS = {"RLIMIT_AS": MEMORY_LIMIT_BYTES, "RLIMIT_CPU": CPU_LIMIT_SECONDS}


def _default_sigint() -> None:
    # Python's own SIGINT handler in the fork server (and so in its children),
    # even when a background runner ignores SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def bounded_env(**extra: str) -> dict[str, str]:
    """The environment of a child: no real credentials, no metadata-server probe, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GITHUB_ACTIONS")}
    return {**env, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "NO_GCE_CHECK": "True", **extra}


# `python -m reconciler ARGS` that writes its peak resident memory (kB) to the
# file named first as it exits, however it exits (an error, a MemoryError); a
# test's prelude runs first, in place of `# PRELUDE`.
_REPORTING_PEAK = """
import atexit, re, runpy, sys
peak_file = sys.argv.pop(1)

def report():
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))

atexit.register(report)
# PRELUDE
sys.argv[0] = "reconciler"
runpy.run_module("reconciler", run_name="__main__", alter_sys=True)
"""


class Child:
    """A CLI child process whose output goes to files, forked by this test
    process's fork server (tests/hostile/forkserver.py) and reaped by it."""

    def __init__(self, cwd: Path, args: tuple[str, ...], env: dict[str, str], prelude: str = "") -> None:
        self.started = time.monotonic()
        # Open for the child's whole life; output() reads and closes them.
        self._out = tempfile.NamedTemporaryFile("w+", encoding="utf-8", suffix=".out")  # noqa: SIM115
        self._err = tempfile.NamedTemporaryFile("w+", encoding="utf-8", suffix=".err")  # noqa: SIM115
        self._peak = tempfile.NamedTemporaryFile("r", encoding="ascii", suffix=".hwm")  # noqa: SIM115
        self.pid = _fork_server().fork(
            {
                # Report the peak as it exits, run the prelude, then the command line.
                "code": _REPORTING_PEAK.replace("# PRELUDE", prelude),
                "argv": [self._peak.name, *args],
                "cwd": str(cwd.absolute()),
                "env": bounded_env(**env),
                "out": self._out.name,
                "err": self._err.name,
                "limits": LIMITS,
            }
        )
        self.status: tuple[int, int] | None = None  # the wait status, ru_maxrss in kB

    def poll(self) -> int | None:
        if self.status is None:
            ended = _fork_server().ended(self.pid)
            if ended:
                self.status = (ended.status, ended.maxrss_kb)
        return None if self.status is None else os.waitstatus_to_exitcode(self.status[0])

    def peak_rss_bytes(self) -> int:
        """The child's own peak resident memory (VmHWM, written as it exits).
        Not ru_maxrss: on Linux that counts the parent's resident memory at
        the fork."""
        self._peak.seek(0)
        text = self._peak.read().strip()
        self._peak.close()
        assert self.status is not None
        return int(text) * 1024 if text else self.status[1] * 1024

    def send_signal(self, number: int) -> None:
        if self.status is None:
            _fork_server().signal(self.pid, number)  # not os.kill: the id may be reused once it has ended

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def output(self) -> tuple[str, str]:
        """What the child printed (stdout, stderr); the files are closed once it has ended."""
        texts = []
        for stream in (self._out, self._err):
            stream.seek(0)
            texts.append(stream.read())
            if self.status is not None:
                stream.close()
        return texts[0], texts[1]


_server: ForkServer | None = None


def _fork_server() -> ForkServer:
    """This test process's fork server, started by the first run and stopped
    as this process exits."""
    global _server
    if _server is None:
        _server = ForkServer(ROOT, bounded_env(), _default_sigint)
        atexit.register(_server.stop)
    return _server


# A prelude for `start`: the backends retry with backoffs of 10-20 ms instead of
# 1-8 s, so a test of what retrying ends in does not wait on the backoff itself.
# The attempts and their count are the real ones.
FAST_BACKOFF = """
import functools
import reconciler.backends.gemini.client as gemini
import reconciler.backends.vertex.client as vertex
from reconciler.client.retry import RetryPolicy
for module in (gemini, vertex):
    module.RetryPolicy = functools.partial(RetryPolicy, base_backoff=0.01, max_backoff=0.02)
"""


def start(cwd: Path, *args: str, prelude: str = "", **env: str) -> Child:
    """`python -m reconciler ARGS` in `cwd`, under the memory and CPU limits;
    with a `prelude`, that code runs in the child first."""
    return Child(cwd, args, env, prelude)


def finish(child: Child, started: float | None = None, timeout: float = WALL_TIMEOUT_SECONDS) -> Run:
    """Wait for `child` (killed after `timeout`); its result, timed from `started`."""
    began = child.started if started is None else started
    deadline = time.monotonic() + timeout
    while child.poll() is None:
        if time.monotonic() > deadline:
            child.kill()
            while child.poll() is None:
                time.sleep(0.01)
            out, err = child.output()
            raise AssertionError(f"still running after {timeout} s\n{out}\n{err}")
        time.sleep(0.01)
    seconds = time.monotonic() - began
    out, err = child.output()
    assert child.status is not None
    code = os.waitstatus_to_exitcode(child.status[0])
    return Run(code, out, err, seconds, child.peak_rss_bytes())


def run(cwd: Path, *args: str, **env: str) -> Run:
    return finish(start(cwd, *args, **env))


def assert_clear_error(result: Run, *expected: str) -> None:
    """Exit 1, every expected `file:line: field: message` piece, no traceback, within bounds."""
    assert result.code == 1, result.text
    assert "Traceback" not in result.text, result.text
    assert "internal error" not in result.text, result.text
    assert "MemoryError" not in result.text, result.text
    for piece in expected:
        assert piece in result.err, f"{piece!r} not in:\n{result.err}"
    assert result.seconds < EXPECTED_SECONDS, f"took {result.seconds:.1f} s"
    assert result.peak_rss_bytes < EXPECTED_PEAK_BYTES, f"peaked at {result.peak_rss_bytes / 2**20:.0f} MB"


# --- repositories ---------------------------------------------------------------------


def manifest(model_id: str = "alpha", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "baseModel": BASE_MODEL,
        "trainingData": {"file": f"../datasets/{model_id}.jsonl"},
        "hyperparameters": {"epochCount": 1, "batchSize": 4},
    }
    return {
        "apiVersion": "reconciler/v1",
        "kind": "TunedModel",
        "metadata": {"name": model_id},
        "spec": {**base, **spec},
    }


def rows(count: int = EXAMPLES) -> list[dict[str, str]]:
    return [{"text_input": str(n), "output": str(n + 1)} for n in range(count)]


def write_dataset(root: Path, name: str, examples: list[dict[str, str]] | None = None) -> Path:
    path = root / "datasets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in examples or rows()), encoding="utf-8")
    return path


def write_repo(
    root: Path, documents: list[dict[str, Any]] | None = None, settings: dict[str, Any] | None = None
) -> Path:
    """A valid repository: reconciler.yaml, one manifest file a document, its JSONL data."""
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    write_settings(root, **(settings or {}))
    for document in [manifest()] if documents is None else documents:
        model_id = document["metadata"]["name"]
        (root / "manifests" / f"{model_id}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        write_dataset(root, f"{model_id}.jsonl")
    return root


def write_settings(root: Path, **settings: Any) -> None:
    (root / "reconciler.yaml").write_text(yaml.safe_dump({"manifests": "manifests", **settings}))
