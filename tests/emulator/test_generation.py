"""generateContent and generateText answered from the training examples."""

from __future__ import annotations

from reconciler.emulator import EmulatorServer
from tests.emulator.helpers import INT_ENUMS, call, create, error_of


def _ask(url: str, model: str, text: str, **params: str) -> dict:  # type: ignore[type-arg]
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    response = call(url, "POST", f"v1beta/{model}:generateContent", body, **params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_exact_match_then_most_similar(emulator: EmulatorServer) -> None:
    create(emulator.url)
    answer = _ask(emulator.url, "tunedModels/number-generator", "12")
    candidate = answer["candidates"][0]
    assert candidate["content"] == {"parts": [{"text": "13"}], "role": "model"}
    assert candidate["finishReason"] == "STOP"
    assert {r["probability"] for r in candidate["safetyRatings"]} == {"NEGLIGIBLE"}
    assert "safetyRatings" in answer["promptFeedback"]
    near = _ask(emulator.url, "tunedModels/number-generator", " 19 ")
    assert near["candidates"][0]["content"]["parts"][0]["text"] == "20"
    fuzzy = _ask(emulator.url, "tunedModels/number-generator", "199")
    assert fuzzy["candidates"][0]["content"]["parts"][0]["text"] == "20"  # "19" is closest


def test_integer_enums(emulator: EmulatorServer) -> None:
    create(emulator.url)
    answer = _ask(emulator.url, "tunedModels/number-generator", "1", **INT_ENUMS)
    assert answer["candidates"][0]["finishReason"] == 1


def test_creating_model_refuses_inference(make_emulator) -> None:  # type: ignore[no-untyped-def]
    server = make_emulator(step_seconds=3600)
    create(server.url)
    body = {"contents": [{"parts": [{"text": "1"}]}]}
    response = call(server.url, "POST", "v1beta/tunedModels/number-generator:generateContent", body)
    assert response.status_code == 400
    assert error_of(response)["status"] == "FAILED_PRECONDITION"


def test_contents_are_required(emulator: EmulatorServer) -> None:
    create(emulator.url)
    response = call(emulator.url, "POST", "v1/tunedModels/number-generator:generateContent", {})
    assert response.status_code == 400


def test_palm_generate_text(emulator: EmulatorServer) -> None:
    create(emulator.url, model_id="palm", baseModel="models/text-bison-001")
    body = {"prompt": {"text": "3"}}
    tuned = call(emulator.url, "POST", "v1beta3/tunedModels/palm:generateText", body).json()
    assert tuned["candidates"][0]["output"] == "4"
    base = call(emulator.url, "POST", "v1beta3/models/text-bison-001:generateText", body)
    assert base.status_code == 200
    gemini = call(
        emulator.url, "POST", "v1beta/tunedModels/palm:generateContent", {"contents": [{"parts": [{"text": "3"}]}]}
    )
    assert gemini.status_code == 404
    assert "not supported for generateContent" in error_of(gemini)["message"]
    palm_defaults = call(emulator.url, "GET", "v1beta3/tunedModels/palm").json()
    assert palm_defaults["temperature"] == 0.7
