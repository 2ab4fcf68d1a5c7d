"""The signing every backend's ownership marker uses (reconciler/model/signing.py).

Fixed key, fixed inputs, fixed expected values: a change to how a check value
is computed would make every live marker stop verifying, so it cannot pass
unnoticed. Each value is also recomputed here from its definition, without the
module. And a check value is bound to its model: on another model, or with one
field edited, it does not verify."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import pytest

from reconciler.model import signing
from reconciler.model.signing import CheckValue, Framing, Signer, key_strings, keys_from

KEY = b"fixed-key"
FRAMING = Framing(separator="\x00", tag="reconciler-test/1")
SUBJECT = "tunedModels/numbers"  # the model the marker is on
OTHER_SUBJECT = "tunedModels/other"
FIELDS = ("fp=v1:0a1b2c3d.4e5f6a7b.0123456789ab", "n=20", "protect")
SIGNED = CheckValue("b2bfcc2083251386", signed=True)
UNSIGNED = CheckValue("96ae94a1abdc257b", signed=False)
SIGNER = Signer(FRAMING, [KEY])
UNKEYED = Signer(FRAMING)


def by_definition(key: bytes | None, message_parts: Sequence[str], checksum_tag: bytes = b"") -> str:
    """The module docstring's definition: the first 16 hex digits of HMAC-SHA256
    under the key, or of SHA-256 without one, over the parts as UTF-8."""
    message = message_parts[0].join(message_parts[1:]).encode("utf-8")
    if key is None:
        return hashlib.sha256(checksum_tag + message).hexdigest()[:16]
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


# --- pinned values -----------------------------------------------------------------------


def test_the_signed_check_value_is_pinned() -> None:
    assert SIGNER.check_value(SUBJECT, FIELDS) == SIGNED
    assert SIGNED.value == by_definition(KEY, ("\x00", "reconciler-test/1", SUBJECT, *FIELDS))


def test_the_unsigned_check_value_is_pinned() -> None:
    assert UNKEYED.check_value(SUBJECT, FIELDS) == UNSIGNED
    assert UNSIGNED.value == by_definition(None, ("\x00", "reconciler-test/1", SUBJECT, *FIELDS))


def test_a_framing_without_a_tag_and_with_a_checksum_tag_is_pinned() -> None:
    """Vertex AI's form: no tag before the subject; the unkeyed digest alone tagged."""
    framing = Framing(separator="\n", checksum_tag=b"reconciler-test-checksum\n")
    signed = Signer(framing, [KEY]).check_value(SUBJECT, FIELDS)
    unsigned = Signer(framing).check_value(SUBJECT, FIELDS)
    assert (signed, unsigned) == (CheckValue("e98f2b7b23a2f9b2", True), CheckValue("5783a524c0196dbd", False))
    assert signed.value == by_definition(KEY, ("\n", SUBJECT, *FIELDS))
    assert unsigned.value == by_definition(None, ("\n", SUBJECT, *FIELDS), b"reconciler-test-checksum\n")


# --- bound to its model and to every field -----------------------------------------------


@pytest.mark.parametrize(("signer", "check"), [(SIGNER, SIGNED), (UNKEYED, UNSIGNED)], ids=["sig", "chk"])
def test_a_check_value_verifies_on_its_own_model(signer: Signer, check: CheckValue) -> None:
    assert signer.verifies(check, SUBJECT, FIELDS)


@pytest.mark.parametrize(("signer", "check"), [(SIGNER, SIGNED), (UNKEYED, UNSIGNED)], ids=["sig", "chk"])
def test_the_same_marker_on_another_model_does_not_verify(signer: Signer, check: CheckValue) -> None:
    assert not signer.verifies(check, OTHER_SUBJECT, FIELDS)


EDITS = {
    "fingerprint": ("fp=v1:0a1b2c3d.4e5f6a7b.0123456789ac", "n=20", "protect"),
    "count": ("fp=v1:0a1b2c3d.4e5f6a7b.0123456789ab", "n=21", "protect"),
    "flag removed": ("fp=v1:0a1b2c3d.4e5f6a7b.0123456789ab", "n=20"),
    "flag added": (*FIELDS, "orphan"),
    "reordered": ("n=20", "fp=v1:0a1b2c3d.4e5f6a7b.0123456789ab", "protect"),
}


@pytest.mark.parametrize("fields", EDITS.values(), ids=EDITS.keys())
@pytest.mark.parametrize(("signer", "check"), [(SIGNER, SIGNED), (UNKEYED, UNSIGNED)], ids=["sig", "chk"])
def test_one_field_edited_does_not_verify(signer: Signer, check: CheckValue, fields: tuple[str, ...]) -> None:
    assert not signer.verifies(check, SUBJECT, fields)


def test_a_check_value_of_one_kind_is_not_taken_for_the_other() -> None:
    assert not SIGNER.verifies(CheckValue(UNSIGNED.value, signed=True), SUBJECT, FIELDS)
    assert not UNKEYED.verifies(CheckValue(SIGNED.value, signed=False), SUBJECT, FIELDS)


# --- keys and rotation --------------------------------------------------------------------


def test_the_first_key_signs_and_any_key_verifies() -> None:
    rotated = Signer(FRAMING, [b"newer-key", KEY])
    assert rotated.check_value(SUBJECT, FIELDS) == Signer(FRAMING, [b"newer-key"]).check_value(SUBJECT, FIELDS)
    assert rotated.verifies(SIGNED, SUBJECT, FIELDS)  # signed under the old key, still given
    assert not Signer(FRAMING, [b"newer-key"]).verifies(SIGNED, SUBJECT, FIELDS)  # rotated out


def test_without_keys_no_signed_value_verifies() -> None:
    assert not UNKEYED.keyed
    assert not UNKEYED.verifies(SIGNED, SUBJECT, FIELDS)


def test_an_unsigned_value_verifies_under_keys_but_is_weak() -> None:
    assert SIGNER.verifies(UNSIGNED, SUBJECT, FIELDS)
    assert SIGNER.weak(UNSIGNED)
    assert not SIGNER.weak(SIGNED)
    assert not UNKEYED.weak(UNSIGNED)


def test_every_key_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return a == b

    monkeypatch.setattr(signing.hmac, "compare_digest", compare_digest)
    assert Signer(FRAMING, [KEY, b"second", b"third"]).verifies(SIGNED, SUBJECT, FIELDS)
    # All three keys, the matching first one included: the time does not say which matched.
    assert len(compared) == 3
    assert all(given == SIGNED.value.encode() for _, given in compared)


@pytest.mark.parametrize("value", ["é" * 16, "\ud800" * 16, "", "B2BFCC2083251386"])
@pytest.mark.parametrize("signer", [SIGNER, UNKEYED], ids=["keyed", "unkeyed"])
def test_a_value_read_back_that_is_no_check_value_does_not_verify(signer: Signer, value: str) -> None:
    """A label may hold any text; it fails to verify instead of raising."""
    for signed in (True, False):
        assert not signer.verifies(CheckValue(value, signed=signed), SUBJECT, FIELDS)


def test_keys_come_from_the_environment_and_never_show() -> None:
    env = {"RECONCILER_OWNERSHIP_KEY": " first, second\tthird ,"}
    assert key_strings(env) == ("first", "second", "third")
    assert keys_from(env) == (b"first", b"second", b"third")
    assert keys_from({}) == () and keys_from({"RECONCILER_OWNERSHIP_KEY": " , "}) == ()
    assert "first" not in repr(Signer(FRAMING, keys_from(env)))
