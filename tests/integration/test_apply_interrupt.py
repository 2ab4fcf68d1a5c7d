"""Ctrl-C and SIGTERM during a wait: the apply stops waiting, leaves the tuning
run going, says how to resume; the next apply picks the model up (`wait`)."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.emulator import EmulatorServer

from .helpers_apply import (
    CREATE_KEY,
    OPERATION_KEY,
    StandingClock,
    finish,
    live_models,
    manifest,
    request_counts,
    run_cli,
    set_tuning,
    start_cli,
    wait_until,
    write_repo,
)


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_during_a_wait_stops_and_the_next_apply_resumes(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path, signal_number: int
) -> None:
    # The emulator's time stands still (the run stays at step 0) until the
    # next apply waits for the run; then it goes on, past the run's last step.
    clock = StandingClock()
    server = make_emulator(seed=9, step_seconds=0.2, clock=clock)
    repo = write_repo(tmp_path, [manifest("slow"), manifest("later", source_model="slow")])
    process = start_cli(repo, server, "apply", "--yes")
    wait_until(lambda: request_counts(server).get(OPERATION_KEY, 0) >= 1, "the first poll")
    process.send_signal(signal_number)
    stopped = finish(process, timeout=15)

    assert stopped.code == 1, stopped.text
    assert "run `reconciler apply` again to pick them up" in stopped.err
    assert stopped.text.count("again to pick them up") == 1  # said once, not once a model
    assert "Apply stopped: 0 created" in stopped.out
    assert "later: create stopped: not started" in stopped.out
    assert live_models(server)["slow"]["state"] == "CREATING"  # left running on the server

    planned = run_cli(repo, server, "plan", "--output", "json")
    actions = {c["model_id"]: c["action"] for c in json.loads(planned.out)["changes"]}
    assert actions == {"slow": "wait", "later": "create"}

    set_tuning(server, step_seconds=0)  # for `later`
    creates = request_counts(server)[CREATE_KEY]
    # The next apply plans `slow` as a wait; its first read of the model is held
    # while the clock goes on past the run's last step.
    looked = server.hold("GET", r"/tunedModels/slow$")

    def let_go() -> None:
        try:
            looked.wait_arrived(timeout=60)
        finally:
            clock.go(ahead=3600)
            looked.release()

    going = threading.Thread(target=let_go)
    going.start()
    resumed = run_cli(repo, server, "apply", "--yes")
    going.join()
    assert resumed.code == 0, resumed.text
    assert "slow: wait done" in resumed.out
    # `later` created by this run; `slow` created by the interrupted one, and waited for.
    assert "Apply complete: 1 created, 1 created by another run and waited for" in resumed.out
    assert request_counts(server)[CREATE_KEY] == creates + 1  # only `later`: `slow` is never created twice
    assert {body["state"] for body in live_models(server).values()} == {"ACTIVE"}


LIST_KEY = "GET /{version}/tunedModels"


def test_reconcile_watch_converges_then_stops_cleanly_on_sigterm(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    process = start_cli(repo, emulator, "reconcile", "--yes", "--watch", "1")
    wait_until(lambda: live_models(emulator).get("alpha", {}).get("state") == "ACTIVE", "the first pass")
    lists = request_counts(emulator)[LIST_KEY]  # the first pass (and this test) listed
    wait_until(lambda: request_counts(emulator)[LIST_KEY] > lists, "a second pass")
    process.send_signal(signal.SIGTERM)
    watched = finish(process, timeout=15)
    assert watched.code == 0, watched.text
    assert "Apply complete: 1 created" in watched.out
    assert "pass 1: changes to apply: 1 to create" in watched.err
    assert "pass 2: in sync" in watched.err  # one line; the plan is not shown again
    assert watched.out.count("reconciler will perform the following actions:") == 1
    assert "Stopped watching." in watched.err
