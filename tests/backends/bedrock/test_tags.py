"""The ownership marker in Bedrock tags: pinned values under a fixed key (live
resources carry them: a change unmanages every model), bound to the resource
it is on, refused when copied, edited or forged, and within botocore's tag
patterns."""

from __future__ import annotations

import hashlib
import hmac
import re

import botocore.session
import pytest

from reconciler.backends.bedrock import tags as t
from reconciler.backends.bedrock.tags import TagMarker, deployment_scope, job_scope, model_scope
from reconciler.model.ownership import DataParts, Ownership

_MODEL = botocore.session.get_session().get_service_model("bedrock")
KEY = b"k1"
OWNERSHIP = Ownership(
    source="2309deab",
    hyperparameters="8d8b2aca",
    data="ea4223545002",
    examples=20,
    untested=True,
    parts=DataParts("a" * 12, "b" * 12, 5),
)
SCOPE = model_scope("numbers-6d09105e290e-1")
EVALUATION = {"digest": "abc123abc123", "score": "0800"}
PINNED = {
    "managed-by": "reconciler",
    "reconciler-id": "numbers",
    "reconciler-fp": "v1:2309deab.8d8b2aca.ea4223545002",
    "reconciler-n": "20",
    "reconciler-vdata": "aaaaaaaaaaaa.bbbbbbbbbbbb.5",
    "reconciler-orphan": "false",
    "reconciler-protect": "false",
    "reconciler-untested": "true",
    "reconciler-eval": "abc123abc123",
    "reconciler-score": "0800",
    "reconciler-held": "",
}


def test_signed_tags_are_pinned() -> None:
    written = TagMarker([KEY]).tags("numbers", OWNERSHIP, SCOPE, EVALUATION)
    assert written == {**PINNED, "reconciler-sig": "b31ed513edb04b5d"}


def test_the_signature_is_an_hmac_of_the_scope_and_the_owned_tags_in_key_order() -> None:
    """The message, recomputed here by hand: the scheme's tag, the scope, then `k=v` lines."""
    lines = "\n".join(f"{k}={v}" for k, v in sorted(PINNED.items()))
    message = f"reconciler/bedrock-tags/v1\n{SCOPE}\n{lines}".encode()
    expected = hmac.new(KEY, message, hashlib.sha256).hexdigest()[:16]
    assert TagMarker([KEY]).tags("numbers", OWNERSHIP, SCOPE, EVALUATION)["reconciler-sig"] == expected


def test_unkeyed_tags_carry_a_checksum() -> None:
    written = TagMarker().tags("numbers", OWNERSHIP, SCOPE, EVALUATION)
    lines = "\n".join(f"{k}={v}" for k, v in sorted(PINNED.items()))
    message = f"reconciler/bedrock-tags/v1\n{SCOPE}\n{lines}".encode()
    assert written == {**PINNED, "reconciler-chk": hashlib.sha256(message).hexdigest()[:16]}


def test_every_owned_tag_is_written_even_when_it_says_nothing() -> None:
    """One TagResource replaces the whole marker: no owned tag ever comes and goes."""
    bare = Ownership(source="2309deab", hyperparameters="8d8b2aca", data="ea4223545002", examples=20)
    written = TagMarker([KEY]).tags("numbers", bare, SCOPE)
    assert set(written) == set(t.OWNED) - {t.CHECK}
    assert written["reconciler-vdata"] == written["reconciler-eval"] == ""
    assert written["reconciler-untested"] == "false"


def test_tags_read_back_as_they_were_written() -> None:
    marker = TagMarker([KEY])
    reading = marker.read(marker.tags("numbers", OWNERSHIP, SCOPE, EVALUATION), SCOPE)
    assert reading.key == "numbers"
    assert reading.ownership == OWNERSHIP
    assert t.evaluation_of(marker.tags("numbers", OWNERSHIP, SCOPE, EVALUATION)) == EVALUATION


@pytest.mark.parametrize(
    "other",
    [
        model_scope("someone-elses-model"),
        job_scope("numbers-6d09105e290e-1", "numbers-6d09105e290e-1"),
        deployment_scope("numbers-6d09105e290e-1", "arn:aws:bedrock:us-east-1:1:custom-model/x"),
    ],
)
def test_tags_copied_onto_another_resource_do_not_verify(other: str) -> None:
    marker = TagMarker([KEY])
    reading = marker.read(marker.tags("numbers", OWNERSHIP, SCOPE), other)
    assert reading.ownership is None
    assert reading.claims and "does not verify" in (reading.note or "")


