"""What a Vertex AI user reads: a create-first replace as `+/-`, the new
endpoint after an apply (text, JSON lines, Markdown), the PR comment's replace
line, and `status` in Vertex's words with the serving endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.backends.vertex.helpers import jobs_of, manifest, vertex_cli, write_manifest, write_repo


def _endpoint(emulator: Any, key: str) -> str:
    return str(jobs_of(emulator, key)[-1]["tunedModel"]["endpoint"])


def test_apply_prints_the_new_endpoint_in_text_json_and_markdown(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    summary = tmp_path / "summary.md"
    created = vertex_cli(repo, emulator, "apply", "--yes", GITHUB_STEP_SUMMARY=str(summary))
    assert created.code == 0, created.text
    endpoint = _endpoint(emulator, "numbers")
    assert f"vertex/numbers serves at {endpoint}" in created.out
    assert created.out.rstrip().splitlines()[-1].startswith("Apply complete")
    assert f"`vertex/numbers` serves at `{endpoint}`" in summary.read_text("utf-8")
    write_manifest(repo, manifest("numbers", epochs=3))
    replaced = vertex_cli(repo, emulator, "apply", "--yes", "--output", "json")
    assert replaced.code == 0, replaced.text
    last = json.loads(replaced.out.strip().splitlines()[-1])
    new = _endpoint(emulator, "numbers")
    assert new != endpoint and last["endpoints"] == {"vertex/numbers": new}


def test_a_create_first_replace_is_shown_as_terraform_shows_create_before_destroy(
    tmp_path: Path, make_emulator: Any
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    endpoint = _endpoint(emulator, "numbers")
    write_manifest(repo, manifest("numbers", epochs=3))
    planned = vertex_cli(repo, emulator, "plan")
    assert "+/- vertex/numbers" in planned.out and "-/+" not in planned.out
    comment = vertex_cli(repo, emulator, "plan", "--output", "markdown")
    line = next(x for x in comment.out.splitlines() if x.startswith("- `+/-` `vertex/numbers`"))
    assert f"**the endpoint changes**: `{endpoint}`" in line
    assert comment.out.index(line) < comment.out.index("<details>")  # never folded away


def test_status_speaks_vertex_and_shows_the_endpoint(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    status = vertex_cli(repo, emulator, "status")
    header, row = status.out.splitlines()[:2]
    assert "ENDPOINT" in header
    assert "SUCCEEDED" in row and "ACTIVE" not in row and _endpoint(emulator, "numbers") in row


def test_no_changes_is_said_once_on_one_stream(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    again = vertex_cli(repo, emulator, "apply", "--yes")
    assert again.code == 0
    assert again.out.count("No changes") == 1 and "No changes" not in again.err


def test_the_plan_speaks_of_no_batch_size_on_vertex(tmp_path: Path, make_emulator: Any) -> None:
    """Vertex AI has no batch size for Gemini: the estimate shows epochs and steps only."""
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", epochs=4)])
    planned = vertex_cli(repo, emulator, "plan")
    assert "20 examples" in planned.out and "(4 epochs)" in planned.out
    assert "batch" not in planned.text.lower()
    estimate = json.loads(vertex_cli(repo, emulator, "plan", "--output", "json").out)["changes"][0]["estimate"]
    assert estimate["batch_size"] is None and estimate["total_steps"] == 12  # ceil(20 / 8) x 4
    assert "batch" not in vertex_cli(repo, emulator, "plan", "--output", "markdown").out.lower()


def test_help_and_the_package_summary_name_both_backends(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0)
    for args in (("--help",), ("emulator", "--help")):
        shown = " ".join(vertex_cli(tmp_path, emulator, *args).out.split())
        assert "Gemini API" in shown and "Vertex AI" in shown, shown
    pyproject = (Path(__file__).parents[3] / "pyproject.toml").read_text("utf-8")
    summary = next(line for line in pyproject.splitlines() if line.startswith("description"))
    assert "Gemini API" in summary and "Vertex AI" in summary
