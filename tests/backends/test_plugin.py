"""A backend is one folder plus its entry point: the ledger backend
(tests/backends/ledger/), installed here as a separate package would be, runs
validate, plan and apply through the CLI with no change to reconciler/."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli.main import main
from reconciler.model import registry, settings

MANIFEST = """\
apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: numbers
spec:
  displayName: Numbers
  baseModel: counting-1
  trainingData:
    file: ../datasets/numbers.jsonl
  smokeTests:
    - input: "seven"
      expect: {equals: "seven"}
"""


def _clear_caches() -> None:
    for cached in (registry.installed, settings.settings_type, settings.schema_type):
        cached.cache_clear()


@pytest.fixture
def ledger_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ledger's distribution metadata on the path, as `pip install` would leave it."""
    site = tmp_path / "site"
    info = site / "reconciler_ledger-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reconciler-ledger\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[reconciler.backends]\nledger = tests.backends.ledger:LedgerBackend\n")
    monkeypatch.syspath_prepend(str(site))
    _clear_caches()
    yield
    monkeypatch.delitem(sys.modules, "tests.backends.ledger", raising=False)
    _clear_caches()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "manifests").mkdir(parents=True)
    (root / "datasets").mkdir()
    (root / "manifests" / "numbers.yaml").write_text(MANIFEST)
    examples = [{"text_input": str(n), "output": str(n + 1)} for n in range(5)]
    (root / "datasets" / "numbers.jsonl").write_text("".join(json.dumps(e) + "\n" for e in examples))
    (root / "reconciler.yaml").write_text("backend: ledger\nledger:\n  file: ledger.json\n")
    monkeypatch.chdir(root)
    return root


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out + captured.err


def test_validate_plan_and_apply_through_the_registry(
    ledger_installed: None, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _run(capsys, "validate")
    assert code == 0, text

    code, text = _run(capsys, "plan", "--detailed-exitcode")
    assert code == 2 and "ledger/numbers" in text, text

    code, text = _run(capsys, "apply", "--yes")
    assert code == 0, text
    entry = json.loads((repo / "ledger.json").read_text())["numbers"]
    assert entry["displayName"] == "Numbers" and entry["ownership"]["untested"] is False, entry

    code, text = _run(capsys, "plan", "--detailed-exitcode")
    assert code == 0, text  # in sync: the ledger reads back what it wrote

    manifest = repo / "manifests" / "numbers.yaml"
    manifest.write_text(manifest.read_text().replace("displayName: Numbers", "displayName: Counting"))
    code, text = _run(capsys, "apply", "--yes")
    assert code == 0, text
    assert json.loads((repo / "ledger.json").read_text())["numbers"]["displayName"] == "Counting"


def test_its_manifest_checks_and_settings_block_are_its_own(
    ledger_installed: None, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = repo / "manifests" / "numbers.yaml"
    manifest.write_text(
        manifest.read_text().replace("  smokeTests:", "  hyperparameters:\n    batchSize: 2\n  smokeTests:")
    )
    code, text = _run(capsys, "validate")
    assert code == 1 and "the ledger chooses the batch size itself" in text, text

    (repo / "reconciler.yaml").write_text("backend: ledger\nledger:\n  fiel: ledger.json\n")
    code, text = _run(capsys, "validate")
    assert code == 1 and "reconciler.yaml:3: ledger.fiel" in text, text

    code, text = _run(capsys, "schema", "settings")
    assert code == 0 and "LedgerSettings" in text, text


def test_an_unknown_backend_lists_the_installed_ones(
    ledger_installed: None, repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "reconciler.yaml").write_text("backend: ledgr\n")
    code, text = _run(capsys, "validate")
    assert code == 1, text
    assert (
        "no backend named 'ledgr' is installed (installed: bedrock, gemini, ledger, vertex); did you mean ledger?"
        in text
    )


def test_its_secret_variables_are_scrubbed(
    ledger_installed: None, repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_TOKEN", "ledger-secret-0123456789")
    # The target line names the file: one the user named after the token, say.
    (repo / "reconciler.yaml").write_text("backend: ledger\nledger:\n  file: ledger-secret-0123456789.json\n")
    code, text = _run(capsys, "plan")
    assert code == 0, text
    assert "ledger-secret-0123456789" not in text and "the ledger in [REDACTED].json" in text, text
