"""Datasets into S3 at their content address, never written twice.

The canonical JSONL (datasets.py) goes to `{datasets}/{sha256}.jsonl` with
`If-None-Match: *`: a 412 means the object is there already, which counts as
done, so a second apply, or two at once, upload nothing more. Every upload
carries its SHA-256, which S3 checks against the bytes it received.

The name is not trusted on its own: an object that was there already must have
the planned size and SHA-256 (the checksum S3 keeps when one was sent, a whole
object's, or for a multipart object the checksum of its parts' checksums, as
S3 computes it for one made with our part size). One that has neither the
right size nor a checksum that matches stops the create, naming the object:
it was written by hand, and tuning on it would tune on other data.

Above MULTIPART_ABOVE an upload is multipart, in PART_SIZE parts, each with its
own SHA-256; the completion carries If-None-Match: * too, and an upload that
fails is aborted so no parts are left to bill.
"""

from __future__ import annotations

import base64
import hashlib
from contextlib import suppress
from typing import Any

from reconciler.backends.bedrock.client import BedrockClient
from reconciler.client.errors import ApiError, FailedPrecondition

MIB = 1024 * 1024
MULTIPART_ABOVE = 16 * MIB
PART_SIZE = 8 * MIB  # S3's parts are at least 5 MiB, but for the last


class ObjectMismatch(Exception):
    """The object at a dataset's content address holds other bytes."""


def checksum(data: bytes) -> str:
    """S3's form of a SHA-256: base64 of the digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def multipart_checksum(data: bytes, part_size: int | None = None) -> str:
    """What S3 reports for an object uploaded in PART_SIZE parts with SHA-256
    checksums: the SHA-256 of the parts' digests, then `-<parts>`."""
    part_size = part_size or PART_SIZE
    digests = b"".join(hashlib.sha256(data[i : i + part_size]).digest() for i in range(0, len(data), part_size))
    return f"{base64.b64encode(hashlib.sha256(digests).digest()).decode('ascii')}-{-(-len(data) // part_size)}"


def store(client: BedrockClient, bucket: str, key: str, data: bytes) -> bool:
    """Upload `data` to `bucket/key` unless it is there; True when this call
    uploaded it. Raises ObjectMismatch for an object there with other bytes."""
    if len(data) > MULTIPART_ABOVE:
        uploaded = _multipart(client, bucket, key, data)
    else:
        uploaded = client.put_if_absent(bucket, key, data, checksum(data))
    if not uploaded:
        _check_existing(client, bucket, key, data)
    return uploaded


def _check_existing(client: BedrockClient, bucket: str, key: str, data: bytes) -> None:
    head = client.head(bucket, key)
    if head is None:  # deleted between the 412 and this look: the next apply writes it
        raise ObjectMismatch(f"s3://{bucket}/{key} was there, and is gone; the next apply uploads it again")
    stored = str(head.get("ChecksumSHA256") or "")
    size = int(head.get("ContentLength") or 0)
    # A composite checksum is `<value>-<parts>` in S3's answers; some emulators leave out the count.
    if size == len(data) and stored.partition("-")[0] in (checksum(data), multipart_checksum(data).partition("-")[0]):
        return
    if size == len(data) and not stored and _etag_matches(head, data):
        return  # written without a checksum, in one part: its ETag is its MD5
    raise ObjectMismatch(
        f"s3://{bucket}/{key} holds other bytes than the dataset its name is the SHA-256 of "
        f"({size} bytes, checksum {stored or 'none'}); it is not tuned on. Delete it, and apply again"
    )


def _etag_matches(head: dict[str, Any], data: bytes) -> bool:
    etag = str(head.get("ETag") or "").strip('"')
    return "-" not in etag and etag == hashlib.md5(data, usedforsecurity=False).hexdigest()


def _multipart(client: BedrockClient, bucket: str, key: str, data: bytes) -> bool:
    s3 = client.s3
    started = client.call(
        s3,
        "create_multipart_upload",
        Bucket=bucket,
        Key=key,
        ChecksumAlgorithm="SHA256",
        ContentType="application/jsonl",
    )
    upload_id = started["UploadId"]
    try:
        parts = []
        for number, offset in enumerate(range(0, len(data), PART_SIZE), start=1):
            chunk = data[offset : offset + PART_SIZE]
            sent = client.call(
                s3,
                "upload_part",
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=chunk,
                ChecksumSHA256=checksum(chunk),
            )
            parts.append({"PartNumber": number, "ETag": sent["ETag"], "ChecksumSHA256": checksum(chunk)})
        client.call(
            s3,
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            IfNoneMatch="*",
        )
    except FailedPrecondition:
        _abort(client, bucket, key, upload_id)
        return False
    except BaseException:
        _abort(client, bucket, key, upload_id)
        raise
    return True


def _abort(client: BedrockClient, bucket: str, key: str, upload_id: str) -> None:
    with suppress(ApiError):
        client.call(client.s3, "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
