"""The release workflow and the script that takes a version's notes from CHANGELOG.md.

The workflow itself runs in CI on every push as a dry run (everything but the
publishing); here its shape is pinned down: what only a tag may do, that the
publishing stores no token, and that the notes are the version's own section.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from reconciler import __version__
from tests.github.test_workflow_scripts import run_step
from tests.github.workflows import ROOT, load_workflow, step_named, steps_using

SCRIPT = ROOT / ".github" / "scripts" / "changelog_section.py"
sys.path.insert(0, str(SCRIPT.parent))
from changelog_section import section  # noqa: E402

IS_TAG = "startsWith(github.ref, 'refs/tags/v')"

CHANGELOG = """# Changelog

Intro text.

## [Unreleased]

### Added

- Something new.

## [0.2.0] - 2027-01-02

### Fixed

- A bug.

## [0.1.0] - 2026-11-30

The first release.

[Unreleased]: https://example.invalid/compare/v0.2.0...HEAD
[0.2.0]: https://example.invalid/releases/tag/v0.2.0
"""


def test_a_section_is_its_body_without_its_heading_or_the_next_section() -> None:
    assert section(CHANGELOG, "v0.2.0") == "### Fixed\n\n- A bug.\n"
    assert section(CHANGELOG, "0.2.0") == section(CHANGELOG, "v0.2.0")


def test_the_last_section_stops_before_the_link_definitions() -> None:
    assert section(CHANGELOG, "v0.1.0") == "The first release.\n"


@pytest.mark.parametrize(
    ("text", "version", "message"),
    [
        (CHANGELOG, "v0.3.0", r"no section '## \[0.3.0\]'"),
        (CHANGELOG.replace("The first release.", ""), "v0.1.0", r"section '## \[0.1.0\]' is empty"),
    ],
)
def test_a_missing_or_empty_section_is_an_error(text: str, version: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        section(text, version)


def test_the_script_prints_this_versions_notes_and_fails_clearly_without_them() -> None:
    run = [sys.executable, str(SCRIPT)]
    found = subprocess.run(
        [*run, f"v{__version__}", str(ROOT / "CHANGELOG.md")], capture_output=True, text=True, timeout=60
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() and "## [" not in found.stdout and "]: https://" not in found.stdout
    missing = subprocess.run([*run, "v99.0.0", str(ROOT / "CHANGELOG.md")], capture_output=True, text=True, timeout=60)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert "no section '## [99.0.0]'" in missing.stderr


# --- .github/workflows/release.yml ---------------------------------------------------


def test_a_tag_releases_and_every_push_and_pull_request_is_a_dry_run() -> None:
    workflow = load_workflow("release")
    assert workflow["on"]["push"] == {"branches": ["**"], "tags": ["v*"]}
    assert {"pull_request", "merge_group"} <= set(workflow["on"])
    jobs = workflow["jobs"]
    assert "if" not in jobs["build"]  # the dry run: every event
    for name in ("publish", "github-release"):
        assert jobs[name]["if"] == IS_TAG, name
    assert jobs["publish"]["needs"] == "build" and jobs["github-release"]["needs"] == "publish"


def test_the_build_is_checked_and_tried_before_anything_is_published() -> None:
    workflow = load_workflow("release")
    assert "python -m build" in step_named(workflow, "Build")["run"]
    assert "twine check --strict dist/*" in step_named(workflow, "Check the distributions")["run"]
    tried = step_named(workflow, "Try the built wheel")["run"]
    assert "-m venv" in tried and "pip install --quiet dist/*.whl" in tried
    assert "--emulator reconcile --yes" in tried and "--emulator plan --detailed-exitcode" in tried
    tag_check = step_named(workflow, "On a tag, check")
    assert tag_check["if"] == IS_TAG and '"$TAG" != "v$version"' in tag_check["run"]


def test_publishing_is_trusted_publishing_with_no_stored_token() -> None:
    workflow = load_workflow("release")
    job = workflow["jobs"]["publish"]
    assert job["permissions"] == {"id-token": "write"}
    assert job["environment"] == "release"
    (publish,) = steps_using(workflow, "pypa/gh-action-pypi-publish")
    assert set(publish.get("with", {})) == {"packages-dir"}  # no password, no token
    assert "secrets." not in (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")


def test_the_github_release_gets_the_changelog_section_and_moves_the_major_tag() -> None:
    workflow = load_workflow("release")
    assert workflow["jobs"]["github-release"]["permissions"] == {"contents": "write"}
    notes = step_named(workflow, "Extract the release notes")["run"]
    assert 'python .github/scripts/changelog_section.py "$TAG" CHANGELOG.md > dist-notes.md' in notes
    created = step_named(workflow, "Create the GitHub release")["run"]
    assert "--notes-file dist-notes.md" in created and "--verify-tag" in created
    moved = step_named(workflow, "Move the major tag")["run"]
    assert 'major="${TAG%%.*}"' in moved and "force=true" in moved
    assert "*-*)" in moved  # a pre-release leaves the major tag alone


def test_the_notes_of_this_version_exist_so_the_next_tag_can_release() -> None:
    # The dry run extracts them on every push; a missing section would only
    # show at the tag otherwise.
    assert section((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), __version__)


# --- the one placeholder: OWNER/reconciler --------------------------------------------

# Where `OWNER/reconciler` may stand: the docs a user reads (README explains it
# once) and the package metadata, which the release fills in.
PLACEHOLDER_FILES = {"README.md", "docs/github.md", "CHANGELOG.md", "pyproject.toml", ".pre-commit-hooks.yaml"}
FILLED_BY_THE_RELEASE = ("pyproject.toml", "README.md", "CHANGELOG.md")


def test_the_placeholder_is_only_where_documented_and_never_in_what_runs() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if tracked.returncode != 0:
        pytest.skip("needs the git checkout")
    holding = {
        name
        for name in tracked.stdout.splitlines()
        if (ROOT / name).is_file()
        and not name.startswith("tests/")
        and "OWNER/reconciler" in (ROOT / name).read_text(encoding="utf-8", errors="replace")
    }
    # No workflow, action or code depends on it; release.yml only replaces it.
    assert holding - {".github/workflows/release.yml"} <= PLACEHOLDER_FILES
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`OWNER/reconciler`, here and in [docs/github.md](docs/github.md), stands for" in readme


def test_the_release_names_this_repository_in_what_it_publishes() -> None:
    workflow = load_workflow("release")
    filled = step_named(workflow, "Name this repository")["run"]
    assert filled.startswith('sed -i "s#OWNER/reconciler#${GITHUB_REPOSITORY}#g" ')
    assert filled.split()[-3:] == list(FILLED_BY_THE_RELEASE)
    names = [step.get("name", "") for step in workflow["jobs"]["build"]["steps"]]
    assert names.index("Name this repository in the package's metadata") < names.index("Build the sdist and the wheel")
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert all("github.com/OWNER/reconciler" in url for url in urls.values())  # what the sed fills in


@pytest.mark.parametrize(("tag", "code"), [(f"v{__version__}", 0), ("v99.0.0", 1), (__version__, 1)])
def test_a_tag_that_is_not_the_codes_version_stops_the_release(tmp_path: Path, tag: str, code: int) -> None:
    (tmp_path / "reconciler").mkdir()
    shutil.copy(ROOT / "reconciler" / "__init__.py", tmp_path / "reconciler")
    env = {"TAG": tag, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    run = run_step("release", "On a tag, check", tmp_path, env)
    assert run.returncode == code, run.stdout
    if code:
        assert run.stdout.startswith(f"::error title=Tag and version differ::the tag is {tag} but ")
