"""Ownership labels: written, read back, bound to the resource's name, signed
with RECONCILER_OWNERSHIP_KEY, and merged without losing anyone else's labels."""

from __future__ import annotations

from reconciler.backends.vertex.labels import CHECK, SIGNATURE, LabelMarker
from reconciler.model.ownership import Ownership

OWNERSHIP = Ownership(source="0a1b2c3d", hyperparameters="4e5f6a7b", data="0123456789ab", examples=20, protect=True)
MODEL = "projects/1/locations/us-central1/models/123"
OTHER = "projects/1/locations/us-central1/models/456"


def test_labels_round_trip() -> None:
    marker = LabelMarker()
    labels = marker.labels("numbers", OWNERSHIP, MODEL)
    assert labels["reconciler-fp"] == "v1-0a1b2c3d-4e5f6a7b-0123456789ab"
    assert labels["reconciler-protect"] == "true" and "reconciler-orphan" not in labels
    reading = marker.read(labels, MODEL)
    assert reading.ownership == OWNERSHIP and reading.key == "numbers"
    assert all(len(v) <= 63 and "." not in v and ":" not in v for v in labels.values())


def test_labels_copied_to_another_model_or_edited_do_not_verify() -> None:
    marker = LabelMarker()
    labels = marker.labels("numbers", OWNERSHIP, MODEL)
    assert marker.read(labels, OTHER).ownership is None
    edited = {**labels, "reconciler-orphan": "true"}
    reading = marker.read(edited, MODEL)
    assert reading.ownership is None and "does not verify" in (reading.note or "")
    assert marker.read({k: v for k, v in labels.items() if k != CHECK}, MODEL).ownership is None


def test_signed_labels_need_a_key_that_signed_them() -> None:
    signer = LabelMarker([b"old", b"new"])
    labels = signer.labels("numbers", OWNERSHIP, MODEL)
    assert SIGNATURE in labels and CHECK not in labels
    assert LabelMarker([b"new", b"old"]).read(labels, MODEL).ownership == OWNERSHIP  # rotation
    assert LabelMarker([b"other"]).read(labels, MODEL).ownership is None
    assert "not set" in (LabelMarker().read(labels, MODEL).note or "")
    unsigned = LabelMarker().labels("numbers", OWNERSHIP, MODEL)
    # A key wants signatures: an unsigned marker is legacy (trusted only where
    # that destroys nothing, and re-signed when it matches its manifest).
    legacy = LabelMarker([b"new"]).read(unsigned, MODEL).ownership
    assert legacy is not None and legacy.legacy


def test_a_check_value_label_in_another_script_does_not_verify_and_does_not_crash() -> None:
    """Label values may hold international characters: one where a check value
    belongs is read as not verifying (the comparison once raised TypeError,
    failing the whole observe)."""
    for marker, label in ((LabelMarker(), CHECK), (LabelMarker([b"key"]), SIGNATURE)):
        labels = marker.labels("numbers", OWNERSHIP, MODEL)
        reading = marker.read({**labels, label: "é" * 16}, MODEL)
        assert reading.ownership is None and "does not verify" in (reading.note or "")


def test_a_labels_merge_keeps_every_label_it_does_not_own() -> None:
    marker = LabelMarker()
    live = {
        "tune-type": "sft",
        "google-vertex-llm-tuning-base-model-id": "gemini-2_5-flash",
        "team": "ml",
        "reconciler-orphan": "true",
        "managed-by": "reconciler",
    }
    merged = marker.merged(live, marker.labels("numbers", OWNERSHIP, MODEL))
    assert merged["tune-type"] == "sft" and merged["team"] == "ml"
    assert merged["google-vertex-llm-tuning-base-model-id"] == "gemini-2_5-flash"
    assert "reconciler-orphan" not in merged  # owned: rewritten
    assert marker.merged(live, {}) == {
        "tune-type": "sft",
        "google-vertex-llm-tuning-base-model-id": "gemini-2_5-flash",
        "team": "ml",
    }


def test_malformed_labels_are_unmanaged_with_a_note() -> None:
    marker = LabelMarker()
    labels = {**marker.labels("numbers", OWNERSHIP, MODEL), "reconciler-n": "٢٠"}
    reading = marker.read(labels, MODEL)
    assert reading.ownership is None and reading.note == "its reconciler labels are malformed"
    assert marker.read({"team": "ml"}, MODEL).ownership is None
