"""The `.reconciler/` folder: local state (the embedded emulator's database, CI scratch files).

It ignores itself, as `.pytest_cache` does, so `git add -A` in a user's
repository never commits the emulator's database, whatever their .gitignore says.
"""

from __future__ import annotations

from pathlib import Path

STATE_DIR = ".reconciler"
GITIGNORE_TEXT = "# Created by reconciler: local state, never committed.\n*\n"


def make_state_folder(folder: Path) -> Path:
    """Create `folder` (and its parents) and, for a `.reconciler` folder, its .gitignore."""
    folder.mkdir(parents=True, exist_ok=True)
    if folder.name == STATE_DIR:
        gitignore = folder / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text(GITIGNORE_TEXT, encoding="utf-8")
    return folder
