"""The installed backends, found through the `reconciler.backends` entry-point group.

A backend registers its class under its name (pyproject.toml:
`[project.entry-points."reconciler.backends"] name = "package.module:Class"`),
the built-in ones too, so a team can ship a backend for its own service as a
package of its own. Only the backend a run chooses is imported.
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from reconciler.model.errors import UserError

GROUP = "reconciler.backends"
# The backend of a reconciler.yaml that names none (it was the only one at first).
DEFAULT_BACKEND = "gemini"


class UnknownBackend(UserError):
    """`backend:` names no installed backend."""


@cache
def installed() -> dict[str, EntryPoint]:
    """The installed backends by name (the first of a name wins, as Python's path does)."""
    found: dict[str, EntryPoint] = {}
    for point in entry_points(group=GROUP):
        found.setdefault(point.name, point)
    return dict(sorted(found.items()))


def load_backend(name: str) -> Any:
    """The class registered as `name` (typed by its users: reconciler.apply.backend.BackendClass)."""
    point = installed().get(name)
    if point is None:
        raise UnknownBackend(unknown_message(name))
    return point.load()


def unknown_message(name: str) -> str:
    names = list(installed())
    listed = ", ".join(names) or "none (reinstall reconciler)"
    nearest = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {nearest[0]}?" if nearest else ""
    return f"no backend named {name!r} is installed (installed: {listed}){hint}"
