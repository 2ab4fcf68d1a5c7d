"""Which repository a command works on, and the hints that point back at it.

A folder is a repository when it holds `reconciler.yaml` or a `manifests/`
folder. Anything else is refused rather than scanned for YAML: a folder with a
`docker-compose.yml` is not a set of manifests, and the embedded emulator's
state must never land in a parent folder.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from reconciler.loader.layout import DEFAULT_MANIFESTS, SETTINGS_FILE
from reconciler.model.errors import UserError

NOT_A_REPOSITORY = "not a reconciler repository (no reconciler.yaml or manifests/ here; use -C DIR)"


def is_repository(folder: Path) -> bool:
    return (folder / SETTINGS_FILE).is_file() or (folder / DEFAULT_MANIFESTS).is_dir()


def check_repository(path: str | Path) -> None:
    """Refuse a path that is no repository, no manifests folder inside one and no
    manifest file. A manifests folder is one inside a repository (reconciler.yaml
    above it, or its parent a repository)."""
    target = Path(path).resolve()
    if not target.is_dir() or is_repository(target):
        return
    if any((folder / SETTINGS_FILE).is_file() for folder in target.parents) or is_repository(target.parent):
        return
    where = "" if Path(path) == Path(".") else f"{path}: "
    raise UserError(where + NOT_A_REPOSITORY)


def command_hint(emulator: bool, command: str, path: str, *arguments: str) -> str:
    """`reconciler [--emulator] COMMAND [-C DIR] ARGS`: a command to copy that
    reaches the same API and the same repository as the one that printed it."""
    words = ["reconciler"]
    if emulator:
        words.append("--emulator")
    words.append(command)
    if Path(path) != Path("."):
        words += ["-C", path]
    words += arguments
    return " ".join(shlex.quote(word) for word in words)
