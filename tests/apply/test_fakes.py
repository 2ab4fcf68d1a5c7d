"""The fake backends stay honest stand-ins: mypy checks tests/apply (pyproject's
[tool.mypy] files, run by tests/test_quality.py), so each fake the tests hand the
executor is a whole `Backend`, and nothing here silences it."""

from __future__ import annotations

import tomllib
from pathlib import Path

HERE = Path(__file__).parent


def test_nothing_in_tests_apply_silences_the_type_checker() -> None:
    silenced = [
        f"{path.name}:{number}"
        for path in sorted(HERE.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "type: " + "ignore" in line
    ]
    assert silenced == []


def test_the_type_checker_reads_tests_apply() -> None:
    settings = tomllib.loads((HERE.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert "tests/apply" in settings["tool"]["mypy"]["files"]
