"""The data a job trains on is the data that was planned (issue 27 item 5,
issue 19 item 2): the object is checked against the canonical bytes before a
create and after an upload, large datasets go up resumably, and a broken
chunk goes on from what the server committed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.apply.backend import ChangeFailed
from reconciler.backends.vertex import uploads
from reconciler.backends.vertex.client import VertexClient
from reconciler.client.errors import UnexpectedResponse
from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import (
    BUCKET,
    LOCATION,
    PROJECT,
    counts,
    jobs_of,
    manifest,
    objects,
    reset_counts,
    vertex_cli,
    vertex_faults,
    write_manifest,
    write_repo,
)

CHUNK_PUT = "PUT /upload/storage/v1/b/{bucket}/o"
PREFIX = "reconciler/datasets/"


def download(emulator: EmulatorServer, name: str) -> bytes:
    response = requests.get(
        f"{emulator.url}/storage/v1/b/{BUCKET}/o/{requests.utils.quote(name, safe='')}",
        params={"alt": "media"},
        timeout=10,
    )
    response.raise_for_status()
    return response.content


def overwrite(emulator: EmulatorServer, name: str, data: bytes) -> None:
    """Someone with write access to the bucket replaces the object (no precondition)."""
    response = requests.post(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o",
        timeout=10,
        params={"uploadType": "media", "name": name},
        data=data,
        headers={"Content-Type": "application/jsonl"},
    )
    assert response.status_code == 200, response.text


def trained_on(emulator: EmulatorServer, job: dict[str, Any]) -> bytes:
    """The bytes of the object the job names as its training data."""
    uri = job["supervisedTuningSpec"]["trainingDatasetUri"]
    assert uri.startswith(f"gs://{BUCKET}/")
    return download(emulator, uri.removeprefix(f"gs://{BUCKET}/"))


def newest_job(emulator: EmulatorServer, key: str) -> dict[str, Any]:
    return max(jobs_of(emulator, key), key=lambda job: job["createTime"])


def test_an_overwritten_object_is_rewritten_before_the_next_create(
    tmp_path: Path, make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    [name] = objects(emulator)
    planned = download(emulator, name)
    other = b"".join(
        json.dumps(
            {
                "contents": [
                    {"role": "user", "parts": [{"text": str(n)}]},
                    {"role": "model", "parts": [{"text": "wrong"}]},
                ]
            }
        ).encode()
        + b"\n"
        for n in range(20)
    )
    overwrite(emulator, name, other)
    write_manifest(repo, manifest("numbers", epochs=3))  # a replace: a new job on the same dataset

    result = vertex_cli(repo, emulator, "apply", "--yes")

    assert result.code == 0, result.text
    job = newest_job(emulator, "numbers")
    assert job["supervisedTuningSpec"]["hyperParameters"]["epochCount"] == "3"
    assert trained_on(emulator, job) == planned
    assert "does not hold the planned dataset" in caplog.text


def test_an_upload_that_stores_other_bytes_is_an_error_and_nothing_is_tuned(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, upload_corruptions=1)
    repo = write_repo(tmp_path, [manifest("numbers")])

    result = vertex_cli(repo, emulator, "apply", "--yes")

    assert result.code == 1, result.text
    assert "did not store the planned dataset" in result.text and "nothing was tuned" in result.text
    assert jobs_of(emulator, "numbers") == []
    assert objects(emulator) == []  # the damaged object is removed
    again = vertex_cli(repo, emulator, "apply", "--yes")
    assert again.code == 0, again.text
    [job] = jobs_of(emulator, "numbers")
    assert trained_on(emulator, job).count(b"\n") == 20


def big_repo(root: Path) -> Path:
    """A repository whose canonical dataset is just over 256 KiB."""
    repo = write_repo(root, [manifest("numbers")])
    rows = [{"text_input": f"question {n}", "output": f"{n} " + "x" * 4000} for n in range(66)]
    (repo / "datasets" / "numbers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return repo


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Resumable above one 256 KiB unit, a chunk each unit: the threshold without 8 MiB of test data."""
    monkeypatch.setattr(uploads, "RESUMABLE_ABOVE", uploads.CHUNK_UNIT)
    monkeypatch.setattr(uploads, "CHUNK_BYTES", uploads.CHUNK_UNIT)


