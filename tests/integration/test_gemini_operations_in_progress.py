"""The Gemini API's one long-running operation, a tuned model's create, lasts
as long as its run on the emulator's clock: `apply`, through the CLI, polls it
while it is in progress and follows it to its end, or gives up waiting at the
operation timeout and leaves it running. (DeleteTunedModel answers an empty
body on the real API, not an operation: there is nothing of it to poll.)"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatorOptions, EmulatorServer
from tests.emulator.vertex_helpers import ManualClock

from .helpers_apply import live_models, manifest, run_cli, write_repo

STEP_SECONDS = 1.0
STEPS_A_POLL = 2  # each poll of the operation moves the emulator's clock two steps on
OPERATION_PATH = re.compile(r"^/v1(beta)?/tunedModels/[^/]+/operations/[^/]+$")


class ClockPerPoll:
    """WSGI middleware: records each operation the client reads, then moves the
    clock on, so that the run advances with the polls and not with wall time."""

    def __init__(self, app: Callable[..., Iterable[bytes]], clock: ManualClock, seconds: float) -> None:
        self.app, self.clock, self.seconds = app, clock, seconds
        self.operations: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = b"".join(self.app(environ, start_response))
        if environ["REQUEST_METHOD"] == "GET" and OPERATION_PATH.match(environ["PATH_INFO"]):
            self.operations.append(json.loads(answer))
            self.clock.advance(self.seconds)
        return [answer]


@pytest.fixture
def paced() -> Iterator[tuple[EmulatorServer, ClockPerPoll]]:
    clock = ManualClock()
    server = EmulatorServer(EmulatorOptions(seed=4, step_seconds=STEP_SECONDS), clock=clock)
    middleware = ClockPerPoll(server.app, clock, STEPS_A_POLL * STEP_SECONDS)
    server.app = middleware  # type: ignore[assignment]  # before start(): the server takes it then
    server.start()
    try:
        yield server, middleware
    finally:
        server.app = middleware.app  # type: ignore[assignment]  # stop() releases the app's holds
        server.stop()


def test_apply_polls_a_create_operation_in_progress_to_its_end(
    paced: tuple[EmulatorServer, ClockPerPoll], tmp_path: Path
) -> None:
    server, middleware = paced
    repo = write_repo(tmp_path, [manifest("numbers")])  # 20 examples, 2 epochs, batch 4: 10 steps

    result = run_cli(repo, server, "apply", "--yes")

    assert result.code == 0, result.text
    *running, last = middleware.operations
    total = last["metadata"]["totalSteps"]
    assert total > 2 * STEPS_A_POLL  # long enough to be seen running more than once
    assert len(running) >= 2 and not any(op.get("done") for op in running)
    steps = [op["metadata"].get("completedSteps", 0) for op in running]
    assert steps == sorted(steps) and steps[-1] < total  # read as it went, never done early
    assert last["done"] is True and "error" not in last  # the backend asks for no `response`
    assert last["metadata"]["completedSteps"] == total
    assert live_models(server)["numbers"]["state"] == "ACTIVE"
    assert "Apply complete: 1 created" in result.out


def test_apply_gives_up_waiting_at_the_timeout_and_leaves_the_run_going(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator(seed=4, step_seconds=STEP_SECONDS, clock=ManualClock())  # time stands still
    repo = write_repo(tmp_path, [manifest("numbers")], operationTimeoutSeconds=0.2)

    result = run_cli(repo, server, "apply", "--yes")

    assert result.code == 1, result.text
    assert "tuning of" in result.text and "was not done after" in result.text
    assert live_models(server)["numbers"]["state"] == "CREATING"  # still running on the server
