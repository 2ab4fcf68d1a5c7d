"""Every case under tests/corpus/bad fails validation with exactly the problems it expects.

A case is a small repository (manifests/, datasets/, maybe reconciler.yaml)
plus `expected.txt`: `#` lines describe it, every other line is one expected
error as `file:line: field: message`, in the order validate reports them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli.main import main

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "bad"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())


def expected_errors(case: Path) -> list[str]:
    lines = (case / "expected.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def run_validate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_case_lists_its_errors_and_exits_1(
    case: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(case)
    code, out, err = run_validate([], capsys)
    reported = [line.removeprefix("Error: ") for line in err.splitlines() if line.startswith("Error: ")]
    assert code == 1
    assert "Traceback" not in out + err
    assert reported == expected_errors(case)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_case_locates_every_error(case: Path) -> None:
    # file:line: field: — a line unless the problem is about a whole file or folder.
    for line in expected_errors(case):
        where, _, rest = line.partition(": ")
        assert rest, line
        file, _, number = where.partition(":")
        assert (case / file).exists(), line
        assert number.isdigit() or "more rows" in line or "no manifests" in line, line


def test_json_output_lists_the_same_problems(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CORPUS / "many-problems"
    monkeypatch.chdir(case)
    code, out, _ = run_validate(["--output", "json"], capsys)
    report = json.loads(out)
    assert code == 1
    assert report["valid"] is False
    shown = [f"{p['file']}:{p['line'] or 0}: {p['field'] or ''}: {p['message']}" for p in report["diagnostics"]]
    assert shown == expected_errors(case)


@pytest.mark.parametrize("name", ["yaml-syntax", "invalid-utf8", "json-missing-comma"])
def test_the_installed_entry_point_exits_1_without_traceback(name: str) -> None:
    case = CORPUS / name
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "."],
        cwd=case,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert expected_errors(case)[0] in result.stderr
