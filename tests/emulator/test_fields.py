"""Partial responses: the `fields` system parameter, `$fields` and X-Goog-FieldMask."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.emulator.errors import ApiError
from reconciler.emulator.fields import parse_mask
from reconciler.emulator.gemini.shapes import TUNED_MODEL
from tests.emulator.helpers import call, create, error_of

PARSED = [
    ("name", {"name": None}),
    ("name,description", {"name": None, "description": None}),
    (
        "tunedModels(name,description),nextPageToken",
        {"tunedModels": {"name": None, "description": None}, "nextPageToken": None},
    ),
    ("tunedModels/name", {"tunedModels": {"name": None}}),
    ("tunedModels.name", {"tunedModels": {"name": None}}),
    ("a/b(c,d/e),f", {"a": {"b": {"c": None, "d": {"e": None}}}, "f": None}),
    ("a(b(c(d)))", {"a": {"b": {"c": {"d": None}}}}),
    (" a , b ( c ) ", {"a": None, "b": {"c": None}}),
    ("a(b),a(c)", {"a": {"b": None, "c": None}}),
    ("a(b),a", {"a": None}),
    ("a,a/b", {"a": None}),
    ("tuned_models(display_name)", {"tunedModels": {"displayName": None}}),
    ("*", {"*": None}),
    ("metadata/@type", {"metadata": {"@type": None}}),
]


@pytest.mark.parametrize(("text", "selection"), PARSED)
def test_grammar(text: str, selection: dict[str, Any]) -> None:
    assert parse_mask(text).selection == selection


@pytest.mark.parametrize(
    "text", ["", ",", "a,", "a(", "a()", "a(b", "a)b", "a/", "/a", "a//b", "a(b))", "a b", "a-b", "(a)", "a/(b)"]
)
def test_malformed_masks_are_refused(text: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_mask(text)
    assert raised.value.status == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("nmae", "nmae"),
        ("tuningTask(snapshot)", "tuningTask/snapshot"),
        ("tuningTask/snapshots/loss", "tuningTask/snapshots/loss"),
        ("name(first)", "name/first"),  # a scalar has no fields
    ],
)
def test_a_field_that_does_not_exist_is_an_error(text: str, named: str) -> None:
    with pytest.raises(ApiError) as raised:
        parse_mask(text, TUNED_MODEL)
    assert raised.value.message == f"Invalid field selection {named}"


def test_selects_answers_for_nested_paths() -> None:
    mask = parse_mask("tunedModels(name,tuningTask/hyperparameters),nextPageToken")
    assert mask.selects("tunedModels", "name")
    assert mask.selects("tunedModels", "tuningTask")  # something under it is kept
    assert mask.selects("tunedModels", "tuningTask", "hyperparameters", "epochCount")
    assert not mask.selects("tunedModels", "tuningTask", "snapshots")
    assert not mask.selects("tunedModels", "description")
    assert parse_mask("*").selects("tunedModels", "tuningTask", "snapshots")


def test_list_keeps_only_the_selection(emulator: EmulatorServer) -> None:
    create(emulator.url, "one", description="first")
    create(emulator.url, "two", description="second")
    response = call(
        emulator.url,
        "GET",
        "v1beta/tunedModels",
        pageSize=1,
        fields="tunedModels(name,description,tuningTask/hyperparameters),nextPageToken",
    )
    page = response.json()
    assert response.status_code == 200
    assert set(page) == {"tunedModels", "nextPageToken"}
    assert page["tunedModels"] == [
        {
            "name": "tunedModels/one",
            "description": "first",
            "tuningTask": {"hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}},
        }
    ]


def test_dollar_fields_and_the_header_mean_the_same(emulator: EmulatorServer) -> None:
    create(emulator.url)
    path = f"{emulator.url}/v1beta/tunedModels/number-generator"
    by_param = call(emulator.url, "GET", "v1beta/tunedModels/number-generator", **{"$fields": "name,state"})
    by_header = requests.get(path, headers={"X-Goog-FieldMask": "name,state"}, timeout=10)
    assert by_param.json() == by_header.json() == {"name": "tunedModels/number-generator", "state": "ACTIVE"}


def test_an_unknown_field_is_a_400_and_changes_nothing(emulator: EmulatorServer) -> None:
    response = call(
        emulator.url,
        "POST",
        "v1beta/tunedModels",
        {"baseModel": "models/x"},
        tunedModelId="never",
        fields="name,metadata/nope",
    )
    assert response.status_code == 400
    assert error_of(response)["message"] == "Invalid field selection metadata/nope"
    assert call(emulator.url, "GET", "v1beta/tunedModels/never").status_code == 404


def test_errors_are_never_masked(emulator: EmulatorServer) -> None:
    response = call(emulator.url, "GET", "v1beta/tunedModels/absent", fields="name")
    assert response.status_code == 404
    assert set(error_of(response)) >= {"code", "message", "status"}


def test_operation_snapshots_can_be_left_out(emulator: EmulatorServer) -> None:
    operation = create(emulator.url)
    name = operation["name"]
    response = call(emulator.url, "GET", f"v1beta/{name}", fields="done,metadata(completedSteps,totalSteps)")
    assert response.json() == {"done": True, "metadata": {"completedSteps": 25, "totalSteps": 25}}


# Every path of the TunedModel message, for masks drawn at random.
def _paths(shape: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, sub in shape.items():
        if name == "*":
            continue
        found.append((*prefix, name))
        if sub:
            found += _paths(sub, (*prefix, name))
    return found


MODEL_PATHS = _paths(TUNED_MODEL)


def _within(value: Any, mask: Any, where: str = "") -> None:
    """Every key of `value` is one the mask selects."""
    if mask is None:
        return
    if isinstance(value, list):
        for item in value:
            _within(item, mask, where)
        return
    assert isinstance(value, dict), where
    for key, item in value.items():
        assert key in mask, f"{where}/{key} is outside the mask"
        _within(item, mask[key], f"{where}/{key}")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(MODEL_PATHS), min_size=1, max_size=4))
def test_a_field_outside_the_mask_never_appears(shared_emulator: EmulatorServer, paths: list[tuple[str, ...]]) -> None:
    text = ",".join("/".join(path) for path in paths)
    mask = parse_mask(text).selection
    listed = call(shared_emulator.url, "GET", "v1beta/tunedModels", fields=f"tunedModels({text})").json()
    _within(listed, {"tunedModels": mask})
    got = call(shared_emulator.url, "GET", "v1beta/tunedModels/listed", fields=text).json()
    _within(got, mask)
    assert ("name" in got) == any(path[0] == "name" for path in paths)


@pytest.fixture(scope="module")
def shared_emulator() -> Any:
    server = EmulatorServer(EmulatorOptions(step_seconds=0)).start()
    create(server.url, "listed", description="kept", temperature=0.3, readerProjectNumbers=["7"])
    yield server
    server.stop()


def test_other_surfaces_get_the_mask_as_a_filter(emulator: EmulatorServer) -> None:
    created = requests.post(
        f"{emulator.url}/storage/v1/b", params={"project": "p"}, json={"name": "masked"}, timeout=10
    )
    assert created.status_code == 200, created.text
    answer = requests.get(f"{emulator.url}/storage/v1/b/masked", params={"fields": "name,nonesuch"}, timeout=10)
    assert answer.status_code == 200  # no declared shape here: unknown names select nothing
    assert answer.json() == {"name": "masked"}
