"""Every Cloud Storage parameter the emulator accepts does what the JSON API
says, or is refused with 400: generation, the (meta)generation preconditions
(a failed one changes nothing), listings in name order with offsets, globs,
delimiters and prefixes, and alt=media with ranges."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.emulator.vertex_helpers import upload

BUCKET = "params"


def _object_url(server: Any, name: str) -> str:
    return f"{server.url}/storage/v1/b/{BUCKET}/o/{requests.utils.quote(name, safe='')}"


def _put(server: Any, name: str, data: bytes = b"0123456789") -> dict[str, Any]:
    return upload(server.url, data, name=name, bucket=BUCKET)


def _names(server: Any, **params: str) -> tuple[list[str], list[str], str]:
    body = requests.get(f"{server.url}/storage/v1/b/{BUCKET}/o", params=params, timeout=10).json()
    return ([item["name"] for item in body.get("items", [])], body.get("prefixes", []), body.get("nextPageToken", ""))


@pytest.fixture
def server(make_emulator: Any) -> Any:
    server = make_emulator(seed=0)
    for name in ("b/2", "a", "c", "b/1", "b/", "d/x/y", "a.txt"):  # written out of order
        _put(server, name)
    return server


def test_listings_are_in_name_order_with_offsets_and_globs(server: Any) -> None:
    assert _names(server)[0] == ["a", "a.txt", "b/", "b/1", "b/2", "c", "d/x/y"]
    assert _names(server, startOffset="b/1", endOffset="c")[0] == ["b/1", "b/2"]
    assert _names(server, matchGlob="*.txt")[0] == ["a.txt"]
    assert _names(server, matchGlob="**/y")[0] == ["d/x/y"]
    assert _names(server, matchGlob="b/*")[0] == ["b/", "b/1", "b/2"]
    assert _names(server, matchGlob="{a,c}")[0] == ["a", "c"]


def test_delimiter_and_prefixes_page_in_name_order(server: Any) -> None:
    assert _names(server, delimiter="/") == (["a", "a.txt", "c"], ["b/", "d/"], "")
    assert _names(server, delimiter="/", prefix="b/") == (["b/", "b/1", "b/2"], [], "")
    assert _names(server, delimiter="/", includeTrailingDelimiter="true")[0] == ["a", "a.txt", "b/", "c"]
    seen: list[str] = []
    token = ""
    for _ in range(10):
        items, prefixes, token = _names(
            server, delimiter="/", maxResults="2", **({"pageToken": token} if token else {})
        )
        seen += sorted(items + prefixes)
        if not token:
            break
    assert seen == ["a", "a.txt", "b/", "c", "d/"]


def test_generation_names_the_live_generation_only(server: Any) -> None:
    live = requests.get(_object_url(server, "a"), timeout=10).json()["generation"]
    assert requests.get(_object_url(server, "a"), params={"generation": live}, timeout=10).status_code == 200
    assert requests.get(_object_url(server, "a"), params={"generation": "1"}, timeout=10).status_code == 404
    assert requests.get(_object_url(server, "a"), params={"generation": "x"}, timeout=10).status_code == 400
    refused = requests.post(
        f"{server.url}/upload/storage/v1/b/{BUCKET}/o",
        data=b"z",
        timeout=10,
        params={"uploadType": "media", "name": "g", "generation": "1"},
    )
    assert refused.status_code == 400


def test_not_match_preconditions(server: Any) -> None:
    url = _object_url(server, "a")
    live = requests.get(url, timeout=10).json()["generation"]
    assert requests.get(url, params={"ifGenerationNotMatch": live}, timeout=10).status_code == 304
    assert requests.get(url, params={"ifGenerationNotMatch": "7"}, timeout=10).status_code == 200
    assert requests.get(url, params={"ifMetagenerationNotMatch": "1"}, timeout=10).status_code == 304
    assert requests.delete(url, params={"ifGenerationNotMatch": live}, timeout=10).status_code == 412
    assert requests.get(url, timeout=10).status_code == 200  # still there


def test_a_delete_whose_metageneration_precondition_fails_deletes_nothing(server: Any) -> None:
    url = _object_url(server, "c")
    assert requests.delete(url, params={"ifMetagenerationMatch": "2"}, timeout=10).status_code == 412
    assert requests.delete(url, params={"ifMetagenerationNotMatch": "1"}, timeout=10).status_code == 412
    assert requests.get(url, timeout=10).status_code == 200
    assert requests.delete(url, params={"ifMetagenerationMatch": "1"}, timeout=10).status_code == 204
    assert requests.get(url, timeout=10).status_code == 404


def test_an_upload_under_a_metageneration_precondition(server: Any) -> None:
    params = {"uploadType": "media", "name": "a", "ifMetagenerationMatch": "3"}
    refused = requests.post(f"{server.url}/upload/storage/v1/b/{BUCKET}/o", params=params, data=b"new", timeout=10)
    assert refused.status_code == 412
    assert requests.get(_object_url(server, "a"), params={"alt": "media"}, timeout=10).content == b"0123456789"


@pytest.mark.parametrize(
    "header, status, content",
    [
        ("bytes=2-4", 206, b"234"),
        ("bytes=7-", 206, b"789"),
        ("bytes=-3", 206, b"789"),
        ("bytes=5-100", 206, b"56789"),
        ("bytes=10-", 416, b""),
        ("", 200, b"0123456789"),
    ],
)
def test_alt_media_with_ranges(server: Any, header: str, status: int, content: bytes) -> None:
    answer = requests.get(
        _object_url(server, "a"), params={"alt": "media"}, timeout=10, headers={"Range": header} if header else {}
    )
    assert answer.status_code == status
    if status != 416:
        assert answer.content == content
    if status == 206:
        assert answer.headers["Content-Range"].endswith("/10")


@pytest.mark.parametrize(
    "params",
    [
        {"softDeleted": "true"},
        {"projection": "most"},
        {"includeFoldersAsPrefixes": "true"},
        {"maxResults": "0"},
        {"matchGlob": "[ab"},
        {"pageToken": "%%%"},
    ],
)
def test_what_is_not_honoured_is_refused(server: Any, params: dict[str, str]) -> None:
    listing = requests.get(f"{server.url}/storage/v1/b/{BUCKET}/o", params=params, timeout=10)
    assert listing.status_code == 400


def test_google_cloud_storage_reads_ranges_and_lists_with_it(server: Any) -> None:
    storage = pytest.importorskip("google.cloud.storage")
    from google.auth.credentials import AnonymousCredentials

    client = storage.Client(
        project="my-project", credentials=AnonymousCredentials(), client_options={"api_endpoint": server.url}
    )
    bucket = client.bucket(BUCKET)
    assert bucket.blob("a").download_as_bytes(start=3, end=5) == b"345"
    assert [b.name for b in client.list_blobs(BUCKET, start_offset="b", end_offset="c")] == ["b/", "b/1", "b/2"]
    blob = bucket.get_blob("c")
    assert blob is not None
    with pytest.raises(Exception, match="412"):
        blob.delete(if_metageneration_match=5)
    assert bucket.get_blob("c") is not None
