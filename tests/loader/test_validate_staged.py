"""`reconciler validate --staged`: the pre-commit hook checks what the commit will hold.

Each case is a real git repository whose index and working tree differ, as
they do when a person commits part of their edits: the index must decide,
and the working tree must not, in either direction.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="--staged reads git's index")

SOURCE = "manifests/number-generator.yaml"


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples, committed."""
    for key in [k for k in os.environ if k.startswith("GIT_")]:
        monkeypatch.delenv(key)
    for folder in ("manifests", "datasets"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "reconciler.yaml", tmp_path)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "examples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["validate", *args])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def declaring(model_id: str) -> str:
    """A valid manifest file (the number generator's) declaring `model_id`."""
    return (ROOT / SOURCE).read_text().replace("name: number-generator", f"name: {model_id}")


def test_a_duplicate_id_fixed_only_in_the_working_tree_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = repo / "manifests" / "copy.yaml"
    copy.write_text(declaring("roman-numerals"))  # an id roman-numerals.yaml declares
    git(repo, "add", "manifests/copy.yaml")
    copy.write_text(declaring("unique-copy"))  # the fix, not staged

    assert validate(capsys, "manifests/copy.yaml")[0] == 0  # the working tree is fine
    code, out, err = validate(capsys, "--staged", "manifests/copy.yaml")
    assert code == 1, out + err
    # Reported on the other file, yet about the file given: not filtered out.
    assert (
        "Error: manifests/roman-numerals.yaml:8: metadata.name: duplicate id roman-numerals: "
        "also declared at manifests/copy.yaml:8"
    ) in err
    assert "Invalid: 1 error" in out


def test_a_broken_staged_settings_file_fixed_only_in_the_working_tree_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = repo / "reconciler.yaml"
    good = settings.read_text()
    settings.write_text(good.replace("concurrency: 4", "concurrency: 1:04"))
    git(repo, "add", "reconciler.yaml")
    settings.write_text(good)  # the fix, not staged

    assert validate(capsys, "reconciler.yaml")[0] == 0
    code, _, err = validate(capsys, "--staged", "reconciler.yaml")
    assert code == 1
    assert "Error: reconciler.yaml:29: concurrency: must be an integer, not the text '1:04'" in err


def test_what_is_not_staged_fails_no_commit(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "reconciler.yaml").write_text("concurrency: [\n")  # broken, not staged
    (repo / "manifests" / "draft.yaml").write_text(declaring("number-generator"))  # untracked duplicate

    assert validate(capsys, SOURCE)[0] == 1  # the working tree is broken
    code, out, err = validate(capsys, "--staged", SOURCE)
    assert (code, err) == (0, ""), err
    assert out.rstrip().endswith("Valid: 1 model.")
    code, out, err = validate(capsys, "--staged")  # the whole repository, as committed
    assert (code, err) == (0, ""), err
    assert out.rstrip().endswith("Valid: 2 models.")


def test_a_source_declared_only_in_an_untracked_file_is_missing_from_the_commit(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "manifests" / "base-two.yaml").write_text(declaring("base-two"))  # never added
    derived = repo / "manifests" / "roman-numerals.yaml"
    derived.write_text(derived.read_text().replace("tunedModels/number-generator", "tunedModels/base-two"))
    git(repo, "add", "manifests/roman-numerals.yaml")

    assert validate(capsys, "manifests/roman-numerals.yaml")[0] == 0
    code, _, err = validate(capsys, "--staged", "manifests/roman-numerals.yaml")
    assert code == 1
    assert "manifests/roman-numerals.yaml:" in err
    assert "spec.sourceModel: no manifest declares tunedModels/base-two" in err


def test_a_file_given_that_the_commit_does_not_hold_is_a_problem(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "manifests" / "draft.yaml").write_text(declaring("draft"))
    (repo / "notes.md").write_text("notes\n")
    git(repo, "add", "notes.md")
    code, _, err = validate(capsys, "--staged", "manifests/draft.yaml", "notes.md", SOURCE)
    assert code == 1
    assert "Error: manifests/draft.yaml: not staged: git's index (what the commit holds) has no such file" in err
    assert "Error: notes.md: not read by the repository" in err
    assert SOURCE not in err  # the staged file given is valid


def test_a_folder_outside_git_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above the test's folder
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    monkeypatch.chdir(tmp_path)
    code, _, err = validate(capsys, "--staged")
    assert code == 1
    assert "--staged: `git rev-parse` in . failed: fatal: not a git repository" in err
    assert "Traceback" not in err
