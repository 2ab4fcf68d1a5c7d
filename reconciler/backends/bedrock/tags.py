"""Ownership on Amazon Bedrock: tags on the customization job, the custom model
and its deployment.

    managed-by=reconciler          reconciler-id=<manifest id>
    reconciler-fp=v1:<src8>.<hp8>.<data12>   reconciler-n=<examples>
    reconciler-vdata=<train12>.<valid12>.<validation examples>   ("" without validation data)
    reconciler-orphan / -protect / -untested = true | false
    reconciler-eval=<digest>  reconciler-score=<4 digits>  reconciler-held=true   ("" when none:
                                   a custom model's promotion gate, docs/promotion-gates.md)
    reconciler-sig=<16 hex> or reconciler-chk=<16 hex>

Every owned tag is always written, empty where it says nothing, so one
TagResource rewrites the whole marker at once: a marker is never half old and
half new, whatever stops in between. (A flag written as a tag of its own that
comes and goes would need an UntagResource too, and a stop between the two
would leave a marker that verifies for nobody.)

The check value covers every owned tag, `k=v` in key order, and the identity of
the resource that carries them (its scope): the names the reconciler chose for
it, which Bedrock keeps unique in an account and region (and a job's name is
never free again: jobs cannot be deleted). So tags copied onto another job,
model or deployment do not verify there. A deployment's scope also holds the
custom model it serves. `sig=` is an HMAC under RECONCILER_OWNERSHIP_KEY (the
first key signs, any verifies), `chk=` a plain SHA-256 without a key: the keys,
the digests and their comparison are reconciler.model.signing's, and this
module chooses what they bind. docs/ownership.md has the threat model.

Tag values allow letters, digits, whitespace and `._:/=+@-` (botocore's
TagValue), so a value could hold a newline and move a line of the signed
message; every owned value is read back against a strict pattern that has
none, and a marker with any other value is malformed.

The manifest's display name, description, source and teacher live in tags too
(`reconciler-display`, `reconciler-description`, `reconciler-source`,
`reconciler-teacher`): Bedrock has no such fields on a custom
model, and tags are the one thing it lets change in place. They are not
signed (they are values compared with the manifest, not ownership). Text the
tag alphabet cannot hold is written as base64 over as many tags as it needs
(`text_tags`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from reconciler.model.ownership import FINGERPRINT_VERSION, DataParts, Ownership
from reconciler.model.signing import KEY_VARIABLE, CheckValue, Framing, Signer

MANAGED_BY = "managed-by"
MANAGER = "reconciler"
ID = "reconciler-id"
FINGERPRINT = "reconciler-fp"
EXAMPLES = "reconciler-n"
DATA_PARTS = "reconciler-vdata"
CHECK = "reconciler-chk"
SIGNATURE = "reconciler-sig"
FLAGS = ("orphan", "protect", "untested")
_FLAG_TAGS = {flag: f"reconciler-{flag}" for flag in FLAGS}
# The promotion gate's result on a custom model, by the neutral key LiveModel.evaluation uses.
EVALUATION_TAGS = {"digest": "reconciler-eval", "score": "reconciler-score", "held": "reconciler-held"}
OWNED = (
    MANAGED_BY,
    ID,
    FINGERPRINT,
    EXAMPLES,
    DATA_PARTS,
    *_FLAG_TAGS.values(),
    *EVALUATION_TAGS.values(),
    CHECK,
    SIGNATURE,
)
# Left on a custom model `forget` released: the job's tags no longer claim it.
FORGOTTEN = "reconciler-forgotten"
DISPLAY_NAME = "reconciler-display"
DESCRIPTION = "reconciler-description"
# The source as the manifest writes it (its hash is in the fingerprint), so a
# plan compares like with like whatever spelling Bedrock's ARN has.
SOURCE = "reconciler-source"
# A distillation's teacher as the manifest writes it (no list returns it).
TEACHER = "reconciler-teacher"
TEXT_FIELDS = (DISPLAY_NAME, DESCRIPTION, SOURCE, TEACHER)
# The apply that sent a job's create (a random token a process, unsigned): Bedrock
# answers a create its clientRequestToken deduplicates as it answers a new job, so
# only the job's tags say whether this apply made it or found another's.
RUN = "reconciler-run"
# Base64 text over several tags: the first value is `b64:<count>:<chunk>`, then
# `<name>-2` ... `<name>-<count>` hold the rest.
_BASE64 = "b64:"
_CHUNK = 240
MAX_TEXT_TAGS = 24  # of Bedrock's 50 tags a resource, what one text field may take
_TEXT_RE = re.compile(r"[a-zA-Z0-9 ._:/=+@-]{0,256}", re.ASCII)

# The message: a tag naming the scheme, the scope's lines, then each owned tag
# `k=v` in key order, one a line (pinned by tests/backends/bedrock/test_tags.py).
_FRAMING = Framing(separator="\n", tag="reconciler/bedrock-tags/v1")
_VALUE_RES = {
    MANAGED_BY: re.compile(MANAGER),
    ID: re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?", re.ASCII),
    FINGERPRINT: re.compile(rf"({FINGERPRINT_VERSION}):([0-9a-f]{{8}})\.([0-9a-f]{{8}})\.([0-9a-f]{{12}})", re.ASCII),
    EXAMPLES: re.compile(r"0|[1-9][0-9]{0,8}", re.ASCII),
    DATA_PARTS: re.compile(r"|([0-9a-f]{12})\.([0-9a-f]{12})\.(0|[1-9][0-9]{0,8})", re.ASCII),
    **{tag: re.compile("true|false") for tag in _FLAG_TAGS.values()},
    EVALUATION_TAGS["digest"]: re.compile(r"[0-9a-z]{0,64}", re.ASCII),
    EVALUATION_TAGS["score"]: re.compile(r"[0-9]{0,6}", re.ASCII),
    EVALUATION_TAGS["held"]: re.compile("|true"),
    CHECK: re.compile(r"[0-9a-f]{16}", re.ASCII),
    SIGNATURE: re.compile(r"[0-9a-f]{16}", re.ASCII),
}


@dataclass(frozen=True)
class Reading:
    """What a resource's tags say about ownership; `note` says why a marker
    that is there was not trusted."""

    ownership: Ownership | None
    key: str | None = None
    note: str | None = None

    @property
    def claims(self) -> bool:
        """The tags name a manifest id, whether or not they verify."""
        return self.key is not None

    @property
    def about_keys(self) -> bool:
        """It failed for want of the right key (not set, or another one)."""
        return self.note is not None and KEY_VARIABLE in self.note


def job_scope(job_name: str, model_name: str) -> str:
    """A job's tags are written before it has an ARN: they are bound to its name
    and the name of the custom model it makes, both chosen by the reconciler."""
    return f"model-customization-job\n{job_name}\n{model_name}"


def model_scope(model_name: str) -> str:
    return f"custom-model\n{model_name}"


def deployment_scope(name: str, model_arn: str) -> str:
    return f"custom-model-deployment\n{name}\n{model_arn}"


class TagMarker:
    """Writes and reads the ownership tags, signing with the configured keys."""

    def __init__(self, keys: Sequence[bytes] = ()) -> None:
        self._signer = Signer(_FRAMING, keys)

    def __repr__(self) -> str:  # never the keys themselves
        return f"TagMarker({self._signer!r})"

    def tags(
        self, key: str, ownership: Ownership, scope: str, evaluation: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Every owned tag for `key` on the resource `scope` names; `evaluation`:
        a custom model's gate result ({"digest", "score", "held"})."""
        parts = ownership.parts
        tags = {
            MANAGED_BY: MANAGER,
            ID: key,
            FINGERPRINT: ownership.fingerprint,
            EXAMPLES: str(ownership.examples),
            DATA_PARTS: f"{parts.training}.{parts.validation}.{parts.validation_examples}" if parts else "",
            **{_FLAG_TAGS[f]: "true" if getattr(ownership, f) else "false" for f in FLAGS},
            **{tag: (evaluation or {}).get(name, "") for name, tag in EVALUATION_TAGS.items()},
        }
        check = self._signer.check_value(scope, _signed_fields(tags))
        tags[SIGNATURE if check.signed else CHECK] = check.value
        return tags

    def read(self, tags: Mapping[str, str], scope: str) -> Reading:
        """Verify the tags for the resource `scope` names."""
        if tags.get(MANAGED_BY) != MANAGER:
            return Reading(None)
        key = tags.get(ID)
        ownership = _parsed(tags)
        if key is None or ownership is None:
            return Reading(None, key, "its reconciler tags are malformed")
        check = _check_value(tags)
        if check is None:
            return Reading(None, key, "its tags carry no check value")
        if check.signed and not self._signer.keyed:
            return Reading(
                None,
                key,
                f"its tags are signed, and {KEY_VARIABLE} is not set: give the plan the key that signed them",
            )
        if not self._signer.verifies(check, scope, _signed_fields(tags)):
            if check.signed:
                return Reading(
                    None,
                    key,
                    f"its tag signature does not verify under the keys in {KEY_VARIABLE} "
                    "(copied, edited, or signed by a key no longer given)",
                )
            return Reading(None, key, "its tag check value does not verify (copied or edited)")
        # Unsigned while a key is configured: anyone could have written it, so
        # it is trusted only where that destroys nothing (re-signed in place).
        if self._signer.weak(check):
            ownership = replace(ownership, legacy=True)
        return Reading(ownership, key)


