"""What a handler receives (a parsed request) and what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.fields import FieldMask
from reconciler.emulator.sigv4 import Credential
from reconciler.emulator.wire import Enums

JsonReply = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class RawReply:
    """An answer that is not JSON: a media download, an empty 204, a 308 of an upload."""

    status: int
    data: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)


Reply = JsonReply | RawReply


class AnswerLost(Exception):
    """Raised after a change is committed: the connection drops before the answer."""


@dataclass(frozen=True)
class Call:
    version: str  # v1, v1beta, v1alpha or v1beta3, from the path
    body: Any  # the decoded JSON body ({} when there was none); raw bytes for uploads
    query: Mapping[str, str]  # API query parameters, camelCase, system ones removed
    enums: Enums
    now: float
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lowercase
    host_url: str = ""  # "http://127.0.0.1:8085/", for URLs the answer hands out
    system: Mapping[str, str] = field(default_factory=dict)  # alt, uploadType, fields…
    # The partial response asked for (fields, $fields, X-Goog-FieldMask): the adapter
    # applies it to the answer; a handler may read it to skip what is not kept.
    fields: FieldMask | None = None
    method: str = ""  # GET, HEAD, PUT…: what an AWS handler serving several verbs tells apart
    # The SigV4 credential of an AWS request (its region names the resources' ARNs).
    credential: Credential | None = None

    def wants(self, *path: str) -> bool:
        """Whether the answer keeps anything at `path` (always, without a mask)."""
        return self.fields is None or self.fields.selects(*path)
