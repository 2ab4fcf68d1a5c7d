"""A fork server: one Python process for each test process that has imported
the CLI once, and forks a child process for each hostile run.

Each run is still a process of its own, under its own limits (set in the
child after the fork), in its own folder, with its own environment, output
files, signals and exit status: what the hostile tests check. What is shared
is only the imports (pydantic, requests, the backends): 0.3-0.5 s of CPU a
run when every run started a new interpreter, most of tests/hostile's time.

The server reads one JSON request a line on its stdin and answers on its
stdout: `{"started": pid}` for each request, then `{"ended": pid, "status":
wait status, "maxrss": kB}` when that child ends (it is the child's parent,
so it reaps it). `{"signal": pid, "number": n}` signals a child the server has
not reaped yet: process ids are reused (32,768 of them here, threads
included), and a signal sent by id to a child already reaped could reach
another process, this test process among them.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

# The server. A child leaves it by the exception its run ends with (SystemExit
# for the CLI's exit code), so the interpreter exits as a `python -c` run
# exits: atexit handlers, flushed output, a traceback for an uncaught error.
SERVER = r"""
import importlib, json, os, pkgutil, resource, select, signal, sys, threading

from reconciler.cli.main import COMMANDS
import reconciler.backends

# What a run imports: every command but the emulator, every backend.
for name, target in COMMANDS.items():
    if name != "emulator":
        importlib.import_module(target.partition(":")[0])
for found in pkgutil.iter_modules(reconciler.backends.__path__, "reconciler.backends."):
    importlib.import_module(found.name)
assert threading.active_count() == 1, "an import started a thread: forking would lose it"

wake_read, wake_write = os.pipe()
os.set_blocking(wake_write, False)
signal.set_wakeup_fd(wake_write)
signal.signal(signal.SIGCHLD, lambda number, frame: None)


def answer(message):
    os.write(1, (json.dumps(message) + "\n").encode())


def become_child(request):
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.close(wake_read)
    os.close(wake_write)
    for kind, limit in request["limits"].items():
        resource.setrlimit(getattr(resource, kind), (limit, limit))
    streams = ((0, os.devnull, os.O_RDONLY), (1, request["out"], os.O_WRONLY), (2, request["err"], os.O_WRONLY))
    for fd, path, flags in streams:
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["-c", *request["argv"]]
    exec(compile(request["code"], "<string>", "exec"), {"__name__": "__main__"})
    sys.exit(0)


children = set()  # forked and not yet reaped: their ids cannot be reused


def reap():
    while True:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        children.discard(pid)
        answer({"ended": pid, "status": status, "maxrss": usage.ru_maxrss})


def handle(request):
    if "signal" in request:
        if request["signal"] in children:  # a child reaped is not signalled: its id may be another's now
            os.kill(request["signal"], request["number"])
        return
    pid = os.fork()
    if pid == 0:
        become_child(request)
    children.add(pid)
    answer({"started": pid})


def serve():
    pending = b""
    while True:
        readable, _, _ = select.select([0, wake_read], [], [])
        if wake_read in readable:
            os.read(wake_read, 512)
        reap()
        if 0 not in readable:
            continue
        chunk = os.read(0, 1 << 16)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            handle(json.loads(line))


serve()
"""


@dataclass(frozen=True)
class Ended:
    status: int  # as os.wait4 gives it
    maxrss_kb: int


class ForkServer:
    """The server process, and what it has said about the children it forked."""

    def __init__(self, cwd: Path, env: dict[str, str], preexec_fn: Any) -> None:
        self._log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - open for the server's life
        self._process = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            preexec_fn=preexec_fn,
        )
        self._lock = threading.Lock()
        self._started: queue.Queue[int | None] = queue.Queue()
        self._ended: dict[int, Ended] = {}
        self._gone = False
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            message = json.loads(line)
            if "started" in message:
                self._ended.pop(message["started"], None)  # an earlier child's, with the same id
                self._started.put(message["started"])
            else:
                self._ended[message["ended"]] = Ended(message["status"], message["maxrss"])
        self._gone = True
        self._started.put(None)

    def fork(self, request: dict[str, Any]) -> int:
        """Start a child for `request`; its process id."""
        with self._lock:
            self._send(request)
            pid = self._started.get(timeout=60)
        if pid is None:
            raise AssertionError(f"the fork server ended:\n{self._server_log()}")
        return pid

    def signal(self, pid: int, number: int) -> None:
        """Send signal `number` to child `pid` unless it has ended."""
        with self._lock:
            self._send({"signal": pid, "number": number})

    def _send(self, message: dict[str, Any]) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write((json.dumps(message) + "\n").encode())
        self._process.stdin.flush()

    def ended(self, pid: int) -> Ended | None:
        found = self._ended.get(pid)
        if found is None and self._gone and pid not in self._ended:
            raise AssertionError(f"the fork server ended with child {pid} running:\n{self._server_log()}")
        return found

    def _server_log(self) -> str:
        self._log.seek(0)
        return self._log.read()

    def stop(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()  # the server returns at the end of its input
        self._process.wait(timeout=60)
        self._log.close()
