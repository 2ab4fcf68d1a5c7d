"""Ownership on Vertex AI: labels on the tuning job, the Model and its Endpoints.

    managed-by=reconciler          reconciler-id=<manifest id>
    reconciler-fp=v1-<src8>-<hp8>-<data12>   reconciler-n=<examples>
    reconciler-vdata=<train12>-<valid12>-<validation examples>   (only with validation data)
    reconciler-orphan / -protect / -untested = true   (only when set)
    reconciler-attempt=<8 hex>     (the job only: which create made it)
    reconciler-eval=<12 hex>  reconciler-score=<4 digits>  reconciler-held=true
                                   (a Model's promotion gate: docs/promotion-gates.md)
    reconciler-chk=<16 hex> or reconciler-sig=<16 hex>

Label values allow no `.` or `:`, hence the fingerprint's dashes. The check
value covers every owned label and the identity of the resource that carries
them (its scope): a Model's name with its version, an Endpoint's name, and for
a job (whose labels are written before it has a name, and never change) what
it tunes: its source, its datasets and the display name of what it makes
(`job_scope`). So labels copied onto another resource do not verify there. The
lifecycle flags that change later live on the Model. `sig=` is an HMAC under
RECONCILER_OWNERSHIP_KEY (the first key signs, any verifies), as the Gemini
trailer's: the keys, the digests and their comparison are
reconciler.model.signing's, and this module chooses what they bind.
docs/ownership.md has the threat model.

`reconciler-vdata` records the training and the validation data apart (the
fingerprint's data part covers both), so a plan names `spec.validationData`
when only that changed. Markers written before it have none: for them which
of the two changed is unknown; the fingerprint itself is unchanged.

A marker that verifies only as an earlier release wrote it (a Model's scope
without its version, a job's empty scope), or a `chk=` while a key is
configured, is *legacy*: trusted only where trusting it destroys nothing, and
rewritten in place by the next apply when its model matches its manifest.

Every label not in OWNED (the service's `tune-type`,
`google-vertex-llm-tuning-*`, anyone else's) is kept by every PATCH.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from reconciler.model.ownership import FINGERPRINT_VERSION, DataParts, Ownership
from reconciler.model.signing import KEY_VARIABLE, CheckValue, Framing, Signer

MANAGED_BY = "managed-by"
MANAGER = "reconciler"
ID = "reconciler-id"
FINGERPRINT = "reconciler-fp"
EXAMPLES = "reconciler-n"
DATA_PARTS = "reconciler-vdata"
ATTEMPT = "reconciler-attempt"
CHECK = "reconciler-chk"
SIGNATURE = "reconciler-sig"
FLAGS = ("orphan", "protect", "untested")
_FLAG_LABELS = {flag: f"reconciler-{flag}" for flag in FLAGS}
# The promotion gate's result on a Model, by the neutral key LiveModel.evaluation uses.
EVALUATION_LABELS = {"digest": "reconciler-eval", "score": "reconciler-score", "held": "reconciler-held"}
OWNED = frozenset(
    {
        MANAGED_BY,
        ID,
        FINGERPRINT,
        EXAMPLES,
        DATA_PARTS,
        ATTEMPT,
        CHECK,
        SIGNATURE,
        *_FLAG_LABELS.values(),
        *EVALUATION_LABELS.values(),
    }
)
# Left on a Model `forget` released: its job's frozen labels no longer claim it.
FORGOTTEN = "reconciler-forgotten"
MANAGED_FILTER = f"labels.{MANAGED_BY}={MANAGER}"
PUBLISHER_PREFIX = "publishers/google/models/"
# The check value covers the resource's scope (the subject), then each owned
# label `k=v` in key order, one a line; the unkeyed digest is tagged
# (docs/ownership.md; pinned by tests/backends/vertex/test_label_values.py).
_FRAMING = Framing(separator="\n", checksum_tag=b"reconciler/labels/v1\n")
_FP_RE = re.compile(rf"({FINGERPRINT_VERSION})-([0-9a-f]{{8}})-([0-9a-f]{{8}})-([0-9a-f]{{12}})", re.ASCII)
_COUNT_RE = re.compile(r"0|[1-9][0-9]{0,8}", re.ASCII)
_PARTS_RE = re.compile(r"([0-9a-f]{12})-([0-9a-f]{12})-(0|[1-9][0-9]{0,8})", re.ASCII)


@dataclass(frozen=True)
class Reading:
    """What a resource's labels say about ownership; `note` says why a marker
    that is there was not trusted."""

    ownership: Ownership | None
    key: str | None = None
    note: str | None = None

    @property
    def claims(self) -> bool:
        """The labels name a manifest id, whether or not they verify."""
        return self.key is not None

    @property
    def about_keys(self) -> bool:
        """It failed for want of the right key (not set, or another one): likely
        the reconciler's own, so the id is blocked rather than re-created."""
        return self.note is not None and KEY_VARIABLE in self.note


