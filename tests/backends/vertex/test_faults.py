"""Faults on `backend: vertex`: a create whose answer is lost, a quarter of
requests failing, SIGKILL during the upload, the create and the wait, two
applies at once, and a stale lock. The invariant: never two jobs for one id."""

from __future__ import annotations

import functools
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.apply.backend import ChangeFailed
from reconciler.backends.vertex import client as vertex_client
from reconciler.backends.vertex.client import VertexClient
from reconciler.backends.vertex.lock import Locks
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import (
    BUCKET,
    LOCATION,
    PROJECT,
    counts,
    jobs_of,
    manifest,
    vertex_cli,
    vertex_faults,
    write_repo,
)
from tests.integration.helpers_apply import StandingClock, finish, set_faults, start_cli, wait_until

LOCK = "reconciler/datasets/locks/numbers.lock"
CREATE = "POST /{version}/projects/{project}/locations/{location}/tuningJobs"
UPLOAD = "POST /upload/storage/v1/b/{bucket}/o"


def converge(repo: Path, emulator: EmulatorServer, tries: int = 6) -> None:
    """Apply until a plan shows no changes (each apply may stop on a fault)."""
    for _ in range(tries):
        vertex_cli(repo, emulator, "apply", "--yes")
        if vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0:
            return
    raise AssertionError("did not converge")


def vertex_env(emulator: EmulatorServer) -> dict[str, str]:
    return {"AIPLATFORM_EMULATOR_HOST": emulator.host_port, "STORAGE_EMULATOR_HOST": emulator.url}


def apply_makes_one_job(repo: Path, emulator: EmulatorServer) -> None:
    """`apply` (again) succeeds, and the account holds exactly one job for `numbers`."""
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    assert len(jobs_of(emulator, "numbers")) == 1


def test_a_create_committed_with_its_answer_lost_makes_exactly_one_job(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, create_answers_lost=1)
    repo = write_repo(tmp_path, [manifest("numbers")])
    apply_makes_one_job(repo, emulator)
    assert counts(emulator)[CREATE] == 1  # resolved by listing its attempt label, not by a second create
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_a_failing_create_is_retried_with_a_new_attempt_and_makes_one_job(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, create_errors=1)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    assert counts(emulator)[CREATE] == 2
    assert len(jobs_of(emulator, "numbers")) == 1


