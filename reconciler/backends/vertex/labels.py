"""Ownership on Vertex AI: labels on the tuning job, the Model and its Endpoints.

    managed-by=reconciler          reconciler-id=<manifest id>
    reconciler-fp=v1-<src8>-<hp8>-<data12>   reconciler-n=<examples>
    reconciler-orphan / -protect / -untested = true   (only when set)
    reconciler-attempt=<8 hex>     (the job only: which create made it)
    reconciler-chk=<16 hex> or reconciler-sig=<16 hex>

Label values allow no `.` or `:`, hence the fingerprint's dashes. The check
value covers every owned label and the resource's own name (the Model's,
without its version). A job's labels are written at create, before it has a
name, so its check covers the labels alone, and they can never change: the
lifecycle flags that change later live on the Model. `sig=` is an HMAC under
RECONCILER_OWNERSHIP_KEY (the first key signs, any verifies), as the Gemini
trailer's; docs/ownership.md has the threat model.

Every label not in OWNED (the service's `tune-type`,
`google-vertex-llm-tuning-*`, anyone else's) is kept by every PATCH.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.model.ownership import FINGERPRINT_VERSION, Ownership

MANAGED_BY = "managed-by"
MANAGER = "reconciler"
ID = "reconciler-id"
FINGERPRINT = "reconciler-fp"
EXAMPLES = "reconciler-n"
ATTEMPT = "reconciler-attempt"
CHECK = "reconciler-chk"
SIGNATURE = "reconciler-sig"
FLAGS = ("orphan", "protect", "untested")
_FLAG_LABELS = {flag: f"reconciler-{flag}" for flag in FLAGS}
OWNED = frozenset({MANAGED_BY, ID, FINGERPRINT, EXAMPLES, ATTEMPT, CHECK, SIGNATURE, *_FLAG_LABELS.values()})
# Left on a Model `forget` released: its job's frozen labels no longer claim it.
FORGOTTEN = "reconciler-forgotten"
MANAGED_FILTER = f"labels.{MANAGED_BY}={MANAGER}"
_CHECK_LENGTH = 16
_FP_RE = re.compile(rf"({FINGERPRINT_VERSION})-([0-9a-f]{{8}})-([0-9a-f]{{8}})-([0-9a-f]{{12}})", re.ASCII)
_COUNT_RE = re.compile(r"0|[1-9][0-9]{0,8}", re.ASCII)


@dataclass(frozen=True)
class Reading:
    """What a resource's labels say about ownership; `note` says why a marker
    that is there was not trusted."""

    ownership: Ownership | None
    key: str | None = None
    note: str | None = None


class LabelMarker:
    """Writes and reads the ownership labels, signing with the configured keys."""

    def __init__(self, keys: Sequence[bytes] = ()) -> None:
        self._keys = tuple(keys)

    def __repr__(self) -> str:  # never the keys themselves
        return f"LabelMarker(keys={len(self._keys)})"

    def labels(self, key: str, ownership: Ownership, scope: str, attempt: str = "") -> dict[str, str]:
        """The owned labels for `key` on the resource named `scope` ("" for a job)."""
        labels = {
            MANAGED_BY: MANAGER,
            ID: key,
            FINGERPRINT: "-".join((ownership.version, ownership.source, ownership.hyperparameters, ownership.data)),
            EXAMPLES: str(ownership.examples),
        }
        labels.update({_FLAG_LABELS[f]: "true" for f in FLAGS if getattr(ownership, f)})
        if attempt:
            labels[ATTEMPT] = attempt
        if self._keys:
            labels[SIGNATURE] = _check(self._keys[0], scope, labels)
        else:
            labels[CHECK] = _check(None, scope, labels)
        return labels

    def merged(self, live: Mapping[str, str], owned: Mapping[str, str]) -> dict[str, str]:
        """`live` with the owned labels replaced by `owned`: every other label stays."""
        return {**{k: v for k, v in live.items() if k not in OWNED}, **owned}

    def read(self, labels: Mapping[str, str], scope: str) -> Reading:
        if labels.get(MANAGED_BY) != MANAGER:
            return Reading(None)
        key = labels.get(ID)
        ownership = _parsed(labels)
        if key is None or ownership is None:
            return Reading(None, key, "its reconciler labels are malformed")
        owned = {k: v for k, v in labels.items() if k in OWNED and k not in (CHECK, SIGNATURE)}
        if SIGNATURE in labels:
            if not self._keys:
                return Reading(None, key, f"its labels are signed, and {_KEY_HINT}")
            if any(hmac.compare_digest(_check(k, scope, owned), labels[SIGNATURE]) for k in self._keys):
                return Reading(ownership, key)
            return Reading(None, key, "its label signature does not verify (copied, edited, or another key)")
        if CHECK not in labels:
            return Reading(None, key, "its labels carry no check value")
        if not hmac.compare_digest(_check(None, scope, owned), labels[CHECK]):
            return Reading(None, key, "its label check value does not verify (copied or edited)")
        if self._keys:
            return Reading(None, key, "its labels are not signed, and an ownership key is configured")
        return Reading(ownership, key)


_KEY_HINT = "RECONCILER_OWNERSHIP_KEY is not set"


def _parsed(labels: Mapping[str, str]) -> Ownership | None:
    match = _FP_RE.fullmatch(labels.get(FINGERPRINT, ""))
    count = labels.get(EXAMPLES, "")
    if match is None or not _COUNT_RE.fullmatch(count):
        return None
    if any(labels.get(label, "true") != "true" for label in _FLAG_LABELS.values()):
        return None
    version, source, hyperparameters, data = match.groups()
    flags = {f: labels.get(_FLAG_LABELS[f]) == "true" for f in FLAGS}
    return Ownership(source=source, hyperparameters=hyperparameters, data=data, examples=int(count),
                     version=version, **flags)


def _check(key: bytes | None, scope: str, labels: Mapping[str, str]) -> str:
    owned = sorted((k, v) for k, v in labels.items() if k in OWNED and k not in (CHECK, SIGNATURE))
    message = (scope + "\n" + "\n".join(f"{k}={v}" for k, v in owned)).encode("utf-8")
    if key is None:
        return hashlib.sha256(b"reconciler/labels/v1\n" + message).hexdigest()[:_CHECK_LENGTH]
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:_CHECK_LENGTH]
