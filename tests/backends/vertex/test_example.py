"""`reconciler -C examples/vertex --emulator reconcile --yes` converges (a
second run has nothing to do), and `-C DIR` is accepted before the
subcommand as git's is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli.global_options import hoist_global_flags
from reconciler.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "vertex"


@pytest.mark.parametrize(
    "argv, hoisted",
    [
        (["-C", "x", "--emulator", "reconcile", "--yes"], ["--emulator", "reconcile", "-C", "x", "--yes"]),
        (["--emulator", "-C", "x", "plan"], ["--emulator", "plan", "-C", "x"]),
        (["--dir=x", "status"], ["status", "--dir=x"]),
        (["-Cx", "plan", "--debug"], ["--debug", "plan", "-Cx"]),
        (["plan", "-C", "x"], ["plan", "-C", "x"]),
        (["-C", "x"], ["-C", "x"]),  # no subcommand: click says what is wrong
        (["-C", "x", "plan", "--", "-C"], ["plan", "-C", "x", "--", "-C"]),
    ],
)
def test_dir_before_the_subcommand_moves_after_it(argv: list[str], hoisted: list[str]) -> None:
    assert hoist_global_flags(argv) == hoisted


def test_the_vertex_example_converges_with_the_embedded_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "examples" / "vertex"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".reconciler"))
    (tmp_path / "schema").mkdir()
    monkeypatch.chdir(tmp_path)
    for variable in ("AIPLATFORM_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "GENERATIVELANGUAGE_EMULATOR_HOST"):
        monkeypatch.delenv(variable, raising=False)

    def run(*argv: str) -> int:
        try:
            main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    assert run("-C", "examples/vertex", "--emulator", "reconcile", "--yes") == 0
    assert "2 created" in capsys.readouterr().out
    assert run("-C", "examples/vertex", "--emulator", "plan", "--detailed-exitcode") == 0
    assert "No changes" in capsys.readouterr().out
    # A second run of the same command has nothing to do (the system instruction and
    # the contents rows hash the same way twice).
    assert run("-C", "examples/vertex", "--emulator", "reconcile", "--yes") == 0
    second = capsys.readouterr().out
    assert "No changes" in second and "created" not in second, second
