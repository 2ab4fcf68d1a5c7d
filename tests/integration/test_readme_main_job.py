"""The README's first command, as written: `reconciler --emulator reconcile --yes`
in a copy of the repository's examples converges, and a second run has nothing
to do (its state kept under .reconciler/).

In this process, with the embedded emulator's clock sped up (a tenth of a
second a step is for people watching the progress, not for the suite);
tests/packaging runs the same loop from the built wheel in a child process.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest

import reconciler.cli.session as session
from reconciler.cli.main import main

ROOT = Path(__file__).parents[2]


def run(*args: str) -> tuple[int, str]:
    """`reconciler ARGS` in this process: exit code, stdout and stderr together."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main(list(args))
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_the_main_job_converges_then_has_nothing_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    for folder in ("manifests", "datasets", "schema"):
        shutil.copytree(ROOT / folder, repo / folder)
    shutil.copy(ROOT / "reconciler.yaml", repo / "reconciler.yaml")
    for name in [key for key in os.environ if key.endswith("_EMULATOR_HOST")] + ["GEMINI_API_KEY", "GOOGLE_API_KEY"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(session, "EMULATOR_STEP_SECONDS", 0.001)
    monkeypatch.setattr(session, "EMULATOR_POLL_SECONDS", 0.01)
    monkeypatch.chdir(repo)

    code, first = run("--emulator", "reconcile", "--yes")
    assert code == 0, first
    assert "Apply complete: 2 created" in first
    assert (repo / ".reconciler" / "emulator.sqlite").exists()

    code, second = run("--emulator", "reconcile", "--yes")
    assert code == 0, second
    assert "No changes." in second
    assert "Apply complete" not in second
