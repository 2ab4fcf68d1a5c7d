"""Field diffs: deepdiff's result wrapped in the plan's own `FieldDiff`, so the
rest of the code (and the saved plan format) never depends on deepdiff's shapes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

from reconciler.plan.types import FieldDiff

# The API stores temperature and topP as 32-bit floats: 0.7 may come back as
# 0.699999988. Differences below this are representation, not intent.
FLOAT_TOLERANCE = 1e-6


def _plain(value: Any) -> Any:
    return None if value is notpresent else value


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """The differences between two maps of field path -> value, deepest paths
    joined with dots, sorted by path. Keys only one side has count as unset on
    the other."""
    if before == after:
        return ()  # the common case, and DeepDiff costs about a millisecond
    result = DeepDiff(
        dict(before),
        dict(after),
        view="tree",
        math_epsilon=FLOAT_TOLERANCE,
        ignore_numeric_type_changes=True,
    )
    diffs = [
        FieldDiff(
            path=".".join(str(part) for part in level.path(output_format="list")),
            before=_plain(level.t1),
            after=_plain(level.t2),
        )
        for levels in result.values()
        for level in levels
    ]
    return tuple(sorted(diffs, key=lambda diff: diff.path))


def changed_roots(diffs: tuple[FieldDiff, ...], roots: Mapping[str, Any]) -> list[str]:
    """Which of the top-level keys of `roots` the diffs fall under, in `roots` order."""
    return [root for root in roots if any(_under(diff.path, root) for diff in diffs)]


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + ".")
