"""What a commit will hold: the git index of a work tree, exported to a temporary folder.

`reconciler validate --staged` (the pre-commit hook) checks this copy, not the
work tree. There an unstaged edit or an untracked file would let a bad commit
pass (a duplicate id fixed only in the work tree, a `sourceModel` declared
only in an untracked file) or fail a good one (a broken untracked
reconciler.yaml). Git sets GIT_INDEX_FILE for its hooks, and it is left in
place: `git commit -a` and `git commit FILE` are checked against the index
they commit.

Only the files the loader reads are exported (manifests and reconciler.yaml,
datasets), so the copy stays small in a large repository.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from reconciler.model.errors import UserError

# Manifests and reconciler.yaml; datasets (the loader's dataset suffixes).
EXPORTED_SUFFIXES = (".yaml", ".yml", ".jsonl", ".json", ".csv")
GIT_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class StagedCopy:
    """The index of the work tree at `top`, exported under `root`."""

    top: Path  # the work tree's top folder, as git names it
    root: Path  # where the exported files lie, at the same relative paths
    indexed: frozenset[str]  # every path the index holds (posix, relative to top)
    exported: frozenset[str]  # those exported to `root`

    def path_of(self, path: Path) -> Path | None:
        """Where `path` of the work tree lies in the copy; None outside the work tree."""
        relative = self._relative(path)
        return None if relative is None else self.root / relative

    def why_not_exported(self, path: Path) -> str | None:
        """Why a file given on the command line is not in the copy, or None when it is."""
        relative = self._relative(path)
        if relative is not None and relative.as_posix() in self.exported:
            return None
        if relative is not None and relative.as_posix() in self.indexed:
            return "not read by the repository: not a manifest, reconciler.yaml or a dataset"
        return "not staged: git's index (what the commit holds) has no such file"

    def _relative(self, path: Path) -> Path | None:
        # Not resolved: a file is looked up by the path git stores, even through a link.
        absolute = Path(os.path.abspath(path))
        for top in (self.top, self.top.resolve()):
            if absolute.is_relative_to(top):
                return absolute.relative_to(top)
        return None


@contextmanager
def staged_copy(folder: Path) -> Iterator[StagedCopy]:
    """The index of the git work tree holding `folder`, exported to a temporary
    folder that is removed afterwards."""
    top = Path(_git(folder, "rev-parse", "--show-toplevel").decode().rstrip("\n"))
    indexed = frozenset(_names(_git(top, "ls-files", "-z", "--cached")))
    exported = frozenset(name for name in indexed if name.lower().endswith(EXPORTED_SUFFIXES))
    with tempfile.TemporaryDirectory(prefix="reconciler-staged-") as temporary:
        root = Path(temporary)
        if exported:
            # --stdin -z: any file name, however odd, one NUL-separated list.
            _git(
                top,
                "checkout-index",
                "-z",
                "--stdin",
                f"--prefix={root}{os.sep}",
                stdin="\0".join(sorted(exported)).encode("utf-8", "surrogateescape"),
            )
        yield StagedCopy(top, root, indexed, exported)


def _names(output: bytes) -> list[str]:
    return [name for name in output.decode("utf-8", "surrogateescape").split("\0") if name]


def _git(folder: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise UserError("--staged reads git's index, but git is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise UserError(f"--staged: `git {args[0]}` took more than {GIT_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.decode("utf-8", "replace").split())[:300]
        raise UserError(f"--staged: `git {args[0]}` in {folder} failed: {said or f'exit {done.returncode}'}")
    return done.stdout
