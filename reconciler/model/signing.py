"""Signing ownership markers: the keys, the check value and its verification,
written once for every backend.

A backend chooses where its marker lives (Gemini: the description's last line;
Vertex AI: labels) and what the check value binds: the *subject*, the identity
of the resource the marker is on (a model's name, with its version where that
is what tells two models apart), and the marker's *fields*. The rest is here:

- **The keys**: RECONCILER_OWNERSHIP_KEY holds one or more, separated by commas
  or whitespace. The first signs and any of them verifies, which is how a key
  is rotated: put the new key first and keep the old one after it until every
  marker it signed has been re-signed, then drop it. There is no other key
  variable.
- **The check value**: the first 16 hex digits of HMAC-SHA256 under the first
  key (signed, `sig`: nobody without a key can make one), or without a key of
  a plain SHA-256 (`chk`: it catches copies and edits, not a forger, since the
  algorithm is public).
- **The message**: the subject and the fields laid out in the backend's
  `Framing`, so the same marker on another resource, or with one field
  edited, is another message and does not verify.
- **The comparison**: constant time, under every key.

A framing is fixed once markers written with it are live: changing it would
make every live marker stop verifying, and unmanage every model.
docs/ownership.md has the threat model.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

KEY_VARIABLE = "RECONCILER_OWNERSHIP_KEY"
CHECK_LENGTH = 16  # hex digits: 64 bits, enough that a guess never verifies


def key_strings(env: Mapping[str, str]) -> tuple[str, ...]:
    """The ownership keys as written in the environment (also what output scrubs)."""
    return tuple(key for key in re.split(r"[\s,]+", env.get(KEY_VARIABLE, "")) if key)


def keys_from(env: Mapping[str, str]) -> tuple[bytes, ...]:
    """The ownership keys: comma- or space-separated, the first one signs."""
    return tuple(key.encode() for key in key_strings(env))


@dataclass(frozen=True, slots=True)
class Framing:
    """How one backend lays out the message its check values cover."""

    separator: str
    # Leads the message, naming the scheme, so that no other use of the same
    # key or digest produces a value that verifies here.
    tag: str = ""
    # Leads only the unkeyed SHA-256's input (Vertex AI's labels, whose HMAC
    # has no tag: both as first written, and so kept).
    checksum_tag: bytes = b""

    def message(self, subject: str, fields: Sequence[str]) -> bytes:
        # The parts are joined as they are, never escaped (live values depend
        # on it), so a backend binds parts in which the separator cannot move a
        # boundary (Gemini: only the user's text may hold a NUL; Vertex AI:
        # label values cannot hold a newline).
        parts = (self.tag, subject, *fields) if self.tag else (subject, *fields)
        return self.separator.join(parts).encode("utf-8")


@dataclass(frozen=True, slots=True)
class CheckValue:
    """A marker's check value as written or read back."""

    value: str
    signed: bool  # an HMAC under a key (`sig`), not a plain SHA-256 (`chk`)


class Signer:
    """The check values of one backend's markers, under the configured keys."""

    def __init__(self, framing: Framing, keys: Sequence[bytes] = ()) -> None:
        self._framing = framing
        self._keys = tuple(keys)

    def __repr__(self) -> str:  # never the keys themselves
        return f"Signer(keys={len(self._keys)})"

    @property
    def keyed(self) -> bool:
        return bool(self._keys)

    def check_value(self, subject: str, fields: Sequence[str]) -> CheckValue:
        """The check value a marker with these fields carries on `subject`:
        signed under the first key when there is one."""
        message = self._framing.message(subject, fields)
        if self._keys:
            return CheckValue(_mac(self._keys[0], message), signed=True)
        return CheckValue(self._checksum(message), signed=False)

    def verifies(self, check: CheckValue, subject: str, fields: Sequence[str]) -> bool:
        """Whether `check` is the check value of these fields on `subject`: a
        signed one under any of the keys (without keys, none verifies)."""
        message = self._framing.message(subject, fields)
        if check.signed:
            # Every key is tried, so the time taken does not say which one matched.
            matches = [_same(_mac(key, message), check.value) for key in self._keys]
            return any(matches)
        return _same(self._checksum(message), check.value)

    def weak(self, check: CheckValue) -> bool:
        """An unsigned check value while keys are configured: anyone could have
        written it, so it is trusted only where that destroys nothing."""
        return not check.signed and self.keyed

    def _checksum(self, message: bytes) -> str:
        return hashlib.sha256(self._framing.checksum_tag + message).hexdigest()[:CHECK_LENGTH]


def _mac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:CHECK_LENGTH]


def _same(expected: str, given: str) -> bool:
    # As bytes: compare_digest refuses a str with non-ASCII characters, and a
    # value read back from a resource (a label) may hold any, lone surrogates
    # from a JSON escape included.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
