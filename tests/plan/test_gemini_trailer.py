"""The description trailer: written, read back, stripped and adopted."""

from __future__ import annotations

import pytest
from plan_builders import desired_model

from reconciler.backends.gemini.trailer import (
    adopted_description,
    description_with_trailer,
    parse_ownership,
    strip_trailer,
    trailer,
)
from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import ownership_for

DIGEST = "sha256:" + "ab" * 32


def model(description: str = "", **spec: object) -> DesiredModel:
    return desired_model({
        "id": "numbers", "spec": {"description": description, **spec},
        "dataset": {"examples": 42, "digest": DIGEST},
    })


@pytest.mark.parametrize("description", ["", "Counts.", "Two\n\nparagraphs.", "ends with newline\n",
                                         "[managed-by: reconciler fp=v1:x]", "  spaced  "])
def test_the_user_description_round_trips(description: str) -> None:
    written = description_with_trailer(model(description))
    assert strip_trailer(written) == description
    assert parse_ownership(written) == ownership_for(model(description))


def test_the_trailer_names_its_parts() -> None:
    marker = trailer(ownership_for(model(lifecycle={"preventDestroy": True, "deletionPolicy": "Orphan"})))
    assert marker.startswith("[managed-by: reconciler fp=v1:")
    assert marker.endswith(f".{'ab' * 6} n=42 orphan protect]")
    ownership = parse_ownership("Text.\n\n" + marker)
    assert ownership is not None and ownership.orphan and ownership.protect


def test_without_a_user_description_the_description_is_the_trailer_alone() -> None:
    assert description_with_trailer(model()) == trailer(ownership_for(model()))
    assert adopted_description(model(), "") == trailer(ownership_for(model()))


def test_the_fingerprint_version_is_read_back() -> None:
    # A trailer from a later fingerprint scheme must not pass for a v1 one.
    marker = trailer(ownership_for(model())).replace("fp=v1:", "fp=v2:")
    ownership = parse_ownership(marker)
    assert ownership is not None
    assert ownership.version == "v2"
    assert ownership.fingerprint.startswith("v2:")


def test_a_description_without_a_trailer_is_unmanaged() -> None:
    assert parse_ownership("Made by hand.") is None
    assert parse_ownership("") is None
    assert strip_trailer("Made by hand.") == "Made by hand."


def test_a_trailer_glued_to_text_is_not_ours() -> None:
    marker = trailer(ownership_for(model()))
    assert parse_ownership("Text.\n" + marker) is None
    assert parse_ownership("Text. " + marker) is None


def test_the_trailer_must_be_last() -> None:
    assert parse_ownership(description_with_trailer(model()) + "\n\nMore words.") is None


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
    adopted = adopted_description(model("Something else."), "Made in AI Studio.")
    assert strip_trailer(adopted) == "Made in AI Studio."
    assert parse_ownership(adopted) == ownership_for(model())


def test_adopting_a_managed_model_replaces_its_trailer() -> None:
    old = desired_model({"id": "numbers", "dataset": {"examples": 1}})
    adopted = adopted_description(model(), description_with_trailer(old))
    assert adopted.count("[managed-by") == 1
    assert parse_ownership(adopted) == ownership_for(model())
