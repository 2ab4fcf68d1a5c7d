"""Manifests come from inside the repository, and every file there is loaded or reported."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .helpers import assert_clear_error, manifest, run, write_dataset, write_repo, write_settings


def outside_manifest(tmp_path: Path) -> Path:
    """A valid manifest outside the repository (its data inside, so only the path is wrong)."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = folder / "stranger.yaml"
    path.write_text(yaml.safe_dump(manifest("stranger")))
    return path


def test_a_symlinked_manifest_leading_outside_is_refused(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo")
    (repo / "manifests" / "stranger.yaml").symlink_to(outside_manifest(tmp_path))
    assert_clear_error(
        run(repo, "validate"),
        "manifests/stranger.yaml: leads outside the repository; manifests must live inside it",
    )


@pytest.mark.parametrize("setting", ["absolute", "../elsewhere", "manifests/../../elsewhere"])
def test_a_manifests_setting_leading_outside_is_refused_at_its_line(tmp_path: Path, setting: str) -> None:
    repo = write_repo(tmp_path / "repo")
    outside_manifest(tmp_path)
    value = str(tmp_path / "elsewhere") if setting == "absolute" else setting
    write_settings(repo, prune=True, manifests=value)
    result = run(repo, "plan")
    assert_clear_error(result, f"reconciler.yaml:1: manifests: {value} leads outside the repository")
    assert "stranger" not in result.out


def test_a_symlinked_manifests_folder_leading_outside_is_refused(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo")
    outside_manifest(tmp_path)
    (repo / "linked").symlink_to(tmp_path / "elsewhere")
    write_settings(repo, manifests="linked")
    assert_clear_error(run(repo, "validate"), "reconciler.yaml:1: manifests: linked leads outside the repository")


def test_an_absolute_manifests_setting_inside_the_repository_loads(tmp_path: Path) -> None:
    repo = write_repo(tmp_path)
    write_settings(repo, manifests=str(repo / "manifests"))
    result = run(repo, "validate")
    assert result.code == 0, result.text


def test_a_symlink_inside_the_repository_loads(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [])
    (repo / "shared").mkdir()
    (repo / "shared" / "beta.yaml").write_text(yaml.safe_dump(manifest("beta")))
    write_dataset(repo, "beta.jsonl")
    (repo / "manifests" / "beta.yaml").symlink_to(repo / "shared" / "beta.yaml")
    result = run(repo, "validate")
    assert result.code == 0, result.text
    assert "beta" in result.out


# --- nothing in the manifests folder is skipped without a word -------------------------

UPPER_CASE_SUFFIXES = ["x.YAML", "x.Yml", "x.yAmL"]


@pytest.mark.parametrize("name", UPPER_CASE_SUFFIXES)
def test_yaml_suffixes_are_case_insensitive(tmp_path: Path, name: str) -> None:
    repo = write_repo(tmp_path, [])
    (repo / "manifests" / name).write_text(yaml.safe_dump(manifest("beta")))
    write_dataset(repo, "beta.jsonl")
    result = run(repo, "validate")
    assert result.code == 0, result.text
    assert "beta" in result.out
    assert "Warning" not in result.err


# what is in the folder, and the warning it gets
SKIPPED = [
    ("README.md", "manifests/README.md: not loaded: not a manifest (.yaml or .yml)"),
    ("beta.yaml.bak", "manifests/beta.yaml.bak: not loaded: not a manifest (.yaml or .yml)"),
    (".hidden.yaml", "manifests/.hidden.yaml: not loaded: a hidden file"),
    (".git/config.yaml", "manifests/.git: not loaded: a hidden folder"),
    ("sub/notes.txt", "manifests/sub/notes.txt: not loaded: not a manifest (.yaml or .yml)"),
]


@pytest.mark.parametrize(("name", "warning"), SKIPPED, ids=[s[0] for s in SKIPPED])
def test_every_file_not_loaded_is_reported(tmp_path: Path, name: str, warning: str) -> None:
    repo = write_repo(tmp_path)
    path = repo / "manifests" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(manifest("beta")))
    result = run(repo, "validate")
    assert result.code == 0, result.text
    assert f"Warning: {warning}" in result.err


def test_a_symlinked_subfolder_is_reported_not_followed(tmp_path: Path) -> None:
    repo = write_repo(tmp_path)
    (repo / "more").mkdir()
    (repo / "manifests" / "more").symlink_to(repo / "more")
    result = run(repo, "validate")
    assert "Warning: manifests/more: not loaded: a symbolic link to a folder is not followed" in result.err