@pytest.mark.usefixtures("small_chunks")
def test_a_dataset_over_the_threshold_uploads_resumably(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = big_repo(tmp_path)

    result = vertex_cli(repo, emulator, "apply", "--yes")

    assert result.code == 0, result.text
    data = trained_on(emulator, newest_job(emulator, "numbers"))
    assert uploads.CHUNK_UNIT < len(data) <= 2 * uploads.CHUNK_UNIT
    assert counts(emulator)[CHUNK_PUT] == 2  # two chunks, no more


@pytest.mark.usefixtures("small_chunks")
def test_a_broken_chunk_goes_on_from_the_committed_range(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = big_repo(tmp_path)
    vertex_faults(emulator, broken_chunks=1)  # the first chunk keeps half, its answer is lost

    result = vertex_cli(repo, emulator, "apply", "--yes")

    assert result.code == 0, result.text
    [job] = jobs_of(emulator, "numbers")
    data = trained_on(emulator, job)
    assert len(data) > uploads.CHUNK_UNIT and data.count(b"\n") == 66
    # the broken chunk (half of it kept), the question of what was committed, the rest
    assert counts(emulator)[CHUNK_PUT] == 3
    assert requests.get(f"{emulator.url}/_internal/vertex/faults", timeout=10).json()["broken_chunks"] == 0


# --- a concurrent writer between the read and the write ----------------------------------


class RacedClient(VertexClient):
    """Someone writes `theirs` to the object just before each of our uploads."""

    def __init__(self, emulator: EmulatorServer, theirs: bytes) -> None:
        super().__init__(emulator.url, emulator.url, PROJECT, LOCATION)
        self.emulator = emulator
        self.theirs = theirs

    def upload_object(
        self, bucket: str, name: str, data: bytes, content_type: str, if_generation_match: str = "0"
    ) -> dict[str, Any]:
        overwrite(self.emulator, name, self.theirs)
        return super().upload_object(bucket, name, data, content_type, if_generation_match)


@pytest.mark.parametrize("before", [None, b"old\n"], ids=["no object", "a wrong object"])
@pytest.mark.parametrize("theirs", [b"", b"tampered\n"], ids=["same bytes", "other bytes"])
def test_a_lost_precondition_reads_again_once_then_stops(
    emulator: EmulatorServer, theirs: bytes, before: bytes | None
) -> None:
    data = b'{"contents": []}\n'
    client = RacedClient(emulator, theirs or data)
    name = f"{PREFIX}raced.jsonl"
    if before is not None:
        overwrite(emulator, name, before)
    reset_counts(emulator)
    if theirs:
        with pytest.raises(ChangeFailed, match="changed by someone else"):
            uploads.ensure_object(client, BUCKET, name, data, "application/jsonl")
        assert download(emulator, name) == theirs  # theirs is left: never a blind second write
    else:  # a second apply uploading the same bytes: theirs is ours
        assert uploads.ensure_object(client, BUCKET, name, data, "application/jsonl") is False
        assert download(emulator, name) == data
    assert counts(emulator)["POST /upload/storage/v1/b/{bucket}/o"] == 2  # theirs and ours (refused 412)


def test_a_session_on_another_host_is_refused(emulator: EmulatorServer) -> None:
    client = VertexClient(emulator.url, emulator.url, PROJECT, LOCATION)
    with pytest.raises(UnexpectedResponse, match="not on"):
        client._session("https://elsewhere.example/upload/storage/v1/b/x/o?upload_id=secret")


# --- google-cloud-storage against the emulator's resumable surface -----------------------


def test_google_cloud_storage_resumes_a_broken_chunk_and_reads_the_object_back(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = pytest.importorskip("google.cloud.storage")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    # The client sends anything up to 8 MiB as one multipart request: lower its line.
    monkeypatch.setattr(storage.blob, "_MAX_MULTIPART_SIZE", uploads.CHUNK_UNIT)
    client = storage.Client(project=PROJECT)
    bucket = client.bucket(BUCKET)  # seeded by the emulator (tests/backends/conftest.py)
    data = bytes(range(256)) * 2100  # 537,600 bytes: three 256 KiB chunks
    vertex_faults(emulator, broken_chunks=1)
    blob = bucket.blob("big.jsonl", chunk_size=uploads.CHUNK_UNIT)
    blob.upload_from_string(data, if_generation_match=0, checksum="crc32c")  # checks our crc32c
    assert bucket.blob("big.jsonl").download_as_bytes() == data  # checks md5 and crc32c again
    assert counts(emulator)[CHUNK_PUT] > 3  # the broken chunk was sent again
