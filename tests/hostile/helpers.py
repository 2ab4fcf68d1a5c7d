"""Hostile-input tests: the CLI as a child process, under resource limits.

Every run is bounded: an address-space limit (RLIMIT_AS) and a CPU-time limit
set in the child before it starts, and a wall-clock timeout. A regression that
reads /dev/zero, expands an alias bomb or backtracks forever then fails the
test with a MemoryError or a kill, instead of eating the machine or hanging CI.
The bounds are generous: they catch unbounded growth, not slowness.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Python, pydantic, google-auth and requests reserve ~300 MB of address space
# before anything is read; a hostile input must stay within a few hundred MB more.
MEMORY_LIMIT_BYTES = 1024 * 1024 * 1024
CPU_LIMIT_SECONDS = 60
WALL_TIMEOUT_SECONDS = 60.0
# What a hostile input may take: "within seconds" (a normal run takes about one).
EXPECTED_SECONDS = 20.0
BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
EXAMPLES = 20


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def text(self) -> str:
        return self.out + self.err


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_SECONDS, CPU_LIMIT_SECONDS))


def bounded_env(**extra: str) -> dict[str, str]:
    """The environment of a child: no real credentials, no metadata-server probe, no colour."""
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GITHUB_ACTIONS")}
    return {**env, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "NO_GCE_CHECK": "True", **extra}


def start(cwd: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """`python -m reconciler ARGS` in `cwd`, under the memory and CPU limits."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=bounded_env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limits,
    )


def finish(process: subprocess.Popen[str], started: float, timeout: float = WALL_TIMEOUT_SECONDS) -> Run:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"still running after {timeout} s\n{out}\n{err}") from None
    return Run(process.returncode, out, err, time.monotonic() - started)


def run(cwd: Path, *args: str, **env: str) -> Run:
    started = time.monotonic()
    return finish(start(cwd, *args, **env), started)


def assert_clear_error(result: Run, *expected: str) -> None:
    """Exit 1, every expected `file:line: field: message` piece, no traceback, within bounds."""
    assert result.code == 1, result.text
    assert "Traceback" not in result.text, result.text
    assert "internal error" not in result.text, result.text
    assert "MemoryError" not in result.text, result.text
    for piece in expected:
        assert piece in result.err, f"{piece!r} not in:\n{result.err}"
    assert result.seconds < EXPECTED_SECONDS, f"took {result.seconds:.1f} s"


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
