"""An empty manifests folder is a warning, not an error: an empty desired set is
legitimate. What keeps it from pruning everything is the planning commands'
refusal to prune an empty set without --allow-empty (tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli.main import main
from reconciler.loader import load


def test_an_empty_manifests_folder_loads_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    result = load(tmp_path)
    assert result.ok and result.desired is not None and result.desired.models == ()
    assert [p.message for p in result.warnings] == ["no manifests (.yaml or .yml files) found"]


def test_validate_without_any_manifest_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wrong path must not pass CI: nothing to check is a failed check.
    (tmp_path / "manifests").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["validate"])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert "no manifests (.yaml or .yml files) found" in captured.err
    assert "Invalid: no manifests found" in captured.out


def test_a_missing_configured_manifests_folder_is_an_empty_one(tmp_path: Path) -> None:
    # git drops the folder with its last manifest: that is an empty desired set,
    # and the planning commands still refuse to prune it without --allow-empty.
    (tmp_path / "reconciler.yaml").write_text("manifests: manifests\n", encoding="utf-8")
    result = load(tmp_path)
    assert result.ok and result.desired is not None and result.desired.models == ()
    assert [p.message for p in result.warnings] == ["no manifests folder (treated as empty)"]


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["validate", "-C", "."],
        ["--emulator", "plan"],
        ["plan", "--emulator"],
        ["status"],
        ["import", "x", "--manifest", "c.yml"],
    ],
)
def test_a_folder_that_is_no_repository_is_refused_not_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "c.yml").write_text("services: {web: {image: nginx}}\n", encoding="utf-8")
    monkeypatch.chdir(project)
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "not a reconciler repository (no reconciler.yaml or manifests/ here; use -C DIR)" in err
    assert "services" not in err  # the YAML was never read as a manifest
    assert not (tmp_path / ".reconciler").exists() and not (project / ".reconciler").exists()
