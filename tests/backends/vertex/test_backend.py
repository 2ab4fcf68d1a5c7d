"""The Vertex backend driven directly (no CLI): a replace of a model whose old
run is still tuning cancels that run first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import Waiter
from reconciler.backends.vertex import VertexBackend
from tests.backends.vertex.helpers import jobs_of, manifest, vertex_faults, write_manifest, write_repo
from tests.integration.helpers_apply import load_repo


def test_create_cancels_a_running_job_of_the_same_id_with_other_inputs(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    desired = load_repo(repo)
    env = {"AIPLATFORM_EMULATOR_HOST": emulator.host_port, "STORAGE_EMULATOR_HOST": emulator.url}
    backend = VertexBackend.connect(desired.settings, env=env)
    old = desired.models[0]
    vertex_faults(emulator, pending_seconds=3600)
    waiter = Waiter(interval=0.01, timeout=30, reporter=RecordingReporter())
    backend._create_job(old, backend.upload(old), "gemini-2.5-flash", waiter)
    vertex_faults(emulator, pending_seconds=0)
    write_manifest(repo, manifest("numbers", epochs=3))
    new = load_repo(repo).models[0]
    tuned = backend.create(new, waiter)
    assert not tuned.found
    states = [job["state"] for job in jobs_of(emulator, "numbers")]
    assert states == ["JOB_STATE_CANCELLED", "JOB_STATE_SUCCEEDED"]
    backend.close()
