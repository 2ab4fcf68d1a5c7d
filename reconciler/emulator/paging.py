"""List paging: pageSize (default, capped) and opaque page tokens that must be
used with the same filter they were issued for."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.errors import invalid_argument
from reconciler.emulator.records import TunedModelRecord
from reconciler.emulator.store import Document, Store

BATCH = 1000
MAX_POSITION = 2**63 - 1  # SQLite's largest INTEGER; a token past it is not one we issued


@dataclass(frozen=True)
class PageRequest:
    size: int
    position: int
    filter: str


def page_request(query: Mapping[str, str], default_size: int, max_size: int) -> PageRequest:
    size = _page_size(query.get("pageSize", ""), default_size, max_size)
    text_filter = query.get("filter", "")
    token = query.get("pageToken", "")
    position = _decode_token(token, text_filter) if token else 0
    return PageRequest(size, position, text_filter)


def _page_size(raw: str, default_size: int, max_size: int) -> int:
    if not raw:
        return default_size
    try:
        size = int(raw)
    except ValueError:
        raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"", "page_size") from None
    if size < 0:
        raise invalid_argument("page_size must not be negative.", "page_size")
    return min(size, max_size) if size else default_size


def encode_token(position: int, text_filter: str) -> str:
    raw = json.dumps({"after": position, "filter": text_filter}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, text_filter: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position, issued_for = data["after"], data["filter"]
        if not isinstance(position, int) or not 0 <= position <= MAX_POSITION:
            raise TypeError
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise invalid_argument("Invalid page token.", "page_token") from None
    if issued_for != text_filter:
        raise invalid_argument(
            "The page token was issued for a different filter; all other parameters "
            "must match the call that returned it.",
            "page_token",
        )
    return position


def page_of_models(
    store: Store, page: PageRequest, keep: Callable[[TunedModelRecord], bool]
) -> tuple[list[TunedModelRecord], str]:
    """One page of models that `keep` accepts, and the token of the next page ("" if last)."""
    found: list[tuple[int, TunedModelRecord]] = []
    position = page.position
    while len(found) <= page.size:
        batch = store.list_after(position, BATCH if page.filter else page.size + 1)
        found.extend(entry for entry in batch if keep(entry[1]))
        if len(batch) < (BATCH if page.filter else page.size + 1):
            break
        position = batch[-1][0]
    records = [record for _, record in found[: page.size]]
    more = len(found) > page.size
    return records, encode_token(found[page.size - 1][0], page.filter) if more else ""


def page_of_documents(
    store: Store, kind: str, page: PageRequest, keep: Callable[[Document], bool]
) -> tuple[list[Document], str]:
    """One page of the `kind` documents that `keep` accepts, and the next page's token."""
    found: list[tuple[int, Document]] = []
    position = page.position
    limit = page.size + 1  # enough when most documents match; doubled while they do not
    while len(found) <= page.size:
        batch = store.documents_after(kind, position, limit)
        found.extend(entry for entry in batch if keep(entry[1]))
        if len(batch) < limit:
            break
        position = batch[-1][0]
        limit = min(BATCH, limit * 2)
    documents = [document for _, document in found[: page.size]]
    more = len(found) > page.size
    return documents, encode_token(found[page.size - 1][0], page.filter) if more else ""


def page_body(key: str, items: list[Any], next_token: str | None) -> dict[str, Any]:
    """A List response in proto3 JSON: an empty list and the last page's token are omitted."""
    body: dict[str, Any] = {}
    if items:
        body[key] = items
    if next_token:
        body["nextPageToken"] = next_token
    return body
