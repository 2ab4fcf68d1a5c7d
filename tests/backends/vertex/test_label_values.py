"""Pinned values: live Vertex resources carry these labels, so a change to how
they are written or checked would make every live marker stop verifying (or,
for the fingerprint, re-tune every model). Each literal below was computed once
and is also recomputed here from its definition, without the codec."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from pathlib import Path

from reconciler.backends.vertex.labels import CHECK, SIGNATURE, LabelMarker, job_scope, model_scope
from reconciler.loader import load
from reconciler.model.ownership import DataParts, Ownership, ownership_for
from tests.backends.vertex.helpers import manifest, write_repo

OWNERSHIP = Ownership(source="0a1b2c3d", hyperparameters="4e5f6a7b", data="0123456789ab", examples=20, protect=True)
JOB = {
    "baseModel": "gemini-2.5-flash",
    "tunedModelDisplayName": "Numbers",
    "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/reconciler/datasets/abc.jsonl"},
}
MODEL = {"name": "projects/1/locations/us-central1/models/123@1", "versionId": "1"}
KEY = b"fixed-key"
OWNED = {
    "managed-by": "reconciler",
    "reconciler-id": "numbers",
    "reconciler-fp": "v1-0a1b2c3d-4e5f6a7b-0123456789ab",
    "reconciler-n": "20",
    "reconciler-protect": "true",
}


def by_definition(key: bytes | None, scope: str, owned: dict[str, str]) -> str:
    """docs/ownership.md: the scope, then each owned label `k=v` in key order."""
    message = (scope + "\n" + "\n".join(f"{k}={v}" for k, v in sorted(owned.items()))).encode("utf-8")
    if key is None:
        return hashlib.sha256(b"reconciler/labels/v1\n" + message).hexdigest()[:16]
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def test_the_scopes_are_pinned() -> None:
    assert job_scope(JOB) == (
        "tuningJob\nsource=gemini-2.5-flash\ntraining=gs://b/reconciler/datasets/abc.jsonl\n"
        "validation=\ndisplayName=Numbers"
    )
    # The publisher prefix and a version of the source name the same source.
    same = {**JOB, "baseModel": "publishers/google/models/gemini-2.5-flash"}
    assert job_scope(same) == job_scope(JOB)
    assert model_scope(MODEL) == "projects/1/locations/us-central1/models/123@1"
    assert model_scope({"name": "projects/1/locations/us-central1/models/123"}) == model_scope(MODEL)


def test_the_job_labels_are_pinned() -> None:
    owned = {**OWNED, "reconciler-attempt": "0badc0de"}
    unsigned = LabelMarker().labels("numbers", OWNERSHIP, job_scope(JOB), attempt="0badc0de")
    signed = LabelMarker([KEY]).labels("numbers", OWNERSHIP, job_scope(JOB), attempt="0badc0de")
    assert unsigned == {**owned, CHECK: "de83ac23f14d756a"}
    assert signed == {**owned, SIGNATURE: "5b89fb05cf34916a"}
    assert unsigned[CHECK] == by_definition(None, job_scope(JOB), owned)
    assert signed[SIGNATURE] == by_definition(KEY, job_scope(JOB), owned)


def test_the_model_labels_are_pinned() -> None:
    unsigned = LabelMarker().labels("numbers", OWNERSHIP, model_scope(MODEL))
    signed = LabelMarker([KEY]).labels("numbers", OWNERSHIP, model_scope(MODEL))
    assert unsigned == {**OWNED, CHECK: "ec9723570c026133"}
    assert signed == {**OWNED, SIGNATURE: "b6799fa3b3f36c9d"}
    assert signed[SIGNATURE] == by_definition(KEY, model_scope(MODEL), OWNED)


def test_a_signature_covers_the_resource_and_every_label() -> None:
    marker = LabelMarker([KEY])
    signed = marker.labels("numbers", OWNERSHIP, model_scope(MODEL))
    assert marker.read(signed, model_scope(MODEL)).ownership == OWNERSHIP
    moved = [
        model_scope({**MODEL, "name": "projects/1/locations/us-central1/models/124@1"}),
        model_scope({**MODEL, "versionId": "2"}),
        job_scope(JOB),
    ]
    assert all(marker.read(signed, scope).ownership is None for scope in moved)
    for label, value in (
        ("reconciler-id", "other"),
        ("reconciler-n", "21"),
        ("reconciler-protect", None),
        ("reconciler-orphan", "true"),
        ("reconciler-fp", "v1-0a1b2c3d-4e5f6a7b-0123456789ac"),
    ):
        edited = {k: v for k, v in {**signed, label: value}.items() if v is not None}
        assert marker.read(edited, model_scope(MODEL)).ownership is None, label
    job_signed = marker.labels("numbers", OWNERSHIP, job_scope(JOB))
    for field, value in (
        ("baseModel", "gemini-2.0-flash"),
        ("tunedModelDisplayName", "team-b"),
        ("supervisedTuningSpec", {"trainingDatasetUri": "gs://b/other.jsonl"}),
    ):
        assert marker.read(job_signed, job_scope({**JOB, field: value})).ownership is None, field


def test_the_fingerprint_with_validation_data_is_pinned(tmp_path: Path) -> None:
    """The data part covers the training and the validation digests together."""
    repo = write_repo(tmp_path, [manifest("numbers", validationData={"file": "../datasets/numbers.jsonl"})])
    result = load(repo, cwd=repo)
    assert result.desired is not None
    model = result.desired.by_id()["numbers"]
    ownership = ownership_for(model)
    assert (ownership.fingerprint, ownership.examples) == ("v1:de40daba.cbdb497b.e19fdd259334", 20)
    both = f"{model.dataset.digest}\nvalidation {model.validation.digest if model.validation else ''}"
    assert ownership.data == hashlib.sha256(both.encode("utf-8")).hexdigest()[:12]


def test_the_data_parts_label_is_pinned_and_a_marker_without_it_still_reads() -> None:
    """With validation data, reconciler-vdata records the training and the
    validation data apart; it is covered by the check value like every owned label."""
    with_parts = replace(
        OWNERSHIP, parts=DataParts(training="00112233aabb", validation="44556677ccdd", validation_examples=5)
    )
    owned = {**OWNED, "reconciler-vdata": "00112233aabb-44556677ccdd-5"}
    unsigned = LabelMarker().labels("numbers", with_parts, model_scope(MODEL))
    assert unsigned == {**owned, CHECK: by_definition(None, model_scope(MODEL), owned)}
    assert unsigned[CHECK] == "c7699419495543af"
    assert LabelMarker().read(unsigned, model_scope(MODEL)).ownership == with_parts
    edited = {**unsigned, "reconciler-vdata": "00112233aabb-44556677ccdd-6"}
    assert LabelMarker().read(edited, model_scope(MODEL)).ownership is None
    earlier = LabelMarker().labels("numbers", OWNERSHIP, model_scope(MODEL))
    read = LabelMarker().read(earlier, model_scope(MODEL)).ownership
    assert read is not None and read.parts is None
