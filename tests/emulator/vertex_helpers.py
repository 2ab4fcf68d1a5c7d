"""Helpers for the Vertex AI and Cloud Storage tests: datasets uploaded over
plain HTTP, job bodies, and a clock the test moves by hand."""

from __future__ import annotations

import json
from typing import Any

import requests

PROJECT, LOCATION = "my-project", "us-central1"
PARENT = f"v1/projects/{PROJECT}/locations/{LOCATION}"
BUCKET = "tuning-data"
DATASET = "datasets/numbers.jsonl"
DATASET_URI = f"gs://{BUCKET}/{DATASET}"
INT_ENUMS = {"$alt": "json;enum-encoding=int"}


class ManualClock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def jsonl(count: int = 20) -> bytes:
    lines = [
        {
            "contents": [
                {"role": "user", "parts": [{"text": str(n)}]},
                {"role": "model", "parts": [{"text": str(n + 1)}]},
            ]
        }
        for n in range(1, count + 1)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def upload(url: str, data: bytes | None = None, name: str = DATASET, bucket: str = BUCKET) -> dict[str, Any]:
    """Create the bucket if needed, then upload with uploadType=media."""
    requests.post(f"{url}/storage/v1/b", json={"name": bucket}, timeout=10)
    response = requests.post(
        f"{url}/upload/storage/v1/b/{bucket}/o",
        params={"uploadType": "media", "name": name},
        data=jsonl() if data is None else data,
        headers={"Content-Type": "application/jsonl"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def job_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {
            "trainingDatasetUri": DATASET_URI,
            "hyperParameters": {"epochCount": 3, "adapterSize": "ADAPTER_SIZE_FOUR"},
            "exportLastCheckpointOnly": True,
        },
        "tunedModelDisplayName": "Number generator",
        "labels": {"managed-by": "reconciler"},
    }
    body.update(fields)
    return body


def vertex(url: str, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
    return requests.request(method, f"{url}/{path.lstrip('/')}", json=body, params=params, timeout=10)


def create_job(url: str, **fields: Any) -> dict[str, Any]:
    response = vertex(url, "POST", f"{PARENT}/tuningJobs", job_body(**fields))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def short(name: str) -> str:
    """`projects/123/locations/l/models/9` → `v1/projects/123/locations/l/models/9`."""
    return f"v1/{name}"
