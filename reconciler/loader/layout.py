"""Where things are: the repository root, reconciler.yaml and the manifest files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SETTINGS_FILE = "reconciler.yaml"
DEFAULT_MANIFESTS = "manifests"
MANIFEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Layout:
    """The repository root, its settings file if any, and what the user pointed at."""

    root: Path
    settings_file: Path | None
    target: Path  # a manifests folder or a single manifest file
    target_is_root: bool  # the manifests folder comes from the settings, not the user


def locate(path: Path, cwd: Path | None = None) -> Layout:
    """Work out the layout from a repository root, a manifests folder or a manifest file.

    A folder holding reconciler.yaml or a `manifests/` folder is a repository
    root. Anything else is manifests: the root is the nearest folder above it
    that holds reconciler.yaml (looking no higher than the git root or the
    current directory), else the manifests folder's parent.
    """
    path = path.resolve()
    if path.is_dir() and ((path / SETTINGS_FILE).is_file() or (path / DEFAULT_MANIFESTS).is_dir()):
        settings = path / SETTINGS_FILE
        return Layout(path, settings if settings.is_file() else None, path, True)
    start = path if path.is_dir() else path.parent
    found = _settings_above(start, (cwd or Path.cwd()).resolve())
    if found is not None:
        return Layout(found.parent, found, path, False)
    root = start.parent if path.is_dir() else start
    return Layout(root, None, path, False)


def _settings_above(start: Path, cwd: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / SETTINGS_FILE
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists() or folder == cwd:
            return None
    return None


def manifest_files(target: Path) -> Iterator[Path]:
    """Every YAML file under `target` (or `target` itself), in a stable order.

    Hidden files and folders are skipped: editors and tools keep their own
    YAML there.
    """
    if target.is_file():
        yield target
        return
    for folder, subfolders, files in os.walk(target):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(MANIFEST_SUFFIXES) and not name.startswith("."):
                yield Path(folder) / name


def display_path(path: Path, cwd: Path) -> str:
    """`path` as a person would type it: relative to `cwd` (resolved) when inside it."""
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True
