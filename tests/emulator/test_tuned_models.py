"""Tuned models over plain HTTP: the rules of create, get, list, patch, delete,
and the proto3 JSON wire format."""

from __future__ import annotations

import pytest

from reconciler.emulator import EmulatorServer
from tests.emulator.helpers import BASE, call, create, error_of, model_body


def test_get_returns_what_create_made(emulator: EmulatorServer) -> None:
    create(emulator.url, description="Counts.", temperature=0.5, readerProjectNumbers=["123"])
    model = call(emulator.url, "GET", "v1beta/tunedModels/number-generator").json()
    assert model["name"] == "tunedModels/number-generator"
    assert model["description"] == "Counts."
    assert model["temperature"] == 0.5
    assert (model["topP"], model["topK"]) == (0.95, 64)  # base model defaults
    assert model["readerProjectNumbers"] == ["123"]  # int64 as strings
    assert model["tuningTask"]["hyperparameters"] == {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}
    assert model["createTime"].endswith("Z")


def test_missing_hyperparameters_get_the_defaults(emulator: EmulatorServer) -> None:
    body = model_body()
    del body["tuningTask"]["hyperparameters"]
    call(emulator.url, "POST", "v1beta/tunedModels", body, tunedModelId="defaults")
    model = call(emulator.url, "GET", "v1beta/tunedModels/defaults").json()
    assert model["tuningTask"]["hyperparameters"] == {"epochCount": 5, "batchSize": 4, "learningRate": 0.001}


def test_generated_id_comes_from_the_display_name(emulator: EmulatorServer) -> None:
    operation = create(emulator.url, model_id=None, displayName="test_number generator")
    model_id = operation["metadata"]["tunedModel"].removeprefix("tunedModels/")
    stem, _, suffix = model_id.rpartition("-")
    assert stem == "testnumber-generator"
    assert len(suffix) == 12 and suffix.isalnum()


def test_taken_id_is_409(emulator: EmulatorServer) -> None:
    create(emulator.url)
    response = call(emulator.url, "POST", "v1beta/tunedModels", model_body(), tunedModelId="number-generator")
    assert response.status_code == 409
    assert error_of(response)["status"] == "ALREADY_EXISTS"


def test_missing_model_message_is_the_real_one(emulator: EmulatorServer) -> None:
    response = call(emulator.url, "GET", "v1beta/tunedModels/gone")
    assert response.status_code == 404
    assert error_of(response) == {
        "code": 404,
        "status": "NOT_FOUND",
        "message": "Tuned model tunedModels/gone does not exist.",
    }


@pytest.mark.parametrize(
    ("change", "params", "expected"),
    [
        ({}, {"tunedModelId": "Bad_Id"}, "tuned_model_id"),
        ({}, {"tunedModelId": "a" * 41}, "tuned_model_id"),
        ({}, {"tunedModelId": "ends-with-"}, "tuned_model_id"),
        ({"displayName": "x" * 41}, {}, "display_name"),
        ({"baseModel": "models/nope"}, {}, "does not exist"),
        ({"baseModel": "models/gemini-1.5-flash-001"}, {}, "does not support tuning"),
        ({"tuningTask": {}}, {}, "Training data is required"),
        ({"tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1"}]}}}}, {}, "output is required"),
        (
            {
                "tuningTask": {
                    "trainingData": {"examples": {"examples": [{"output": "1"}]}},
                    "hyperparameters": {"learningRate": 0.1, "learningRateMultiplier": 1.0},
                }
            },
            {},
            "Multiple values for oneof",
        ),
        (
            {
                "tuningTask": {
                    "trainingData": {"examples": {"examples": [{"output": "1"}]}},
                    "hyperparameters": {"epochCount": 0},
                }
            },
            {},
            "must be positive",
        ),
        ({"temperature": 3.0}, {}, "temperature"),
        ({"tunedModelSource": {"tunedModel": "tunedModels/x"}}, {}, "oneof"),
        ({"colour": "blue"}, {}, 'Unknown name "colour"'),
        ({"temperature": "hot"}, {}, "Invalid value at 'tuned_model.temperature'"),
    ],
)
def test_create_rules(
    emulator: EmulatorServer,
    change: dict,
    params: dict,  # type: ignore[type-arg]
    expected: str,
) -> None:
    response = call(emulator.url, "POST", "v1beta/tunedModels", model_body(**change), **params)
    assert response.status_code in (400, 404), response.text
    assert expected in error_of(response)["message"]


def test_tuning_from_a_tuned_model(emulator: EmulatorServer) -> None:
    create(emulator.url)
    body = model_body()
    del body["baseModel"]
    body["tunedModelSource"] = {"tunedModel": "tunedModels/number-generator"}
    response = call(emulator.url, "POST", "v1beta/tunedModels", body, tunedModelId="child")
    assert response.status_code == 200, response.text
    child = call(emulator.url, "GET", "v1beta/tunedModels/child").json()
    assert child["tunedModelSource"] == {"tunedModel": "tunedModels/number-generator", "baseModel": BASE}
    assert "baseModel" not in child


