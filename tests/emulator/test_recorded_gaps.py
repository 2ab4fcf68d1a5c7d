"""The differences the seeds' recordings showed between the emulator and the
real API, each pinned: trailing commas, candidateCount, the documented
limits, v1beta3's Model and PATCH answers, safety-rating order, completeTime."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.helpers import call, create, error_of, examples


def _post_text(url: str, path: str, text: str) -> requests.Response:
    return requests.post(f"{url}/{path}", data=text.encode(), headers={"Content-Type": "application/json"}, timeout=10)


# --- trailing commas -------------------------------------------------------------------------

TRAILING_COMMA_BODY = """{
  "display_name": "commas",
  "base_model": "models/gemini-1.0-pro-001",
  "tuning_task": {
    "hyperparameters": {"batch_size": 2, "learning_rate": 0.001, "epoch_count": 5,},
    "training_data": {"examples": {"examples": [
      {"text_input": "1,000", "output": "1,001",},
      {"text_input": "a,}", "output": "b,]",},
    ]}}
  }
}"""


def test_trailing_commas_are_accepted_as_upstream(emulator: EmulatorServer) -> None:
    response = _post_text(emulator.url, "v1beta/tunedModels", TRAILING_COMMA_BODY)
    assert response.status_code == 200, response.text
    model = response.json()["metadata"]["tunedModel"]
    answer = call(emulator.url, "POST", f"v1beta/{model}:generateContent", {"contents": [{"parts": [{"text": "a,}"}]}]})
    assert answer.json()["candidates"][0]["content"]["parts"][0]["text"] == "b,]"  # strings kept


@pytest.mark.parametrize("text", ["{,}", "[1,,2]", '{"a": 1,,}', "{'a': 1}", '{"a": NaN}', '{"a": 1} // comment'])
def test_other_json_extensions_are_refused(emulator: EmulatorServer, text: str) -> None:
    response = _post_text(emulator.url, "v1beta/tunedModels", text)
    assert response.status_code == 400
    assert error_of(response)["message"] == "Invalid JSON payload received. Unexpected token."


# --- candidateCount ------------------------------------------------------------------------


@pytest.fixture
def palm_model(emulator: EmulatorServer) -> str:
    create(emulator.url, "palm", baseModel="models/text-bison-001")
    return "tunedModels/palm"


@pytest.mark.parametrize(("sent", "expected"), [(None, 1), (0, 1), (1, 1), (2, 2), (8, 8)])
def test_generate_text_answers_candidate_count(
    emulator: EmulatorServer, palm_model: str, sent: int | None, expected: int
) -> None:
    body: dict[str, Any] = {"prompt": {"text": "4"}}
    if sent is not None:
        body["candidate_count"] = sent
    for path in (f"v1beta3/{palm_model}:generateText", "v1beta3/models/text-bison-001:generateText"):
        response = call(emulator.url, "POST", path, body)
        assert response.status_code == 200, response.text
        assert len(response.json()["candidates"]) == expected


def test_candidates_are_the_closest_examples_in_order(emulator: EmulatorServer, palm_model: str) -> None:
    response = call(
        emulator.url, "POST", f"v1beta3/{palm_model}:generateText", {"prompt": {"text": "4"}, "candidateCount": 3}
    )
    outputs = [candidate["output"] for candidate in response.json()["candidates"]]
    assert outputs[0] == "5"  # the exact match first
    assert len(set(outputs)) == 3


@pytest.mark.parametrize("count", [9, -1])
def test_candidate_count_out_of_range_is_a_400(emulator: EmulatorServer, palm_model: str, count: int) -> None:
    response = call(
        emulator.url, "POST", f"v1beta3/{palm_model}:generateText", {"prompt": {"text": "4"}, "candidateCount": count}
    )
    assert response.status_code == 400
    assert "candidate_count must be between 1 and 8" in error_of(response)["message"]


# --- documented limits -----------------------------------------------------------------------

LIMIT_CASES = [
    ("textInput", 40_000, True),
    ("textInput", 40_001, False),
    ("output", 5_000, True),
    ("output", 5_001, False),
]


@pytest.mark.parametrize(("field", "size", "accepted"), LIMIT_CASES)
def test_example_size_limits(emulator: EmulatorServer, field: str, size: int, accepted: bool) -> None:
    data = examples(3)
    data[1][field] = "x" * size
    body = {
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "tuningTask": {"trainingData": {"examples": {"examples": data}}},
    }
    response = call(emulator.url, "POST", "v1beta/tunedModels", body)
    assert (response.status_code == 200) is accepted, response.text
    if not accepted:
        snake = "text_input" if field == "textInput" else "output"
        where = f"tuned_model.tuning_task.training_data.examples.examples[1].{snake}"
        assert error_of(response)["message"] == (
            f"{where} is {size} characters; the limit is {40_000 if field == 'textInput' else 5_000}."
        )
        violation = error_of(response)["details"][0]["fieldViolations"][0]
        assert violation["field"] == where


PROMPT_CASES = [
    ("models/gemini-1.5-flash-001-tuning", "generateContent", lambda text: {"contents": [{"parts": [{"text": text}]}]}),
    ("models/text-bison-001", "generateText", lambda text: {"prompt": {"text": text}}),
]


@pytest.mark.parametrize(("size", "status"), [(40_000, 200), (40_001, 400)])
@pytest.mark.parametrize(("base", "method", "request_body"), PROMPT_CASES)
def test_tuned_model_prompt_limit(
    emulator: EmulatorServer, size: int, status: int, base: str, method: str, request_body: Any
) -> None:
    create(emulator.url, "limited", baseModel=base)
    response = call(emulator.url, "POST", f"v1beta/tunedModels/limited:{method}", request_body("7" * size))
    assert response.status_code == status, response.text
    if status == 400:
        assert "limited to 40000 characters; this prompt has 40001" in error_of(response)["message"]


def test_base_model_token_limit(emulator: EmulatorServer) -> None:
    # text-bison-001 takes 8196 tokens; the emulator counts about four characters a token.
    response = call(
        emulator.url, "POST", "v1beta/models/text-bison-001:generateText", {"prompt": {"text": "x" * (8196 * 4 + 1)}}
    )
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        "The input token count (8197) exceeds the maximum number of tokens allowed (8196)."
    )


# --- v1beta3 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1beta3", "v1beta", "v1"])
def test_max_temperature_only_where_the_protos_have_it(emulator: EmulatorServer, version: str) -> None:
    listed = call(emulator.url, "GET", f"{version}/models").json()["models"]
    one = call(emulator.url, "GET", f"{version}/models/text-bison-001").json()
    for model in [*listed, one]:
        assert ("maxTemperature" in model) is (version != "v1beta3")


@pytest.mark.parametrize(
    ("version", "mask", "patch", "answer_keys"),
    [
        ("v1beta3", "description", {"description": "This is my model."}, {"description"}),
        (
            "v1beta3",
            "description,temperature",
            {"description": "d", "temperature": 0.5},
            {"description", "temperature"},
        ),
        ("v1beta3", None, {"displayName": "renamed"}, {"displayName"}),
        ("v1beta", "description", {"description": "This is my model."}, None),
        ("v1beta", None, {"displayName": "renamed"}, None),
    ],
)
def test_patch_answers_per_version(
    emulator: EmulatorServer, version: str, mask: str | None, patch: dict[str, Any], answer_keys: set[str] | None
) -> None:
    create(emulator.url, "patched")
    params = {"updateMask": mask} if mask else {}
    response = call(emulator.url, "PATCH", f"{version}/tunedModels/patched", patch, **params)
    assert response.status_code == 200, response.text
    whole = call(emulator.url, "GET", f"{version}/tunedModels/patched").json()
    if answer_keys is None:  # the whole model, as the newer versions answer
        assert response.json() == whole
    else:  # as recorded on v1beta3: only the masked fields, no name
        assert response.json() == {key: whole[key] for key in answer_keys}
    for key, value in patch.items():
        assert whole[key] == value


# --- safety ratings and timestamps -----------------------------------------------------------

RECORDED_ORDER = [
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
]


def test_safety_ratings_in_the_recorded_order(emulator: EmulatorServer) -> None:
    create(emulator.url, "rated")
    body = call(
        emulator.url, "POST", "v1beta/tunedModels/rated:generateContent", {"contents": [{"parts": [{"text": "1"}]}]}
    ).json()
    for ratings in (body["candidates"][0]["safetyRatings"], body["promptFeedback"]["safetyRatings"]):
        assert [rating["category"] for rating in ratings] == RECORDED_ORDER


def test_complete_time_in_microseconds(emulator: EmulatorServer) -> None:
    create(emulator.url, "timed")
    model = call(emulator.url, "GET", "v1beta/tunedModels/timed").json()
    task = model["tuningTask"]
    assert re.fullmatch(r".+\.\d{6}Z", task["completeTime"])
    assert task["completeTime"] == model["updateTime"]
    assert re.fullmatch(r".+\.\d{9}Z", task["startTime"])
