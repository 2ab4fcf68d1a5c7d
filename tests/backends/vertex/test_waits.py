"""Every wait of the Vertex backend goes through the apply's Waiter: paced by
its clock, ended by the operation timeout with a clear failure, and stopped at
once by a stop (Ctrl-C and SIGTERM set `waiter.stop`: the executor on
KeyboardInterrupt, `stop_on_sigterm` on the signal). Time is a FakeClock, but
where a real stop must end a real hour-long wait at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.apply.backend import ChangeFailed
from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import Stopped, TimedOut, Waiter
from reconciler.backends.vertex import VertexBackend
from reconciler.backends.vertex.backend import DELETE_REFUSALS
from reconciler.backends.vertex.labels import ATTEMPT
from reconciler.emulator import EmulatorServer
from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel
from tests.apply.fakes import FakeClock
from tests.backends.vertex.helpers import (
    BUCKET,
    counts,
    jobs_of,
    manifest,
    model_names,
    reset_counts,
    vertex_cli,
    vertex_faults,
    write_repo,
)
from tests.integration.helpers_apply import load_repo

CREATE = "POST /{version}/projects/{project}/locations/{location}/tuningJobs"
DELETE_MODEL = "DELETE /{version}/projects/{project}/locations/{location}/models/{model_id}"


def connect(tmp_path: Path, emulator: EmulatorServer) -> tuple[VertexBackend, DesiredModel]:
    desired = load_repo(write_repo(tmp_path, [manifest("numbers")]))
    env = {"AIPLATFORM_EMULATOR_HOST": emulator.host_port, "STORAGE_EMULATOR_HOST": emulator.url}
    return VertexBackend.connect(desired.settings, env=env), desired.models[0]


def tuned(tmp_path: Path, emulator: EmulatorServer) -> tuple[VertexBackend, LiveModel]:
    """A tuned model and its endpoint, made with a waiter of short real waits."""
    backend, model = connect(tmp_path, emulator)
    backend.create(model, Waiter(interval=0.01, timeout=30, reporter=RecordingReporter()))
    live = backend.find("numbers")
    assert live is not None
    return backend, live


def waiter(clock: FakeClock, timeout: float = 60) -> Waiter:
    """Looks 0, 5, 12.5, 23.75 and 40.6 s in; the next would come after 60 s."""
    return Waiter(interval=5, timeout=timeout, reporter=RecordingReporter(), stop=clock, clock=clock)  # type: ignore[arg-type]


def seen_by(call: Callable[..., Any], seen: Callable[[], None]) -> Callable[..., Any]:
    """`call`, telling `seen` after each time it was made (answered or raised)."""

    def wrapped(*args: Any) -> Any:
        try:
            return call(*args)
        finally:
            seen()

    return wrapped


# --- a delete refused (FAILED_PRECONDITION) -------------------------------------------------


def test_a_delete_refused_forever_ends_at_the_operation_timeout(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    backend, live = tuned(tmp_path, emulator)
    vertex_faults(emulator, model_delete_refusals=1_000_000)
    reset_counts(emulator)
    clock = FakeClock()
    with pytest.raises(ChangeFailed) as failed:
        backend.delete(live, waiter(clock))
    model = live.serving["model"]
    assert str(failed.value) == (
        f"{model} was still refused deletion (FAILED_PRECONDITION) when the operation timeout "
        "(60s, operationTimeoutSeconds) ran out; the next apply tries again"
    )
    assert clock.waits == [5, 7.5, 11.25, 16.875]  # the waiter's backoff, never past the timeout
    assert counts(emulator)[DELETE_MODEL] == 5 < DELETE_REFUSALS  # the timeout ended it, not the count
    assert model in model_names(emulator)
    backend.close()


def test_a_stop_during_a_refused_delete_ends_the_wait_at_once(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    backend, live = tuned(tmp_path, emulator)
    vertex_faults(emulator, model_delete_refusals=1_000_000)
    reset_counts(emulator)
    refused = threading.Event()
    backend.client.delete_model = seen_by(backend.client.delete_model, refused.set)  # type: ignore[method-assign]
    hour_apart = Waiter(interval=3600, timeout=86400, reporter=RecordingReporter())  # real time
    ended: list[BaseException] = []

    def delete() -> None:
        try:
            backend.delete(live, hour_apart)
        except BaseException as error:  # the test reads what ended it
            ended.append(error)

    worker = threading.Thread(target=delete)
    worker.start()
    assert refused.wait(10), "the delete was never refused"
    hour_apart.stop.set()  # what Ctrl-C and SIGTERM do
    worker.join(10)
    assert not worker.is_alive(), "the stop did not end an hour's wait"
    assert [type(e) for e in ended] == [Stopped]
    assert counts(emulator)[DELETE_MODEL] == 1
    backend.close()


# --- long-running operations and a cancelled run ----------------------------------------------


def test_an_operation_never_done_ends_at_the_operation_timeout(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    backend, live = tuned(tmp_path, emulator)
    vertex_faults(emulator, operation_seconds=86400)  # the undeploy runs for a day
    clock = FakeClock()
    with pytest.raises(TimedOut, match=r"^the undeploy from projects/.*/endpoints/\S+ was not done after 60s$"):
        backend.delete(live, waiter(clock))
    assert clock.now <= 60
    backend.close()


def test_a_stop_while_an_operation_runs_stops_at_the_next_wait(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    backend, live = tuned(tmp_path, emulator)
    vertex_faults(emulator, operation_seconds=86400)
    clock = FakeClock()
    polls: list[float] = []
    backend.client.get_operation = seen_by(  # type: ignore[method-assign]
        backend.client.get_operation, lambda: (polls.append(clock.now), clock.set())
    )
    with pytest.raises(Stopped):
        backend.delete(live, waiter(clock))
    assert polls == [5.0]  # one look, after the first wait; the stop ended the next wait
    backend.close()


def test_a_run_that_never_stops_after_its_cancel_ends_at_the_operation_timeout(
    tmp_path: Path, make_emulator: Any
) -> None:
    # One step is an hour of the emulator's (real) clock: the job stays CANCELLING.
    emulator = make_emulator(seed=0, step_seconds=3600)
    backend, model = connect(tmp_path, emulator)
    job = backend._create_job(model, backend.upload(model), "gemini-2.5-flash", waiter(FakeClock()))
    live = backend.find("numbers")
    assert live is not None
    clock = FakeClock()
    with pytest.raises(TimedOut, match=f"^the cancel of {job['name']} was not done after 60s$"):
        backend.delete(live, waiter(clock))
    assert [j["state"] for j in jobs_of(emulator, "numbers")] == ["JOB_STATE_CANCELLING"]
    backend.close()


# --- a create that got no answer --------------------------------------------------------------


def test_the_looks_for_a_create_without_an_answer_are_paced_by_the_waiter(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, create_errors=1)  # a 500: nothing made, so two clean lists, then a new attempt
    backend, model = connect(tmp_path, emulator)
    clock = FakeClock()
    looks: list[float] = []
    list_jobs = backend.client.list_tuning_jobs

    def list_tuning_jobs(filter: str = "") -> list[dict[str, Any]]:
        if filter.startswith(f"labels.{ATTEMPT}="):
            looks.append(clock.now)
        return list_jobs(filter)

    backend.client.list_tuning_jobs = list_tuning_jobs  # type: ignore[method-assign]
    backend.create(model, waiter(clock))
    assert looks == [0.0, 5.0]
    assert counts(emulator)[CREATE] == 2 and len(jobs_of(emulator, "numbers")) == 1
    backend.close()


def test_a_stop_while_looking_for_a_create_makes_no_second_job(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, create_errors=1)
    backend, model = connect(tmp_path, emulator)
    clock = FakeClock()
    backend.client.list_tuning_jobs = seen_by(backend.client.list_tuning_jobs, clock.set)  # type: ignore[method-assign]
    with pytest.raises(Stopped):
        backend.create(model, waiter(clock))
    assert counts(emulator)[CREATE] == 1 and jobs_of(emulator, "numbers") == []
    backend.close()


# --- a lock another run holds --------------------------------------------------------------


def test_a_stop_while_another_run_holds_the_lock_ends_the_wait(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    backend, model = connect(tmp_path, emulator)
    lock = {"owner": "alice@laptop pid 42", "token": "theirs", "expires": time.time() + 60}  # live for a minute
    requests.post(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o",
        params={"uploadType": "media", "name": backend.locks.object_name("numbers")},
        data=json.dumps(lock),
        headers={"Content-Type": "application/json"},
        timeout=10,
    ).raise_for_status()
    clock = FakeClock()
    clock.set()  # asked to stop before the lock is looked at
    with pytest.raises(Stopped):
        backend.create(model, waiter(clock))
    assert clock.waits == [1.0]  # the lock's own pace, through the waiter: the first wait ended it
    assert counts(emulator).get(CREATE, 0) == 0
    backend.close()


# --- the datasets bucket ----------------------------------------------------------------------


def test_a_missing_datasets_bucket_fails_naming_it_and_tunes_nothing(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0, buckets=())  # as a project without the bucket
    repo = write_repo(tmp_path, [manifest("numbers")])
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 1
    assert (
        "numbers: create failed: the datasets bucket gs://tuning-data does not exist (Cloud Storage: "
        "POST /upload/storage/v1/b/tuning-data/o: 404 NOT_FOUND: The specified bucket does not exist.); "
        "create it, or set vertex.datasets in reconciler.yaml to one that does; nothing was tuned"
    ) in result.text, result.text
    assert counts(emulator).get(CREATE, 0) == 0
