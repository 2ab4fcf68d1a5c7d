"""The `reconciler-validate` hook, run by pre-commit on real commits, offline.

pre-commit's own `language: python` would pip-install this repository and its
dependencies from a package index. Here the hook is this repository's
definition (.pre-commit-hooks.yaml, as written) with only its language set to
`system`, and its entry is the `reconciler` of a wheel built in the test
(tests/packaging/conftest.py) and first on PATH: pre-commit still chooses the
files, passes them, stashes unstaged edits on `git commit`, and reads the
exit code, with no network.

The hook must check what the commit will hold (git's index), not the working
tree: an unstaged fix must not pass a broken commit, and an untracked file
must not lend it what it lacks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")


def hook_config() -> str:
    """A pre-commit config running this repository's hook, as defined, from PATH."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "reconciler-validate" and hook["language"] == "python"
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": [{**hook, "language": "system"}]}]})


class UserRepo:
    """A user's repository holding the examples, with the hook installed and one commit."""

    def __init__(self, path: Path, bin_dir: Path, home: Path) -> None:
        self.path, self.bin_dir, self.home = path, bin_dir, home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PYTHON", "GEMINI_", "GOOGLE_"))}
        self.env.update(
            {
                "PATH": f"{bin_dir}{os.pathsep}{self.env['PATH']}",  # the wheel's reconciler first
                "PRE_COMMIT_HOME": str(home),
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_CONFIG_NOSYSTEM": "1",  # no hooksPath, no signing
                "NO_COLOR": "1",
            }
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=self.path, env=self.env, capture_output=True, text=True, timeout=300)

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("git", *args)

    def commit(self, message: str) -> subprocess.CompletedProcess[str]:
        return self.git("commit", "-m", message)

    def pre_commit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "pre_commit", *args)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.path / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))


@pytest.fixture(scope="module")
def committed(tmp_path_factory: pytest.TempPathFactory, installed: Path) -> UserRepo:
    """The user's repository after its first commit, made once: each test gets a copy."""
    tmp_path = tmp_path_factory.mktemp("precommit")
    user = UserRepo(tmp_path / "user-repo", installed, tmp_path / "pre-commit-home")
    for folder in ("manifests", "datasets"):
        shutil.copytree(ROOT / folder, user.path / folder)
    shutil.copy(ROOT / "reconciler.yaml", user.path)
    (user.path / "README.md").write_text("not a manifest\n")
    (user.path / ".pre-commit-config.yaml").write_text(hook_config())
    for step in (["init", "-q"], ["config", "user.name", "t"], ["config", "user.email", "t@example.com"]):
        assert user.git(*step).returncode == 0
    installed_hook = user.pre_commit("install")
    assert installed_hook.returncode == 0, installed_hook.stderr
    user.git("add", "-A")
    first = user.commit("examples")
    assert first.returncode == 0, first.stdout + first.stderr  # the hook ran on every file and passed
    assert "reconciler validate" in first.stderr and "Passed" in first.stderr  # a commit's hooks speak on stderr
    return user


@pytest.fixture
def repo(committed: UserRepo, tmp_path: Path) -> UserRepo:
    """A copy of the committed repository, hook installed (its script finds the config
    relative to the repository, so the copy runs the same hook)."""
    shutil.copytree(committed.path, tmp_path / "user-repo", symlinks=True)
    return UserRepo(tmp_path / "user-repo", committed.bin_dir, committed.home)


