"""What the JSON API's object parameters ask, honoured or refused with 400:
the generation and metageneration preconditions, `generation`, `projection`,
`softDeleted`, and byte ranges of `alt=media`. Objects have one generation
here (no versioning) and metageneration 1 (metadata is never patched)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.gcs import errors

METAGENERATION = 1
NUMBER = re.compile(r"\d{1,20}")
RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class NotModified(Exception):
    """A read whose `ifGenerationNotMatch` / `ifMetagenerationNotMatch` did not hold: 304."""


def number(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if not NUMBER.fullmatch(value):
        raise errors.bad_request(f"Invalid value for {name}: {value[:30]!r}")
    return int(value)


def check_common(query: Mapping[str, str]) -> None:
    """What every object and bucket method accepts: a known projection; softDeleted
    only false (there are no soft-deleted objects here)."""
    projection = query.get("projection")
    if projection is not None and projection not in ("full", "noAcl"):
        raise errors.bad_request(f"Invalid value for projection: {projection[:30]!r}")
    if query.get("softDeleted", "false").lower() != "false":
        raise errors.bad_request("softDeleted=true is not supported: this server keeps no soft-deleted objects.")


def check_object(query: Mapping[str, str], current: Mapping[str, Any] | None, *, read: bool) -> None:
    """The preconditions of a read (`read`: a NotMatch that fails is 304) or of a
    write or delete (412). `generation` names the one live generation, or none."""
    check_common(query)
    live = int(current["generation"]) if current else 0
    wanted = number(query, "generation")
    if wanted is not None and current is not None and wanted != live:
        raise errors.StorageError(404, f"No such object: {current['bucket']}/{current['name']}#{wanted}")
    match, not_match = number(query, "ifGenerationMatch"), number(query, "ifGenerationNotMatch")
    meta_match = number(query, "ifMetagenerationMatch")
    meta_not_match = number(query, "ifMetagenerationNotMatch")
    if match is not None and match != live:
        raise errors.precondition_failed()
    if meta_match is not None and (current is None or meta_match != METAGENERATION):
        raise errors.precondition_failed()
    unchanged = (not_match is not None and not_match == live) or (
        meta_not_match is not None and current is not None and meta_not_match == METAGENERATION
    )
    if unchanged:
        if read:
            raise NotModified
        raise errors.precondition_failed()


def check_bucket(query: Mapping[str, str]) -> None:
    """A bucket's metageneration is 1; `generation` names a soft-deleted bucket: none here."""
    check_common(query)
    if "generation" in query:
        raise errors.bad_request("generation of a bucket names a soft-deleted bucket: there are none here.")
    meta_match = number(query, "ifMetagenerationMatch")
    meta_not_match = number(query, "ifMetagenerationNotMatch")
    if meta_match is not None and meta_match != METAGENERATION:
        raise errors.precondition_failed()
    if meta_not_match is not None and meta_not_match == METAGENERATION:
        raise NotModified


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """`Range: bytes=A-B`, `bytes=A-`, `bytes=-N` as (first, last) inclusive; None for
    no header or one this does not read (the whole object, as HTTP allows); 416 when
    it starts past the end."""
    match = RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if not first:  # the last N bytes
        count = int(last)
        if count == 0:
            raise errors.StorageError(416, "The requested range cannot be satisfied.")
        return max(0, size - count), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise errors.StorageError(416, "The requested range cannot be satisfied.")
    return start, end
