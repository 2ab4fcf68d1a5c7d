"""S3's buckets, objects and multipart uploads in the shared store.

Documents, one kind each: `s3.bucket` (by name), `s3.object` (by
`bucket/key`: what S3 reports of an object, without its bytes, so that a
listing reads no data), `s3.data` (an object's bytes, base64, by a key of its
own so that a replaced object's bytes go with it), `s3.upload` (a multipart
upload by its id, with the numbers of its parts) and `s3.part` (one part, with
its bytes, by `upload id/number`).

Every change holds one lock and a store transaction (`exclusive`), so that a
conditional write (`If-None-Match: *`) decides on what it then replaces, also
towards another emulator sharing the state file."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import threading
from collections.abc import Iterator
from typing import Any

from reconciler.emulator.aws import ACCOUNT
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.s3 import errors
from reconciler.emulator.store import Document, Store

BUCKETS, OBJECTS, DATA = "s3.bucket", "s3.object", "s3.data"
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
UPLOADS, PARTS = "s3.upload", "s3.part"
# The canonical user id of the emulated account, as listings and ACLs show it.
OWNER = {"ID": hashlib.sha256(ACCOUNT.encode()).hexdigest(), "DisplayName": "emulator"}


def read_object(store: Store, bucket: str, key: str) -> bytes | None:
    """An object's bytes, or None when it does not exist (for the Bedrock datasets)."""
    document = store.get_document(OBJECTS, f"{bucket}/{key}")
    if document is None:
        return None
    data = store.get_document(DATA, document["data_key"])
    return base64.b64decode(data["data"]) if data else None


def seed_bucket(store: Store, name: str, region: str, now: float) -> None:
    """Make bucket `name` exist in `region`, as an account's buckets exist before
    anything is uploaded (`EmulatorOptions.s3_buckets`); one already kept stays."""
    if not BUCKET_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"not an S3 bucket name: {name[:100]!r}")
    document = {"name": name, "region": region, "create_time": now}
    store.change_document(BUCKETS, name, lambda current: current if current is not None else document)


class S3Resources:
    def __init__(self, store: Store, ids: IdMaker) -> None:
        self.store = store
        self.ids = ids
        self.lock = threading.RLock()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self.lock, self.store.transaction():
            yield

    # --- buckets -------------------------------------------------------------------------

    def bucket(self, name: str) -> Document:
        document = self.store.get_document(BUCKETS, name)
        if document is None:
            raise errors.no_such_bucket(name)
        return document

    def buckets(self) -> list[Document]:
        return [document for _, document in self.store.documents_after(BUCKETS, 0, 1_000_000)]

    def objects(self, bucket: str) -> list[Document]:
        """The bucket's objects in S3's order: by the UTF-8 bytes of their keys."""
        found = [
            document
            for _, document in self.store.documents_after(OBJECTS, 0, 10_000_000)
            if document["bucket"] == bucket
        ]
        return sorted(found, key=lambda document: document["key"].encode())

    # --- objects -------------------------------------------------------------------------

    def object(self, bucket: str, key: str) -> Document | None:
        return self.store.get_document(OBJECTS, f"{bucket}/{key}")

    def data(self, document: Document) -> bytes:
        stored = self.store.get_document(DATA, document["data_key"])
        return base64.b64decode(stored["data"]) if stored else b""

    def write(self, document: Document, data: bytes) -> None:
        """Keep an object and its bytes, replacing whatever had its key (call inside
        `exclusive`, after the write's conditions were checked)."""
        key = f"{document['bucket']}/{document['key']}"
        previous = self.store.get_document(OBJECTS, key)
        document["data_key"] = f"{key}#{self.ids.token(16)}"
        encoded = base64.b64encode(data).decode()
        self.store.change_document(DATA, document["data_key"], lambda _: {"data": encoded})
        self.store.change_document(OBJECTS, key, lambda _: document)
        if previous is not None:
            self.store.change_document(DATA, previous["data_key"], lambda _: None)

    def remove(self, document: Document) -> None:
        self.store.change_document(OBJECTS, f"{document['bucket']}/{document['key']}", lambda _: None)
        self.store.change_document(DATA, document["data_key"], lambda _: None)

    # --- multipart uploads ---------------------------------------------------------------

    def upload(self, bucket: str, key: str, upload_id: str) -> Document:
        document = self.store.get_document(UPLOADS, upload_id)
        if document is None or document["bucket"] != bucket or document["key"] != key:
            raise errors.no_such_upload(upload_id)
        return document

    def part(self, upload_id: str, number: int) -> Document | None:
        return self.store.get_document(PARTS, f"{upload_id}/{number:05d}")

    def save_part(self, upload_id: str, part: Document) -> None:
        number = part["number"]
        self.store.change_document(PARTS, f"{upload_id}/{number:05d}", lambda _: part)

        def listed(upload: Document | None) -> Document | None:
            if upload is not None and number not in upload["parts"]:
                upload["parts"] = sorted([*upload["parts"], number])
            return upload

        self.store.change_document(UPLOADS, upload_id, listed)

    def drop_upload(self, upload: Document) -> None:
        for number in upload["parts"]:
            self.store.change_document(PARTS, f"{upload['id']}/{number:05d}", lambda _: None)
        self.store.change_document(UPLOADS, upload["id"], lambda _: None)


def decode(part: Document) -> bytes:
    return base64.b64decode(part["data"])


def encode(data: bytes) -> str:
    return base64.b64encode(data).decode()


def summary(document: Document) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "data"}
