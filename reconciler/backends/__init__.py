"""The backends the reconciler drives; reconciler.yaml's `backend:` picks one.

Only the CLI imports this package (an import-linter contract keeps plan/,
render/ and apply/ from it). A new backend is a sibling package whose class
implements `reconciler.apply.backend.Backend`, plus one branch in `backend_class`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.loader.checks import BackendChecks
from reconciler.model.settings import Settings

if TYPE_CHECKING:
    from reconciler.backends.gemini import GeminiBackend
    from reconciler.backends.vertex import VertexBackend


def backend_class(settings: Settings) -> type[GeminiBackend] | type[VertexBackend]:
    """The class of the backend the settings choose: its `rules` and
    `manifest_problems` need no connection, `connect` makes one."""
    # Only the chosen backend is imported: the other is start-up time its commands do not need.
    if settings.backend == "vertex":
        from reconciler.backends.vertex import VertexBackend

        return VertexBackend
    from reconciler.backends.gemini import GeminiBackend

    return GeminiBackend


def backend_checks(settings: Settings) -> BackendChecks:
    """What the chosen backend checks on the manifests and datasets before anything is sent."""
    if settings.backend == "vertex":
        from reconciler.backends.vertex.rules import checks

        return checks(settings.vertex)
    from reconciler.backends.gemini.rules import CHECKS

    return CHECKS
