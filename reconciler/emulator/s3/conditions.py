"""Conditional requests and ranges, as S3 honours them.

Reads (GET, HEAD): `If-Match` (412 when the ETag differs), `If-None-Match`
(304 when it matches), `If-Unmodified-Since` (412; ignored when If-Match is
given), `If-Modified-Since` (304; ignored when If-None-Match is given), and
one `Range: bytes=…` (206; 416 InvalidRange when it starts past the end).

Writes (PutObject, CompleteMultipartUpload): `If-None-Match: *` (412 when the
key exists: the only value S3 takes, another is 501) and `If-Match: <ETag>`
(412 when it differs, 404 NoSuchKey when there is no object)."""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Mapping

from reconciler.emulator.s3 import errors
from reconciler.emulator.store import Document

RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class NotModified(Exception):
    """A read whose If-None-Match / If-Modified-Since says the caller has it: 304."""


def check_read(headers: Mapping[str, str], document: Document) -> None:
    etag, modified = document["etag"], math.floor(document["last_modified"])
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _names(if_match, etag):
            raise errors.precondition_failed("If-Match")
    elif _after(headers.get("if-unmodified-since"), modified, strictly=True):
        raise errors.precondition_failed("If-Unmodified-Since")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if _names(if_none_match, etag):
            raise NotModified
    elif _after(headers.get("if-modified-since"), modified, strictly=False):
        raise NotModified


def check_write(headers: Mapping[str, str], current: Document | None, key: str) -> None:
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise errors.not_implemented("If-None-Match")
        if current is not None:
            raise errors.precondition_failed("If-None-Match")
    if_match = headers.get("if-match")
    if if_match is not None:
        if current is None:
            raise errors.no_such_key(key)
        if not _names(if_match, current["etag"]):
            raise errors.precondition_failed("If-Match")


def _names(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match list names this ETag (or is `*`)."""
    wanted = [item.strip().removeprefix("W/") for item in header.split(",")]
    return "*" in wanted or etag in wanted or etag.strip('"') in wanted


def _after(header: str | None, modified: int, strictly: bool) -> bool:
    """For If-Unmodified-Since (`strictly`: modified after the date) and
    If-Modified-Since (not modified after it); False when there is no valid date."""
    if not header:
        return False
    try:
        moment = email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return False
    return modified > moment if strictly else modified <= moment


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes a `Range` header asks for; None for the whole object
    (no header, or one S3 ignores: several ranges, another unit, a malformed one)."""
    found = RANGE.fullmatch(header.strip())
    if found is None or found.group(1) == found.group(2) == "":
        return None
    first, last = found.group(1), found.group(2)
    if first == "":  # the last N bytes
        count = int(last)
        if count == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return max(0, size - count), size - 1
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise _unsatisfiable(header, size)
    return start, end


def _unsatisfiable(header: str, size: int) -> errors.S3Error:
    error = errors.S3Error(
        416,
        "InvalidRange",
        "The requested range is not satisfiable",
        RangeRequested=header[:100],
        ActualObjectSize=str(size),
    )
    error.headers["Content-Range"] = f"bytes */{size}"
    return error
