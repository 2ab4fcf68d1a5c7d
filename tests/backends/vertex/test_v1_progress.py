"""Progress on the real v1 shape: v1 has no tuningJobState nor
tuningJobMetadata (they are in the v1beta1 discovery document only), so a
run on v1 shows its stage honestly and never a step count stuck at 0."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from tests.backends.vertex.helpers import manifest, vertex_cli, write_repo
from tests.emulator.vertex_helpers import ManualClock, create_job, short, upload

V1BETA1_ONLY = ("tuningJobState", "tuningJobMetadata")


def _progress_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if '"progress"' in line]


def test_the_emulator_sends_the_v1beta1_fields_only_on_v1beta1(make_emulator: Any) -> None:
    clock = ManualClock()
    server = make_emulator(clock=clock, step_seconds=10)
    upload(server.url)
    job = create_job(server.url)
    clock.advance(10 + 2 * 10 + 15)  # pending, quota, dataset, then into the second epoch
    v1 = requests.get(f"{server.url}/{short(job['name'])}", timeout=10).json()
    beta = requests.get(f"{server.url}/v1beta1/{job['name']}", timeout=10).json()
    assert v1["state"] == beta["state"] == "JOB_STATE_RUNNING"
    assert not set(V1BETA1_ONLY) & set(v1)
    assert beta["tuningJobState"] == "TUNING_JOB_STATE_TUNING"
    assert beta["tuningJobMetadata"]["completedEpochCount"] == "1"


def test_a_v1_run_shows_no_step_count_only_its_stage(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0.05)
    repo = write_repo(tmp_path, [manifest("numbers")])
    result = vertex_cli(repo, emulator, "apply", "--yes", "--output", "json")
    assert result.code == 0, result.text
    lines = _progress_lines(result.out)
    running = [p for p in lines if (p.get("stage") or "").startswith("running")]
    assert running, result.out
    assert {p["stage"] for p in running} == {"running (no step progress from this API version)"}
    assert all(p["total_steps"] == 0 and p["completed_steps"] == 0 for p in running)
    done = [p for p in lines if p.get("stage") == "succeeded"]
    assert done and done[-1]["percent"] == 100.0 and done[-1]["total_steps"] > 0


def test_a_v1beta1_run_shows_its_steps(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0.1)
    repo = write_repo(tmp_path, [manifest("numbers", epochs=3)])
    settings = repo / "reconciler.yaml"
    settings.write_text(
        settings.read_text("utf-8").replace("  datasets:", "  apiVersion: v1beta1\n  datasets:"), "utf-8"
    )
    result = vertex_cli(repo, emulator, "apply", "--yes", "--output", "json")
    assert result.code == 0, result.text
    lines = _progress_lines(result.out)
    assert "running: tuning" in {p.get("stage") for p in lines}
    assert any(p["stage"].startswith("running") and p["total_steps"] > 0 and p["completed_steps"] > 0 for p in lines)