def test_the_hook_checks_the_files_given_against_the_whole_repository(repo: UserRepo) -> None:
    repo.edit("manifests/number-generator.yaml", "epochCount: 5", "epochCount: -1")
    repo.git("add", "-A")
    # roman-numerals.yaml is tuned from number-generator, declared in the other
    # file: no false "no manifest declares" error, only the real problem.
    result = repo.pre_commit(
        "run", "--files", "manifests/roman-numerals.yaml", "manifests/number-generator.yaml", "README.md"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "manifests/number-generator.yaml:16: spec.hyperparameters.epochCount" in output
    assert "no manifest declares" not in output
    assert "README.md" not in output.split("reconciler validate", 1)[-1]  # not a file the hook takes
    assert "Invalid: 1 error" in output  # the other file given is valid


def test_a_commit_of_the_settings_alone_passes(repo: UserRepo) -> None:
    repo.edit("reconciler.yaml", "concurrency: 4", "concurrency: 8")
    repo.git("add", "reconciler.yaml")
    before = repo.head()
    committed = repo.commit("more concurrency")
    assert committed.returncode == 0, committed.stdout + committed.stderr
    assert repo.head() != before


def test_a_duplicate_id_fixed_only_in_the_working_tree_is_refused(repo: UserRepo) -> None:
    copy = repo.path / "manifests" / "copy.yaml"
    copy.write_text(
        (ROOT / "manifests" / "number-generator.yaml")
        .read_text()
        .replace("name: number-generator", "name: roman-numerals")
    )
    repo.git("add", "manifests/copy.yaml")
    repo.edit("manifests/copy.yaml", "name: roman-numerals", "name: unique-copy")  # not staged

    # As `pre-commit run --files` (and try-repo) run it: the working tree is left as it is.
    result = repo.pre_commit("run", "--files", "manifests/copy.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "duplicate id roman-numerals: also declared at manifests/copy.yaml:8" in result.stdout
    # And as a commit runs it.
    before = repo.head()
    refused = repo.commit("a copy")
    assert refused.returncode == 1
    assert "duplicate id roman-numerals" in refused.stderr
    assert repo.head() == before
    assert "name: unique-copy" in copy.read_text()  # pre-commit gave the unstaged edit back


def test_a_broken_staged_settings_file_fixed_only_in_the_working_tree_is_refused(repo: UserRepo) -> None:
    repo.edit("reconciler.yaml", "concurrency: 4", "concurrency: 1:04")
    repo.git("add", "reconciler.yaml")
    repo.edit("reconciler.yaml", "concurrency: 1:04", "concurrency: 4")  # the fix, not staged
    result = repo.pre_commit("run", "--files", "reconciler.yaml")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "reconciler.yaml:29: concurrency: must be an integer, not the text '1:04'" in result.stdout


def test_an_untracked_file_does_not_lend_the_commit_a_source(repo: UserRepo) -> None:
    (repo.path / "manifests" / "base-two.yaml").write_text(
        (ROOT / "manifests" / "number-generator.yaml").read_text().replace("name: number-generator", "name: base-two")
    )  # never added: not in the commit
    repo.edit("manifests/roman-numerals.yaml", "tunedModels/number-generator", "tunedModels/base-two")
    repo.git("add", "manifests/roman-numerals.yaml")
    before = repo.head()
    refused = repo.commit("tuned from base-two")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "spec.sourceModel: no manifest declares tunedModels/base-two" in refused.stderr
    assert repo.head() == before

    repo.git("add", "manifests/base-two.yaml")  # with the source in the commit, it passes
    committed = repo.commit("tuned from base-two, which is declared")
    assert committed.returncode == 0, committed.stdout + committed.stderr


# --- `pre-commit try-repo`: what a user runs to try the hook before adopting it ---------


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, committed: UserRepo) -> Path:
    """A repository offering this repository's hooks, as written, but for the language
    (system: the wheel's reconciler on PATH, not a pip install from an index)."""
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("hook-repo")
    (path / ".pre-commit-hooks.yaml").write_text(yaml.safe_dump([{**hook, "language": "system"}]))
    for step in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "hooks"],
    ):
        done = subprocess.run(["git", *step], cwd=path, env=committed.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    return path


def try_repo(repo: UserRepo, hook_repo: Path) -> tuple[int, str]:
    """The hook on what is staged, as `pre-commit try-repo` runs it (no --files: the staged files)."""
    result = repo.pre_commit("try-repo", str(hook_repo), "reconciler-validate", "--verbose")
    return result.returncode, result.stdout + result.stderr


def test_try_repo_staging_only_a_dataset_validates_the_repository(repo: UserRepo, hook_repo: Path) -> None:
    with open(repo.path / "datasets" / "number-generator.jsonl", "a") as dataset:
        dataset.write('{"text_input": "41", "output": "42"}\n')
    repo.git("add", "datasets/number-generator.jsonl")
    code, output = try_repo(repo, hook_repo)
    assert code == 0, output
    assert "no manifests found" not in output
    assert "Valid" in output


def test_try_repo_staging_only_the_settings_passes(repo: UserRepo, hook_repo: Path) -> None:
    repo.edit("reconciler.yaml", "concurrency: 4", "concurrency: 8")
    repo.git("add", "reconciler.yaml")
    code, output = try_repo(repo, hook_repo)
    assert code == 0, output
    assert "no manifests found" not in output


def test_try_repo_a_dataset_no_manifest_uses_is_a_warning(repo: UserRepo, hook_repo: Path) -> None:
    (repo.path / "datasets" / "retired.jsonl").write_text('{"text_input": "1", "output": "2"}\n')
    repo.git("add", "datasets/retired.jsonl")
    code, output = try_repo(repo, hook_repo)
    assert code == 0, output
    assert "Warning: datasets/retired.jsonl: a dataset no manifest uses" in output


def test_try_repo_a_broken_dataset_shows_its_own_error(repo: UserRepo, hook_repo: Path) -> None:
    with open(repo.path / "datasets" / "number-generator.jsonl", "a") as dataset:
        dataset.write('{"text_input": "41", "outp\n')
    repo.git("add", "datasets/number-generator.jsonl")
    code, output = try_repo(repo, hook_repo)
    assert code == 1, output
    assert "datasets/number-generator.jsonl:" in output and "malformed JSON" in output