def test_unkeyed_tags_copied_onto_another_resource_do_not_verify() -> None:
    reading = TagMarker().read(TagMarker().tags("numbers", OWNERSHIP, SCOPE), model_scope("other"))
    assert reading.ownership is None and "check value does not verify" in (reading.note or "")


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("reconciler-id", "letters"),
        ("reconciler-untested", "false"),
        ("reconciler-fp", "v1:2309deab.8d8b2aca.ea4223545003"),
        ("reconciler-held", "true"),
    ],
)
def test_an_edited_tag_does_not_verify(tag: str, value: str) -> None:
    marker = TagMarker([KEY])
    edited = {**marker.tags("numbers", OWNERSHIP, SCOPE), tag: value}
    assert marker.read(edited, SCOPE).ownership is None


def test_a_removed_owned_tag_does_not_verify() -> None:
    marker = TagMarker([KEY])
    written = marker.tags("numbers", OWNERSHIP, SCOPE, EVALUATION)
    del written["reconciler-score"]
    assert marker.read(written, SCOPE).ownership is None


def test_a_value_with_a_newline_is_malformed() -> None:
    """Tag values may hold whitespace; a newline would move a line of the signed message."""
    marker = TagMarker([KEY])
    written = {**marker.tags("numbers", OWNERSHIP, SCOPE), "reconciler-eval": "abc\nreconciler-held=true"}
    reading = marker.read(written, SCOPE)
    assert reading.ownership is None and reading.note == "its reconciler tags are malformed"


def test_signed_tags_without_a_key_are_not_trusted_and_say_why() -> None:
    reading = TagMarker().read(TagMarker([KEY]).tags("numbers", OWNERSHIP, SCOPE), SCOPE)
    assert reading.ownership is None and reading.about_keys


def test_tags_signed_by_another_key_do_not_verify() -> None:
    reading = TagMarker([b"other"]).read(TagMarker([KEY]).tags("numbers", OWNERSHIP, SCOPE), SCOPE)
    assert reading.ownership is None and reading.about_keys


def test_a_rotated_key_still_verifies_what_the_old_one_signed() -> None:
    reading = TagMarker([b"new", KEY]).read(TagMarker([KEY]).tags("numbers", OWNERSHIP, SCOPE), SCOPE)
    assert reading.ownership == OWNERSHIP


def test_unsigned_tags_are_only_legacy_while_a_key_is_set() -> None:
    """Anyone can write a checksum: with a key configured it destroys nothing."""
    reading = TagMarker([KEY]).read(TagMarker().tags("numbers", OWNERSHIP, SCOPE), SCOPE)
    assert reading.ownership is not None and reading.ownership.legacy


def test_tags_of_nobody_are_no_claim() -> None:
    assert not TagMarker([KEY]).read({"team": "search"}, SCOPE).claims
    assert not TagMarker([KEY]).read({}, SCOPE).claims


def test_every_tag_is_within_botocore_tag_patterns() -> None:
    key_pattern = re.compile(_MODEL.shape_for("TagKey").metadata["pattern"])
    value_pattern = re.compile(_MODEL.shape_for("TagValue").metadata["pattern"])
    written = TagMarker([KEY]).tags("numbers", OWNERSHIP, SCOPE, EVALUATION)
    written |= t.text_tags(t.DESCRIPTION, "Counts, one by one: it's \u00e9l\u00e9gant! " * 30)
    for key, value in written.items():
        assert key_pattern.fullmatch(key) and len(key) <= 128, key
        assert value_pattern.fullmatch(value) and len(value) <= 256, (key, value)


@pytest.mark.parametrize(
    "text",
    ["The numbers model.", "", "Counts, one by one: it's fine!", "b64:looks like ours", "\u00e9" * 2000],
)
def test_text_fields_read_back_as_written(text: str) -> None:
    assert t.text_of(t.text_tags(t.DESCRIPTION, text), t.DESCRIPTION) == text


def test_plain_text_stays_readable_in_the_console() -> None:
    assert t.text_tags(t.DESCRIPTION, "The numbers model.") == {t.DESCRIPTION: "The numbers model."}


def test_text_too_long_for_the_tags_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        t.text_tags(t.DESCRIPTION, "x," * 5000)


def test_a_text_field_edited_by_hand_reads_as_nothing() -> None:
    written = t.text_tags(t.DESCRIPTION, "\u00e9" * 300)
    del written[f"{t.DESCRIPTION}-2"]
    assert t.text_of(written, t.DESCRIPTION) is None
