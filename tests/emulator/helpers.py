"""Small helpers for driving the emulator over plain HTTP in tests."""

from __future__ import annotations

import contextlib
import re
import resource
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests

BASE = "models/gemini-1.5-flash-001-tuning"
INT_ENUMS = {"$alt": "json;enum-encoding=int"}


def examples(count: int = 20) -> list[dict[str, str]]:
    return [{"textInput": str(n), "output": str(n + 1)} for n in range(1, count + 1)]


def model_body(count: int = 20, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": "Number generator",
        "baseModel": BASE,
        "tuningTask": {
            "trainingData": {"examples": {"examples": examples(count)}},
            "hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRate": 0.001},
        },
    }
    body.update(fields)
    return body


def call(url: str, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    return requests.request(method, f"{url}/{path.lstrip('/')}", json=body, params=params, timeout=10)


def create(url: str, model_id: str | None = "number-generator", **fields: Any) -> dict[str, Any]:
    params = {"tunedModelId": model_id} if model_id else {}
    response = call(url, "POST", "v1beta/tunedModels", model_body(**fields), **params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def error_of(response: requests.Response) -> dict[str, Any]:
    return response.json()["error"]  # type: ignore[no-any-return]


@dataclass
class EmulatorProcess:
    """`reconciler emulator` in a child process: a crash there fails a test
    instead of killing the test run."""

    process: subprocess.Popen[str]
    url: str

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").split(":")
        return host, int(port)

    def alive(self) -> bool:
        return self.process.poll() is None


def _limit_resources(memory_bytes: int, cpu_seconds: int) -> Callable[[], None]:
    def limit() -> None:  # runs in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))

    return limit


@contextlib.contextmanager
def emulator_process(*args: str, memory_bytes: int = 2 << 30, cpu_seconds: int = 300) -> Iterator[EmulatorProcess]:
    """Start `reconciler emulator` on a free port under memory and CPU limits, so
    that a regression (unbounded memory, a spinning thread) ends in a failure."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "emulator",
            "--port",
            "0",
            "--state",
            ":memory:",
            "--step-seconds",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_resources(memory_bytes, cpu_seconds),
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready else ""
        match = re.search(r"listening on (http://[^ ]+) ", line)
        assert match, f"no ready line: {line!r}"
        yield EmulatorProcess(process, match.group(1))
    finally:
        process.terminate()
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
