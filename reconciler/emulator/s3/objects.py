"""Buckets and objects: CreateBucket, HeadBucket, DeleteBucket, ListBuckets,
GetBucketLocation; PutObject, GetObject, HeadObject, DeleteObject. The
multipart methods share the object paths (S3 tells them apart by the query:
`?uploads`, `?uploadId=`, `?partNumber=`), so the handlers here hand those on."""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.calls import Call, RawReply, Reply
from reconciler.emulator.s3 import checksums, errors, listing, payload
from reconciler.emulator.s3.conditions import NotModified, byte_range, check_read, check_write
from reconciler.emulator.s3.documents import http_date, iso, new_object, object_headers
from reconciler.emulator.s3.multipart import MultipartService
from reconciler.emulator.s3.resources import BUCKET_NAME, BUCKETS, OWNER, S3Resources
from reconciler.emulator.s3.xml import document, parse
from reconciler.emulator.store import Document

IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
MAX_KEY_BYTES = 1024
US_EAST_1 = "us-east-1"


class ObjectService:
    def __init__(self, resources: S3Resources) -> None:
        self.resources = resources
        self.multipart = MultipartService(resources)

    # --- buckets -------------------------------------------------------------------------

    def list_buckets(self, call: Call) -> Reply:
        buckets = [
            {"Name": b["name"], "CreationDate": iso(b["create_time"]), "BucketRegion": b["region"]}
            for b in sorted(self.resources.buckets(), key=lambda b: b["name"])
        ]
        body = {"Buckets": {"Bucket": buckets}, "Owner": OWNER}
        return _xml(200, "ListAllMyBucketsResult", body)

    def create_bucket(self, call: Call, bucket: str) -> Reply:
        _payload(call)
        if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket or IP_ADDRESS.fullmatch(bucket):
            raise errors.S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=bucket)
        region = _region(call)
        _check_location(call.body, region)
        with self.resources.exclusive():
            if self.resources.store.get_document(BUCKETS, bucket) is not None:
                if region == US_EAST_1:  # S3 answers 200 there, for the buckets the caller owns
                    return RawReply(200, headers={"Location": f"/{bucket}"})
                raise errors.S3Error(
                    409,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.",
                    BucketName=bucket,
                )
            created = {"name": bucket, "region": region, "create_time": call.now}
            self.resources.store.change_document(BUCKETS, bucket, lambda _: created)
        return RawReply(200, headers={"Location": f"/{bucket}"})

    def head_bucket(self, call: Call, bucket: str) -> Reply:
        found = self.resources.bucket(bucket)
        return RawReply(200, headers={"x-amz-bucket-region": found["region"]})

    def delete_bucket(self, call: Call, bucket: str) -> Reply:
        _payload(call)
        with self.resources.exclusive():
            self.resources.bucket(bucket)
            if self.resources.objects(bucket):
                raise errors.S3Error(
                    409, "BucketNotEmpty", "The bucket you tried to delete is not empty", BucketName=bucket
                )
            self.resources.store.change_document(BUCKETS, bucket, lambda _: None)
        return RawReply(204)

    def get_bucket(self, call: Call, bucket: str) -> Reply:
        """ListObjectsV2 (`list-type=2`), ListObjects, or GetBucketLocation (`location`)."""
        found = self.resources.bucket(bucket)
        if "location" in call.query:
            constraint = "" if found["region"] == US_EAST_1 else found["region"]
            return _xml(200, "LocationConstraint", constraint)
        listing.refuse_subresources(call.query)
        body = listing.list_objects(self.resources.objects(bucket), bucket, call.query)
        return _xml(200, "ListBucketResult", body)

    # --- objects -------------------------------------------------------------------------

    def put(self, call: Call, bucket: str, key: str) -> Reply:
        """PutObject, or UploadPart (`?partNumber=&uploadId=`)."""
        _check_key(key)
        if "uploadId" in call.query or "partNumber" in call.query:
            return self.multipart.upload_part(call, bucket, key, _payload(call))
        if "x-amz-copy-source" in call.headers:
            raise errors.not_implemented("x-amz-copy-source")
        body = _payload(call)
        checksums.check_content_md5(body.headers, body.data)
        checksum = checksums.sent(body.headers, body.data) or checksums.compute(checksums.DEFAULT_ALGORITHM, body.data)
        stored = new_object(call, bucket, key, body.data, checksum)
        with self.resources.exclusive():
            self.resources.bucket(bucket)
            check_write(call.headers, self.resources.object(bucket, key), key)
            self.resources.write(stored, body.data)
        return RawReply(200, headers={"ETag": stored["etag"], **checksum.header()})

    def post(self, call: Call, bucket: str, key: str) -> Reply:
        """CreateMultipartUpload (`?uploads`) or CompleteMultipartUpload (`?uploadId=`)."""
        _check_key(key)
        body = _payload(call)
        if "uploads" in call.query:
            return self.multipart.create(call, bucket, key)
        if "uploadId" in call.query:
            return self.multipart.complete(call, bucket, key, body)
        raise errors.S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    def get(self, call: Call, bucket: str, key: str) -> Reply:
        """GetObject, or ListParts (`?uploadId=`)."""
        _payload(call)
        if "uploadId" in call.query:
            return self.multipart.list_parts(call, bucket, key)
        _refuse_part_number(call)
        found = self._readable(call, bucket, key)
        if isinstance(found, RawReply):
            return found
        data = self.resources.data(found)
        wanted = byte_range(call.headers.get("range", ""), len(data))
        headers = object_headers(found, with_checksum=wanted is None and _wants_checksum(call))
        if wanted is None:
            return RawReply(200, data, content_type=found["content_type"], headers=headers)
        first, last = wanted
        headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
        return RawReply(206, data[first : last + 1], content_type=found["content_type"], headers=headers)

    def head(self, call: Call, bucket: str, key: str) -> Reply:
        _payload(call)
        _refuse_part_number(call)
        found = self._readable(call, bucket, key)
        if isinstance(found, RawReply):
            return found
        headers = object_headers(found, with_checksum=_wants_checksum(call))
        wanted = byte_range(call.headers.get("range", ""), found["size"])
        size = found["size"] if wanted is None else wanted[1] - wanted[0] + 1
        # The server sends no body for a HEAD; zeros of the size make its Content-Length.
        return RawReply(
            200 if wanted is None else 206, bytes(size), content_type=found["content_type"], headers=headers
        )

    def delete(self, call: Call, bucket: str, key: str) -> Reply:
        """DeleteObject (204 whether or not it existed, as S3), or AbortMultipartUpload."""
        _payload(call)
        if "uploadId" in call.query:
            return self.multipart.abort(call, bucket, key)
        with self.resources.exclusive():
            self.resources.bucket(bucket)
            found = self.resources.object(bucket, key)
            if found is not None:
                if_match = call.headers.get("if-match")
                if if_match is not None and if_match.strip() not in ("*", found["etag"], found["etag"].strip('"')):
                    raise errors.precondition_failed("If-Match")
                self.resources.remove(found)
        return RawReply(204)

    def _readable(self, call: Call, bucket: str, key: str) -> Document | RawReply:
        self.resources.bucket(bucket)
        found = self.resources.object(bucket, key)
        if found is None:
            raise errors.no_such_key(key)
        try:
            check_read(call.headers, found)
        except NotModified:
            return RawReply(304, headers={"ETag": found["etag"], "Last-Modified": http_date(found["last_modified"])})
        return found


