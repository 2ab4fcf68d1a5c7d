"""The description trailer: written, read back, stripped, adopted, and trusted
only when its check value verifies for the model it is on."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from reconciler.backends.gemini.trailer import UNKEYED, Marker, Reading, strip_trailer
from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import ownership_for
from reconciler.model.signing import keys_from
from tests.plan.plan_builders import desired_model

DIGEST = "sha256:" + "ab" * 32
NAME = "tunedModels/numbers"
CREATED = "2024-05-01T10:00:00.123456Z"  # the live model's createTime, which the marker binds to


def model(description: str = "", **spec: object) -> DesiredModel:
    return desired_model(
        {
            "id": "numbers",
            "spec": {"description": description, **spec},
            "dataset": {"examples": 42, "digest": DIGEST},
        }
    )


def trailer_of(description: str) -> str:
    return description.rpartition("\n")[2]


@pytest.mark.parametrize(
    "description",
    ["", "Counts.", "Two\n\nparagraphs.", "ends with newline\n", "Ünïcode ✓", "[managed-by: reconciler] in the text"],
)
def test_the_user_description_round_trips(description: str) -> None:
    written = UNKEYED.description(model(description), NAME, created=CREATED)
    assert strip_trailer(written) == description
    assert UNKEYED.read(written, NAME, CREATED).ownership == ownership_for(model(description))


def test_the_trailer_names_its_parts() -> None:
    written = UNKEYED.description(
        model(lifecycle={"preventDestroy": True, "deletionPolicy": "Orphan"}), NAME, untested=True, created=CREATED
    )
    marker = trailer_of(written)
    assert marker.startswith("[managed-by: reconciler fp=v1:")
    assert f".{'ab' * 6} n=42 orphan protect untested at={CREATED} chk=" in marker
    ownership = UNKEYED.read(written, NAME, CREATED).ownership
    assert ownership is not None and ownership.orphan and ownership.protect and ownership.untested


def test_without_a_user_description_the_description_is_the_trailer_alone() -> None:
    written = UNKEYED.description(model(), NAME, created=CREATED)
    assert "\n" not in written and written.startswith("[managed-by: reconciler ")
    assert UNKEYED.adopted(model(), NAME, "", CREATED) == written


def test_a_marker_of_another_fingerprint_scheme_is_not_taken_for_v1() -> None:
    written = UNKEYED.description(model(), NAME, created=CREATED).replace("fp=v1:", "fp=v2:")
    reading = UNKEYED.read(written, NAME, CREATED)
    assert reading.ownership is None and "malformed" in (reading.note or "")


def test_a_description_without_a_trailer_is_unmanaged() -> None:
    assert UNKEYED.read("Made by hand.", NAME, CREATED).ownership is None
    assert UNKEYED.read("", NAME, CREATED).ownership is None
    assert UNKEYED.read("Made by hand.", NAME, CREATED).note is None
    assert strip_trailer("Made by hand.") == "Made by hand."


def test_a_trailer_glued_to_text_is_not_ours() -> None:
    marker = trailer_of(UNKEYED.description(model(), NAME, created=CREATED))
    assert UNKEYED.read("Text.\n" + marker, NAME, CREATED).ownership is None
    assert UNKEYED.read("Text. " + marker, NAME, CREATED).ownership is None
    followed = UNKEYED.description(model(), NAME, created=CREATED) + "\n\nMore words."
    assert UNKEYED.read(followed, NAME, CREATED).ownership is None


def test_a_marker_copied_onto_another_model_does_not_verify() -> None:
    written = UNKEYED.description(model("Counts."), NAME, created=CREATED)
    reading = UNKEYED.read(written, "tunedModels/hand-made")
    assert reading.ownership is None
    assert "does not verify" in (reading.note or "")


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.replace("Counts.", "Counts!"),  # the user's words
        lambda d: d.replace(" n=42", " n=43"),  # the example count
        lambda d: d.replace(" chk=", " protect chk="),  # a forged protect flag
        lambda d: d.replace("fp=v1:", "fp=v1:0")[:-1],  # a broken fingerprint
    ],
)
def test_a_marker_edited_by_hand_is_not_trusted(edit: object) -> None:
    written = UNKEYED.description(model("Counts."), NAME, created=CREATED)
    reading = UNKEYED.read(edit(written), NAME, CREATED)  # type: ignore[operator]
    assert reading.ownership is None and reading.note


@pytest.mark.parametrize(
    "marker",
    [
        "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=٢٠]",  # Arabic-Indic digits
        "[managed-by: reconciler fp=v١:0123abcd.0123abcd.0123456789ab n=20]",
        "[managed-by: reconciler fp=v9:0123abcd.0123abcd.0123456789ab n=20]",  # an unknown version
        "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=20 sticky]",  # an unknown flag
        "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=20 protect orphan]",  # out of order
        "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=20 protect protect]",
        "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=020]",
    ],
)
def test_strict_parsing_refuses_what_the_reconciler_never_writes(marker: str) -> None:
    reading = UNKEYED.read("Text.\n\n" + marker, NAME, CREATED)
    assert reading.ownership is None
    assert "malformed" in (reading.note or "")


def test_a_marker_without_a_check_value_is_legacy() -> None:
    legacy = "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=20 protect]"
    ownership = UNKEYED.read("Text.\n\n" + legacy, NAME, CREATED).ownership
    assert ownership is not None and ownership.legacy and ownership.protect


def test_signed_markers_verify_with_any_key_and_need_one() -> None:
    signer = Marker([b"new-key", b"old-key"])
    written = signer.description(model(), NAME, created=CREATED)
    assert " sig=" in trailer_of(written)
    assert signer.read(written, NAME, CREATED).ownership == ownership_for(model())
    rotated = Marker([b"newer-key", b"new-key"])  # the first signs, all verify
    assert rotated.read(written, NAME, CREATED).ownership == ownership_for(model())
    assert Marker([b"another"]).read(written, NAME, CREATED).ownership is None
    unkeyed = UNKEYED.read(written, NAME, CREATED)
    assert unkeyed.ownership is None and "RECONCILER_OWNERSHIP_KEY" in (unkeyed.note or "")


def test_with_a_key_an_unsigned_marker_is_only_legacy() -> None:
    written = UNKEYED.description(model(), NAME, created=CREATED)
    ownership = Marker([b"key"]).read(written, NAME, CREATED).ownership
    assert ownership is not None and ownership.legacy


def test_keys_come_from_the_environment_and_never_show() -> None:
    keys = keys_from({"RECONCILER_OWNERSHIP_KEY": " first, second third "})
    assert keys == (b"first", b"second", b"third")
    assert "first" not in repr(Marker(keys))
    assert keys_from({}) == ()


def test_each_input_changes_its_own_part() -> None:
    base = ownership_for(model())
    hyper = ownership_for(model(hyperparameters={"epochCount": 7}))
    source = ownership_for(model(baseModel="models/gemini-1.0-pro-001"))
    assert (hyper.source, hyper.data) == (base.source, base.data)
    assert hyper.hyperparameters != base.hyperparameters
    assert (source.hyperparameters, source.data) == (base.hyperparameters, base.data)
    assert source.source != base.source


def test_mutable_fields_do_not_change_the_fingerprint() -> None:
    changed = model("Other words.", displayName="Other", generation={"temperature": 0.1})
    assert ownership_for(changed).inputs == ownership_for(model()).inputs


def test_adopt_keeps_the_live_description_and_adds_the_manifest_trailer() -> None:
    adopted = UNKEYED.adopted(model("Something else."), NAME, "Made in AI Studio.", CREATED)
    assert strip_trailer(adopted) == "Made in AI Studio."
    assert UNKEYED.read(adopted, NAME, CREATED).ownership == ownership_for(model())


def test_adopting_a_managed_model_replaces_its_trailer() -> None:
    old = desired_model({"id": "numbers", "dataset": {"examples": 1}})
    adopted = UNKEYED.adopted(model(), NAME, UNKEYED.description(old, NAME, created=CREATED), CREATED)
    assert adopted.count("[managed-by") == 1
    assert UNKEYED.read(adopted, NAME, CREATED).ownership == ownership_for(model())


# --- pinned values: an upgrade that changes them would unmanage every live model ---------

GOLDEN_KEY = b"golden-key"
GOLDEN_USER_PART = "Counts.\n\n"
GOLDEN_BODY = "[managed-by: reconciler fp=v1:60fd6d98.44136fa3.abababababab n=42 protect at=2024-05-01T10:00:00.123456Z"


def golden_model() -> DesiredModel:
    return model("Counts.", lifecycle={"preventDestroy": True})


def test_the_unsigned_trailer_is_pinned() -> None:
    written = UNKEYED.description(golden_model(), NAME, created=CREATED)
    assert written == GOLDEN_USER_PART + GOLDEN_BODY + " chk=a3d0517f149711dd]"


def test_the_signed_trailer_is_pinned() -> None:
    written = Marker([GOLDEN_KEY]).description(golden_model(), NAME, created=CREATED)
    assert written == GOLDEN_USER_PART + GOLDEN_BODY + " sig=7f69a893f95d3751]"


def test_the_check_values_are_the_documented_digests() -> None:
    """What docs/ownership.md says they are, computed here without the codec."""
    message = "\x00".join(("reconciler-marker/1", NAME, "Counts.", GOLDEN_BODY)).encode()
    assert hashlib.sha256(message).hexdigest()[:16] == "a3d0517f149711dd"
    assert hmac.new(GOLDEN_KEY, message, hashlib.sha256).hexdigest()[:16] == "7f69a893f95d3751"


def test_a_marker_from_before_the_binding_is_pinned_too() -> None:
    """What the create sends (and what older reconcilers wrote): no `at=`, the same digests."""
    written = UNKEYED.description(golden_model(), NAME)
    assert written == GOLDEN_USER_PART + GOLDEN_BODY.replace(f" at={CREATED}", "") + " chk=c3f125f4faf6b294]"


# --- a check value covers what it signs -------------------------------------------------

SIGNER = Marker([GOLDEN_KEY])
OTHER_NAME = "tunedModels/other"
OTHER_CREATED = "2024-05-02T11:30:00.654321Z"


@pytest.mark.parametrize(
    ("name", "created"),
    [
        (OTHER_NAME, CREATED),  # another id
        (NAME, OTHER_CREATED),  # the same id, made again
        (OTHER_NAME, OTHER_CREATED),  # another model altogether
    ],
)
@pytest.mark.parametrize("marker", [UNKEYED, SIGNER], ids=["chk", "sig"])
def test_a_marker_moved_to_another_model_does_not_verify(marker: Marker, name: str, created: str) -> None:
    written = marker.description(golden_model(), NAME, created=CREATED)
    reading = marker.read(written, name, created)
    assert reading.ownership is None and reading.note


def test_a_marker_copied_onto_a_model_made_again_says_so() -> None:
    written = SIGNER.description(golden_model(), NAME, created=CREATED)
    note = SIGNER.read(written, NAME, OTHER_CREATED).note or ""
    assert f"belongs to a model created at {CREATED}" in note
    assert f"created at {OTHER_CREATED}" in note and "made again at this id" in note


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.replace("Counts.", "Counts!"),  # the user's words
        lambda d: d.replace(".abababababab", ".abababababac"),  # the fingerprint
        lambda d: d.replace(" n=42", " n=43"),  # the example count
        lambda d: d.replace(" protect", ""),  # a flag removed
        lambda d: d.replace(" protect", " orphan protect"),  # a flag added
        lambda d: d.replace(f" at={CREATED}", f" at={OTHER_CREATED}"),  # the binding
        lambda d: d.replace(f" at={CREATED}", ""),  # the binding removed
    ],
    ids=["user-part", "fingerprint", "examples", "flag-removed", "flag-added", "binding", "binding-removed"],
)
def test_one_field_edited_fails_under_a_key(edit: Any) -> None:
    written = SIGNER.description(golden_model(), NAME, created=CREATED)
    moved_time = OTHER_CREATED if OTHER_CREATED in edit(written) else CREATED  # the live time it claims
    reading = SIGNER.read(edit(written), NAME, moved_time)
    assert reading.ownership is None
    assert "not signed by any RECONCILER_OWNERSHIP_KEY given" in (reading.note or "")


# --- the binding ----------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["2024-05-01T10:00:00.123456Z", "2024-05-01T10:00:00.123456000Z"])
def test_one_time_in_any_precision_binds_the_same(spelling: str) -> None:
    written = UNKEYED.description(model(), NAME, created=spelling)
    assert f" at={CREATED} " in written
    assert UNKEYED.read(written, NAME, "2024-05-01T10:00:00.1234560Z").ownership == ownership_for(model())


def test_whole_seconds_bind_without_a_fraction() -> None:
    written = UNKEYED.description(model(), NAME, created="2024-05-01T10:00:00.000Z")
    assert " at=2024-05-01T10:00:00Z " in written
    assert UNKEYED.read(written, NAME, "2024-05-01T10:00:00Z").ownership == ownership_for(model())


@pytest.mark.parametrize(
    "at",
    [
        "2024-05-01T10:00:00.1234560Z",
        "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00+00:00",
        "2024-05-01 10:00:00Z",
        "٢٠٢٤-05-01T10:00:00Z",
    ],
)
def test_a_binding_in_another_spelling_is_malformed(at: str) -> None:
    marker = f"[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=20 at={at} chk=0123456789abcdef]"
    reading = UNKEYED.read("Text.\n\n" + marker, NAME, CREATED)
    assert reading.ownership is None and "malformed" in (reading.note or "")


@pytest.mark.parametrize("live_time", ["", "yesterday", "2024-05-01T10:00:00.123456\x1b[2JZ"])
def test_a_bound_marker_on_a_model_without_a_readable_create_time_does_not_verify(live_time: str) -> None:
    written = SIGNER.description(model(), NAME, created=CREATED)
    reading = SIGNER.read(written, NAME, live_time)
    assert reading.ownership is None
    assert "created at an unknown time" in (reading.note or "") and "\x1b" not in (reading.note or "")


@pytest.mark.parametrize("marker", [UNKEYED, SIGNER], ids=["chk", "sig"])
def test_an_unbound_marker_is_trusted_only_where_nothing_is_destroyed(marker: Marker) -> None:
    """What the create sends and older reconcilers wrote: it could be a copy from
    an earlier model at this id."""
    reading = marker.read(marker.description(model(), NAME), NAME, CREATED)
    assert reading.ownership is not None and reading.ownership.legacy
    assert "not bound to this model's createTime" in (reading.note or "")


def test_with_a_key_an_unsigned_marker_says_why_it_is_not_trusted() -> None:
    written = UNKEYED.description(model(), NAME, created=CREATED)
    reading = Marker([b"key"]).read(written, NAME, CREATED)
    assert reading.ownership is not None and reading.ownership.legacy
    assert reading.note == (
        "its ownership marker is unsigned (chk=, not sig=) although RECONCILER_OWNERSHIP_KEY "
        "is set, so anyone could have written it"
    )


def test_a_bound_marker_is_trusted_in_full() -> None:
    for marker in (UNKEYED, SIGNER):
        reading = marker.read(marker.description(model(), NAME, created=CREATED), NAME, CREATED)
        assert reading == Reading(ownership_for(model()))
