"""What the commands print, compared with tests/golden/*: `show` of a saved plan
in each format, and the JSON documents of `status` and `validate`.

Refresh with `pytest tests/plan --update-golden` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_render_golden import compare, scenario_plan

from reconciler.emulator import EmulatorServer
from reconciler.render import render_json, render_markdown, render_text
from tests.integration.helpers_apply import (
    manifest,
    remove_manifest,
    run_cli,
    write_manifest,
    write_repo,
)
from tests.integration.helpers_plan import seed_unmanaged

SHOW_FORMATS = {"text": "txt", "markdown": "md", "json": "json"}


@pytest.mark.parametrize("output", SHOW_FORMATS)
def test_show_renders_a_saved_plan_again(
    output: str, tmp_path: Path, emulator: EmulatorServer, update_golden: bool
) -> None:
    saved = scenario_plan("full").model_copy(update={"errors": ()})  # plans with errors are never saved
    (tmp_path / "reconciler.yaml").write_text("manifests: manifests\n", encoding="utf-8")
    saved.to_file(tmp_path / "plan.json")

    result = run_cli(tmp_path, emulator, "show", "plan.json", "--output", output)

    assert result.code == 0, result.text
    assert result.err == ""  # no API is called, so no target line either
    compare(result.out, f"show.{SHOW_FORMATS[output]}", update_golden)
    renderers = {"text": render_text, "markdown": render_markdown, "json": render_json}
    assert result.out == renderers[output](saved)  # exactly what `plan` printed


def test_status_json(tmp_path: Path, emulator: EmulatorServer, update_golden: bool) -> None:
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("beta"), manifest("retired")])
    assert run_cli(repo, emulator, "apply", "--yes").code == 0
    seed_unmanaged(emulator, "by-hand")
    write_manifest(repo, manifest("beta", temperature=0.9))  # drift: an update
    remove_manifest(repo, "retired")  # out of sync: requires pruning

    result = run_cli(repo, emulator, "status", "--output", "json")

    assert result.code == 0, result.text
    document = json.loads(result.out)
    assert document["in_sync"] is False
    compare(result.out, "status.json", update_golden)


def test_validate_json(tmp_path: Path, emulator: EmulatorServer, update_golden: bool) -> None:
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("beta", source_model="alpha")])
    dataset = repo / "datasets" / "alpha.jsonl"
    first_two = "".join(dataset.read_text().splitlines(keepends=True)[:2])
    dataset.write_text(dataset.read_text() + first_two, encoding="utf-8")  # duplicates: warnings

    result = run_cli(repo, emulator, "validate", "--output", "json")

    assert result.code == 0, result.text
    compare(result.out, "validate.json", update_golden)
