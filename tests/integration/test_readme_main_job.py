"""The README's first command, as written: `reconciler --emulator reconcile --yes`
in a copy of the repository's examples converges, and a second run has nothing
to do (its state kept under .reconciler/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if not key.endswith("_EMULATOR_HOST") and key not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args], cwd=repo, env={**env, "NO_GCE_CHECK": "True"},
        capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL,
    )


def test_the_main_job_converges_then_has_nothing_to_do(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for folder in ("manifests", "datasets", "schema"):
        shutil.copytree(ROOT / folder, repo / folder)
    shutil.copy(ROOT / "reconciler.yaml", repo / "reconciler.yaml")

    first = run(repo, "--emulator", "reconcile", "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Apply complete: 2 created" in first.stdout
    assert (repo / ".reconciler" / "emulator.sqlite").exists()

    second = run(repo, "--emulator", "reconcile", "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No changes." in second.stdout + second.stderr
    assert "Apply complete" not in second.stdout
