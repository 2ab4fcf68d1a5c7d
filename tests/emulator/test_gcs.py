"""The Cloud Storage subset, through google-cloud-storage (unmodified, with
STORAGE_EMULATOR_HOST) and over plain HTTP for what the client hides."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
import requests

from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.emulator.gcs.checksums import crc32c

storage = pytest.importorskip("google.cloud.storage")
from google.api_core import exceptions  # noqa: E402

DATA = b'{"contents": [{"role": "user", "parts": [{"text": "1"}]}]}\n'


@pytest.fixture
def client(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> storage.Client:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    return storage.Client(project="my-project")


def test_upload_download_list_delete(client: storage.Client) -> None:
    bucket = client.create_bucket("tuning-data")
    assert client.get_bucket("tuning-data").name == "tuning-data"
    blob = bucket.blob("datasets/a.jsonl")
    blob.upload_from_string(DATA, content_type="application/jsonl", if_generation_match=0)
    bucket.blob("other/b.jsonl").upload_from_string(b"{}\n")

    fetched = bucket.get_blob("datasets/a.jsonl")
    assert fetched.size == len(DATA) and fetched.content_type == "application/jsonl"
    assert fetched.md5_hash == base64.b64encode(hashlib.md5(DATA).digest()).decode()
    assert base64.b64decode(fetched.crc32c) == crc32c(DATA).to_bytes(4, "big")
    assert fetched.generation > 0
    assert fetched.download_as_bytes() == DATA  # the client checks the checksum it is sent

    assert [b.name for b in client.list_blobs("tuning-data", prefix="datasets/")] == ["datasets/a.jsonl"]
    assert len(list(client.list_blobs("tuning-data"))) == 2
    fetched.delete()
    assert not bucket.blob("datasets/a.jsonl").exists()
    with pytest.raises(exceptions.NotFound):
        bucket.blob("datasets/a.jsonl").download_as_bytes()


def test_second_upload_with_if_generation_match_0_fails(client: storage.Client) -> None:
    bucket = client.create_bucket("tuning-data")
    bucket.blob("a.jsonl").upload_from_string(DATA, if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("a.jsonl").upload_from_string(b"other", if_generation_match=0)
    assert bucket.blob("a.jsonl").download_as_bytes() == DATA


def test_resumable_upload_through_the_client(
    client: storage.Client, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client sends anything up to 8 MiB as one multipart request: lower its line.
    monkeypatch.setattr(storage.blob, "_MAX_MULTIPART_SIZE", 256 * 1024)
    bucket = client.create_bucket("tuning-data")
    data = bytes(range(256)) * 3000  # 768,000 bytes in 256 KiB chunks: three PUTs
    blob = bucket.blob("big.bin", chunk_size=256 * 1024)
    blob.upload_from_string(data, if_generation_match=0, checksum="crc32c")
    counts = requests.get(f"{emulator.url}/_internal/requests", timeout=5).json()["counts"]
    assert counts["PUT /upload/storage/v1/b/{bucket}/o"] == 3
    assert bucket.get_blob("big.bin").size == len(data)
    assert bucket.blob("big.bin").download_as_bytes() == data
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("big.bin", chunk_size=256 * 1024).upload_from_string(data, if_generation_match=0)


@pytest.mark.parametrize("upload_type", ["media", "multipart", "resumable"])
def test_if_generation_match_0_on_every_upload_type(emulator: EmulatorServer, upload_type: str) -> None:
    url = emulator.url
    assert requests.post(f"{url}/storage/v1/b", json={"name": "bkt"}, timeout=5).ok
    statuses = [_upload(url, upload_type).status_code for _ in range(2)]
    assert statuses == [200, 412]
    error = _upload(url, upload_type).json()["error"]
    assert error["code"] == 412 and error["errors"][0]["reason"] == "conditionNotMet"


def _upload(url: str, upload_type: str) -> requests.Response:
    target = f"{url}/upload/storage/v1/b/bkt/o"
    if upload_type == "media":
        return requests.post(
            target, params={"uploadType": "media", "name": "x.jsonl", "ifGenerationMatch": "0"}, data=DATA, timeout=5
        )
    if upload_type == "multipart":
        body = (
            b"--BOUNDARY\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n"
            + json.dumps({"name": "x.jsonl"}).encode()
            + b"\r\n--BOUNDARY\r\ncontent-type: application/jsonl\r\n\r\n"
            + DATA
            + b"\r\n--BOUNDARY--\r\n"
        )
        return requests.post(
            target,
            params={"uploadType": "multipart", "ifGenerationMatch": "0"},
            data=body,
            timeout=5,
            headers={"Content-Type": 'multipart/related; boundary="BOUNDARY"'},
        )
    started = requests.post(
        target, params={"uploadType": "resumable", "name": "x.jsonl", "ifGenerationMatch": "0"}, timeout=5
    )
    if started.status_code != 200:
        return started
    return requests.put(
        started.headers["Location"],
        data=DATA,
        timeout=5,
        headers={"Content-Range": f"bytes 0-{len(DATA) - 1}/{len(DATA)}"},
    )


def test_missing_bucket_and_object(emulator: EmulatorServer) -> None:
    missing = requests.get(f"{emulator.url}/storage/v1/b/nope", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "The specified bucket does not exist."
    requests.post(f"{emulator.url}/storage/v1/b", json={"name": "bkt"}, timeout=5)
    gone = requests.get(f"{emulator.url}/storage/v1/b/bkt/o/a%2Fb.jsonl", timeout=5)
    assert gone.status_code == 404 and gone.json()["error"]["message"] == "No such object: bkt/a/b.jsonl"
    again = requests.post(f"{emulator.url}/storage/v1/b", json={"name": "bkt"}, timeout=5)
    assert again.status_code == 409


def test_a_bucket_seeded_at_start_exists_and_a_restart_keeps_it_as_it_was(tmp_path: Path) -> None:
    options = EmulatorOptions(state=str(tmp_path / "state.sqlite"), buckets=("tuning-data", "other-data"))
    with EmulatorServer(options) as first:
        bucket = requests.get(f"{first.url}/storage/v1/b/tuning-data", timeout=5).json()
        assert requests.get(f"{first.url}/storage/v1/b/other-data", timeout=5).status_code == 200
        upload = f"{first.url}/upload/storage/v1/b/tuning-data/o"
        written = requests.post(upload, params={"uploadType": "media", "name": "a.jsonl"}, data=DATA, timeout=5)
        assert written.status_code == 200, written.text
    with EmulatorServer(options) as again:  # seeding a bucket the state holds changes nothing
        assert requests.get(f"{again.url}/storage/v1/b/tuning-data", timeout=5).json() == bucket
        kept = requests.get(f"{again.url}/storage/v1/b/tuning-data/o/a.jsonl", params={"alt": "media"}, timeout=5)
        assert kept.content == DATA


def test_a_seeded_bucket_must_have_a_bucket_name() -> None:
    with pytest.raises(ValueError, match="not a bucket name: 'Tuning_Data'"):
        EmulatorServer(EmulatorOptions(buckets=("Tuning_Data",)))


def test_list_pages_and_delimiter(client: storage.Client) -> None:
    bucket = client.create_bucket("tuning-data")
    for name in ("a/1", "a/2", "a/3", "b/1", "top"):
        bucket.blob(name).upload_from_string(b"x")
    pages = client.list_blobs("tuning-data", page_size=2).pages
    assert [[blob.name for blob in page] for page in pages] == [["a/1", "a/2"], ["a/3", "b/1"], ["top"]]
    iterator = client.list_blobs("tuning-data", delimiter="/")
    assert [blob.name for blob in iterator] == ["top"]
    assert iterator.prefixes == {"a/", "b/"}


def test_a_finished_resumable_session_answers_with_its_object(emulator: EmulatorServer) -> None:
    """A status query (or the last chunk sent again, its answer lost) gets the object, not a 404."""
    url = emulator.url
    assert requests.post(f"{url}/storage/v1/b", json={"name": "bkt"}, timeout=5).ok
    started = requests.post(
        f"{url}/upload/storage/v1/b/bkt/o", params={"uploadType": "resumable", "name": "y.jsonl"}, timeout=5
    )
    session = started.headers["Location"]
    first = requests.put(session, data=DATA[:10], timeout=5, headers={"Content-Range": f"bytes 0-9/{len(DATA)}"})
    assert first.status_code == 308 and first.headers["Range"] == "bytes=0-9"
    last = requests.put(
        session,
        data=DATA[5:],
        timeout=5,  # overlaps: only bytes 10.. count
        headers={"Content-Range": f"bytes 5-{len(DATA) - 1}/{len(DATA)}"},
    )
    assert last.status_code == 200 and last.json()["size"] == str(len(DATA))
    status = requests.put(session, timeout=5, headers={"Content-Range": f"bytes */{len(DATA)}"})
    assert status.status_code == 200
    assert status.json()["md5Hash"] == base64.b64encode(hashlib.md5(DATA).digest()).decode()
    assert requests.get(f"{url}/storage/v1/b/bkt/o/y.jsonl", params={"alt": "media"}, timeout=5).content == DATA