def _payload(call: Call) -> payload.Payload:
    return payload.read(call.body, call.headers, presigned="X-Amz-Signature" in call.query)


def _region(call: Call) -> str:
    return call.credential.region if call.credential else US_EAST_1


def _wants_checksum(call: Call) -> bool:
    return call.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"


def _refuse_part_number(call: Call) -> None:
    if "partNumber" in call.query:
        raise errors.not_implemented("partNumber")


def _check_key(key: str) -> None:
    if len(key.encode()) > MAX_KEY_BYTES:
        raise errors.S3Error(400, "KeyTooLongError", "Your key is too long")


def _check_location(body: bytes, region: str) -> None:
    """CreateBucketConfiguration's LocationConstraint: the region the request is
    signed for; none only in us-east-1, where naming it is refused."""
    constraint = ""
    if body.strip():
        root = parse(body)
        if root is None or root.tag != "CreateBucketConfiguration":
            raise errors.malformed_xml()
        constraint = (root.findtext("LocationConstraint") or "").strip()
    if constraint == region != US_EAST_1 or (not constraint and region == US_EAST_1):
        return
    if constraint == US_EAST_1:
        raise errors.S3Error(400, "InvalidLocationConstraint", "The specified location-constraint is not valid")
    said = f"{constraint} location constraint" if constraint else "unspecified location constraint"
    raise errors.S3Error(
        400,
        "IllegalLocationConstraintException",
        f"The {said} is incompatible for the region specific endpoint this request was sent to.",
    )


def _xml(status: int, root: str, body: dict[str, Any] | str) -> RawReply:
    return RawReply(status, document(root, body), content_type="application/xml")
