"""An S3 request's body as S3 reads it: the `x-amz-content-sha256` every SigV4
request carries (the hex SHA-256 of the body, checked; `UNSIGNED-PAYLOAD`; or a
`STREAMING-…` value naming an `aws-chunked` body), and the aws-chunked
encoding itself:

    <hex size>[;chunk-signature=<64 hex>]\\r\\n<bytes>\\r\\n … 0[;chunk-signature=…]\\r\\n
    [<trailer>:<value>\\r\\n]… \\r\\n

whose trailers (a flexible checksum, `x-amz-trailer`) count as headers. Chunk
signatures are shape-checked, never computed (no real keys)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.emulator.s3 import errors

UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING = (
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
)
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
CHUNK_HEAD = re.compile(rb"([0-9a-fA-F]{1,16})(?:;chunk-signature=([0-9a-f]{64}|[0-9a-f]{140,144}))?")
MAX_TRAILERS = 10


@dataclass(frozen=True)
class Payload:
    data: bytes
    headers: Mapping[str, str]  # the request's, with any aws-chunked trailers added


def read(body: bytes, headers: Mapping[str, str], presigned: bool) -> Payload:
    declared = headers.get("x-amz-content-sha256")
    if declared is None:
        if presigned:  # a presigned URL's payload is unsigned
            return Payload(body, headers)
        raise errors.invalid_request("Missing required header for this request: x-amz-content-sha256")
    encodings = [part.strip() for part in headers.get("content-encoding", "").split(",")]
    if declared in STREAMING or "aws-chunked" in encodings:
        return _chunked(body, headers, declared)
    if declared != UNSIGNED:
        if not SHA256_HEX.fullmatch(declared):
            raise errors.invalid_argument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-…, or a valid sha256 value.",
                "x-amz-content-sha256",
                declared,
            )
        computed = hashlib.sha256(body).hexdigest()
        if computed != declared:
            raise errors.S3Error(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ClientComputedContentSHA256=declared,
                S3ComputedContentSHA256=computed,
            )
    return Payload(body, headers)


def _chunked(body: bytes, headers: Mapping[str, str], declared: str) -> Payload:
    data, trailers = decode_chunks(body)
    expected = headers.get("x-amz-decoded-content-length")
    if expected is None:
        raise errors.S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
    if not expected.isdigit() or int(expected) != len(data):
        raise _incomplete()
    announced = {name.strip().lower() for name in headers.get("x-amz-trailer", "").split(",") if name.strip()}
    checksums = {name for name in trailers if name.startswith("x-amz-checksum-")}
    if checksums - announced or (declared.endswith("-TRAILER") and announced - set(trailers)):
        raise errors.invalid_request("The trailers sent do not match the x-amz-trailer header.")
    return Payload(data, {**headers, **{name: value for name, value in trailers.items() if name in checksums}})


def decode_chunks(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The data of an aws-chunked body and its trailers (names in lower case)."""
    pieces: list[bytes] = []
    position = 0
    while True:
        end = body.find(b"\r\n", position)
        head = CHUNK_HEAD.fullmatch(body[position:end]) if end >= 0 else None
        if head is None:
            raise _incomplete()
        size = int(head.group(1), 16)
        start = end + 2
        if size == 0:
            return b"".join(pieces), _trailers(body[start:])
        if body[start + size : start + size + 2] != b"\r\n":
            raise _incomplete()
        pieces.append(body[start : start + size])
        position = start + size + 2


def _trailers(rest: bytes) -> dict[str, str]:
    lines = rest.split(b"\r\n")
    if len(lines) < 2 or lines[-1] != b"" or lines[-2] != b"" or len(lines) > MAX_TRAILERS + 2:
        raise _incomplete()
    trailers = {}
    for line in lines[:-2]:
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise _incomplete()
        trailers[name.strip().lower()] = value.strip()
    return trailers


def _incomplete() -> errors.S3Error:
    return errors.S3Error(
        400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header"
    )
