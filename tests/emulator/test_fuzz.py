"""Hostile and malformed requests: the emulator answers every one with a
google.rpc.Status or a success, never a 500, and keeps serving. The chunked
bodies go to a child process, so that a crash fails a test instead of the run."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.emulator import EmulatorOptions, EmulatorServer
from tests.emulator.helpers import EmulatorProcess, emulator_process, model_body
from tests.emulator.vertex_helpers import create_job, upload

VERTEX = "/v1/projects/my-project/locations/us-central1"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "displayName",
        "display_name",
        "baseModel",
        "tuningTask",
        "tuning_task",
        "temperature",
        "topK",
        "readerProjectNumbers",
        "tunedModelSource",
        "contents",
        "role",
        "emailAddress",
        "granteeType",
        "trainingData",
        "examples",
        "hyperparameters",
        "epochCount",
        "state",
        # Vertex AI and Cloud Storage
        "supervisedTuningSpec",
        "supervised_tuning_spec",
        "trainingDatasetUri",
        "hyperParameters",
        "adapterSize",
        "preTunedModel",
        "tunedModelDisplayName",
        "labels",
        "deployedModelId",
        "trafficSplit",
        "exportLastCheckpointOnly",
        "name",
        "contentType",
        "versionDescription",
    ]
) | st.text(max_size=12)
hostile_objects = st.dictionaries(field_names, json_values, max_size=6)
paths = st.sampled_from(
    [
        "/v1beta/tunedModels",
        "/v1beta/tunedModels/x",
        "/v1/tunedModels/x:generateContent",
        "/v1beta/tunedModels/x/permissions",
        "/v1beta/tunedModels/x/operations/y:cancel",
        "/v1beta3/tunedModels/x:generateText",
        "/v1beta/models/text-bison-001:generateText",
        "/v1beta/tunedModels/x:transferOwnership",
        "/_internal/faults",
        "/v1/operations",
        "/v1beta/models",
        "/_internal/tuning",
        f"{VERTEX}/tuningJobs",
        f"{VERTEX}/tuningJobs/1234567890123456789",
        f"{VERTEX}/tuningJobs/x:cancel",
        f"{VERTEX}/models",
        f"{VERTEX}/models/1@2",
        f"{VERTEX}/models/1:listVersions",
        f"{VERTEX}/models/1:generateContent",
        f"{VERTEX}/endpoints",
        f"{VERTEX}/endpoints/1",
        f"{VERTEX}/endpoints/1:undeployModel",
        f"{VERTEX}/endpoints/1:generateContent",
        f"{VERTEX}/models/1/operations/2",
        "/v1beta1/projects/123456789012/locations/us/tuningJobs",
        "/_internal/vertex/faults",
        "/storage/v1/b",
        "/storage/v1/b/bkt",
        "/storage/v1/b/bkt/o",
        "/storage/v1/b/bkt/o/a%2Fb",
        "/download/storage/v1/b/bkt/o/a",
        "/upload/storage/v1/b/bkt/o",
    ]
) | st.text(alphabet=st.characters(codec="ascii", exclude_characters="\r\n #?"), max_size=40)
# The module-scoped server is shared on purpose: state left by one example is more garbage.
FIXTURE_OK = [HealthCheck.function_scoped_fixture]
methods = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"])
queries = st.dictionaries(
    st.sampled_from(
        [
            "pageSize",
            "pageToken",
            "filter",
            "updateMask",
            "tunedModelId",
            "page_size",
            "$alt",
            "key",
            "x",
            "uploadType",
            "name",
            "ifGenerationMatch",
            "upload_id",
            "alt",
            "prefix",
            "maxResults",
            "delimiter",
        ]
    ),
    st.text(max_size=30),
    max_size=3,
)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorOptions(seed=3)) as running:
        requests.post(f"{running.url}/v1beta/tunedModels", params={"tunedModelId": "x"}, json=model_body(), timeout=5)
        upload(running.url)  # a bucket, a dataset and a tuned Vertex model to aim at
        create_job(running.url)
        yield running


def _check(response: requests.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.request.method != "HEAD":
        error = response.json()["error"]
        assert error["code"] == response.status_code and error["status"]


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(method=methods, path=paths, query=queries, body=hostile_objects | json_values)
def test_structured_garbage(
    server: EmulatorServer, method: str, path: str, query: dict[str, str], body: object
) -> None:
    url = server.url + (path if path.startswith("/") else "/" + path)
    _check(requests.request(method, url, params=query, data=json.dumps(body), timeout=10))


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(raw=st.binary(max_size=300), path=paths)
def test_bytes_that_are_not_json(server: EmulatorServer, raw: bytes, path: str) -> None:
    url = server.url + (path if path.startswith("/") else "/" + path)
    _check(requests.post(url, data=raw, timeout=10))


def test_deeply_nested_json(server: EmulatorServer) -> None:
    body = "[" * 100_000 + "]" * 100_000
    _check(requests.post(f"{server.url}/v1beta/tunedModels", data=body, timeout=10))


def test_huge_body_is_refused_cleanly(server: EmulatorServer) -> None:
    body = b'{"description": "' + b"x" * (21 * 1024 * 1024) + b'"}'
    response = requests.post(f"{server.url}/v1beta/tunedModels", data=body, timeout=30)
    assert response.status_code == 400
    assert "payload size exceeds the limit" in response.json()["error"]["message"]


def test_bad_request_line_leaves_the_server_up(server: EmulatorServer) -> None:
    host, port = server.host_port.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(b"\x00\xff GARBAGE\r\n\r\n")
        raw.recv(1024)
    assert requests.get(f"{server.url}/_internal/health", timeout=5).status_code == 200


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    raw=st.binary(max_size=300),
    upload_type=st.sampled_from(["media", "multipart", "resumable", "x", ""]),
    content_type=st.sampled_from(["", "multipart/related; boundary=B", "application/json", "multipart/related"]),
    content_range=st.sampled_from(["", "bytes */10", "bytes 0-3/4", "bytes 5-9/*", "junk"]),
)
def test_uploads_of_garbage(
    server: EmulatorServer, raw: bytes, upload_type: str, content_type: str, content_range: str
) -> None:
    url = f"{server.url}/upload/storage/v1/b/tuning-data/o"
    params = {"uploadType": upload_type, "name": "fuzz.bin", "upload_id": "nope"}
    headers = {"Content-Type": content_type, "Content-Range": content_range}
    _check(requests.post(url, params=params, data=raw, headers=headers, timeout=10))
    _check(requests.put(url, params=params, data=raw, headers=headers, timeout=10))


vertex_names = st.sampled_from(
    [
        "baseModel",
        "preTunedModel",
        "tunedModelName",
        "checkpointId",
        "supervisedTuningSpec",
        "trainingDatasetUri",
        "validationDatasetUri",
        "hyperParameters",
        "epochCount",
        "learningRateMultiplier",
        "adapterSize",
        "exportLastCheckpointOnly",
        "labels",
        "tunedModelDisplayName",
        "displayName",
        "description",
        "versionDescription",
        "defaultCheckpointId",
        "deployedModelId",
        "trafficSplit",
        "contents",
        "parts",
        "text",
        "role",
        "versionAliases",
        "encryptionSpec",
        "batchSize",
    ]
)
vertex_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 2**70)
    | st.floats()
    | st.sampled_from(
        [
            "gs://tuning-data/datasets/numbers.jsonl",
            "gemini-2.5-flash",
            "ADAPTER_SIZE_FOUR",
            "7",
            "-live",
            "models/1",
            "",
        ]
    )
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(vertex_names | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=15,
)


@settings(max_examples=120, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    target=st.sampled_from(
        [
            "tuningJobs",
            "model",
            "model@1",
            "model:mergeVersionAliases",
            "endpoint",
            "endpoint:undeployModel",
            "endpoint:generateContent",
        ]
    ),
    body=st.dictionaries(vertex_names, vertex_values, max_size=5),
    mask=st.sampled_from([None, "labels", "displayName,description", "x"]),
)
def test_vertex_bodies(server: EmulatorServer, target: str, body: dict[str, object], mask: str | None) -> None:
    job = requests.get(f"{server.url}{VERTEX}/tuningJobs", timeout=10).json()["tuningJobs"][0]
    names = {"model": job["tunedModel"]["model"].split("@")[0], "endpoint": job["tunedModel"]["endpoint"]}
    kind, _, verb = target.partition(":")
    if kind == "tuningJobs":
        method, url = "POST", f"{server.url}{VERTEX}/tuningJobs"
    else:
        base, _, version = kind.partition("@")
        name = names[base] + (f"@{version}" if version else "")
        method = "POST" if verb else "PATCH"
        url = f"{server.url}/v1/{name}" + (f":{verb}" if verb else "")
    params = {"updateMask": mask} if mask and method == "PATCH" else {}
    _check(requests.request(method, url, params=params, data=json.dumps(body), timeout=10))


# --- the classes of issue 13: bodies, runs, page tokens and regexes --------------------------

chunk_headers = st.one_of(
    st.integers(min_value=0, max_value=2**64).map(lambda size: f"{size:X}".encode()),
    st.binary(max_size=24).filter(lambda raw: b"\n" not in raw),
)


@pytest.fixture(scope="module")
def child() -> Iterator[EmulatorProcess]:
    with emulator_process() as running:  # a crash here fails the test, not the run
        yield running


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(header=chunk_headers, data=st.binary(max_size=64), end=st.booleans())
def test_chunked_bodies(child: EmulatorProcess, header: bytes, data: bytes, end: bool) -> None:
    body = header + b"\r\n" + data + (b"\r\n0\r\n\r\n" if end else b"")
    request = b"POST /v1beta/tunedModels HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    with socket.create_connection(child.address, timeout=20) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = connection.recv(65536)
    if answer:  # a cut body may also lose the answer with the connection
        assert int(answer.split()[1]) < 500, answer
    assert child.alive(), "the emulator process died"


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    epochs=st.integers(min_value=1, max_value=2**31 - 1),
    batch=st.integers(min_value=1, max_value=2**31 - 1),
    count=st.integers(min_value=1, max_value=30),
)
def test_run_sizes(server: EmulatorServer, epochs: int, batch: int, count: int) -> None:
    body = model_body(count)
    body["tuningTask"]["hyperparameters"] = {"epochCount": epochs, "batchSize": batch}
    _check(requests.post(f"{server.url}/v1beta/tunedModels", json=body, timeout=10))
    _check(requests.get(f"{server.url}/v1beta/tunedModels", params={"pageSize": 5}, timeout=10))


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    after=json_values | st.integers(),
    path=st.sampled_from(
        ["/v1beta/tunedModels", "/v1/operations", "/v1beta/models", "/v1beta/tunedModels/x/permissions"]
    ),
)
def test_page_tokens(server: EmulatorServer, after: object, path: str) -> None:
    raw = json.dumps({"after": after, "filter": ""}).encode()
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    _check(requests.get(server.url + path, params={"pageToken": token}, timeout=10))


slow_regexes = st.sampled_from(["^(a|a)*$", "(x+x+)+y", "^(/|[a-z]|[a-z])*$", "(.*a){25}", "^(\\w+\\s?)*$"])


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    path_regex=slow_regexes | st.text(max_size=30),
    path=st.text(alphabet=st.sampled_from("/ax!"), min_size=1, max_size=80),
)
def test_fault_regexes(server: EmulatorServer, path_regex: str, path: str) -> None:
    answer = requests.post(f"{server.url}/_internal/faults", json={"rate_503": 1, "path_regex": path_regex}, timeout=10)
    _check(answer)
    try:
        response = requests.get(f"{server.url}/{path.lstrip('/')}", timeout=20)
        assert response.status_code < 500 or response.status_code == 503, response.text
    finally:
        requests.post(f"{server.url}/_internal/faults", json={}, timeout=10)
