"""Ownership on the Gemini API: the description trailer.

The Gemini API has no labels and never returns training data, so a model the
reconciler manages carries its own marker: its description ends with one line

    [managed-by: reconciler fp=v1:<src8>.<hp8>.<data12> n=<examples>[ orphan][ protect]]

(the parts are those of `reconciler.model.ownership.Ownership`). The user's
description is everything before the trailer, separated from it by one blank
line; writing and reading back round-trips it byte for byte.
"""

from __future__ import annotations

import re

from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import Ownership, ownership_for

_SEPARATOR = "\n\n"
_TRAILER_RE = re.compile(
    r"\[managed-by: reconciler fp=(?P<version>v\d+):"
    r"(?P<source>[0-9a-f]{8})\.(?P<hyperparameters>[0-9a-f]{8})\.(?P<data>[0-9a-f]{12})"
    r" n=(?P<examples>\d+)(?P<flags>(?: [a-z]+)*)\]\Z"
)


def trailer(ownership: Ownership) -> str:
    flags = "".join(f" {name}" for name in ("orphan", "protect") if getattr(ownership, name))
    return f"[managed-by: reconciler fp={ownership.fingerprint} n={ownership.examples}{flags}]"


def _join(user_part: str, marker: str) -> str:
    return f"{user_part}{_SEPARATOR}{marker}" if user_part else marker


def description_with_trailer(model: DesiredModel) -> str:
    """The description apply sends on create and on every patch of the description."""
    return _join(model.manifest.spec.description, trailer(ownership_for(model)))


def adopted_description(model: DesiredModel, live_description: str) -> str:
    """The description `import` writes: the live user part, and the trailer built
    from the manifest (training data cannot be read back, so it is taken on trust)."""
    return _join(strip_trailer(live_description), trailer(ownership_for(model)))


def _split(description: str) -> tuple[str, re.Match[str] | None]:
    """(user part, trailer match); the trailer is the last line, after a blank one."""
    head, _, last = description.rpartition("\n")
    match = _TRAILER_RE.match(last)
    if match is None:
        return description, None
    if not head:
        return "", match
    if head.endswith("\n"):
        return head[:-1], match
    return description, None  # a trailer-looking line the reconciler did not write


def parse_ownership(description: str) -> Ownership | None:
    """The ownership recorded in a live description; None for an unmanaged model."""
    _, match = _split(description)
    if match is None:
        return None
    flags = set(match["flags"].split())
    return Ownership(
        source=match["source"],
        hyperparameters=match["hyperparameters"],
        data=match["data"],
        examples=int(match["examples"]),
        orphan="orphan" in flags,
        protect="protect" in flags,
        version=match["version"],
    )


def strip_trailer(description: str) -> str:
    """The description without the trailer: the part the user wrote, and what
    `forget` writes back."""
    return _split(description)[0]