def test_a_quarter_of_requests_failing_converges_without_a_duplicate_job(
    tmp_path: Path, make_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every retry still happens, 5-50 ms apart instead of 1-8 s: the faults, not the waits, are tested.
    monkeypatch.setattr(
        vertex_client, "RetryPolicy", functools.partial(RetryPolicy, base_backoff=0.005, max_backoff=0.05)
    )
    emulator = make_emulator(seed=3, step_seconds=0)
    set_faults(emulator, rate_503=0.15, rate_drop=0.1)
    repo = write_repo(tmp_path, [manifest("numbers"), manifest("letters"), manifest("more", source_model="numbers")])
    converge(repo, emulator)
    set_faults(emulator)
    for key in ("numbers", "letters", "more"):
        assert len(jobs_of(emulator, key)) == 1, key
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


@pytest.mark.parametrize(
    "path_regex, counted",
    [
        (r"/upload/storage/", UPLOAD),
        (r"/tuningJobs$", CREATE),
    ],
)
def test_sigkill_during_the_upload_or_the_create_then_apply_again_makes_one_job(
    tmp_path: Path, make_emulator: Any, path_regex: str, counted: str
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    held = emulator.hold("POST", path_regex)  # the request waits before the server handles it
    handled = emulator.hold("POST", path_regex, after=True)  # and again once it has
    process = start_cli(repo, emulator, "apply", "--yes", **vertex_env(emulator))
    held.wait_arrived(timeout=60)
    assert counts(emulator).get(counted, 0) == 1
    process.send_signal(signal.SIGKILL)
    finish(process)
    held.release()  # the server handles the request of a client that is gone
    handled.wait_arrived(timeout=30)
    handled.release()
    apply_makes_one_job(repo, emulator)
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_sigkill_during_the_wait_then_apply_again_waits_for_the_same_job(tmp_path: Path, make_emulator: Any) -> None:
    # The emulator's clock stands still while the job is to be running, then
    # goes on past its last step.
    clock = StandingClock()
    emulator = make_emulator(seed=0, step_seconds=0.3, clock=clock)
    repo = write_repo(tmp_path, [manifest("numbers")])
    process = start_cli(repo, emulator, "apply", "--yes", **vertex_env(emulator))
    wait_until(lambda: bool(jobs_of(emulator, "numbers")), "the job")
    process.send_signal(signal.SIGKILL)
    finish(process)
    assert jobs_of(emulator, "numbers")[0]["state"] != "JOB_STATE_SUCCEEDED"
    planned = vertex_cli(repo, emulator, "plan")
    assert "wait" in planned.text
    clock.go(ahead=3600)
    apply_makes_one_job(repo, emulator)
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_two_applies_at_once_make_one_job(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0.2)
    repo = write_repo(tmp_path, [manifest("numbers"), manifest("letters")])
    first = start_cli(repo, emulator, "apply", "--yes", **vertex_env(emulator))
    second = start_cli(repo, emulator, "apply", "--yes", **vertex_env(emulator))
    results = [finish(first, 120), finish(second, 120)]
    assert all(r.code == 0 for r in results), [r.text for r in results]
    assert len(jobs_of(emulator, "numbers")) == 1 and len(jobs_of(emulator, "letters")) == 1
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def _put_lock(emulator: EmulatorServer, owner: str, expires: float) -> None:
    requests.post(f"{emulator.url}/storage/v1/b", json={"name": BUCKET}, timeout=10)
    response = requests.post(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o",
        timeout=10,
        params={"uploadType": "media", "name": LOCK, "ifGenerationMatch": "0"},
        data=json.dumps({"owner": owner, "expires": expires}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_a_stale_lock_is_taken_over(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    _put_lock(emulator, "ghost@crashed pid 1", time.time() - 60)
    repo = write_repo(tmp_path, [manifest("numbers")])
    apply_makes_one_job(repo, emulator)
    gone = requests.get(f"{emulator.url}/storage/v1/b/{BUCKET}/o/{requests.utils.quote(LOCK, safe='')}", timeout=10)
    assert gone.status_code == 404  # released after the create


def test_a_held_lock_names_its_holder_and_stops_the_create(make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    _put_lock(emulator, "alice@laptop pid 42", time.time() + 600)
    client = VertexClient(emulator.url, emulator.url, PROJECT, LOCATION)
    locks = Locks(client, BUCKET, "reconciler/datasets/", owner="me", wait_seconds=0, sleep=lambda _s: None)
    with pytest.raises(ChangeFailed, match="alice@laptop pid 42"), locks.held("numbers"):
        pass
    # and one lock excludes another
    with (
        locks.held("other"),
        pytest.raises(ChangeFailed, match="me"),
        Locks(client, BUCKET, "reconciler/datasets/", owner="you", wait_seconds=0).held("other"),
    ):
        pass


def test_ctrl_c_during_the_wait_leaves_the_job_running(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0.5)
    repo = write_repo(tmp_path, [manifest("numbers")])
    process = start_cli(repo, emulator, "apply", "--yes", **vertex_env(emulator))
    wait_until(lambda: bool(jobs_of(emulator, "numbers")), "the job")
    process.send_signal(signal.SIGINT)
    result = finish(process)
    assert result.code != 0
    job = jobs_of(emulator, "numbers")[0]
    assert job["state"] in ("JOB_STATE_PENDING", "JOB_STATE_RUNNING"), job["state"]
    assert "wait" in vertex_cli(repo, emulator, "plan").text


def test_pruning_a_model_still_tuning_cancels_its_job_first(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0.5)
    repo = write_repo(tmp_path, [manifest("numbers")])
    process = start_cli(repo, emulator, "apply", "--yes", **vertex_env(emulator))
    wait_until(lambda: bool(jobs_of(emulator, "numbers")), "the job")
    process.send_signal(signal.SIGKILL)
    finish(process)
    (repo / "manifests" / "numbers.yaml").unlink()
    result = vertex_cli(repo, emulator, "apply", "--yes", "--allow-empty")
    assert result.code == 0, result.text
    job = jobs_of(emulator, "numbers")[0]
    assert job["state"] == "JOB_STATE_CANCELLED"
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode", "--allow-empty").code == 0