class LabelMarker:
    """Writes and reads the ownership labels, signing with the configured keys."""

    def __init__(self, keys: Sequence[bytes] = ()) -> None:
        self._signer = Signer(_FRAMING, keys)

    def __repr__(self) -> str:  # never the keys themselves
        return f"LabelMarker({self._signer!r})"

    def labels(
        self, key: str, ownership: Ownership, scope: str, attempt: str = "", evaluation: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The owned labels for `key` on the resource named `scope` ("" for a job);
        `evaluation`: a Model's gate result ({"digest", "score", "held"}), covered by the check."""
        labels = {
            MANAGED_BY: MANAGER,
            ID: key,
            FINGERPRINT: "-".join((ownership.version, ownership.source, ownership.hyperparameters, ownership.data)),
            EXAMPLES: str(ownership.examples),
        }
        if ownership.parts is not None:
            parts = ownership.parts
            labels[DATA_PARTS] = f"{parts.training}-{parts.validation}-{parts.validation_examples}"
        labels.update({_FLAG_LABELS[f]: "true" for f in FLAGS if getattr(ownership, f)})
        if attempt:
            labels[ATTEMPT] = attempt
        labels.update({EVALUATION_LABELS[k]: v for k, v in (evaluation or {}).items() if k in EVALUATION_LABELS and v})
        check = self._signer.check_value(scope, _signed_fields(labels))
        labels[SIGNATURE if check.signed else CHECK] = check.value
        return labels

    def merged(self, live: Mapping[str, str], owned: Mapping[str, str]) -> dict[str, str]:
        """`live` with the owned labels replaced by `owned`: every other label stays."""
        return {**{k: v for k, v in live.items() if k not in OWNED}, **owned}

    def read(self, labels: Mapping[str, str], scope: str, legacy_scope: str | None = None) -> Reading:
        """Verify the labels for the resource `scope` names; `legacy_scope` is
        what an earlier release bound them to (verifying there is legacy)."""
        if labels.get(MANAGED_BY) != MANAGER:
            return Reading(None)
        key = labels.get(ID)
        ownership = _parsed(labels)
        if key is None or ownership is None:
            return Reading(None, key, "its reconciler labels are malformed")
        check = _check_value(labels)
        if check is None:
            return Reading(None, key, "its labels carry no check value")
        if check.signed and not self._signer.keyed:
            return Reading(
                None,
                key,
                f"its labels are signed, and {KEY_VARIABLE} is not set: give the plan the key that signed them",
            )
        scopes = (scope,) if legacy_scope is None else (scope, legacy_scope)
        fields = _signed_fields(labels)
        matched = next((s for s in scopes if self._signer.verifies(check, s, fields)), None)
        if matched is None and check.signed:
            return Reading(
                None,
                key,
                "its label signature does not verify under the keys in "
                f"{KEY_VARIABLE} (copied, edited, or signed by a key no longer given)",
            )
        if matched is None:
            return Reading(None, key, "its label check value does not verify (copied or edited)")
        # Unsigned while a key is configured: anyone could have written it, so it
        # is trusted as a legacy marker (re-signed when it matches its manifest).
        return Reading(replace(ownership, legacy=self._signer.weak(check) or matched != scope), key)


def owned_labels(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k in OWNED}


def evaluation_of(labels: Mapping[str, str]) -> dict[str, str]:
    """The gate result a Model's labels record, by neutral key (see EVALUATION_LABELS)."""
    return {key: labels[label] for key, label in EVALUATION_LABELS.items() if labels.get(label)}


def job_scope(job: Mapping[str, Any]) -> str:
    """What a tuning job's labels are bound to, from its request as sent or as
    read back: its source (base model, or the Model it continues tuning), its
    datasets and the display name of the Model it makes. Labels replayed onto a
    job that tunes anything else do not verify."""
    spec = job.get("supervisedTuningSpec") or {}
    pre_tuned = job.get("preTunedModel") or {}
    source = pre_tuned.get("tunedModelName", "").partition("@")[0] or str(job.get("baseModel", ""))
    return "\n".join(
        (
            "tuningJob",
            f"source={source.removeprefix(PUBLISHER_PREFIX)}",
            f"training={spec.get('trainingDatasetUri', '')}",
            f"validation={spec.get('validationDatasetUri', '')}",
            f"displayName={job.get('tunedModelDisplayName', '')}",
        )
    )


def model_scope(model: Mapping[str, Any]) -> str:
    """A Model's labels are bound to its name and version (`…/models/123@1`)."""
    return f"{str(model['name']).partition('@')[0]}@{model.get('versionId') or '1'}"


def _parsed(labels: Mapping[str, str]) -> Ownership | None:
    match = _FP_RE.fullmatch(labels.get(FINGERPRINT, ""))
    count = labels.get(EXAMPLES, "")
    if match is None or not _COUNT_RE.fullmatch(count):
        return None
    if any(labels.get(label, "true") != "true" for label in _FLAG_LABELS.values()):
        return None
    parts = _PARTS_RE.fullmatch(labels[DATA_PARTS]) if DATA_PARTS in labels else None
    if DATA_PARTS in labels and parts is None:
        return None
    version, source, hyperparameters, data = match.groups()
    flags = {f: labels.get(_FLAG_LABELS[f]) == "true" for f in FLAGS}
    return Ownership(
        source=source,
        hyperparameters=hyperparameters,
        data=data,
        examples=int(count),
        version=version,
        **flags,
        parts=_data_parts(parts),
    )


def _data_parts(match: re.Match[str] | None) -> DataParts | None:
    if match is None:
        return None
    training, validation, examples = match.groups()
    return DataParts(training=training, validation=validation, validation_examples=int(examples))


def _check_value(labels: Mapping[str, str]) -> CheckValue | None:
    """The labels' check value: a signature wins over a checksum beside it."""
    if SIGNATURE in labels:
        return CheckValue(labels[SIGNATURE], signed=True)
    if CHECK in labels:
        return CheckValue(labels[CHECK], signed=False)
    return None


def _signed_fields(labels: Mapping[str, str]) -> list[str]:
    """What the check value covers: every owned label but itself, `k=v` in key order.
    Never empty, as `managed-by` is among them, so the message is the scope,
    a newline and these lines."""
    return [f"{k}={v}" for k, v in sorted(labels.items()) if k in OWNED and k not in (CHECK, SIGNATURE)]
