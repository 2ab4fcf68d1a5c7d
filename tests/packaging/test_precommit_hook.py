"""The `reconciler-validate` hook, run by pre-commit itself with `pre-commit try-repo`.

try-repo installs this repository (its working tree, uncommitted changes
included) into a fresh environment of pre-commit's, as a user's `rev:` would,
and runs the hook on the files of a commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


def test_the_hook_checks_the_files_of_a_commit_against_the_whole_repository(tmp_path: Path) -> None:
    repo = tmp_path / "user-repo"
    repo.mkdir()
    for folder in ("manifests", "datasets"):
        shutil.copytree(ROOT / folder, repo / folder)
    shutil.copy(ROOT / "reconciler.yaml", repo)
    (repo / "README.md").write_text("not a manifest\n")
    broken = repo / "manifests" / "number-generator.yaml"
    broken.write_text(broken.read_text().replace("epochCount: 5", "epochCount: -1"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")

    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    pre_commit = [sys.executable, "-m", "pre_commit"]
    # roman-numerals.yaml is tuned from number-generator, declared in the other
    # file: no false "no manifest declares" error, only the real problem.
    result = subprocess.run(
        [*pre_commit, "try-repo", str(ROOT), "reconciler-validate", "--files",
         "manifests/roman-numerals.yaml", "manifests/number-generator.yaml", "README.md"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "manifests/number-generator.yaml:16: spec.hyperparameters.epochCount" in output
    assert "no manifest declares" not in output
    assert "README.md" not in output.split("reconciler validate", 1)[-1]  # not a file the hook takes
    # One error in all: the other file given is valid.
    assert "Invalid: 1 error" in output
