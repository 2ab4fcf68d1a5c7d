"""`VertexClient`: tuning jobs, Models, Endpoints and operations of Vertex AI,
plus the Cloud Storage objects the datasets and locks live in; one method a call.

Bodies in and out are proto3 JSON dicts exactly as the APIs speak them. What
may be sent twice: reads, PATCH, DELETE, cancel, undeploy, generateContent. A
tuning-job create has no client-chosen id, so it is resent only when the
request surely never arrived; the backend resolves any other doubt by listing
the attempt label (see `VertexBackend.create`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from reconciler.client.auth import Anonymous, Credentials
from reconciler.client.errors import InvalidArgument, NotFound, UnexpectedResponse
from reconciler.client.pages import pages
from reconciler.client.retry import RetryPolicy
from reconciler.client.shapes import ENUM, INTEGER, NUMBER, TEXT, ListOf, MapOf, Obj, Shape
from reconciler.client.transport import Answer, Resend, Transport, new_session

PAGE_SIZE = 1000  # the most a list page holds
PRECONDITION_FAILED = 412  # Cloud Storage: ifGenerationMatch did not hold
RESUME_INCOMPLETE = 308  # a resumable upload's answer while bytes are still missing
COMMITTED_RANGE = re.compile(r"bytes=0-(\d+)")
# The label terms the backend filters by: `labels.KEY=VALUE` and `labels.KEY:*`, ANDed.
LABEL_TERM = re.compile(r"labels\.([a-z0-9_-]+)(?:=([a-z0-9_-]*)|(:\*))")
logger = logging.getLogger("reconciler.backends.vertex")


@dataclass(frozen=True)
class UploadSession:
    """A resumable upload: its path on the storage endpoint and its query
    (`upload_id` is a bearer capability: never printed)."""

    path: str
    params: Mapping[str, str]


@dataclass(frozen=True)
class UploadState:
    """How far a resumable upload is: the bytes the server has committed, and
    the object once the last byte is in."""

    committed: int
    stored: dict[str, Any] | None = None


# The JSON types of what the backend decodes from each list (live.py,
# labels.py, backend.py): a server that sends another type is refused at the list.
LABELS: Shape = MapOf(TEXT)
TUNING_JOB: Shape = Obj(
    {
        "name": TEXT,
        "labels": LABELS,
        "state": ENUM,
        "createTime": TEXT,
        "updateTime": TEXT,
        "baseModel": TEXT,
        "tunedModelDisplayName": TEXT,
        "description": TEXT,
        "tunedModel": Obj({"model": TEXT, "endpoint": TEXT, "checkpoints": ListOf(Obj({"endpoint": TEXT}))}),
        "preTunedModel": Obj({"tunedModelName": TEXT, "baseModel": TEXT}),
        "tuningJobMetadata": Obj({"completedStepCount": INTEGER, "completedEpochCount": INTEGER}),
        "supervisedTuningSpec": Obj(
            {"hyperParameters": Obj({"epochCount": INTEGER, "learningRateMultiplier": NUMBER, "adapterSize": ENUM})}
        ),
    },
    required=("name",),
)
MODEL: Shape = Obj(
    {
        "name": TEXT,
        "labels": LABELS,
        "displayName": TEXT,
        "description": TEXT,
        "createTime": TEXT,
        "updateTime": TEXT,
        "etag": TEXT,
        "deployedModels": ListOf(Obj({"endpoint": TEXT, "deployedModelId": TEXT})),
    },
    required=("name",),
)
ENDPOINT: Shape = Obj(
    {
        "name": TEXT,
        "labels": LABELS,
        "etag": TEXT,
        "trafficSplit": MapOf(INTEGER),
        "deployedModels": ListOf(Obj({"id": TEXT, "model": TEXT})),
    },
    required=("name",),
)


class VertexClient:
    def __init__(
        self,
        endpoint: str,
        storage_endpoint: str,
        project: str,
        location: str,
        *,
        api_version: str = "v1",
        credentials: Credentials | None = None,
        quota_project: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        pool_size: int = 10,
    ) -> None:
        credentials = credentials or Anonymous()
        session = new_session(pool_size)
        self.api_version = api_version
        self.parent = f"projects/{project}/locations/{location}"
        self.project = project
        self.location = location
        self._api = Transport(
            endpoint,
            credentials,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            session=session,
            quota_project=quota_project,
        )
        self._storage = Transport(
            storage_endpoint,
            credentials,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            session=session,
            quota_project=quota_project,
        )
        self._unfiltered: set[str] = set()  # lists that refused a `labels.` filter: filtered here

    @property
    def endpoint(self) -> str:
        return self._api.endpoint

    @property
    def storage_endpoint(self) -> str:
        return self._storage.endpoint

    @property
    def credentials(self) -> Credentials:
        return self._api.credentials

    @property
    def quota_project(self) -> str | None:
        return self._api.quota_project

    @property
    def request_count(self) -> int:
        return self._api.request_count + self._storage.request_count

    def close(self) -> None:
        self._api.close()

    # --- tuning jobs ----------------------------------------------------------------

    def list_tuning_jobs(self, filter: str = "") -> list[dict[str, Any]]:
        return self._list_all(self._collection("tuningJobs"), "tuningJobs", TUNING_JOB, filter)

    def get_tuning_job(self, name: str) -> dict[str, Any]:
        return self._call("GET", self._v(name))

    def create_tuning_job(self, body: Mapping[str, Any]) -> dict[str, Any]:
        # A 429 is the backend's to wait out (its Pacer, on the apply's waiter), not a backoff here.
        return self._call("POST", self._collection("tuningJobs"), body=body, resend=Resend.IF_NEVER_SENT)

    def cancel_tuning_job(self, name: str) -> None:
        self._call("POST", f"{self._v(name)}:cancel", body={})

    # --- models -----------------------------------------------------------------------

    def list_models(self, filter: str = "") -> list[dict[str, Any]]:
        return self._list_all(self._collection("models"), "models", MODEL, filter)

    def get_model(self, name: str) -> dict[str, Any]:
        return self._call("GET", self._v(name))

    def list_model_versions(self, name: str) -> list[dict[str, Any]]:
        return self._list_all(self._v(name) + ":listVersions", "models", MODEL, "")

    def update_model(self, name: str, body: Mapping[str, Any], mask: list[str]) -> dict[str, Any]:
        return self._call("PATCH", self._v(name), params={"updateMask": ",".join(mask)}, body=body)

    def delete_model(self, name: str) -> dict[str, Any]:
        """Starts the delete; returns its operation."""
        return self._call("DELETE", self._v(name))

    # --- endpoints ----------------------------------------------------------------------

    def list_endpoints(self, filter: str = "") -> list[dict[str, Any]]:
        return self._list_all(self._collection("endpoints"), "endpoints", ENDPOINT, filter)

    def get_endpoint(self, name: str) -> dict[str, Any]:
        return self._call("GET", self._v(name))

    def update_endpoint_labels(self, name: str, labels: Mapping[str, str]) -> dict[str, Any]:
        return self._call("PATCH", self._v(name), params={"updateMask": "labels"}, body={"labels": dict(labels)})

    def undeploy_model(self, endpoint: str, deployed_model_id: str, traffic_split: Mapping[str, int]) -> dict[str, Any]:
        body: dict[str, Any] = {"deployedModelId": deployed_model_id}
        if traffic_split:
            body["trafficSplit"] = dict(traffic_split)
        return self._call("POST", f"{self._v(endpoint)}:undeployModel", body=body)

    def delete_endpoint(self, name: str) -> dict[str, Any]:
        return self._call("DELETE", self._v(name))

    def get_operation(self, name: str) -> dict[str, Any]:
        return self._call("GET", self._v(name))

    def generate_content(self, endpoint: str, text: str, generation_config: Mapping[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        if generation_config:
            body["generationConfig"] = dict(generation_config)
        return self._call("POST", f"{self._v(endpoint)}:generateContent", body=body)

    # --- Cloud Storage ----------------------------------------------------------------

    def get_object(self, bucket: str, name: str) -> dict[str, Any] | None:
        try:
            return self._storage.call("GET", f"storage/v1/b/{bucket}/o/{quote(name, safe='')}")
        except NotFound:
            return None

    def download_object(self, bucket: str, name: str) -> dict[str, Any] | None:
        """An object holding one JSON document (a lock), or None."""
        try:
            return self._storage.call("GET", f"storage/v1/b/{bucket}/o/{quote(name, safe='')}", params={"alt": "media"})
        except NotFound:
            return None

    def upload_object(
        self, bucket: str, name: str, data: bytes, content_type: str, if_generation_match: str = "0"
    ) -> dict[str, Any]:
        """A media upload that only succeeds if the object's live generation is
        `if_generation_match` ("0": none); a 412 says it did not hold."""
        params = {"uploadType": "media", "name": name, "ifGenerationMatch": if_generation_match}
        return self._storage.call("POST", f"upload/storage/v1/b/{bucket}/o", params=params, media=(data, content_type))

    def start_resumable_upload(
        self, bucket: str, name: str, content_type: str, size: int, if_generation_match: str
    ) -> UploadSession:
        """Opens a resumable upload session (`uploadType=resumable`); the object
        is written only if its live generation is still `if_generation_match`
        when the last byte arrives (a 412 then)."""
        params = {"uploadType": "resumable", "name": name, "ifGenerationMatch": if_generation_match}
        answer = self._storage.exchange(
            "POST",
            f"upload/storage/v1/b/{bucket}/o",
            params=params,
            body={"name": name, "contentType": content_type},
            headers={"x-upload-content-type": content_type, "x-upload-content-length": str(size)},
        )
        return self._session(answer.headers.get("location", ""))

    def put_upload_chunk(
        self, session: UploadSession, chunk: bytes, first: int, total: int, content_type: str
    ) -> UploadState:
        """Sends bytes `first`.. of `total`. Resent only when it surely never
        arrived: after anything else the caller asks what was committed."""
        content_range = f"bytes {first}-{first + len(chunk) - 1}/{total}"
        answer = self._storage.exchange(
            "PUT",
            session.path,
            params=session.params,
            media=(chunk, content_type),
            headers={"content-range": content_range},
            resend=Resend.IF_NEVER_PROCESSED,
            accept=frozenset({RESUME_INCOMPLETE}),
        )
        return _upload_state(answer, total)

    def query_upload(self, session: UploadSession, total: int) -> UploadState:
        """What the server committed so far (an empty PUT, `Content-Range: bytes */total`)."""
        answer = self._storage.exchange(
            "PUT",
            session.path,
            params=session.params,
            media=(b"", "application/octet-stream"),
            headers={"content-range": f"bytes */{total}"},
            accept=frozenset({RESUME_INCOMPLETE}),
        )
        return _upload_state(answer, total)

    def _session(self, location: str) -> UploadSession:
        """The session URL, which must be on the storage endpoint: the token goes with every chunk."""
        endpoint = urlsplit(self._storage.endpoint)
        url = urlsplit(location)
        if (url.scheme, url.netloc) != (endpoint.scheme, endpoint.netloc) or not url.path.startswith("/"):
            raise UnexpectedResponse(
                f"the resumable upload session is not on {self._storage.endpoint} "
                f"({url.scheme}://{url.netloc[:100]}); nothing was sent there"
            )
        return UploadSession(url.path.lstrip("/"), dict(parse_qsl(url.query)))

    def delete_object(self, bucket: str, name: str, if_generation_match: str | None = None) -> None:
        params = {"ifGenerationMatch": if_generation_match} if if_generation_match else None
        with suppress(NotFound):  # gone already is done
            self._storage.call("DELETE", f"storage/v1/b/{bucket}/o/{quote(name, safe='')}", params=params)

    # --- plumbing -----------------------------------------------------------------------

    def _v(self, name: str) -> str:
        return f"{self.api_version}/{name}"

    def _collection(self, kind: str) -> str:
        return f"{self.api_version}/{self.parent}/{kind}"

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._api.call(method, path, **kwargs)

    def _list_all(self, path: str, key: str, shape: Shape, filter: str) -> list[dict[str, Any]]:
        """Every item, or an error. The v1 reference does not promise a `labels.`
        filter on every list: one refused 400 INVALID_ARGUMENT is read unfiltered
        (every page) and filtered here, for the rest of the run too."""
        matches = _label_matcher(filter)
        if matches is not None and path in self._unfiltered:
            return [item for item in self._pages(path, key, shape, "") if matches(item)]
        try:
            return self._pages(path, key, shape, filter)
        except InvalidArgument:
            if matches is None:
                raise
            self._unfiltered.add(path)
            logger.debug("GET /%s refused the filter %r: listing every item and filtering here", path, filter)
            return [item for item in self._pages(path, key, shape, "") if matches(item)]

    def _pages(self, path: str, key: str, shape: Shape, filter: str) -> list[dict[str, Any]]:
        """Every page, or an error at a bound (`pages`): never a partial list."""

        def fetch(token: str) -> dict[str, Any]:
            params = {"pageSize": str(PAGE_SIZE)}
            if filter:
                params["filter"] = filter
            if token:
                params["pageToken"] = token
            return self._call("GET", path, params=params)

        return [
            item for page in pages(fetch, key, what=f"GET /{path}", page_size=PAGE_SIZE, shape=shape) for item in page
        ]


def _label_matcher(filter: str) -> Callable[[Mapping[str, Any]], bool] | None:
    """The filter as a predicate over listed items, when it is only label terms
    joined by AND (what the backend sends); else None: no client-side fallback."""
    terms = [LABEL_TERM.fullmatch(term.strip()) for term in filter.split(" AND ")] if filter else []
    if not terms or not all(terms):
        return None
    wanted = [(m.group(1), m.group(2)) for m in terms if m is not None]  # value None: the key is there

    def matches(item: Mapping[str, Any]) -> bool:
        labels = item.get("labels") or {}
        return all(k in labels if v is None else labels.get(k) == v for k, v in wanted)

    return matches


def _upload_state(answer: Answer, total: int) -> UploadState:
    """308 and its `Range: bytes=0-N` (none: nothing committed yet), or the object."""
    if answer.status != RESUME_INCOMPLETE:
        return UploadState(total, answer.body)
    committed = answer.headers.get("range", "")
    if not committed:
        return UploadState(0)
    match = COMMITTED_RANGE.fullmatch(committed.strip())
    if match is None:
        raise UnexpectedResponse(f"a resumable upload answered 308 with Range {committed[:100]!r}, not bytes=0-N")
    return UploadState(int(match.group(1)) + 1)
