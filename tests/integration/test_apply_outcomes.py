"""What an apply tells: a FAILED run, smoke-test failures, the GitHub job summary,
JSON lines, and refusing to apply without a terminal to confirm on."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from reconciler.emulator import EmulatorServer

from .helpers_apply import CREATE_KEY, finish, live_models, manifest, request_counts, run_cli, start_cli, write_repo


def test_a_failed_tuning_run_exits_1_with_its_error_and_is_replaced_next(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator(seed=8, fail_tuning=frozenset({"broken"}))
    repo = write_repo(tmp_path, [manifest("broken"), manifest("fine"), manifest("child", source_model="broken")])
    result = run_cli(repo, server, "apply", "--yes")
    assert result.code == 1
    assert "broken: create FAILED: tuning failed: Tuning failed at step" in result.out
    assert "child: create skipped: skipped: broken did not finish" in result.out
    assert "Apply failed: 1 created" in result.out
    assert live_models(server)["broken"]["state"] == "FAILED"

    planned = run_cli(repo, server, "plan", "--output", "json")
    actions = {c["model_id"]: c["action"] for c in json.loads(planned.out)["changes"]}
    assert actions["broken"] == "replace"
    assert actions["child"] == "create"


def test_smoke_test_failures_are_a_table_and_exit_1(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha", smoke=(("3", "4"), ("7", "nine")))])
    summary = tmp_path / "summary.md"
    result = run_cli(repo, emulator, "apply", "--yes", GITHUB_STEP_SUMMARY=str(summary))
    assert result.code == 1
    assert "Smoke tests failed:" in result.out
    row = next(line for line in result.out.splitlines() if line.strip().startswith("alpha") and "'nine'" in line)
    assert row.split() == ["alpha", "7", "equals", "'nine'", "8"]  # model, input, expected, got
    assert "smoke tests 1/2 passed." in result.out

    markdown = summary.read_text()
    assert "#### Failed smoke tests" in markdown
    assert "```mermaid\nxychart-beta" in markdown and 'title "alpha: mean loss"' in markdown


def test_skip_smoke_tests(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha", smoke=(("7", "nine"),))])
    result = run_cli(repo, emulator, "apply", "--yes", "--skip-smoke-tests")
    assert result.code == 0, result.text
    assert "smoke tests skipped." in result.out and "0/0" not in result.out
    assert "generateContent" not in " ".join(request_counts(emulator))


def test_job_summary_has_the_outcome_and_loss_curves(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("beta")])
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = run_cli(repo, emulator, "reconcile", "--yes", GITHUB_STEP_SUMMARY=str(summary))
    assert result.code == 0, result.text
    markdown = summary.read_text()
    assert markdown.startswith("earlier step\n### Apply complete: 2 created")  # appended, as GitHub wants
    assert markdown.count("xychart-beta") == 2
    assert "| `alpha` | create | done |" in markdown
    assert "alpha: loss " in result.out  # the sparkline in the terminal


def test_output_json_is_json_lines(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha", smoke=(("3", "4"),))])
    result = run_cli(repo, emulator, "apply", "--yes", "--output", "json")
    assert result.code == 0, result.text
    lines = [json.loads(line) for line in result.out.splitlines()]
    kinds = [line["type"] for line in lines]
    assert kinds[0] == "plan" and kinds[-1] == "summary"
    assert {"event", "progress"} <= set(kinds)
    assert lines[0]["plan"]["changes"][0]["action"] == "create"
    assert lines[-1]["ok"] is True
    assert lines[-1]["smoke_tests"] == [
        {"model_id": "alpha", "input": "3", "expected": "equals '4'", "got": "4", "passed": True}
    ]
    assert lines[-1]["counts"] == {
        "created": 1,
        "waited_for": 0,
        "updated": 0,
        "replaced": 0,
        "deleted": 0,
        "imported": 0,
        "forgotten": 0,
    }
    assert not any(empty_strings(line) for line in lines)  # null where absent, never ""
    again = run_cli(repo, emulator, "apply", "--yes", "--output", "json")
    assert [json.loads(line)["type"] for line in again.out.splitlines()] == ["plan", "summary"]


def empty_strings(value: object, where: str = "") -> list[str]:
    """The paths of every "" in a JSON value."""
    if value == "":
        return [where]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in empty_strings(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in empty_strings(item, f"{where}[{index}]")]
    return []


def test_without_a_terminal_apply_refuses_unless_yes(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    refused = finish(start_cli(repo, emulator, "apply"))
    assert refused.code == 1
    assert "pass --yes" in refused.err
    assert CREATE_KEY not in request_counts(emulator)
    assert live_models(emulator) == {}
