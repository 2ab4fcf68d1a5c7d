"""Buckets and objects. Objects are store documents holding their bytes
(base64) and the metadata the API reports: size, md5Hash, crc32c, generation."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from reconciler.emulator.calls import AnswerLost, Call, RawReply, Reply
from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.checksums import crc32c_base64, md5_base64
from reconciler.emulator.gcs.conditions import NotModified, byte_range, check_bucket, check_object
from reconciler.emulator.gcs.listing import Listing
from reconciler.emulator.ids import IdMaker, project_number
from reconciler.emulator.store import Document, Store
from reconciler.emulator.wire import timestamp

BUCKETS, OBJECTS, UPLOADS = "gcs.bucket", "gcs.object", "gcs.upload"
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")
MAX_OBJECT_NAME = 1024
DEFAULT_PROJECT_NUMBER = "100000000000"  # [infer] buckets created without ?project=
CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")


def read_object(store: Store, bucket: str, name: str) -> bytes | None:
    """An object's bytes, or None when it does not exist (for the Vertex datasets)."""
    document = store.get_document(OBJECTS, f"{bucket}/{name}")
    return base64.b64decode(document["data"]) if document else None


def seed_bucket(store: Store, name: str, now: float) -> None:
    """Make bucket `name` exist, as a project's buckets exist before anything
    is uploaded (`EmulatorOptions.buckets`); one the store holds already is kept."""
    if not BUCKET_NAME.fullmatch(name):
        raise ValueError(f"not a bucket name: {name[:100]!r}")
    document = {"name": name, "create_time": now, "project_number": DEFAULT_PROJECT_NUMBER}
    store.change_document(BUCKETS, name, lambda current: current if current is not None else document)


class Faults(Protocol):
    def take(self, name: str) -> bool:
        """Use up one of a count fault: True when it was armed."""


class _NoFaults:
    def take(self, name: str) -> bool:
        return False


