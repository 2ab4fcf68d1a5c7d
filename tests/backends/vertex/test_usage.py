"""Estimate against reported on Vertex AI, through the CLI against the emulator:
the apply summary and `status` show both, a plan that changes only the epochs
of a tuned dataset estimates exactly, a budget stops a plan, and a truncated
example is reported at its file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.backends.vertex.helpers import manifest, vertex_cli, vertex_faults, write_manifest, write_repo


def _reported_tokens(emulator: Any) -> int:
    from tests.backends.vertex.helpers import jobs_of

    job = jobs_of(emulator, "numbers")[-1]
    return int(job["tuningDataStats"]["supervisedTuningDataStats"]["totalBillableTokenCount"])


def test_apply_shows_estimate_against_reported(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    result = vertex_cli(repo, emulator, "apply", "--yes")
    print(result.text)
    assert result.code == 0
    status = vertex_cli(repo, emulator, "status", "--output", "json")
    print(status.text)
    write_manifest(repo, manifest("numbers", epochs=8))
    plan = vertex_cli(repo, emulator, "plan")
    print(plan.text)
    assert 0
