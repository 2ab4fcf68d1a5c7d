"""A dataset into Cloud Storage, and the proof that its object holds it.

A tuning job trains on whatever object its `trainingDatasetUri` names when
Vertex AI reads it. So the content address is not trusted: before each create
the object's metadata is read, and its `size` and `md5Hash` (base64, as the
JSON API reports it) must be those of the canonical bytes the plan saw. An
object that does not match (overwritten by hand, or composite: composite
objects carry no md5Hash) is overwritten with the planned bytes under
`ifGenerationMatch=<the generation read>`, so that a concurrent writer makes
the write fail instead of being lost; then it is read once more, and a
mismatch again stops the create. After every upload the checksum the API
reports for the new object is compared with the bytes: a mismatch is an error,
the object is removed (by its generation), and nothing is tuned on it.

md5 alone is checked: hashlib computes it at memory speed, and every object
written here (never composite, never encrypted with a customer-supplied key)
carries one. crc32c would need a native library the product does not depend on.

The job's URI does not pin the generation: Vertex AI documents
`trainingDatasetUri` as a Cloud Storage path to a JSONL file, and no
`gs://bucket/object#generation` form, so an object changed between this check
and the job's own read is outside what the reconciler can see.

Datasets above RESUMABLE_ABOVE bytes go up resumably (`uploadType=resumable`):
one session, CHUNK_BYTES a PUT with `Content-Range`, and after a chunk that
broke (no answer, a 5xx) the committed range is asked for and the upload goes
on from there.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from reconciler.apply.backend import ChangeFailed
from reconciler.backends.vertex.client import PRECONDITION_FAILED, UploadSession, UploadState, VertexClient
from reconciler.backends.vertex.datasets import CONTENT_TYPE, object_name
from reconciler.backends.vertex.settings import VertexSettings
from reconciler.client.errors import ApiError, NotFound
from reconciler.client.retry import is_transient

logger = logging.getLogger("reconciler.backends.vertex")

# Our choice: a media upload is one request that a broken connection restarts
# from byte 0, which costs little below 8 MiB; above it, resumable chunks.
RESUMABLE_ABOVE = 8 * 1024 * 1024
# Every chunk but the last must be a multiple of 256 KiB (the JSON API's rule).
CHUNK_UNIT = 256 * 1024
CHUNK_BYTES = 32 * CHUNK_UNIT  # 8 MiB, our choice: the most a broken chunk sends again
# Chunks that may break in a row, each followed by a look at the committed range,
# before the upload gives up.
BROKEN_CHUNKS = 5


@dataclass(frozen=True)
class Stored:
    uri: str
    uploaded: bool  # this call wrote the object (a second apply writes nothing)


@dataclass(frozen=True)
class Digest:
    """What the API reports for an object holding exactly some bytes."""

    size: int
    md5: str

    @classmethod
    def of(cls, data: bytes) -> Digest:
        return cls(len(data), base64.b64encode(hashlib.md5(data).digest()).decode())

    def held_by(self, stored: Mapping[str, Any]) -> bool:
        return str(stored.get("size", "")) == str(self.size) and stored.get("md5Hash") == self.md5

    def describe(self, stored: Mapping[str, Any]) -> str:
        return (
            f"it holds {str(stored.get('size', '?'))[:20]} bytes with md5 "
            f"{str(stored.get('md5Hash', 'none'))[:30]}, the plan {self.size} bytes with md5 {self.md5}"
        )


def store_dataset(client: VertexClient, settings: VertexSettings, data: bytes) -> Stored:
    """The canonical JSONL at its content address, checked against its checksum.
    The bucket is the project's (an emulator's is seeded when it starts): it is
    never made here."""
    name = object_name(settings.prefix, data)
    uploaded = ensure_object(client, settings.bucket, name, data, CONTENT_TYPE)
    return Stored(f"gs://{settings.bucket}/{name}", uploaded)


def ensure_object(client: VertexClient, bucket: str, name: str, data: bytes, content_type: str) -> bool:
    """Make gs://bucket/name hold exactly `data`; True when this call wrote it."""
    where = f"gs://{bucket}/{name}"
    digest = Digest.of(data)
    current = client.get_object(bucket, name)
    if current is not None and digest.held_by(current):
        return False
    if current is not None:
        logger.warning(
            "%s does not hold the planned dataset (%s); writing the planned bytes", where, digest.describe(current)
        )
    try:
        stored = write_object(client, bucket, name, data, content_type, _generation(current))
    except ApiError as error:
        if error.http_status != PRECONDITION_FAILED:
            raise
        # Someone wrote it between the read and the write (often a second apply
        # uploading the same bytes): look once more, then stop.
        again = client.get_object(bucket, name)
        if again is not None and digest.held_by(again):
            return False
        raise ChangeFailed(
            f"{where} was changed by someone else while the planned dataset was "
            "being written, and does not hold it; nothing was tuned. Find who writes "
            "there, then apply again"
        ) from error
    if not digest.held_by(stored):
        with suppress(ApiError):  # a best effort: the next create checks it anyway
            client.delete_object(bucket, name, if_generation_match=str(stored.get("generation", "")) or None)
        raise ChangeFailed(
            f"the upload of {where} did not store the planned dataset "
            f"({digest.describe(stored)}); nothing was tuned on it. Apply again"
        )
    return True


def write_object(
    client: VertexClient, bucket: str, name: str, data: bytes, content_type: str, generation: str
) -> dict[str, Any]:
    """One media upload, or a resumable one above RESUMABLE_ABOVE; the object the API reports."""
    try:
        if len(data) <= RESUMABLE_ABOVE:
            return client.upload_object(bucket, name, data, content_type, if_generation_match=generation)
        session = client.start_resumable_upload(bucket, name, content_type, len(data), generation)
    except NotFound as error:  # an upload into a bucket answers 404 only when the bucket is missing
        raise ChangeFailed(
            f"the datasets bucket gs://{bucket} does not exist (Cloud Storage: {error}); create it, "
            "or set vertex.datasets in reconciler.yaml to one that does; nothing was tuned"
        ) from error
    return _send_chunks(client, session, data, content_type)


def _send_chunks(client: VertexClient, session: UploadSession, data: bytes, content_type: str) -> dict[str, Any]:
    """Chunks from the committed offset on; a broken chunk asks the server where it stands."""
    total = len(data)
    state = UploadState(0)
    broken = 0
    while state.stored is None:
        first = state.committed
        if first >= total:  # every byte is in, yet no object was reported: ask for it
            state = client.query_upload(session, total)
            if state.stored is None:
                raise ChangeFailed(f"the resumable upload committed all {total} bytes but wrote no object")
            break
        try:
            state = client.put_upload_chunk(session, data[first : first + CHUNK_BYTES], first, total, content_type)
        except ApiError as error:
            broken += 1
            if not is_transient(error) or broken > BROKEN_CHUNKS:
                raise
            state = client.query_upload(session, total)
            continue
        if state.stored is None and state.committed <= first:
            broken += 1  # an answer that moved nothing on counts as a broken chunk
            if broken > BROKEN_CHUNKS:
                raise ChangeFailed(f"the resumable upload made no progress past byte {first} of {total}")
        else:
            broken = 0
    return state.stored


def _generation(current: Mapping[str, Any] | None) -> str:
    """The precondition of a write: the generation read, or "0" (no object yet)."""
    return str(current.get("generation", "")) if current is not None else "0"
