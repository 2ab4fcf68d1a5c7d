"""Vertex ownership labels (reconciler/backends/vertex/labels.py) read back:
each reason a marker is not trusted, in its words; when a marker that verifies
is only legacy; which labels a reading needs and which values it refuses; and
what a job's and a Model's scope are made of.

Mutation testing (docs/mutation.md) found these unpinned: the other label
tests check the round trip and the pinned values, not every refusal."""

from __future__ import annotations

from dataclasses import replace

from reconciler.backends.vertex.labels import (
    CHECK,
    DATA_PARTS,
    OWNED,
    LabelMarker,
    Reading,
    evaluation_of,
    job_scope,
    model_scope,
    owned_labels,
)
from reconciler.model.ownership import DataParts, Ownership

OWN = Ownership(source="0a1b2c3d", hyperparameters="4e5f6a7b", data="0123456789ab", examples=20)
SCOPE = "projects/1/locations/us-central1/models/123@1"
OLD_SCOPE = "projects/1/locations/us-central1/models/123"
KEY, OTHER = b"k1", b"k2"


def test_every_owned_label_and_only_those_is_owned() -> None:
    assert {
        "managed-by",
        "reconciler-id",
        "reconciler-fp",
        "reconciler-n",
        "reconciler-vdata",
        "reconciler-attempt",
        "reconciler-chk",
        "reconciler-sig",
        "reconciler-orphan",
        "reconciler-protect",
        "reconciler-untested",
        "reconciler-eval",
        "reconciler-score",
        "reconciler-held",
    } == OWNED
    labels = {**LabelMarker().labels("numbers", OWN, SCOPE), "tune-type": "sft", "team": "ml"}
    assert set(owned_labels(labels)) == set(labels) - {"tune-type", "team"}


def test_each_flag_and_the_gate_result_are_written_only_when_set() -> None:
    flagged = replace(OWN, orphan=True, protect=True, untested=True)
    labels = LabelMarker().labels("numbers", flagged, SCOPE, attempt="", evaluation={"digest": "", "score": "0800"})
    assert {k: v for k, v in labels.items() if k != CHECK} == {
        "managed-by": "reconciler",
        "reconciler-id": "numbers",
        "reconciler-fp": "v1-0a1b2c3d-4e5f6a7b-0123456789ab",
        "reconciler-n": "20",
        "reconciler-orphan": "true",
        "reconciler-protect": "true",
        "reconciler-untested": "true",
        "reconciler-score": "0800",
    }
    assert LabelMarker().read(labels, SCOPE).ownership == flagged
    unknown = LabelMarker().labels("numbers", OWN, SCOPE, evaluation={"other": "x", "held": "true"})
    assert unknown["reconciler-held"] == "true" and "other" not in unknown


def test_the_reading_of_a_verified_marker_is_whole_and_current() -> None:
    labels = LabelMarker().labels("numbers", OWN, SCOPE)
    assert LabelMarker().read(labels, SCOPE) == Reading(OWN, "numbers")
    assert LabelMarker([KEY]).read(LabelMarker([KEY]).labels("numbers", OWN, SCOPE), SCOPE) == Reading(OWN, "numbers")


def test_a_marker_verifying_only_for_the_earlier_scope_is_legacy() -> None:
    for marker in (LabelMarker(), LabelMarker([KEY])):
        labels = marker.labels("numbers", OWN, OLD_SCOPE)
        reading = marker.read(labels, SCOPE, legacy_scope=OLD_SCOPE)
        assert reading == Reading(replace(OWN, legacy=True), "numbers")
        assert marker.read(labels, SCOPE).ownership is None  # without the earlier scope: nothing verifies


def test_an_unsigned_marker_while_a_key_is_given_is_legacy() -> None:
    labels = LabelMarker().labels("numbers", OWN, SCOPE)
    assert LabelMarker([KEY]).read(labels, SCOPE) == Reading(replace(OWN, legacy=True), "numbers")


def test_each_reason_a_marker_is_not_trusted_is_said_and_keeps_the_id() -> None:
    signed = LabelMarker([KEY]).labels("numbers", OWN, SCOPE)
    unsigned = LabelMarker().labels("numbers", OWN, SCOPE)
    assert LabelMarker().read(signed, SCOPE) == Reading(
        None,
        "numbers",
        "its labels are signed, and RECONCILER_OWNERSHIP_KEY is not set: give the plan the key that signed them",
    )
    assert LabelMarker([OTHER]).read(signed, SCOPE) == Reading(
        None,
        "numbers",
        "its label signature does not verify under the keys in RECONCILER_OWNERSHIP_KEY (copied, edited, or "
        "signed by a key no longer given)",
    )
    assert LabelMarker().read({k: v for k, v in unsigned.items() if k != CHECK}, SCOPE) == Reading(
        None, "numbers", "its labels carry no check value"
    )
    assert LabelMarker().read({**unsigned, CHECK: "0" * 16}, SCOPE) == Reading(
        None, "numbers", "its label check value does not verify (copied or edited)"
    )
    assert LabelMarker([OTHER, KEY]).read(signed, SCOPE).ownership == OWN  # any key verifies


