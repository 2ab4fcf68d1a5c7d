"""Ownership without labels or a state file: the description trailer.

The Gemini API has no labels and never returns training data, so a model the
reconciler manages carries its own marker: its description ends with one line

    [managed-by: reconciler fp=v1:<src8>.<hp8>.<data12> n=<examples>[ orphan][ protect]]

- `src8`, `hp8`: short SHA-256 of the source model and of the hyperparameters as
  sent; `data12`: the start of the dataset's canonical digest. A changed part
  names the immutable input that changed; `n` turns a data change into "examples
  added / removed".
- `orphan` / `protect` record `deletionPolicy: Orphan` and `preventDestroy`, so
  they still hold once the manifest is gone (a delete is planned exactly when
  there is no manifest to read them from).

The user's description is everything before the trailer, separated from it by
one blank line; writing and reading back round-trips it byte for byte. This is
Gemini-specific: a backend with labels would keep the same `Ownership` in them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel
from reconciler.model.manifest import DeletionPolicy

FINGERPRINT_VERSION = "v1"
_SEPARATOR = "\n\n"
_TRAILER_RE = re.compile(
    r"\[managed-by: reconciler fp=(?P<version>v\d+):"
    r"(?P<source>[0-9a-f]{8})\.(?P<hyperparameters>[0-9a-f]{8})\.(?P<data>[0-9a-f]{12})"
    r" n=(?P<examples>\d+)(?P<flags>(?: [a-z]+)*)\]\Z"
)


@dataclass(frozen=True)
class Ownership:
    """What a trailer says: the fingerprint parts, the example count and the flags."""

    source: str
    hyperparameters: str
    data: str
    examples: int
    orphan: bool = False
    protect: bool = False
    version: str = FINGERPRINT_VERSION

    @property
    def fingerprint(self) -> str:
        return f"{self.version}:{self.source}.{self.hyperparameters}.{self.data}"

    @property
    def inputs(self) -> tuple[str, int]:
        """What the immutable inputs are: equal inputs, same model."""
        return (self.fingerprint, self.examples)

    def trailer(self) -> str:
        flags = "".join(f" {name}" for name in ("orphan", "protect") if getattr(self, name))
        return f"[managed-by: reconciler fp={self.fingerprint} n={self.examples}{flags}]"


def _short_hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _data_hash(digest: str) -> str:
    """The first 12 hex digits of a "sha256:<hex>" digest (hashed again if not hex)."""
    hex_part = digest.split(":", 1)[-1].lower()
    if re.fullmatch(r"[0-9a-f]{12,}", hex_part):
        return hex_part[:12]
    return _short_hash(digest, 12)


def hyperparameters_hash(model: DesiredModel) -> str:
    sent = model.manifest.spec.hyperparameters.as_sent()
    return _short_hash(json.dumps(sent, sort_keys=True, separators=(",", ":")), 8)


def ownership_for(model: DesiredModel) -> Ownership:
    """The ownership a model created from this manifest carries."""
    lifecycle = model.manifest.spec.lifecycle
    return Ownership(
        source=_short_hash(model.manifest.spec.source, 8),
        hyperparameters=hyperparameters_hash(model),
        data=_data_hash(model.dataset.digest),
        examples=model.dataset.examples,
        orphan=lifecycle.deletion_policy is DeletionPolicy.ORPHAN,
        protect=lifecycle.prevent_destroy,
    )


def trailer_for(model: DesiredModel) -> str:
    return ownership_for(model).trailer()


def _join(user_part: str, trailer: str) -> str:
    return f"{user_part}{_SEPARATOR}{trailer}" if user_part else trailer


def description_with_trailer(model: DesiredModel) -> str:
    """The description apply sends on create and on every patch of the description."""
    return _join(model.manifest.spec.description, trailer_for(model))


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
    """The description without the trailer: what `forget` writes back."""
    return _split(description)[0]


def user_description(description: str) -> str:
    """The part of a live description the user wrote (compared with the manifest's)."""
    return strip_trailer(description)


def is_managed(model: LiveModel) -> bool:
    return parse_ownership(model.description) is not None


def adopt(model: DesiredModel, live: LiveModel) -> str:
    """The description `import` patches onto a live model to take it over.

    It keeps the live user description and adds the trailer built from the
    manifest, so the fingerprint of an adopted model is, by definition, its
    manifest's (training data cannot be read back to check it), and the first
    plan after the import shows any difference in mutable fields as an update.
    """
    return _join(user_description(live.description), trailer_for(model))
