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
    DELETE_KEY,
    GET_KEY,
    OPERATION_KEY,
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
    # Every request takes 0.2 s, so the kill lands while the create is in
    # flight: the server makes the model, the client never hears back.
    server = make_emulator(seed=2, step_seconds=0.05, latency_seconds=0.2)
    repo = three_models(tmp_path)
    process = start_cli(repo, server, "apply", "--yes")
    wait_until(lambda: count(server, CREATE_KEY) >= 1, "the first create request")
    process.kill()
    finish(process)
    wait_until(lambda: len(live_models(server)) == 1, "the server to finish the create")
    converge_after_kill(server, repo)


def test_killed_while_waiting_for_a_tuning_run(make_emulator: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    server = make_emulator(seed=3, step_seconds=0.3)
    repo = three_models(tmp_path)
    process = start_cli(repo, server, "apply", "--yes")
    wait_until(lambda: count(server, OPERATION_KEY) >= 2, "polls of the first operation")
    process.send_signal(signal.SIGKILL)
    finish(process)
    assert [body["state"] for body in live_models(server).values()] == ["CREATING"]
    converge_after_kill(server, repo)


def test_killed_between_the_delete_and_the_create_of_a_replace(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator(seed=4, latency_seconds=0.15)
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, server, "apply", "--yes").code == 0
    write_dataset(repo, "alpha", shift=1)
    reads = count(server, GET_KEY)
    process = start_cli(repo, server, "apply", "--yes")
    # Replace: read (ownership check), delete, read until gone, create. The
    # second read is sent only once the delete has answered, and takes 0.15 s.
    wait_until(
        lambda: count(server, DELETE_KEY) == 1 and count(server, GET_KEY) >= reads + 2, "the read after the delete"
    )
    process.kill()
    finish(process)
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
    # 0.1 s a request: both usually list before either creates, so both plan
    # the creates and one of them is answered ALREADY_EXISTS for each model.
    server = make_emulator(seed=5, step_seconds=0.05, latency_seconds=0.1)
    documents = [manifest(f"model-{n}", reader="analyst@example.com", smoke=(("3", "4"),)) for n in range(4)]
    repo = write_repo(tmp_path, documents, concurrency=4)
    first = start_cli(repo, server, "apply", "--yes")
    second = start_cli(repo, server, "apply", "--yes")
    results = [finish(first), finish(second)]

    for result in results:
        assert result.code == 0, result.text
        assert "Apply complete" in result.out or "No changes" in result.out
    live = live_models(server)
    assert sorted(live) == [f"model-{n}" for n in range(4)]
    assert all(body["state"] == "ACTIVE" for body in live.values())
    assert run_cli(repo, server, "plan", "--detailed-exitcode").code == 0  # grants included
