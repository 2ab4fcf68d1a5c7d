"""`.reconciler/` ignores itself, so `git add -A` in a user's repository never commits it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.cli.main import main
from reconciler.cli.state import make_state_folder

ROOT = Path(__file__).resolve().parents[2]


def test_a_state_folder_ignores_itself_and_keeps_a_users_own_gitignore(tmp_path: Path) -> None:
    folder = make_state_folder(tmp_path / "repo" / ".reconciler")
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    (folder / ".gitignore").write_text("mine\n", encoding="utf-8")
    make_state_folder(folder)
    assert (folder / ".gitignore").read_text(encoding="utf-8") == "mine\n"


def test_another_folder_gets_no_gitignore(tmp_path: Path) -> None:
    assert not (make_state_folder(tmp_path / "state") / ".gitignore").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_add_all_after_the_embedded_emulator_commits_no_state(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / "reconciler.yaml", repo)
    (repo / "manifests").mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    with pytest.raises(SystemExit) as exited:
        main(["--emulator", "status", "-C", str(repo)])
    assert exited.value.code == 0
    assert (repo / ".reconciler" / "emulator.sqlite").exists()
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, timeout=60)
    staged = subprocess.run(
        ["git", "-C", str(repo), "diff", "--cached", "--name-only"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()
    assert staged == ["reconciler.yaml"]
