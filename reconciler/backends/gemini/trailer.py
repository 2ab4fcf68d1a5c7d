"""Ownership on the Gemini API: the description trailer.

The Gemini API has no labels and never returns training data, so a model the
reconciler manages carries its own marker: its description ends with one line

    [managed-by: reconciler fp=v1:<src8>.<hp8>.<data12> n=<examples>[ orphan][ protect][ untested]
     at=<createTime> chk=<16 hex>]   (one line; `sig=` instead of `chk=` with a key)

(the parts are those of `reconciler.model.ownership.Ownership`). The user's
description is everything before the trailer, separated from it by one blank
line; writing and reading back round-trips it byte for byte.

The check value binds the marker to the model it is on: it covers the model's
own name, the user's description and every field of the marker. A marker
copied onto another model, or edited by hand, no longer verifies, and the
model is unmanaged. `chk=` is a plain SHA-256 (catches copies and edits);
with RECONCILER_OWNERSHIP_KEY set it is `sig=`, an HMAC under the first key
that any of the keys verifies (rotation), which nobody without a key can
forge. The keys, the digests and their comparison are reconciler.model.signing's;
this module chooses what they bind. docs/ownership.md has the threat model.

A model deleted and made again at the same id has the same name, so `at=`
binds the marker to the model's createTime too: a marker copied onto a
re-created model names another createTime and does not verify. The createTime
is known only once the create has answered, so the create sends the marker
without `at=` and the backend binds it at once (`GeminiBackend.create`).

Markers trusted only where that destroys nothing are read as `legacy`, with the
reason in the reading's note: one without a check value (written before check
values existed, no note), one without `at=` (an older reconciler's, or a create
that stopped before binding it), and with a key configured an unsigned one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import FINGERPRINT_VERSION, Ownership, ownership_for
from reconciler.model.signing import CHECK_LENGTH, KEY_VARIABLE, CheckValue, Framing, Signer

_SEPARATOR = "\n\n"
_PREFIX = "[managed-by: reconciler"
_FLAGS = ("orphan", "protect", "untested")  # written in this order, each at most once
# The check value covers the model's name (the subject), the user's part of
# the description and the marker up to the check value, joined by NUL bytes
# after the scheme's tag (docs/ownership.md; pinned by tests/plan/test_gemini_trailer.py).
_FRAMING = Framing(separator="\x00", tag="reconciler-marker/1")
# RFC 3339 UTC as the API writes createTime, in its one canonical spelling (no
# trailing zeros in the fraction), so equal times compare equal as text.
_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{0,8}[1-9])?Z"
_TIME_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,9}))?Z\Z", re.ASCII)
# ASCII only: \d would also take other scripts' digits (n=٢٠).
_TRAILER_RE = re.compile(
    rf"\[managed-by: reconciler fp=(?P<version>{FINGERPRINT_VERSION}):"
    r"(?P<source>[0-9a-f]{8})\.(?P<hyperparameters>[0-9a-f]{8})\.(?P<data>[0-9a-f]{12})"
    r" n=(?P<examples>0|[1-9][0-9]{0,8})(?P<flags>(?: [a-z]+)*)"
    rf"(?: at=(?P<created>{_TIME}))?"
    rf"(?: (?P<kind>chk|sig)=(?P<check>[0-9a-f]{{{CHECK_LENGTH}}}))?\]\Z",
    re.ASCII,
)


@dataclass(frozen=True)
class Reading:
    """What a description says about ownership: None when unmanaged, and why a
    marker that is there was not trusted (or, `legacy`, trusted only where that
    destroys nothing; no note for a marker from before check values)."""

    ownership: Ownership | None
    note: str | None = None


# Why a marker is trusted only where that destroys nothing (joined with ", and ").
UNSIGNED = f"unsigned (chk=, not sig=) although {KEY_VARIABLE} is set, so anyone could have written it"
UNBOUND = (
    "not bound to this model's createTime (an older reconciler wrote it, "
    "or the apply that created the model stopped before binding it)"
)


def canonical_time(value: object) -> str:
    """A createTime in the one spelling `at=` uses (the fraction without trailing
    zeros), or "" when it is not an RFC 3339 UTC time (nothing can bind to it)."""
    match = _TIME_RE.match(value) if isinstance(value, str) else None
    if match is None:
        return ""
    fraction = (match[2] or "").rstrip("0")
    return f"{match[1]}.{fraction}Z" if fraction else f"{match[1]}Z"


class Marker:
    """Writes and reads the trailer, signing with the configured keys (if any)."""

    def __init__(self, keys: Sequence[bytes] = ()) -> None:
        self._signer = Signer(_FRAMING, keys)

    def __repr__(self) -> str:  # never the keys themselves
        return f"Marker({self._signer!r})"

    # --- writing --------------------------------------------------------------

    def description(self, model: DesiredModel, name: str, *, untested: bool = False, created: str = "") -> str:
        """The description apply sends on create and on every patch of the description;
        bound to the model's `created` (its createTime) once that is known."""
        user_part = model.manifest.spec.description
        ownership = ownership_for(model, untested=untested)
        return _join(user_part, self._trailer(ownership, name, user_part, created))

    def adopted(self, model: DesiredModel, name: str, live_description: str, created: str = "") -> str:
        """The description `import` writes: the live user part, and the trailer built
        from the manifest (training data cannot be read back: it is taken on trust)."""
        user_part = strip_trailer(live_description)
        return _join(user_part, self._trailer(ownership_for(model), name, user_part, created))

    def _trailer(self, ownership: Ownership, name: str, user_part: str, created: str) -> str:
        body = _body(ownership, canonical_time(created))
        check = self._signer.check_value(name, (user_part, body))
        return f"{body} {'sig' if check.signed else 'chk'}={check.value}]"

    # --- reading --------------------------------------------------------------

    def read(self, description: str, name: str, created: str = "") -> Reading:
        """The ownership recorded in a live model's description, if it can be
        trusted; `created` is the live model's createTime."""
        user_part, last = _split(description)
        if last is None:
            return Reading(None)
        match = _TRAILER_RE.match(last)
        ownership = _parsed(match)
        if match is None or ownership is None:
            return Reading(None, "its ownership marker is malformed (edited by hand?)")
        if match["kind"] is None:
            return Reading(replace(ownership, legacy=True))
        check = CheckValue(match["check"], signed=match["kind"] == "sig")
        untrusted = self._verify(check, name, user_part, last[: match.start("kind") - 1])
        if untrusted is not None:
            return Reading(None, untrusted)
        if match["created"] is not None and match["created"] != canonical_time(created):
            now = canonical_time(created) or "an unknown time"
            return Reading(
                None,
                f"its ownership marker belongs to a model created at {match['created']}, not to "
                f"this one, created at {now}: it was copied onto a model made again at this id",
            )
        # Trusted only where that destroys nothing: a marker that binds to no
        # createTime could be a copy from an earlier model at this id, and
        # with keys configured an unsigned one is one anybody could have
        # written. The next apply rewrites either in place.
        weaknesses = []
        if self._signer.weak(check):
            weaknesses.append(UNSIGNED)
        if match["created"] is None and canonical_time(created):  # a model without one: nothing to bind to
            weaknesses.append(UNBOUND)
        if weaknesses:
            return Reading(replace(ownership, legacy=True), "its ownership marker is " + ", and ".join(weaknesses))
        return Reading(ownership)

    def _verify(self, check: CheckValue, name: str, user_part: str, body: str) -> str | None:
        """Why the check value does not verify for this model, or None when it does."""
        if check.signed and not self._signer.keyed:
            return (
                f"its ownership marker is signed, and no {KEY_VARIABLE} is set to verify it "
                "(give this run the key the runs that apply use)"
            )
        if self._signer.verifies(check, name, (user_part, body)):
            return None
        if check.signed:
            return (
                f"its ownership marker is not signed by any {KEY_VARIABLE} given "
                "(signed with another key, copied from another model, or edited)"
            )
        return "its ownership marker does not verify (copied from another model, or edited)"


def _body(ownership: Ownership, created: str = "") -> str:
    flags = "".join(f" {flag}" for flag in _FLAGS if getattr(ownership, flag))
    bound = f" at={created}" if created else ""
    return f"{_PREFIX} fp={ownership.fingerprint} n={ownership.examples}{flags}{bound}"


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
