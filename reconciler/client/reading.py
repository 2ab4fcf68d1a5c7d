"""Reading an answer in bounded time and memory, whatever the server sends.

- The body is streamed and stops at `MAX_RESPONSE_BYTES` (after decompression):
  the largest real answer, a page of a thousand tuned models or jobs, is a few
  megabytes.
- Its JSON is parsed within the bounds of `bounded_json.py`.

Every refusal is an `UnexpectedResponse` naming the request.
"""

from __future__ import annotations

import requests

from reconciler.client.deadline import Deadline
from reconciler.client.errors import UnexpectedResponse

MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_CHUNK_BYTES = 64 * 1024


class AnswerTimedOut(Exception):
    """The deadline passed while the body was read (turned into a TransportError by the caller)."""


def read_body(response: requests.Response, deadline: Deadline | None, what: str) -> bytearray:
    """The whole body, or UnexpectedResponse once it passes MAX_RESPONSE_BYTES."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise _too_large(response.status_code, what, f"declares {int(declared)} bytes")
    body = bytearray()
    for chunk in response.iter_content(_CHUNK_BYTES):
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise _too_large(response.status_code, what, "goes on past that")
        if deadline is not None and deadline.expired:
            raise AnswerTimedOut
    if deadline is not None and deadline.expired:  # cut off: what came may be a truncated body
        raise AnswerTimedOut
    return body


def _too_large(status: int, what: str, how: str) -> UnexpectedResponse:
    return UnexpectedResponse(
        f"answered with a body larger than {MAX_RESPONSE_BYTES // 2**20} MiB ({how}); not read further",
        http_status=status,
        request=what,
    )
