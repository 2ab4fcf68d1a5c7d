"""Small helpers for driving the emulator over plain HTTP in tests."""

from __future__ import annotations

from typing import Any

import requests

BASE = "models/gemini-1.5-flash-001-tuning"
INT_ENUMS = {"$alt": "json;enum-encoding=int"}


def examples(count: int = 20) -> list[dict[str, str]]:
    return [{"textInput": str(n), "output": str(n + 1)} for n in range(1, count + 1)]


def model_body(count: int = 20, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": "Number generator",
        "baseModel": BASE,
        "tuningTask": {
            "trainingData": {"examples": {"examples": examples(count)}},
            "hyperparameters": {"epochCount": 5, "batchSize": 4, "learningRate": 0.001},
        },
    }
    body.update(fields)
    return body


def call(url: str, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    return requests.request(method, f"{url}/{path.lstrip('/')}", json=body, params=params,
                            timeout=10)


def create(url: str, model_id: str | None = "number-generator", **fields: Any) -> dict[str, Any]:
    params = {"tunedModelId": model_id} if model_id else {}
    response = call(url, "POST", "v1beta/tunedModels", model_body(**fields), **params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def error_of(response: requests.Response) -> dict[str, Any]:
    return response.json()["error"]  # type: ignore[no-any-return]
