"""An optional cache of dataset checks, by the file's content hash.

With `datasetCache: true` in reconciler.yaml, the summary of every dataset
that checked clean (its example count, sizes and fingerprint) is kept in
`.reconciler/dataset-cache.json`, keyed by the SHA-256 of the file's bytes,
the keys it is read with and the reconciler version. A later load still reads
and hashes every file (that hash is the key, and the saved-plan digest needs it)
but does not parse or check one it has seen: an unchanged repository plans
at the speed of `sha256sum`.

It is safe because it is content-addressed: a changed byte is another key, so
an entry can never describe other data. A dataset with problems (even
warnings) is never cached, so they are reported on every run. The file is
local state: `.reconciler/` ignores itself in git, and a missing, unreadable
or foreign cache is simply empty. It keeps an entry (about 250 bytes) for every
dataset content it has seen; deleting the file resets it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.loader.readers import Keys
from reconciler.model.desired import DatasetSummary

CACHE_DIR = ".reconciler"  # the CLI's state folder (reconciler/cli/state.py)
CACHE_FILE = "dataset-cache.json"
# Bumped with the checks: a result is reused only by the version that made it.
FORMAT = f"reconciler/dataset-cache/v1/{__version__}"
_GITIGNORE = "# Created by reconciler: local state, never committed.\n*\n"


class DatasetCache:
    def __init__(self, root: Path) -> None:
        self.folder = root / CACHE_DIR
        self.path = self.folder / CACHE_FILE
        self._known = self._read()
        self._added: dict[str, dict[str, Any]] = {}

    @staticmethod
    def key(file_hash: str, keys: Keys, variant: str = "") -> str:
        # `variant`: what else the checks depended on (the backend's limits):
        # a file clean under one backend's limits may break another's.
        return json.dumps([file_hash, list(keys.inputs), keys.output, *([variant] if variant else [])])

    def get(self, file_hash: str, keys: Keys, variant: str = "") -> DatasetSummary | None:
        key = self.key(file_hash, keys, variant)
        entry = self._known.get(key)
        if entry is None:
            return None
        try:
            return DatasetSummary.model_validate(entry)
        except ValueError:  # a hand-edited entry: check the file instead
            return None

    def put(self, file_hash: str, keys: Keys, summary: DatasetSummary, variant: str = "") -> None:
        self._added[self.key(file_hash, keys, variant)] = summary.model_dump(mode="json")

    def save(self) -> None:
        """Add this load's new entries, atomically; a failure only costs the cache."""
        if not self._added:
            return
        document = {"format": FORMAT, "datasets": {**self._known, **self._added}}
        with contextlib.suppress(OSError):
            self.folder.mkdir(exist_ok=True)
            gitignore = self.folder / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text(_GITIGNORE, encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".dataset-cache.")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(document, stream, separators=(",", ":"))
            os.replace(temporary, self.path)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            return {}
        datasets = document.get("datasets")
        return datasets if isinstance(datasets, dict) else {}