def test_patch_with_mask_changes_only_masked_fields(emulator: EmulatorServer) -> None:
    create(emulator.url, description="old")
    response = call(
        emulator.url,
        "PATCH",
        "v1beta/tunedModels/number-generator",
        {"description": "new", "displayName": "Ignored"},
        updateMask="description",
    )
    assert response.status_code == 200, response.text
    model = call(emulator.url, "GET", "v1beta/tunedModels/number-generator").json()
    assert (model["description"], model["displayName"]) == ("new", "Number generator")


def test_patch_without_mask_changes_fields_in_body(emulator: EmulatorServer) -> None:
    create(emulator.url)
    call(emulator.url, "PATCH", "v1beta/tunedModels/number-generator", {"displayName": "Renamed", "top_k": 3})
    model = call(emulator.url, "GET", "v1beta/tunedModels/number-generator").json()
    assert (model["displayName"], model["topK"], model["topP"]) == ("Renamed", 3, 0.95)


@pytest.mark.parametrize("mask", ["baseModel", "tuning_task.hyperparameters", "state", "nope"])
def test_patch_rejects_immutable_and_unknown_paths(emulator: EmulatorServer, mask: str) -> None:
    create(emulator.url)
    response = call(emulator.url, "PATCH", "v1beta/tunedModels/number-generator", {"baseModel": BASE}, updateMask=mask)
    assert response.status_code == 400
    assert "update_mask" in error_of(response)["message"]


def test_patch_without_mask_rejects_immutable_fields_in_body(emulator: EmulatorServer) -> None:
    create(emulator.url)
    response = call(emulator.url, "PATCH", "v1beta/tunedModels/number-generator", {"baseModel": BASE})
    assert response.status_code == 400


def test_delete_then_get_is_404(emulator: EmulatorServer) -> None:
    create(emulator.url)
    assert call(emulator.url, "DELETE", "v1beta/tunedModels/number-generator").json() == {}
    assert call(emulator.url, "GET", "v1beta/tunedModels/number-generator").status_code == 404
    assert call(emulator.url, "DELETE", "v1beta/tunedModels/number-generator").status_code == 404


def test_list_pages_in_creation_order(emulator: EmulatorServer) -> None:
    for n in range(25):
        create(emulator.url, model_id=f"m{n:02d}", count=4)
    names: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {"pageToken": token} if token else {}
        page = call(emulator.url, "GET", "v1beta/tunedModels", **params).json()
        names += [m["name"] for m in page["tunedModels"]]
        pages += 1
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert pages == 3  # the default page size is 10
    assert names == [f"tunedModels/m{n:02d}" for n in range(25)]


def test_list_caps_page_size_and_rejects_bad_tokens(emulator: EmulatorServer) -> None:
    create(emulator.url)
    capped = call(emulator.url, "GET", "v1beta/tunedModels", pageSize=5000)
    assert capped.status_code == 200 and "nextPageToken" not in capped.json()
    bad = call(emulator.url, "GET", "v1beta/tunedModels", pageToken="garbage!")
    assert bad.status_code == 400


def test_list_filter_searches_name_and_description(emulator: EmulatorServer) -> None:
    create(emulator.url, model_id="a", displayName="Roman numerals")
    create(emulator.url, model_id="b", description="Translates roman dates")
    create(emulator.url, model_id="c", displayName="Other")
    found = call(emulator.url, "GET", "v1beta/tunedModels", filter="ROMAN owner:me").json()
    assert [m["name"] for m in found["tunedModels"]] == ["tunedModels/a", "tunedModels/b"]
    page = call(emulator.url, "GET", "v1beta/tunedModels", filter="roman", pageSize=1).json()
    other_filter = call(emulator.url, "GET", "v1beta/tunedModels", filter="other", pageToken=page["nextPageToken"])
    assert other_filter.status_code == 400


def test_empty_list_is_an_empty_object(emulator: EmulatorServer) -> None:
    assert call(emulator.url, "GET", "v1beta/tunedModels").json() == {}


def test_v1_has_no_tuned_model_crud(emulator: EmulatorServer) -> None:
    assert call(emulator.url, "GET", "v1/tunedModels").status_code == 404


def test_unknown_query_parameter_is_400(emulator: EmulatorServer) -> None:
    response = call(emulator.url, "GET", "v1beta/tunedModels", colour="blue")
    assert response.status_code == 400
    assert "Cannot bind query parameter" in error_of(response)["message"]


def test_base_models(emulator: EmulatorServer) -> None:
    models = call(emulator.url, "GET", "v1beta/models").json()["models"]
    by_name = {m["name"]: m for m in models}
    assert "createTunedModel" in by_name[BASE]["supportedGenerationMethods"]
    assert "createTunedTextModel" in by_name["models/text-bison-001"]["supportedGenerationMethods"]
    pro = call(emulator.url, "GET", "v1/models/gemini-1.0-pro-001").json()
    assert (pro["inputTokenLimit"], pro["outputTokenLimit"]) == (30720, 2048)
    assert call(emulator.url, "GET", "v1beta/models/nope").status_code == 404