class StorageService:
    def __init__(self, store: Store, ids: IdMaker, faults: Faults | None = None) -> None:
        self.store = store
        self.ids = ids
        # The datasets' faults (`upload_corruptions`, `broken_chunks`) are armed
        # with the Vertex ones (app.py passes them): they exist for its uploads.
        self.faults = faults or _NoFaults()

    # --- buckets -------------------------------------------------------------------------

    def get_bucket(self, call: Call, bucket: str) -> Reply:
        document = self._bucket(bucket)
        try:
            check_bucket(call.query)
        except NotModified:
            return RawReply(304)
        return 200, _bucket_json(document)

    def insert_bucket(self, call: Call) -> Reply:
        body = call.body if isinstance(call.body, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not BUCKET_NAME.fullmatch(name):
            raise errors.bad_request("Invalid bucket name: " + repr(name)[:100])
        project = call.query.get("project", DEFAULT_PROJECT_NUMBER)
        # projectNumber is a number (uint64) even when the bucket was made with the project id.
        document = {"name": name, "create_time": call.now, "project_number": project_number(project)}

        def create(current: Document | None) -> Document:
            if current is not None:
                # The real text, for a bucket the caller already owns.
                raise errors.StorageError(
                    409, "Your previous request to create the named bucket succeeded and you already own it."
                )
            return document

        self.store.change_document(BUCKETS, name, create)
        return 200, _bucket_json(document)

    def _bucket(self, bucket: str) -> Document:
        document = self.store.get_document(BUCKETS, bucket)
        if document is None:
            raise errors.bucket_not_found()
        return document

    # --- objects -------------------------------------------------------------------------

    def get_object(self, call: Call, bucket: str, object_name: str) -> Reply:
        try:
            document = self._object(bucket, object_name, call.query)
        except NotModified:
            return RawReply(304)
        if call.system.get("alt") == "media":
            return _media(document, call.headers.get("range", ""))
        return 200, _object_json(document, call.host_url)

    def download_object(self, call: Call, bucket: str, object_name: str) -> Reply:
        try:
            document = self._object(bucket, object_name, call.query)
        except NotModified:
            return RawReply(304)
        return _media(document, call.headers.get("range", ""))

    def delete_object(self, call: Call, bucket: str, object_name: str) -> Reply:
        self._bucket(bucket)

        def delete(current: Document | None) -> None:
            if current is None:
                raise errors.object_not_found(bucket, object_name)
            check_object(call.query, current, read=False)  # a failed precondition deletes nothing
            return None

        self.store.change_document(OBJECTS, f"{bucket}/{object_name}", delete)
        return RawReply(204)

    def list_objects(self, call: Call, bucket: str) -> Reply:
        self._bucket(bucket)
        listing = Listing.of(call.query)
        page, token = listing.page(d for d in self._all_objects() if d["bucket"] == bucket)
        body: dict[str, Any] = {"kind": "storage#objects"}
        if token:
            body["nextPageToken"] = token
        prefixes = [entry.key for entry in page if entry.document is None]
        items = [_object_json(entry.document, call.host_url) for entry in page if entry.document is not None]
        if prefixes:
            body["prefixes"] = prefixes
        if items:
            body["items"] = items
        return 200, body

    def _all_objects(self) -> Iterator[Document]:
        """Every object, read in batches (names are sorted by the listing: the
        store keeps them in the order they were first written)."""
        position = 0
        while True:
            batch = self.store.documents_after(OBJECTS, position, 1000)
            yield from (document for _, document in batch)
            if len(batch) < 1000:
                return
            position = batch[-1][0]

    def _object(self, bucket: str, name: str, query: Mapping[str, str]) -> Document:
        self._bucket(bucket)
        document = self.store.get_document(OBJECTS, f"{bucket}/{name}")
        if document is None:
            raise errors.object_not_found(bucket, name)
        check_object(query, document, read=True)
        return document

    # --- uploads -------------------------------------------------------------------------

    def upload(self, call: Call, bucket: str) -> Reply:
        kind = call.system.get("uploadType", "")
        self._bucket(bucket)
        if kind == "media":
            return self._finish(
                call, bucket, call.query.get("name", ""), call.headers.get("content-type", ""), {}, _bytes(call.body)
            )
        if kind == "multipart":
            metadata, content_type, data = _multipart(call.headers.get("content-type", ""), _bytes(call.body))
            return self._finish(
                call,
                bucket,
                metadata.get("name") or call.query.get("name", ""),
                metadata.get("contentType") or content_type,
                metadata.get("metadata") or {},
                data,
            )
        if kind == "resumable":
            return self._start_resumable(call, bucket)
        raise errors.bad_request(f"Invalid or missing uploadType: {kind[:50]!r}. Use media, multipart or resumable.")

    def _start_resumable(self, call: Call, bucket: str) -> Reply:
        metadata = _json_object(_bytes(call.body))
        name = metadata.get("name") or call.query.get("name", "")
        _check_name(name)
        self._precondition(call.query, bucket, name)
        upload_id = self.ids.token(24)
        session = {
            "bucket": bucket,
            "name": name,
            "data": "",
            "content_type": metadata.get("contentType") or call.headers.get("x-upload-content-type", ""),
            "metadata": metadata.get("metadata") or {},
            "query": dict(call.query),
        }
        self.store.change_document(UPLOADS, upload_id, lambda _: session)
        location = (
            f"{call.host_url}upload/storage/v1/b/{quote(bucket, safe='')}/o?uploadType=resumable&upload_id={upload_id}"
        )
        return RawReply(200, headers={"Location": location}, content_type="text/plain")

    def resume(self, call: Call, bucket: str) -> Reply:
        """A PUT of a resumable session: a chunk, the last chunk, or a status query
        (`Content-Range: bytes */total`). Every answer says what is committed: 308
        with `Range: bytes=0-N` (none while nothing is), or the object once complete,
        to a repeated last chunk or a status query as well."""
        upload_id = call.query.get("uploadId", "")
        session = self.store.get_document(UPLOADS, upload_id) if upload_id else None
        if session is None or session["bucket"] != bucket:
            raise errors.StorageError(404, "No such upload session.")
        if session.get("object") is not None:
            return 200, _object_json(session["object"], call.host_url)
        data = base64.b64decode(session["data"])
        chunk = _bytes(call.body)
        match = CONTENT_RANGE.fullmatch(
            call.headers.get("content-range", "").strip() or f"bytes 0-{len(chunk) - 1}/{len(chunk)}"
        )
        if not match:
            raise errors.bad_request("Invalid Content-Range header.")
        first, _, total = match.groups()
        if first is not None:
            if int(first) > len(data):
                raise errors.bad_request(
                    f"Invalid request: the chunk starts at {first}, but {len(data)} bytes were received so far."
                )
            # A chunk sent again after a break overlaps what was committed: only
            # what follows it counts (google-resumable-media resends whole chunks).
            chunk = chunk[len(data) - int(first) :]
            if chunk and self.faults.take("broken_chunks"):
                # The connection breaks mid-chunk: what arrived is kept, the answer is lost.
                self._save_session(upload_id, session, data + chunk[: len(chunk) // 2])
                raise AnswerLost
            data += chunk
        if total != "*" and len(data) >= int(total):
            written = self._write(
                call,
                bucket,
                session["name"],
                session["content_type"],
                session["metadata"],
                data[: int(total)],
                session["query"],
            )
            self._save_session(upload_id, {**session, "object": {**written, "data": ""}}, b"")
            return 200, _object_json(written, call.host_url)
        self._save_session(upload_id, session, data)
        headers = {"Range": f"bytes=0-{len(data) - 1}"} if data else {}
        return RawReply(308, headers=headers, content_type="text/plain")

    def _save_session(self, upload_id: str, session: Document, data: bytes) -> None:
        saved = {**session, "data": base64.b64encode(data).decode()}
        self.store.change_document(UPLOADS, upload_id, lambda _: saved)

    def _finish(
        self, call: Call, bucket: str, name: str, content_type: str, metadata: dict[str, Any], data: bytes
    ) -> Reply:
        return 200, _object_json(self._write(call, bucket, name, content_type, metadata, data), call.host_url)

    def _write(
        self,
        call: Call,
        bucket: str,
        name: str,
        content_type: str,
        metadata: dict[str, Any],
        data: bytes,
        query: Mapping[str, str] | None = None,
    ) -> Document:
        """The object as written, under the upload's `ifGenerationMatch`."""
        _check_name(name)
        conditions = query if query is not None else call.query
        now_us = int(call.now * 1_000_000)
        if self.faults.take("upload_corruptions"):
            data = _corrupted(data)  # damaged on the way in; the checksums are of what is kept

        if "generation" in conditions:
            raise errors.bad_request("generation is not a parameter of an upload: use ifGenerationMatch.")

        def write(current: Document | None) -> Document:
            check_object(conditions, current, read=False)
            generation = max(now_us, int(current["generation"]) + 1) if current else now_us
            return {
                "bucket": bucket,
                "name": name,
                "generation": generation,
                "content_type": content_type or "application/octet-stream",
                "metadata": metadata if isinstance(metadata, dict) else {},
                "size": len(data),
                "md5": md5_base64(data),
                "crc32c": crc32c_base64(data),
                "create_time": call.now,
                "data": base64.b64encode(data).decode(),
            }

        document = self.store.change_document(OBJECTS, f"{bucket}/{name}", write)
        assert document is not None
        return document

    def _precondition(self, query: Mapping[str, str], bucket: str, name: str) -> None:
        if "generation" in query:
            raise errors.bad_request("generation is not a parameter of an upload: use ifGenerationMatch.")
        check_object(query, self.store.get_document(OBJECTS, f"{bucket}/{name}"), read=False)


def _corrupted(data: bytes) -> bytes:
    """`data` with its last byte changed (one extra byte when there is none)."""
    return data[:-1] + bytes([data[-1] ^ 0x01]) if data else b"\x00"


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise errors.bad_request("Required: an object name.")
    if len(name.encode()) > MAX_OBJECT_NAME or "\n" in name or "\r" in name:
        raise errors.bad_request("The object name is not valid.")


def _bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else b""


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise errors.bad_request("The object metadata is not valid JSON.") from None
    if not isinstance(value, dict):
        raise errors.bad_request("The object metadata must be a JSON object.")
    return value


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], str, bytes]:
    """`multipart/related`: a JSON metadata part, then the media part."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/related") or not match:
        raise errors.bad_request("A multipart upload needs Content-Type multipart/related with a boundary.")
    delimiter = b"--" + match.group(1).encode()
    parts = body.split(delimiter)
    if len(parts) < 4 or not parts[-1].startswith(b"--"):
        raise errors.bad_request("A multipart upload needs a metadata part and a media part.")
    metadata_part, media_part = (_split_part(part) for part in parts[1:3])
    return _json_object(metadata_part[1]), media_part[0], media_part[1]


def _split_part(part: bytes) -> tuple[str, bytes]:
    """A part's content type and its content (without the CRLF around it)."""
    head, separator, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
    if not separator:
        raise errors.bad_request("A multipart part lacks its headers.")
    content_type = ""
    for line in head.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.strip().lower() == "content-type":
            content_type = value.strip()
    return content_type, content.removesuffix(b"\r\n")


def _media(document: Document, range_header: str = "") -> RawReply:
    """The bytes, or the part a `Range` header asks for (206 with Content-Range)."""
    data = base64.b64decode(document["data"])
    headers = {
        "X-Goog-Hash": f"crc32c={document['crc32c']},md5={document['md5']}",
        "X-Goog-Generation": str(document["generation"]),
        "X-Goog-Metageneration": "1",
        "X-Goog-Stored-Content-Length": str(len(data)),
    }
    wanted = byte_range(range_header, len(data))
    if wanted is None:
        return RawReply(200, data, document["content_type"], headers)
    first, last = wanted
    headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
    return RawReply(206, data[first : last + 1], document["content_type"], headers)


def _bucket_json(document: Document) -> dict[str, Any]:
    created = timestamp(document["create_time"])
    return {
        "kind": "storage#bucket",
        "id": document["name"],
        "name": document["name"],
        "projectNumber": document["project_number"],
        "metageneration": "1",
        "location": "US",
        "storageClass": "STANDARD",
        "locationType": "multi-region",
        "timeCreated": created,
        "updated": created,
        "etag": "CAE=",
    }


def _object_json(document: Document, host_url: str) -> dict[str, Any]:
    bucket, name, generation = document["bucket"], document["name"], str(document["generation"])
    created = timestamp(document["create_time"])
    path = f"b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"
    body: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "selfLink": f"{host_url}storage/v1/{path}",
        "mediaLink": f"{host_url}download/storage/v1/{path}?generation={generation}&alt=media",
        "name": name,
        "bucket": bucket,
        "generation": generation,
        "metageneration": "1",
        "contentType": document["content_type"],
        "storageClass": "STANDARD",
        "size": str(document["size"]),
        "md5Hash": document["md5"],
        "crc32c": document["crc32c"],
        "etag": base64.b64encode(generation.encode()).decode(),
        "timeCreated": created,
        "updated": created,
        "timeStorageClassUpdated": created,
    }
    if document["metadata"]:
        body["metadata"] = document["metadata"]
    return body
