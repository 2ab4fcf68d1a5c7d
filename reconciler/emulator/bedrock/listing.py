"""The List operations' common query: `maxResults` (1 to 1000; default 100
[infer]), `nextToken` (opaque, and only for the query it was issued for),
`sortBy=CreationTime` and `sortOrder` (Ascending or Descending, the default
[infer]), and creation-time bounds (`creationTimeAfter`/`Before`, or
`createdAfter`/`Before`, ISO 8601 as botocore sends them, strictly after /
before). A page continues after the last item of the one before, so items
created in between shift nothing."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from reconciler.emulator.bedrock import errors, shapes
from reconciler.emulator.store import Document

DEFAULT_RESULTS, MAX_RESULTS = 100, 1000
ORDERS = ("Ascending", "Descending")


def page(
    documents: list[Document],
    query: Mapping[str, str],
    keep: Callable[[Document], bool],
    time_names: tuple[str, str] = ("creationTimeAfter", "creationTimeBefore"),
) -> tuple[list[Document], str | None]:
    """One page of the documents `keep` accepts, in the order asked, and the next
    page's token (None on the last)."""
    size = _max_results(query.get("maxResults"))
    if query.get("sortBy", "CreationTime") != "CreationTime":
        shapes.check_text(query["sortBy"], shapes.Text(enum=("CreationTime",)), "sortBy")
    order = query.get("sortOrder", "Descending")
    shapes.check_text(order, shapes.Text(enum=ORDERS), "sortOrder")
    after, before = (_time(query.get(name), name) for name in time_names)
    fingerprint = _fingerprint(query)
    position = _position(query.get("nextToken"), fingerprint)
    ordered = sorted(documents, key=_sort_key, reverse=order == "Descending")
    chosen = [
        document
        for document in ordered
        if (after is None or document["create_time"] > after)
        and (before is None or document["create_time"] < before)
        and (position is None or _beyond(document, position, order))
        and keep(document)
    ]
    shown = chosen[:size]
    if len(chosen) <= size:
        return shown, None
    return shown, _token(_sort_key(shown[-1]), fingerprint)


def _sort_key(document: Document) -> tuple[float, str]:
    return (document["create_time"], document["key"])


def _beyond(document: Document, position: tuple[float, str], order: str) -> bool:
    return _sort_key(document) > position if order == "Ascending" else _sort_key(document) < position


def _max_results(text: str | None) -> int:
    if text is None:
        return DEFAULT_RESULTS
    if not text.isdigit() or not 1 <= int(text) <= MAX_RESULTS:
        raise errors.constraint_failures(
            [
                f"Value '{text[:20]}' at 'maxResults' failed to satisfy constraint: "
                f"Member must have value between 1 and {MAX_RESULTS}"
            ]
        )
    return int(text)


def _time(text: str | None, name: str) -> float | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise errors.serialization(f"The value of {name} is not an ISO 8601 timestamp.") from None


def _fingerprint(query: Mapping[str, str]) -> str:
    """What a token is bound to: every parameter but the token and the page size."""
    kept = sorted((name, value) for name, value in query.items() if name not in ("nextToken", "maxResults"))
    return hashlib.sha256(json.dumps(kept).encode()).hexdigest()[:16]


def _token(position: tuple[float, str], fingerprint: str) -> str:
    raw = json.dumps({"after": list(position), "query": fingerprint}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _position(token: str | None, fingerprint: str) -> tuple[float, str] | None:
    if token is None:
        return None
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        moment, key = data["after"]
        if not isinstance(moment, (int, float)) or not isinstance(key, str) or data["query"] != fingerprint:
            raise ValueError
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError):
        raise errors.validation("Invalid pagination token: it must come from the same request.") from None
    return (float(moment), key)
