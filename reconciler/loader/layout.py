"""Where things are: the repository root, reconciler.yaml and the manifest files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from reconciler.loader.files import inside

__all__ = ["Layout", "ManifestFiles", "display_path", "inside", "locate", "manifest_files"]

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
    if path.is_dir() and (_present(path / SETTINGS_FILE) or (path / DEFAULT_MANIFESTS).is_dir()):
        settings = path / SETTINGS_FILE
        return Layout(path, settings if _present(settings) else None, path, True)
    start = path if path.is_dir() else path.parent
    found = _settings_above(start, (cwd or Path.cwd()).resolve())
    if found is not None:
        return Layout(found.parent, found, path, False)
    root = start.parent if path.is_dir() else start
    return Layout(root, None, path, False)


def _present(path: Path) -> bool:
    """Whether anything is there, even a FIFO or a broken link: reading it says what is wrong
    with it, where skipping it would silently drop the settings."""
    return os.path.lexists(path)


def _settings_above(start: Path, cwd: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / SETTINGS_FILE
        if _present(candidate):
            return candidate
        if (folder / ".git").exists() or folder == cwd:
            return None
    return None


@dataclass(frozen=True)
class ManifestFiles:
    """What a manifests folder holds: the files to load, and every other entry with why not."""

    found: tuple[Path, ...]
    skipped: tuple[tuple[Path, str], ...]


def is_manifest_name(name: str) -> bool:
    # Case-insensitive: `x.YAML` is a manifest on every file system.
    return name.lower().endswith(MANIFEST_SUFFIXES)


def manifest_files(target: Path) -> ManifestFiles:
    """Every YAML file under `target` (or `target` itself), in a stable order.

    Nothing is skipped silently: a file that is not loaded would otherwise
    look deleted, and its model would be pruned. Hidden files and folders
    (where editors and tools keep their own YAML), other extensions and
    symlinked folders (not followed) are listed in `skipped`.
    """
    if target.is_file():
        return ManifestFiles((target,), ())
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []

    def unreadable(exc: OSError) -> None:
        skipped.append((Path(exc.filename or target), f"not loaded: cannot be read: {exc.strerror or exc}"))

    for folder, subfolders, files in os.walk(target, onerror=unreadable):
        base = Path(folder)
        for name in sorted(subfolders):
            if name.startswith("."):
                skipped.append((base / name, "not loaded: a hidden folder"))
            elif (base / name).is_symlink():  # os.walk lists it but does not enter it
                skipped.append((base / name, "not loaded: a symbolic link to a folder is not followed"))
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                skipped.append((base / name, "not loaded: a hidden file"))
            elif not is_manifest_name(name):
                skipped.append((base / name, "not loaded: not a manifest (.yaml or .yml)"))
            else:
                found.append(base / name)
    return ManifestFiles(tuple(found), tuple(skipped))


def display_path(path: Path, cwd: Path) -> str:
    """`path` as a person would type it: relative to `cwd` (resolved) when inside it."""
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)
