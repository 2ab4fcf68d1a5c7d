"""Vertex AI's tuning-job quota, as a person meets it: the create's 429 comes
straight back from the client (no minutes of the retry layer's backoff
first), and `reconciler apply` shows the wait as waiting for quota, not as a
failure, and converges. The pacing itself: tests/backends/conformance/test_pacing.py."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.backends.vertex.client import VertexClient
from reconciler.client import pacing
from reconciler.client.errors import RateLimited
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import BUCKET, jobs_of, manifest, vertex_cli, write_repo
from tests.emulator.vertex_helpers import job_body, upload

SPEEDUP = 600.0  # the emulator's minute passes in a tenth of a real second


class FastClock:
    """The emulator's clock, running SPEEDUP times faster than the real one."""

    def __init__(self) -> None:
        self.started = time.time()

    def __call__(self) -> float:
        return self.started + (time.time() - self.started) * SPEEDUP


def test_a_refused_create_comes_back_at_once_without_the_retry_layers_backoff(make_emulator: Any) -> None:
    emulator: EmulatorServer = make_emulator(seed=0, tuning_submissions_per_minute=1)
    upload(emulator.url)
    sleeps: list[float] = []
    client = VertexClient(
        emulator.url, emulator.url, "my-project", "us-central1", retry=RetryPolicy(sleep=sleeps.append)
    )
    client.create_tuning_job(job_body())
    with pytest.raises(RateLimited) as refused:
        client.create_tuning_job(job_body())
    assert refused.value.attempts == 1 and sleeps == []
    assert refused.value.status == "RESOURCE_EXHAUSTED"


def test_apply_shows_waiting_for_quota_and_converges(
    tmp_path: Path, make_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pacing off, the emulator allowing one job a minute (of its fast clock), two
    workers and three models: the creates over the quota are refused, shown as
    waiting for quota, and sent again until all three are made."""
    monkeypatch.setattr(pacing, "FIRST_REFUSAL_BACKOFF", 0.02)  # real seconds: 12 of the emulator's
    emulator: EmulatorServer = make_emulator(
        seed=0, clock=FastClock(), buckets=(BUCKET,), tuning_submissions_per_minute=1
    )
    ids = ("alpha", "beta", "gamma")
    repo = write_repo(tmp_path, [manifest(i) for i in ids], concurrency=2)
    settings = (repo / "reconciler.yaml").read_text("utf-8")
    (repo / "reconciler.yaml").write_text(settings.replace("  datasets:", "  maxCreatesPerMinute: 0\n  datasets:"))
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    assert "waiting for quota: the service refused the create (429 RESOURCE_EXHAUSTED)" in result.out
    assert "FAILED" not in result.text and "Traceback" not in result.text
    assert [len(jobs_of(emulator, i)) for i in ids] == [1, 1, 1]
    quota = requests.get(f"{emulator.url}/_internal/quota", timeout=10).json()
    assert quota["refused"] > 0
