"""Files that never end or never answer: /dev/zero, a FIFO, a huge file.

Manifests and reconciler.yaml are read like datasets: only regular files
inside the repository, never past their size limit, never blocking.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.loader.files import MAX_YAML_BYTES

from .helpers import assert_clear_error, run, write_repo


def symlink_to_dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def fifo(path: Path) -> None:
    os.mkfifo(path)


def symlink_to_fifo_inside(path: Path) -> None:
    target = path.with_name("pipe")
    os.mkfifo(target)
    path.symlink_to(target)


def sparse_file_over_the_limit(path: Path) -> None:
    with path.open("wb") as stream:
        stream.truncate(MAX_YAML_BYTES + 1)


# name, how the hostile file is made, the expected message after "<file>: "
MAKERS: list[tuple[str, Callable[[Path], None], str]] = [
    ("symlink to /dev/zero", symlink_to_dev_zero, "leads outside the repository; manifests must live inside it"),
    ("FIFO", fifo, "is not a regular file"),
    ("symlink to a FIFO in the repository", symlink_to_fifo_inside, "is not a regular file"),
    ("larger than the limit", sparse_file_over_the_limit, "is larger than 16 MB; not read"),
]


@pytest.mark.parametrize(("make", "message"), [m[1:] for m in MAKERS], ids=[m[0] for m in MAKERS])
def test_a_hostile_manifest_is_refused_without_reading_it(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    repo = write_repo(tmp_path)
    make(repo / "manifests" / "hostile.yaml")
    assert_clear_error(run(repo, "plan"), f"manifests/hostile.yaml: {message}")


@pytest.mark.parametrize(("make", "message"), [m[1:] for m in MAKERS[1:]], ids=[m[0] for m in MAKERS[1:]])
def test_a_hostile_settings_file_is_refused_without_reading_it(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    repo = write_repo(tmp_path)
    (repo / "reconciler.yaml").unlink()
    make(repo / "reconciler.yaml")
    assert_clear_error(run(repo, "validate"), f"reconciler.yaml: {message}")


@pytest.mark.parametrize(("make", "message"), [m[1:3] for m in MAKERS[:3]], ids=[m[0] for m in MAKERS[:3]])
def test_a_hostile_dataset_is_refused_without_reading_it(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    repo = write_repo(tmp_path)
    dataset = repo / "datasets" / "alpha.jsonl"
    dataset.unlink()
    make(dataset)
    expected = message.replace("manifests must", "datasets must").replace(
        "leads outside", "../datasets/alpha.jsonl leads outside"
    )
    assert_clear_error(run(repo, "validate"), f"manifests/alpha.yaml:8: spec.trainingData.file: {expected}")
