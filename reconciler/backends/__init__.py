"""The backends the reconciler drives; reconciler.yaml's `backend:` picks one.

Only the CLI imports this package (an import-linter contract keeps plan/,
render/ and apply/ from it). A new backend is a sibling package whose class
implements `reconciler.apply.backend.Backend`, plus one entry in `BACKENDS`.
"""

from __future__ import annotations

from reconciler.backends.gemini import GeminiBackend
from reconciler.backends.vertex import VertexBackend
from reconciler.model.settings import Settings

BACKENDS: dict[str, type[GeminiBackend] | type[VertexBackend]] = {"gemini": GeminiBackend, "vertex": VertexBackend}


def backend_class(settings: Settings) -> type[GeminiBackend] | type[VertexBackend]:
    """The class of the backend the settings choose: its `rules` and
    `manifest_problems` need no connection, `connect` makes one."""
    return BACKENDS[settings.backend]
