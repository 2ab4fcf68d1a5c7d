"""Reading the repository's files safely: inside the repository, regular, bounded.

Manifests, reconciler.yaml and datasets all pass through here, so a symlink
to /dev/zero, a FIFO or a path that leads outside the repository is refused
with a message before anything is read, and no file is read past its limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

# A manifest is a few kilobytes; inline examples past this size belong in a
# dataset file (and would be refused as a request anyway: datasets.MAX_REQUEST_BYTES).
MAX_YAML_BYTES = 16 * 1024 * 1024


class FileProblem(Exception):
    """Why a file is not read: the message completes "<file>: ..."."""


def inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def resolve(path: Path) -> Path:
    """`path` with every symlink followed; FileProblem when that is not possible."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a symlink loop; ValueError: a NUL byte
        raise FileProblem(f"cannot be resolved: {exc}") from None


class Resolver:
    """`resolve` for many files in few folders: each folder is resolved once.

    Path.resolve checks every component of every path (an lstat each): for
    thousands of small files that was a large share of loading. A file's
    real path is its folder's real path and its name, unless the file itself
    is a symlink, which one lstat tells. One Resolver serves one load, so a
    folder changed between runs is resolved anew.
    """

    def __init__(self) -> None:
        self._folders: dict[Path, Path] = {}

    def resolve(self, path: Path) -> Path:
        if not path.is_absolute() or path.name in ("", ".", ".."):
            return resolve(path)
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = resolve(path.parent)
        joined = folder / path.name
        try:
            if stat.S_ISLNK(os.lstat(joined).st_mode):
                return resolve(joined)
        except ValueError as exc:  # a NUL byte
            raise FileProblem(f"cannot be resolved: {exc}") from None
        except OSError:  # missing or unreadable: reported when it is opened, as with Path.resolve
            pass
        return joined


def confined(path: Path, root: Path, what: str, given: str = "", resolver: Resolver | None = None) -> Path:
    """`path` resolved, if it is a regular file inside `root`; else FileProblem.

    `what` names the kind of file in the message ("datasets", "manifests");
    `given` is the path as the user wrote it, when the message is not already
    located at that file.
    """
    resolved = resolver.resolve(path) if resolver is not None else resolve(path)
    if not inside(resolved, root):
        raise FileProblem(f"{given} leads outside the repository; {what} must live inside it".lstrip())
    try:
        mode = resolved.stat().st_mode
    except FileNotFoundError:
        raise FileProblem("no such file") from None
    except (OSError, ValueError) as exc:  # e.g. a name too long
        raise FileProblem(f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(mode):
        raise FileProblem("is not a regular file")
    return resolved


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; FileProblem otherwise.

    Opened without blocking and checked on the open descriptor: a FIFO or a
    device is refused before a single read, even if it replaced the file
    after it was checked by name.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise FileProblem(f"cannot be read: {getattr(exc, 'strerror', None) or exc}") from None
    with os.fdopen(descriptor, "rb") as stream:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise FileProblem("is not a regular file")
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise FileProblem(f"is larger than {limit // 2**20} MB; not read")
    return data
