"""Frozen pydantic values that share their bookkeeping.

Pydantic gives every instance a set of the fields it was given
(`model_fields_set`), 216 to 728 bytes each. Nothing here reads it but
pydantic itself, and a frozen value never changes it: at 10,000 models a plan
held about ten such sets a model, a third of the memory of its desired state.
`Compact` values share one set among all instances given the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

# One set per distinct combination of given fields (a few dozen in a process).
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


class Compact(BaseModel):
    """A frozen model whose `model_fields_set` is shared with its equals.

    Safe because a frozen instance never adds to it, and pydantic's
    `model_copy` copies it before adding the updated fields. Frozen here, so a
    subclass is frozen unless it says otherwise (and then must not derive from
    this: pydantic adds to the set of a model whose fields are assigned).
    """

    model_config = ConfigDict(frozen=True)

    def model_post_init(self, context: Any, /) -> None:
        self._share_fields_set()

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        copied._share_fields_set()
        return copied

    def _share_fields_set(self) -> None:
        given = self.__pydantic_fields_set__
        object.__setattr__(self, "__pydantic_fields_set__", _FIELDS_SETS.setdefault(frozenset(given), given))
