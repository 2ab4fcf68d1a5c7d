"""The discovery-built client (google-api-python-client), unmodified, through
whole flows against the emulator: built from the discovery documents the
package ships (aiplatform.v1, storage.v1), pointed at the emulator with
`client_options.api_endpoint`, and sent over a bare httplib2 connection, so
no credentials are looked for (google-auth is never asked)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.emulator.vertex_helpers import BUCKET, DATASET, DATASET_URI, LOCATION, PROJECT, ManualClock, jsonl, upload

googleapiclient = pytest.importorskip("googleapiclient")
httplib2 = pytest.importorskip("httplib2")
from googleapiclient.discovery import build_from_document  # noqa: E402
from googleapiclient.errors import HttpError  # noqa: E402
from googleapiclient.http import MediaInMemoryUpload  # noqa: E402

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"
STEP = 10.0
ENDED = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")


class _LocalOnly(httplib2.Http):
    """A bare connection that sends only to the emulator: a URI built from the
    document's Google host instead would fail the test, never leave the machine."""

    def __init__(self, origin: str) -> None:
        super().__init__(timeout=10)
        self.origin = origin

    def request(self, uri: str, *args: Any, **kwargs: Any) -> Any:
        assert uri.startswith(f"{self.origin}/"), f"a request off the emulator: {uri}"
        return super().request(uri, *args, **kwargs)


def _client(document: str, origin: str, service_path: str = "") -> Any:
    """A client built from the shipped document; no credentials, no discovery fetch.

    `api_endpoint` moves the API's requests; a media upload's URL is built from
    the document's `rootUrl` and keeps its https scheme (only the host is moved:
    googleapiclient's `_fix_up_media_path_base_url`), so the plain-HTTP emulator
    is also written into `rootUrl`, as a user of a local server does."""
    description = json.loads((DOCUMENTS / f"{document}.json").read_text("utf-8"))
    description["rootUrl"] = f"{origin}/"
    return build_from_document(
        description, http=_LocalOnly(origin), client_options={"api_endpoint": f"{origin}/{service_path}"}
    )


def _job_body(display_name: str) -> dict[str, Any]:
    return {
        "baseModel": "gemini-2.5-flash",
        "supervisedTuningSpec": {"trainingDatasetUri": DATASET_URI, "hyperParameters": {"epochCount": 2}},
        "tunedModelDisplayName": display_name,
    }


def _run_until_ended(jobs: Any, name: str, clock: ManualClock) -> tuple[dict[str, Any], list[str]]:
    """`get` the job one step of the clock apart until it ends; its states on the way."""
    states: list[str] = []
    for _ in range(20):  # pending, quota, dataset, two epochs, post-processing: well under 20
        clock.advance(STEP)
        job = jobs.get(name=name).execute()
        states.append(job["state"])
        if job["state"] in ENDED:
            return job, states
    raise AssertionError(f"the job never ended: {states}")


def test_aiplatform_v1_tune_get_list_model_generate_and_cancel(make_emulator: Any) -> None:
    clock = ManualClock()
    server = make_emulator(seed=0, clock=clock, step_seconds=STEP)
    upload(server.url)
    aiplatform = _client("aiplatform.v1", server.url)
    locations = aiplatform.projects().locations()
    jobs = locations.tuningJobs()

    created = jobs.create(parent=PARENT, body=_job_body("Numbers")).execute()
    # The service names the project by its number, as the real one does.
    assert re.fullmatch(rf"projects/\d+/locations/{LOCATION}/tuningJobs/\d+", created["name"])
    job, states = _run_until_ended(jobs, created["name"], clock)
    assert states[-1] == "JOB_STATE_SUCCEEDED" and "JOB_STATE_RUNNING" in states

    listed = jobs.list(parent=PARENT).execute()
    assert [j["name"] for j in listed["tuningJobs"]] == [created["name"]]

    model = locations.models().get(name=job["tunedModel"]["model"]).execute()
    assert model["name"] == job["tunedModel"]["model"].split("@")[0]
    assert model["displayName"] == "Numbers"

    # generateContent is a method of endpoints in aiplatform.v1; the endpoint
    # answers from the examples it was tuned on ("3" -> "4").
    answer = (
        locations.endpoints()
        .generateContent(
            model=job["tunedModel"]["endpoint"], body={"contents": [{"role": "user", "parts": [{"text": "3"}]}]}
        )
        .execute()
    )
    assert answer["candidates"][0]["content"]["parts"][0]["text"] == "4"

    other = jobs.create(parent=PARENT, body=_job_body("Letters")).execute()
    clock.advance(STEP)
    assert jobs.cancel(name=other["name"], body={}).execute() == {}
    cancelled, states = _run_until_ended(jobs, other["name"], clock)
    assert cancelled["state"] == "JOB_STATE_CANCELLED"
    assert jobs.get(name=created["name"]).execute()["state"] == "JOB_STATE_SUCCEEDED"


def test_aiplatform_v1_errors_reach_the_client_as_http_errors(make_emulator: Any) -> None:
    server = make_emulator(seed=0)
    jobs = _client("aiplatform.v1", server.url).projects().locations().tuningJobs()
    with pytest.raises(HttpError) as raised:
        jobs.get(name=f"{PARENT}/tuningJobs/123").execute()
    assert raised.value.resp.status == 404
    assert json.loads(raised.value.content)["error"]["status"] == "NOT_FOUND"


def test_storage_v1_objects_insert_get_list_delete(make_emulator: Any) -> None:
    server = make_emulator(seed=0)
    storage = _client("storage.v1", server.url, "storage/v1/")
    storage.buckets().insert(project=PROJECT, body={"name": BUCKET}).execute()
    objects = storage.objects()
    data = jsonl(5)

    inserted = objects.insert(
        bucket=BUCKET, name=DATASET, media_body=MediaInMemoryUpload(data, mimetype="application/jsonl")
    ).execute()
    assert inserted["name"] == DATASET and int(inserted["size"]) == len(data)
    objects.insert(
        bucket=BUCKET, name="other/notes.txt", media_body=MediaInMemoryUpload(b"notes", mimetype="text/plain")
    ).execute()

    got = objects.get(bucket=BUCKET, object=DATASET).execute()
    assert got["generation"] == inserted["generation"] and got["md5Hash"] == inserted["md5Hash"]
    assert objects.get_media(bucket=BUCKET, object=DATASET).execute() == data

    listed = objects.list(bucket=BUCKET, prefix="datasets/").execute()
    assert [item["name"] for item in listed["items"]] == [DATASET]

    assert objects.delete(bucket=BUCKET, object=DATASET).execute() == ""
    with pytest.raises(HttpError) as raised:
        objects.get(bucket=BUCKET, object=DATASET).execute()
    assert raised.value.resp.status == 404
    assert [item["name"] for item in objects.list(bucket=BUCKET).execute()["items"]] == ["other/notes.txt"]
