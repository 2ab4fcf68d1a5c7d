"""Helpers for the apply tests: a generated repository, the CLI run in this process
or as a child process, and what the emulator holds.

Every test writes its own repository (`write_repo`) into a temporary folder: a
`reconciler.yaml` that polls every 20 ms, and one manifest and one JSONL dataset
a model, 20 examples each, `"<n>" -> "<n+1>"` (so the emulator's inference
answers `"3"` with `"4"`, and smoke tests have something to check).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from reconciler.apply.executor import ApplyOptions, ApplyResult, Executor
from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import Waiter
from reconciler.backends.gemini import RULES, GeminiBackend
from reconciler.backends.gemini.client import GeminiClient
from reconciler.cli.main import main
from reconciler.emulator import EmulatorServer
from reconciler.loader import load
from reconciler.model.desired import Desired
from reconciler.plan import PlanOptions, plan

BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
EXAMPLES = 20
CREATE_KEY = "POST /{version}/tunedModels"
GET_KEY = "GET /{version}/tunedModels/{model_id}"
DELETE_KEY = "DELETE /{version}/tunedModels/{model_id}"
OPERATION_KEY = "GET /{version}/tunedModels/{model_id}/operations/{operation_id}"
ROOT = Path(__file__).resolve().parents[2]

DEFAULT_SETTINGS: dict[str, Any] = {
    "manifests": "manifests",
    "prune": False,
    "maxDeletions": 5,
    "concurrency": 4,
    "pollIntervalSeconds": 0.02,
}


def rows(count: int = EXAMPLES, shift: int = 0) -> list[dict[str, str]]:
    """Training examples; a different `shift` is different training data."""
    return [{"text_input": str(n), "output": str(n + 1 + shift)} for n in range(count)]


def manifest(
    model_id: str,
    *,
    display_name: str | None = None,
    temperature: float = 0.5,
    source_model: str | None = None,
    smoke: tuple[tuple[str, str], ...] = (),
    prevent_destroy: bool = False,
    deletion_policy: str = "Delete",
    reader: str | None = None,
) -> dict[str, Any]:
    """A TunedModel document whose data is `../datasets/<id>.jsonl`."""
    spec: dict[str, Any] = {
        "displayName": display_name or model_id,
        "description": f"The {model_id} model.",
        "trainingData": {"file": f"../datasets/{model_id}.jsonl"},
        "hyperparameters": {"epochCount": 2, "batchSize": 4, "learningRate": 0.001},
        "generation": {"temperature": temperature},
        "lifecycle": {"preventDestroy": prevent_destroy, "deletionPolicy": deletion_policy},
    }
    if source_model:
        spec["sourceModel"] = f"tunedModels/{source_model}"
    else:
        spec["baseModel"] = BASE_MODEL
    if smoke:
        spec["smokeTests"] = [{"input": given, "expect": {"equals": want}} for given, want in smoke]
    if reader:
        spec["permissions"] = [{"role": "READER", "granteeType": "USER", "emailAddress": reader}]
    return {"apiVersion": "reconciler/v1", "kind": "TunedModel", "metadata": {"name": model_id}, "spec": spec}


def write_repo(root: Path, manifests: list[dict[str, Any]], **settings: Any) -> Path:
    """A repository with these manifests (one file each), their datasets and settings."""
    (root / "manifests").mkdir(parents=True, exist_ok=True)
    (root / "datasets").mkdir(exist_ok=True)
    write_settings(root, **settings)
    for document in manifests:
        write_manifest(root, document)
    return root


def write_settings(root: Path, **settings: Any) -> None:
    text = yaml.safe_dump({**DEFAULT_SETTINGS, **settings}, sort_keys=False)
    (root / "reconciler.yaml").write_text(text, encoding="utf-8")


def write_manifest(root: Path, document: dict[str, Any], shift: int = 0) -> None:
    model_id = document["metadata"]["name"]
    (root / "manifests" / f"{model_id}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    write_dataset(root, model_id, shift)


def write_dataset(root: Path, model_id: str, shift: int = 0) -> None:
    lines = [json.dumps(row) for row in rows(shift=shift)]
    (root / "datasets" / f"{model_id}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def remove_manifest(root: Path, model_id: str) -> None:
    (root / "manifests" / f"{model_id}.yaml").unlink()


# --- the CLI ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@contextlib.contextmanager
def _environment(values: dict[str, str], cwd: Path) -> Iterator[None]:
    saved = dict(os.environ)
    before = Path.cwd()
    os.environ.update(values)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)
        os.environ.clear()
        os.environ.update(saved)


def cli_env(emulator: EmulatorServer, **extra: str) -> dict[str, str]:
    return {"GENERATIVELANGUAGE_EMULATOR_HOST": emulator.host_port, "NO_COLOR": "1", **extra}


def run_cli(repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
    """`reconciler ARGS` in this process, in `repo`, against `emulator`; stdin is no TTY."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with (
        _environment(cli_env(emulator, **env), repo),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        _stdin(io.StringIO("")),
    ):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return CliResult(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _stdin(stream: io.StringIO) -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = stream
    try:
        yield
    finally:
        sys.stdin = saved


def start_cli(repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> subprocess.Popen[str]:
    """`python -m reconciler ARGS` as a child process (to kill it or signal it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(ROOT), **cli_env(emulator, **env)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A runner started in the background may ignore SIGINT, and children
        # inherit that; the Ctrl-C test needs Python's own handler.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finish(process: subprocess.Popen[str], timeout: float = 60) -> CliResult:
    out, err = process.communicate(timeout=timeout)
    return CliResult(process.returncode, out, err)


# --- the emulator ------------------------------------------------------------------------


def live_models(emulator: EmulatorServer) -> dict[str, dict[str, Any]]:
    """Every tuned model the emulator holds, by id."""
    response = requests.get(f"{emulator.url}/v1beta/tunedModels", params={"pageSize": 1000}, timeout=10)
    response.raise_for_status()
    models = response.json().get("tunedModels") or []
    return {body["name"].removeprefix("tunedModels/"): body for body in models}


def request_counts(emulator: EmulatorServer) -> dict[str, int]:
    response = requests.get(f"{emulator.url}/_internal/requests", timeout=10)
    response.raise_for_status()
    return dict(response.json()["counts"])


def set_faults(emulator: EmulatorServer, **faults: Any) -> None:
    requests.post(f"{emulator.url}/_internal/faults", json=faults, timeout=10).raise_for_status()


def set_tuning(emulator: EmulatorServer, **tuning: Any) -> None:
    """How runs created from now on go: step_seconds, fail_ids, fail_rate."""
    requests.post(f"{emulator.url}/_internal/tuning", json=tuning, timeout=10).raise_for_status()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll a condition a test waits on (another process's progress)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class StandingClock:
    """An emulator's clock (`make_emulator(clock=...)`) that stands still from
    its start until `go()`: a tuning run stays at step 0 for as long as a test
    needs it running, and nobody waits on real steps."""

    def __init__(self) -> None:
        self._stopped_at: float | None = time.time()
        self._ahead = 0.0

    def __call__(self) -> float:
        return self._stopped_at if self._stopped_at is not None else time.time() + self._ahead

    def go(self, ahead: float = 0.0) -> None:
        """Run on from where it stood, `ahead` seconds later (past a run's last step)."""
        if self._stopped_at is not None:
            self._ahead, self._stopped_at = self._stopped_at - time.time() + ahead, None


def client_for(emulator: EmulatorServer, **options: Any) -> GeminiClient:
    return GeminiClient(endpoint=emulator.url, **options)


# --- the engine, without the CLI ----------------------------------------------------------


def load_repo(repo: Path) -> Desired:
    result = load(repo)
    assert result.desired is not None, [p.message for p in result.problems]
    return result.desired


def apply_in_process(repo: Path, client: GeminiClient, *, concurrency: int = 4) -> ApplyResult:
    """Load, observe, plan and apply with a given client (for one with short retry sleeps)."""
    desired = load_repo(repo)
    backend = GeminiBackend(client, concurrency)
    planned = plan(desired, backend.observe(desired), RULES, PlanOptions(prune=desired.settings.prune))
    assert not planned.has_errors, planned.errors
    reporter = RecordingReporter()
    waiter = Waiter(interval=desired.settings.poll_interval_seconds, timeout=120, reporter=reporter, max_interval=0.2)
    options = ApplyOptions(concurrency=concurrency, max_deletions=desired.settings.max_deletions)
    return Executor(backend, desired, reporter, waiter, options).run(planned)
