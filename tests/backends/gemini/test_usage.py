"""Estimate against reported on the Gemini API (issue 22), through the CLI
against the emulator: the API reports steps and epochs (its snapshots and the
operation's metadata), no tokens. The arithmetic is tests/apply/test_usage.py's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.helpers_apply import manifest, run_cli, write_repo


def test_gemini_apply_and_status_show_estimated_against_reported_steps(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    planned = json.loads(run_cli(repo, emulator, "plan", "--output", "json").out)["changes"][0]["estimate"]
    result = run_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    steps = planned["total_steps"]
    # the Gemini API reports no tokens: steps only
    assert f"numbers: estimated -> reported: steps {steps} -> {steps} (+0%)" in result.out
    assert "tokens a pass" not in result.out
    summary = json.loads(run_cli(repo, emulator, "apply", "--yes", "--output", "json").out.splitlines()[-1])
    assert summary["outcomes"] == []  # nothing more to do: the usage was shown by the run that tuned
    status = json.loads(run_cli(repo, emulator, "status", "--output", "json").out)
    assert status["models"][0]["usage"] == {"steps": {"estimated": steps, "reported": steps, "difference_percent": 0.0}}


def test_a_gemini_plan_never_counts_as_measured(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert run_cli(repo, emulator, "apply", "--yes").code == 0
    document = manifest("numbers")
    document["spec"]["hyperparameters"]["epochCount"] = 4
    write_repo(repo, [document])
    estimate = json.loads(run_cli(repo, emulator, "plan", "--output", "json").out)["changes"][0]["estimate"]
    assert estimate["measured"] is False  # no tokens reported: still characters / 4, bounded above
    assert estimate["tokens_upper"] > estimate["tokens"]
