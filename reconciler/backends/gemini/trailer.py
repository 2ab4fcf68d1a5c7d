"""Ownership on the Gemini API: the description trailer.

The Gemini API has no labels and never returns training data, so a model the
reconciler manages carries its own marker: its description ends with one line

    [managed-by: reconciler fp=v1:<src8>.<hp8>.<data12> n=<examples>[ orphan][ protect][ untested] chk=<16 hex>]

(the parts are those of `reconciler.model.ownership.Ownership`). The user's
description is everything before the trailer, separated from it by one blank
line; writing and reading back round-trips it byte for byte.

The check value binds the marker to the model it is on: it covers the model's
own name, the user's description and every field of the marker. A marker
copied onto another model, or edited by hand, no longer verifies, and the
model is unmanaged. `chk=` is a plain SHA-256 (catches copies and edits);
with RECONCILER_OWNERSHIP_KEY set it is `sig=`, an HMAC under the first key
that any of the keys verifies (rotation), which nobody without a key can
forge. docs/ownership.md has the threat model.

A marker without a check value (written before check values existed) is read
as `legacy`: the planner trusts it only where that destroys nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import FINGERPRINT_VERSION, Ownership, ownership_for
from reconciler.model.secrets import OWNERSHIP_KEY_ENV

KEY_VARIABLE = OWNERSHIP_KEY_ENV
_SEPARATOR = "\n\n"
_PREFIX = "[managed-by: reconciler"
_FLAGS = ("orphan", "protect", "untested")  # written in this order, each at most once
_CHECK_LENGTH = 16
# ASCII only: \d would also take other scripts' digits (n=٢٠).
_TRAILER_RE = re.compile(
    rf"\[managed-by: reconciler fp=(?P<version>{FINGERPRINT_VERSION}):"
    r"(?P<source>[0-9a-f]{8})\.(?P<hyperparameters>[0-9a-f]{8})\.(?P<data>[0-9a-f]{12})"
    r" n=(?P<examples>0|[1-9][0-9]{0,8})(?P<flags>(?: [a-z]+)*)"
    rf"(?: (?P<kind>chk|sig)=(?P<check>[0-9a-f]{{{_CHECK_LENGTH}}}))?\]\Z",
    re.ASCII,
)


@dataclass(frozen=True)
class Reading:
    """What a description says about ownership: None when unmanaged, and why a
    marker that is there was not trusted."""

    ownership: Ownership | None
    note: str | None = None


def keys_from(env: Mapping[str, str]) -> tuple[bytes, ...]:
    """The ownership keys: comma- or space-separated, the first one signs."""
    return tuple(key.encode() for key in re.split(r"[\s,]+", env.get(KEY_VARIABLE, "")) if key)


class Marker:
    """Writes and reads the trailer, signing with the configured keys (if any)."""

    def __init__(self, keys: Sequence[bytes] = ()) -> None:
        self._keys = tuple(keys)

    def __repr__(self) -> str:  # never the keys themselves
        return f"Marker(keys={len(self._keys)})"

    # --- writing --------------------------------------------------------------

    def description(self, model: DesiredModel, name: str, *, untested: bool = False) -> str:
        """The description apply sends on create and on every patch of the description."""
        user_part = model.manifest.spec.description
        return _join(user_part, self._trailer(ownership_for(model, untested=untested), name, user_part))

    def adopted(self, model: DesiredModel, name: str, live_description: str) -> str:
        """The description `import` writes: the live user part, and the trailer built
        from the manifest (training data cannot be read back: it is taken on trust)."""
        user_part = strip_trailer(live_description)
        return _join(user_part, self._trailer(ownership_for(model), name, user_part))

    def _trailer(self, ownership: Ownership, name: str, user_part: str) -> str:
        body = _body(ownership)
        if self._keys:
            return f"{body} sig={_signature(self._keys[0], name, user_part, body)}]"
        return f"{body} chk={_checksum(name, user_part, body)}]"

    # --- reading --------------------------------------------------------------

    def read(self, description: str, name: str) -> Reading:
        """The ownership recorded in a live model's description, if it can be trusted."""
        user_part, last = _split(description)
        if last is None:
            return Reading(None)
        match = _TRAILER_RE.match(last)
        ownership = _parsed(match)
        if match is None or ownership is None:
            return Reading(None, "its ownership marker is malformed (edited by hand?)")
        if match["kind"] is None:
            return Reading(replace(ownership, legacy=True))
        body = last[: match.start("kind") - 1]
        if match["kind"] == "sig":
            if not self._keys:
                return Reading(None, f"its ownership marker is signed, and no {KEY_VARIABLE} is set to verify it")
            if any(hmac.compare_digest(_signature(k, name, user_part, body), match["check"]) for k in self._keys):
                return Reading(ownership)
            return Reading(None, f"its ownership marker is not signed by any {KEY_VARIABLE} given")
        if not hmac.compare_digest(_checksum(name, user_part, body), match["check"]):
            return Reading(None, "its ownership marker does not verify (copied from another model, or edited)")
        # With keys configured, an unsigned marker is one anybody could have
        # written: trusted like a legacy one, and signed on the next apply.
        return Reading(replace(ownership, legacy=bool(self._keys)))


def _body(ownership: Ownership) -> str:
    flags = "".join(f" {flag}" for flag in _FLAGS if getattr(ownership, flag))
    return f"{_PREFIX} fp={ownership.fingerprint} n={ownership.examples}{flags}"


def _message(name: str, user_part: str, body: str) -> bytes:
    return "\x00".join(("reconciler-marker/1", name, user_part, body)).encode("utf-8")


def _checksum(name: str, user_part: str, body: str) -> str:
    return hashlib.sha256(_message(name, user_part, body)).hexdigest()[:_CHECK_LENGTH]


def _signature(key: bytes, name: str, user_part: str, body: str) -> str:
    return hmac.new(key, _message(name, user_part, body), hashlib.sha256).hexdigest()[:_CHECK_LENGTH]


def _parsed(match: re.Match[str] | None) -> Ownership | None:
    if match is None:
        return None
    flags = match["flags"].split()
    if flags != [flag for flag in _FLAGS if flag in flags]:  # unknown, repeated or out of order
        return None
    return Ownership(
        source=match["source"],
        hyperparameters=match["hyperparameters"],
        data=match["data"],
        examples=int(match["examples"]),
        orphan="orphan" in flags,
        protect="protect" in flags,
        untested="untested" in flags,
        version=match["version"],
    )


def _join(user_part: str, trailer: str) -> str:
    return f"{user_part}{_SEPARATOR}{trailer}" if user_part else trailer


def _split(description: str) -> tuple[str, str | None]:
    """(user part, trailer line); the trailer is the last line, after a blank one."""
    head, _, last = description.rpartition("\n")
    if not last.startswith(_PREFIX):
        return description, None
    if not head:
        return "", last
    if head.endswith("\n"):
        return head[:-1], last
    return description, None  # a marker-looking line glued to the text: not ours


def strip_trailer(description: str) -> str:
    """The description without the trailer: the part the user wrote, and what
    `forget` writes back."""
    return _split(description)[0]


UNKEYED = Marker()
