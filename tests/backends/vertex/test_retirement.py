"""A live model whose base model retires within retirementNoticeDays: plan
says so as a notice, exits 2 under --detailed-exitcode, and the PR comment
(and so the drift issue, which carries the same Markdown) shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.backends.vertex.helpers import BASE_MODEL, SETTINGS, manifest, vertex_cli, write_repo


def _retiring_in(days: int, notice_days: int | None = None) -> dict[str, Any]:
    retires = (datetime.now(UTC).date() + timedelta(days=days)).isoformat()
    vertex: dict[str, Any] = {**SETTINGS["vertex"], "baseModels": {BASE_MODEL: {"retires": retires}}}
    if notice_days is not None:
        vertex["retirementNoticeDays"] = notice_days
    return vertex


def test_a_base_model_retiring_soon_is_a_notice_and_drift(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    write_repo(repo, [], vertex=_retiring_in(10))
    planned = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert f"Notice: numbers: its base model {BASE_MODEL} retires on" in planned.out
    assert "in 10 days" in planned.out and "No changes" not in planned.text
    comment = vertex_cli(repo, emulator, "plan", "--output", "markdown")
    assert "> [!WARNING]" in comment.out and f"its base model {BASE_MODEL} retires on" in comment.out
    applied = vertex_cli(repo, emulator, "apply", "--yes")
    assert applied.code == 0 and "1 notice to act on" in applied.text


def test_no_notice_outside_the_window(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    write_repo(repo, [], vertex=_retiring_in(10, notice_days=5))
    planned = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert planned.code == 0, planned.text
    assert "Notice:" not in planned.out and "No changes" in planned.out
