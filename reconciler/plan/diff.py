"""Field comparison: one notion of "the same value" for every field the plan compares."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from reconciler.plan.types import FieldDiff

# APIs store temperature, topP and learning rates as 32-bit floats: 0.7 may
# come back as 0.699999988. Differences below this are representation, not intent.
FLOAT_TOLERANCE = 1e-6


def same(a: Any, b: Any) -> bool:
    """Equal, with numbers compared by value (5 == 5.0) within the float tolerance."""
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    return bool(a == b)


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    """The fields whose values differ, sorted by path; a key only one side has is
    unset (None) on the other."""
    return tuple(
        FieldDiff(path=path, before=before.get(path), after=after.get(path))
        for path in sorted(before.keys() | after.keys())
        if not same(before.get(path), after.get(path))
    )
