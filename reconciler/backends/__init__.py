"""The backends the reconciler drives; reconciler.yaml's `backend:` picks one.

Each is one sibling package whose class (`reconciler.apply.backend.BackendClass`)
is registered in the `reconciler.backends` entry-point group: a new backend is
its folder plus that entry, here or in a package of its own
(docs/adding-a-backend.md). Only the CLI imports this module (an import-linter
contract keeps plan/, render/ and apply/ from it), and only the chosen backend
is imported.
"""

from __future__ import annotations

from typing import cast

from reconciler.apply.backend import BackendClass
from reconciler.loader.checks import BackendChecks
from reconciler.model.registry import installed, load_backend
from reconciler.model.settings import Settings
from reconciler.model.shards import Shards

__all__ = ["backend_checks", "backend_class", "backend_shards", "installed"]


def backend_class(settings: Settings) -> BackendClass:
    """The class of the backend the settings choose: its `rules` and `checks`
    need no connection, `connect` makes one. Raises UnknownBackend."""
    return cast(BackendClass, load_backend(settings.backend))


def backend_shards(settings: Settings) -> Shards:
    """The shards of the chosen backend's targets (reconciler.model.shards)."""
    return backend_class(settings).shards(settings)


def backend_checks(settings: Settings) -> BackendChecks:
    """What the chosen backend checks on the manifests and datasets before anything
    is sent, and the targets a manifest may choose."""
    kind = backend_class(settings)
    shards = kind.shards(settings)
    return BackendChecks.by_shard({shard.key: kind.checks(shard.settings) for shard in shards.all}, shards)