def test_a_reading_says_when_a_key_is_what_it_lacks() -> None:
    signed = LabelMarker([KEY]).labels("numbers", OWN, SCOPE)
    assert LabelMarker().read(signed, SCOPE).about_keys
    assert LabelMarker([OTHER]).read(signed, SCOPE).about_keys
    assert not Reading(None, "numbers", "its labels carry no check value").about_keys
    assert not Reading(None, "numbers").about_keys
    assert Reading(None, "numbers").claims and not Reading(None).claims


def test_labels_not_managed_by_the_reconciler_are_no_claim() -> None:
    labels = LabelMarker().labels("numbers", OWN, SCOPE)
    assert LabelMarker().read({**labels, "managed-by": "someone"}, SCOPE) == Reading(None)
    assert LabelMarker().read({}, SCOPE) == Reading(None)


def test_malformed_markers_keep_their_id_and_say_so() -> None:
    labels = LabelMarker().labels("numbers", OWN, SCOPE)
    malformed = "its reconciler labels are malformed"
    cases = [
        {k: v for k, v in labels.items() if k != "reconciler-id"},
        {**labels, "reconciler-fp": "v2-0a1b2c3d-4e5f6a7b-0123456789ab"},
        {**labels, "reconciler-fp": "v1-0a1b2c3d-4e5f6a7b-0123456789a"},
        {**labels, "reconciler-n": "012"},
        {**labels, "reconciler-n": "1234567890"},
        {k: v for k, v in labels.items() if k != "reconciler-n"},
        {**labels, "reconciler-orphan": "false"},
        {**labels, DATA_PARTS: "0123456789ab-0123456789ab-01"},
        {**labels, DATA_PARTS: ""},
    ]
    for case in cases:
        reading = LabelMarker().read(case, SCOPE)
        assert (reading.ownership, reading.note) == (None, malformed), case
        assert reading.key == case.get("reconciler-id"), case
    assert LabelMarker().read({**labels, "reconciler-n": "0"}, SCOPE).note != malformed
    assert LabelMarker().read({**labels, "reconciler-n": "123456789"}, SCOPE).note != malformed


def test_the_data_parts_round_trip_with_their_counts() -> None:
    parts = DataParts(training="0123456789ab", validation="ba9876543210", validation_examples=0)
    for examples in (0, 7, 123456789):
        ownership = replace(OWN, parts=replace(parts, validation_examples=examples))
        labels = LabelMarker().labels("numbers", ownership, SCOPE)
        assert labels[DATA_PARTS] == f"0123456789ab-ba9876543210-{examples}"
        assert LabelMarker().read(labels, SCOPE).ownership == ownership


def test_the_gate_result_is_read_by_its_neutral_names_and_only_where_set() -> None:
    labels = {"reconciler-eval": "abc", "reconciler-score": "0800", "reconciler-held": "", "team": "x"}
    assert evaluation_of(labels) == {"digest": "abc", "score": "0800"}
    assert evaluation_of({}) == {}


def test_a_jobs_scope_names_what_it_tunes_from_and_into() -> None:
    job = {
        "baseModel": "ignored when continuing",
        "preTunedModel": {"tunedModelName": "projects/1/locations/l/models/9@3"},
        "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/t", "validationDatasetUri": "gs://b/v"},
        "tunedModelDisplayName": "Numbers",
    }
    assert job_scope(job) == (
        "tuningJob\nsource=projects/1/locations/l/models/9\ntraining=gs://b/t\nvalidation=gs://b/v\ndisplayName=Numbers"
    )
    assert job_scope({}) == "tuningJob\nsource=\ntraining=\nvalidation=\ndisplayName="


def test_a_models_scope_is_its_name_and_version_one_unless_it_says() -> None:
    assert model_scope({"name": "m@5", "versionId": "2"}) == "m@2"
    assert model_scope({"name": "m", "versionId": ""}) == "m@1"


def test_the_marker_never_shows_its_keys() -> None:
    assert repr(LabelMarker([KEY, OTHER])) == "LabelMarker(Signer(keys=2))"
