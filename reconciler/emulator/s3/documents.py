"""An object's document and the headers it answers with."""

from __future__ import annotations

import email.utils
import hashlib
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.calls import Call
from reconciler.emulator.s3 import checksums
from reconciler.emulator.store import Document
from reconciler.emulator.wire import timestamp

DEFAULT_CONTENT_TYPE = "binary/octet-stream"  # what S3 stores when none is sent
META = "x-amz-meta-"
# Representation headers an object keeps and answers with, as sent.
KEPT_HEADERS = {
    "content-encoding": "Content-Encoding",
    "content-disposition": "Content-Disposition",
    "content-language": "Content-Language",
    "cache-control": "Cache-Control",
    "expires": "Expires",
}


def new_object(
    call: Call, bucket: str, key: str, data: bytes, checksum: checksums.Checksum, etag: str = "", parts: int = 0
) -> Document:
    """An object's document, from the request that writes it (headers and metadata)."""
    return {
        "bucket": bucket,
        "key": key,
        "size": len(data),
        "etag": etag or f'"{hashlib.md5(data).hexdigest()}"',
        "last_modified": call.now,
        **representation(call.headers),
        "checksum": checksum.to_json(),
        "parts": parts,
    }


def representation(headers: Mapping[str, str]) -> dict[str, Any]:
    """What an object keeps of the request that writes it (or starts its multipart
    upload): its content type, representation headers and `x-amz-meta-` metadata.
    `aws-chunked` is how the body travelled, not how it is stored."""
    kept = {name: headers[lower] for lower, name in KEPT_HEADERS.items() if headers.get(lower)}
    encodings = [e.strip() for e in kept.pop("Content-Encoding", "").split(",") if e.strip() not in ("", "aws-chunked")]
    if encodings:
        kept["Content-Encoding"] = ",".join(encodings)
    return {
        "content_type": headers.get("content-type") or DEFAULT_CONTENT_TYPE,
        "headers": kept,
        "metadata": {name[len(META) :]: value for name, value in headers.items() if name.startswith(META)},
    }


def object_headers(found: Document, with_checksum: bool) -> dict[str, str]:
    headers = {
        "ETag": found["etag"],
        "Last-Modified": http_date(found["last_modified"]),
        "Accept-Ranges": "bytes",
        **found["headers"],
        **{f"{META}{name}": value for name, value in found["metadata"].items()},
    }
    if with_checksum:
        headers.update(checksums.Checksum.from_json(found["checksum"]).header())
    return headers


def http_date(seconds: float) -> str:
    return email.utils.formatdate(seconds, usegmt=True)


def iso(seconds: float) -> str:
    """A time in S3's XML: ISO 8601 with milliseconds."""
    return timestamp(seconds)[:23] + "Z"
