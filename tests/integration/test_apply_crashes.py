"""An apply process killed (SIGKILL) at the worst moments, and two applies at
once: the next apply converges, and no model is ever created twice.

The emulator runs in this process; the applies are child processes, watched
through the emulator's request counts so each kill lands where it should.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

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
    write_dataset,
    write_repo,
)

IDS = ["alpha", "beta", "gamma"]


def three_models(root: Path) -> Path:
    """alpha, beta (tuned from alpha) and gamma, one change at a time."""
    return write_repo(
        root, [manifest("alpha"), manifest("beta", source_model="alpha"), manifest("gamma")], concurrency=1
    )


def count(server: EmulatorServer, key: str) -> int:
    return request_counts(server).get(key, 0)


def converge_after_kill(server: EmulatorServer, repo: Path) -> None:
    """The next apply finishes the job, and every model was created exactly once."""
    survivors = {m: body["createTime"] for m, body in live_models(server).items()}
    set_tuning(server, step_seconds=0.01)  # the runs still to start need not be slow
    result = run_cli(repo, server, "apply", "--yes")
    assert result.code == 0, result.text
    live = live_models(server)
    assert sorted(live) == IDS
    assert all(body["state"] == "ACTIVE" for body in live.values())
    assert all(live[m]["createTime"] == created for m, created in survivors.items())  # picked up
    assert count(server, CREATE_KEY) == len(IDS)


def test_killed_right_after_the_first_create_request(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    # The create's answer is held once the server has made the model, and the
    # kill lands then: the server made the model, the client never hears back.
    server = make_emulator(seed=2, step_seconds=0.05)
    repo = three_models(tmp_path)
    answered = server.hold("POST", r"/tunedModels$", after=True)
    process = start_cli(repo, server, "apply", "--yes")
    answered.wait_arrived(timeout=60)
    process.kill()
    finish(process)
    answered.release()
    assert count(server, CREATE_KEY) == 1 and len(live_models(server)) == 1
    converge_after_kill(server, repo)


def test_killed_while_waiting_for_a_tuning_run(make_emulator: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    # The emulator's clock stands still until the kill (the run stays at step 0),
    # then runs on past the run's last step.
    clock = StandingClock()
    server = make_emulator(seed=3, step_seconds=0.3, clock=clock)
    repo = three_models(tmp_path)
    process = start_cli(repo, server, "apply", "--yes")
    wait_until(lambda: count(server, OPERATION_KEY) >= 2, "polls of the first operation")
    process.send_signal(signal.SIGKILL)
    finish(process)
    assert [body["state"] for body in live_models(server).values()] == ["CREATING"]
    clock.go(ahead=3600)
    converge_after_kill(server, repo)


def test_killed_between_the_delete_and_the_create_of_a_replace(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator(seed=4)
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, server, "apply", "--yes").code == 0
    write_dataset(repo, "alpha", shift=1)
    # Replace: read (ownership check), delete, read until gone, create. The
    # delete's answer is held until the reads after it are held too; the kill
    # lands on the first of them, once the delete has answered.
    deleted = server.hold("DELETE", r"/tunedModels/alpha$", after=True)
    process = start_cli(repo, server, "apply", "--yes")
    deleted.wait_arrived(timeout=60)
    read = server.hold("GET", r"/tunedModels/alpha$", times=0)
    deleted.release()
    read.wait_arrived(timeout=60)
    process.kill()
    finish(process)
    read.release()
    assert count(server, CREATE_KEY) == 1
    assert live_models(server) == {}

    set_tuning(server, step_seconds=0)
    result = run_cli(repo, server, "apply", "--yes")
    assert result.code == 0, result.text
    assert "1 created" in result.out  # the plan saw nothing live: a create, not a second delete
    assert sorted(live_models(server)) == ["alpha"]
    assert count(server, CREATE_KEY) == 2
    assert run_cli(repo, server, "plan", "--detailed-exitcode").code == 0


def test_two_applies_at_once_make_each_model_once(make_emulator: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    # Each apply's list is held until both have listed: both plan the creates,
    # and one of them is answered ALREADY_EXISTS for each model.
    server = make_emulator(seed=5, step_seconds=0.05)
    documents = [manifest(f"model-{n}", reader="analyst@example.com", smoke=(("3", "4"),)) for n in range(4)]
    repo = write_repo(tmp_path, documents, concurrency=4)
    listed = server.hold("GET", r"/tunedModels$", times=2)
    first = start_cli(repo, server, "apply", "--yes")
    second = start_cli(repo, server, "apply", "--yes")
    listed.wait_arrived(2, timeout=60)
    listed.release()
    results = [finish(first), finish(second)]

    for result in results:
        assert result.code == 0, result.text
        assert "Apply complete" in result.out or "No changes" in result.out
    live = live_models(server)
    assert sorted(live) == [f"model-{n}" for n in range(4)]
    assert all(body["state"] == "ACTIVE" for body in live.values())
    assert run_cli(repo, server, "plan", "--detailed-exitcode").code == 0  # grants included
