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


def test_validate_warns_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "manifests").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["validate"])
    assert exit_info.value.code == 0
    assert "no manifests (.yaml or .yml files) found" in capsys.readouterr().err
