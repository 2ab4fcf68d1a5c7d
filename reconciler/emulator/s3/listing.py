"""ListObjectsV2 (`list-type=2`) and ListObjects: keys in UTF-8 byte order,
`prefix`, `delimiter` (CommonPrefixes, which count towards `max-keys`),
`max-keys` (default and most 1000), `continuation-token` (opaque; it must come
from this listing), `start-after`, `marker` (V1), `fetch-owner` and
`encoding-type=url` (which botocore always asks for, and decodes)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from reconciler.emulator.s3 import errors
from reconciler.emulator.s3.documents import iso
from reconciler.emulator.s3.resources import OWNER
from reconciler.emulator.store import Document

MAX_KEYS = 1000
# Bucket subresources S3 serves on GET /{bucket} that this emulator does not.
SUBRESOURCES = (
    "acl",
    "analytics",
    "cors",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "lifecycle",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "tagging",
    "uploads",
    "versioning",
    "versions",
    "website",
)


def refuse_subresources(query: Mapping[str, str]) -> None:
    for name in SUBRESOURCES:
        if name in query:
            raise errors.not_implemented(f"?{name}")


def list_objects(objects: list[Document], bucket: str, query: Mapping[str, str]) -> dict[str, Any]:
    v2 = query.get("list-type") == "2"
    prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
    encode = _url if query.get("encoding-type") == "url" else str
    if "encoding-type" in query and query["encoding-type"] != "url":
        raise errors.invalid_argument(
            "Invalid Encoding Method specified in Request", "encoding-type", query["encoding-type"]
        )
    limit = _max_keys(query.get("max-keys", str(MAX_KEYS)))
    after, skip_prefix = _start(query, v2)
    contents: list[Document] = []
    prefixes: list[str] = []
    truncated, last = False, ("", "")
    for found in objects:
        key = found["key"]
        if (
            not key.startswith(prefix)
            or key.encode() <= after.encode()
            or (skip_prefix and key.startswith(skip_prefix))
        ):
            continue
        common = _common_prefix(key, prefix, delimiter)
        if common and prefixes and prefixes[-1] == common:
            continue
        if len(contents) + len(prefixes) >= limit:
            truncated = True
            break
        if common:
            prefixes.append(common)
            last = (common, common)
        else:
            contents.append(found)
            last = (key, "")
    body: dict[str, Any] = {"Name": bucket, "Prefix": encode(prefix), "MaxKeys": limit}
    if delimiter:
        body["Delimiter"] = encode(delimiter)
    if "encoding-type" in query:
        body["EncodingType"] = "url"
    body["IsTruncated"] = truncated
    body["Contents"] = [
        _content(found, encode, owner=not v2 or query.get("fetch-owner") == "true") for found in contents
    ]
    body["CommonPrefixes"] = [{"Prefix": encode(common)} for common in prefixes]
    if v2:
        body["KeyCount"] = len(contents) + len(prefixes)
        if "continuation-token" in query:
            body["ContinuationToken"] = query["continuation-token"]
        if "start-after" in query:
            body["StartAfter"] = encode(query["start-after"])
        if truncated:
            body["NextContinuationToken"] = _token(*last)
    else:
        body["Marker"] = encode(query.get("marker", ""))
        if truncated and delimiter:
            body["NextMarker"] = encode(last[0])
    return body


def _content(found: Document, encode: Any, owner: bool) -> dict[str, Any]:
    content: dict[str, Any] = {
        "Key": encode(found["key"]),
        "LastModified": iso(found["last_modified"]),
        "ETag": found["etag"],
        "ChecksumAlgorithm": found["checksum"]["algorithm"],
        "ChecksumType": found["checksum"]["type"],
        "Size": found["size"],
        "StorageClass": "STANDARD",
    }
    if owner:
        content["Owner"] = OWNER
    return content


def _common_prefix(key: str, prefix: str, delimiter: str) -> str:
    if not delimiter:
        return ""
    at = key.find(delimiter, len(prefix))
    return key[: at + len(delimiter)] if at >= 0 else ""


def _start(query: Mapping[str, str], v2: bool) -> tuple[str, str]:
    """Where a page starts: after this key, skipping keys under this common prefix."""
    if not v2:
        return query.get("marker", ""), ""
    token = query.get("continuation-token")
    if token is None:
        return query.get("start-after", ""), ""
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        after, skip = data["after"], data["skip"]
        if not isinstance(after, str) or not isinstance(skip, str):
            raise TypeError
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise errors.invalid_argument(
            "The continuation token provided is incorrect", "continuation-token", token
        ) from None
    return max(after, query.get("start-after", ""), key=lambda text: text.encode()), skip


def _token(after: str, skip: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after, "skip": skip}).encode()).decode().rstrip("=")


def _max_keys(text: str) -> int:
    if not text.isdigit() or int(text) > 2**31 - 1:
        raise errors.invalid_argument("Provided max-keys not an integer or within integer range", "max-keys", text)
    return min(int(text), MAX_KEYS)


def _url(text: str) -> str:
    return quote(text, safe="/")