def owned_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k in OWNED}


def evaluation_of(tags: Mapping[str, str]) -> dict[str, str]:
    """The gate result a custom model's tags record, by neutral key (see EVALUATION_TAGS)."""
    return {name: tags[tag] for name, tag in EVALUATION_TAGS.items() if tags.get(tag)}


def text_tags(name: str, value: str) -> dict[str, str]:
    """`value` under the tag `name`: as it is where the tag alphabet holds it,
    else as base64 over `name`, `name-2`, ... Raises ValueError when it needs
    more than MAX_TEXT_TAGS tags."""
    if _TEXT_RE.fullmatch(value) and not value.startswith(_BASE64):
        return {name: value}
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    chunks = [encoded[i : i + _CHUNK] for i in range(0, len(encoded), _CHUNK)] or [""]
    if len(chunks) > MAX_TEXT_TAGS:
        raise ValueError(f"is too long to keep in Bedrock tags ({len(value)} characters)")
    tags = {name: f"{_BASE64}{len(chunks)}:{chunks[0]}"}
    tags.update({f"{name}-{index}": chunk for index, chunk in enumerate(chunks[1:], start=2)})
    return tags


def text_of(tags: Mapping[str, str], name: str) -> str | None:
    """The text `text_tags` wrote under `name`; None when there is none (or it
    does not decode: it was edited by hand)."""
    value = tags.get(name)
    if value is None or not value.startswith(_BASE64):
        return value
    count, _, first = value.removeprefix(_BASE64).partition(":")
    if not count.isdigit() or not 1 <= int(count) <= MAX_TEXT_TAGS:
        return None
    rest = [tags.get(f"{name}-{index}") for index in range(2, int(count) + 1)]
    if any(chunk is None for chunk in rest):
        return None
    try:
        return base64.b64decode(first + "".join(c for c in rest if c), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def text_keys(tags: Mapping[str, str], name: str) -> set[str]:
    """Every tag a text field's value takes now (to untag what a shorter one no longer needs)."""
    return {k for k in tags if k == name or re.fullmatch(rf"{re.escape(name)}-[0-9]+", k)}


def _parsed(tags: Mapping[str, str]) -> Ownership | None:
    """The ownership the tags record, every owned value checked against its pattern."""
    for tag, pattern in _VALUE_RES.items():
        value = tags.get(tag)
        if value is not None and pattern.fullmatch(value) is None:
            return None
    fingerprint = _VALUE_RES[FINGERPRINT].fullmatch(tags.get(FINGERPRINT, ""))
    count = tags.get(EXAMPLES)
    if fingerprint is None or count is None or any(tags.get(t) is None for t in _FLAG_TAGS.values()):
        return None
    version, source, hyperparameters, data = fingerprint.groups()
    parts = _VALUE_RES[DATA_PARTS].fullmatch(tags.get(DATA_PARTS, ""))
    return Ownership(
        source=source,
        hyperparameters=hyperparameters,
        data=data,
        examples=int(count),
        version=version,
        parts=_data_parts(parts),
        **{flag: tags[_FLAG_TAGS[flag]] == "true" for flag in FLAGS},
    )


def _data_parts(match: re.Match[str] | None) -> DataParts | None:
    if match is None or not match.group(1):
        return None
    training, validation, examples = match.groups()
    return DataParts(training=training, validation=validation, validation_examples=int(examples))


def _check_value(tags: Mapping[str, str]) -> CheckValue | None:
    """The tags' check value: a signature wins over a checksum beside it."""
    if SIGNATURE in tags:
        return CheckValue(tags[SIGNATURE], signed=True)
    if CHECK in tags:
        return CheckValue(tags[CHECK], signed=False)
    return None


def _signed_fields(tags: Mapping[str, str]) -> list[str]:
    """What the check value covers: every owned tag but itself, `k=v` in key order."""
    return [f"{k}={v}" for k, v in sorted(tags.items()) if k in OWNED and k not in (CHECK, SIGNATURE)]
