"""The description trailer: written, read back, stripped, adopted, and trusted
only when its check value verifies for the model it is on."""

from __future__ import annotations

import pytest
from plan_builders import desired_model

from reconciler.backends.gemini.trailer import UNKEYED, Marker, keys_from, strip_trailer
from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import ownership_for

DIGEST = "sha256:" + "ab" * 32
NAME = "tunedModels/numbers"
CREATED = "2024-05-01T10:00:00.123456Z"  # the live model's createTime, which the marker binds to


def model(description: str = "", **spec: object) -> DesiredModel:
    return desired_model({
        "id": "numbers", "spec": {"description": description, **spec},
        "dataset": {"examples": 42, "digest": DIGEST},
    })


def trailer_of(description: str) -> str:
    return description.rpartition("\n")[2]


@pytest.mark.parametrize("description", ["", "Counts.", "Two\n\nparagraphs.", "ends with newline\n",
                                         "Ünïcode ✓", "[managed-by: reconciler] in the text"])
def test_the_user_description_round_trips(description: str) -> None:
    written = UNKEYED.description(model(description), NAME, created=CREATED)
    assert strip_trailer(written) == description
    assert UNKEYED.read(written, NAME, CREATED).ownership == ownership_for(model(description))


def test_the_trailer_names_its_parts() -> None:
    written = UNKEYED.description(model(lifecycle={"preventDestroy": True, "deletionPolicy": "Orphan"}),
                                  NAME, untested=True, created=CREATED)
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


@pytest.mark.parametrize("edit", [
    lambda d: d.replace("Counts.", "Counts!"),            # the user's words
    lambda d: d.replace(" n=42", " n=43"),                # the example count
    lambda d: d.replace(" chk=", " protect chk="),        # a forged protect flag
    lambda d: d.replace("fp=v1:", "fp=v1:0") [:-1],       # a broken fingerprint
])
def test_a_marker_edited_by_hand_is_not_trusted(edit: object) -> None:
    written = UNKEYED.description(model("Counts."), NAME, created=CREATED)
    reading = UNKEYED.read(edit(written), NAME, CREATED)  # type: ignore[operator]
    assert reading.ownership is None and reading.note


@pytest.mark.parametrize("marker", [
    "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=٢٠]",   # Arabic-Indic digits
    "[managed-by: reconciler fp=v١:0123abcd.0123abcd.0123456789ab n=20]",
    "[managed-by: reconciler fp=v9:0123abcd.0123abcd.0123456789ab n=20]",   # an unknown version
    "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=20 sticky]",  # an unknown flag
    "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=20 protect orphan]",  # out of order
    "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=20 protect protect]",
    "[managed-by: reconciler fp=v1:0123abcd.0123abcd.0123456789ab n=020]",
])
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
