"""An apply through a flaky API: a quarter of the requests fail (429 with
Retry-After, 503, dropped connections), and 30 models still converge, each once.

The engine runs in this process with a client whose retry sleeps are a few
milliseconds (the CLI's client keeps the production backoff); the emulator's
429s say `Retry-After: 0`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from reconciler.backends.gemini.trailer import UNKEYED
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorServer, FaultSettings
from reconciler.plan.types import Action

from .helpers_apply import (
    CREATE_KEY,
    apply_in_process,
    client_for,
    live_models,
    manifest,
    request_counts,
    run_cli,
    set_faults,
    write_repo,
)

MODELS = 30
FAST_RETRIES = RetryPolicy(max_attempts=12, base_backoff=0.005, max_backoff=0.05, deadline=30)
# Drops are drawn first, then 429, then 503: 1 - 0.92 * 0.9 * 0.9 = 25.5 % of requests fail.
QUARTER_FAILING = FaultSettings(rate_drop=0.08, rate_429=0.1, rate_503=0.1, retry_after_seconds=0)


def test_thirty_models_converge_through_a_quarter_of_failing_requests(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator(seed=7, step_seconds=0.005, faults=QUARTER_FAILING)
    ids = [f"model-{n:02d}" for n in range(MODELS)]
    repo = write_repo(tmp_path, [manifest(i, smoke=(("3", "4"),)) for i in ids], concurrency=8)

    with client_for(server, retry=FAST_RETRIES) as client:
        result = apply_in_process(repo, client, concurrency=8)

    assert result.ok, [o for o in result.outcomes if not o.ok]
    assert result.count(Action.CREATE) == MODELS
    assert len(result.smoke) == MODELS and not result.smoke_failures
    counts = request_counts(server)
    assert counts[CREATE_KEY] > MODELS  # some creates failed and were sent again
    set_faults(server)  # off: check the outcome with a reliable API
    live = live_models(server)
    assert sorted(live) == ids  # none lost, none twice (and no generated ids)
    assert all(body["state"] == "ACTIVE" for body in live.values())
    assert all(UNKEYED.read(body["description"], body["name"], body["createTime"]).ownership for body in live.values())
    assert run_cli(repo, server, "plan", "--detailed-exitcode").code == 0
