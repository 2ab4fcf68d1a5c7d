"""Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload and ListParts, with their checksums.

An upload created with `x-amz-checksum-algorithm` wants that algorithm's
checksum for every part (a part that sends another is refused; one that sends
none gets it computed), and CompleteMultipartUpload must then name each part's
checksum (COMPOSITE), as S3 asks. Parts are 1 to 10,000; every part but the
last has at least 5 MiB (EntityTooSmall at completion). The ETag of the object
is the MD5 of the parts' MD5s, `-N`."""

from __future__ import annotations

import hashlib
from typing import Any
from xml.etree import ElementTree

from reconciler.emulator.calls import Call, RawReply, Reply
from reconciler.emulator.s3 import checksums, errors
from reconciler.emulator.s3.conditions import check_write
from reconciler.emulator.s3.documents import iso, new_object, representation
from reconciler.emulator.s3.payload import Payload
from reconciler.emulator.s3.resources import OWNER, UPLOADS, S3Resources, decode, encode
from reconciler.emulator.s3.xml import document, parse
from reconciler.emulator.store import Document

MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000
MAX_LISTED_PARTS = 1000


class MultipartService:
    def __init__(self, resources: S3Resources) -> None:
        self.resources = resources

    def create(self, call: Call, bucket: str, key: str) -> Reply:
        algorithm, kind = _checksum_mode(call)
        upload: Document = {
            "id": self.resources.ids.token(48),
            "bucket": bucket,
            "key": key,
            "initiated": call.now,
            "algorithm": algorithm,
            "type": kind,
            # What the object will answer with, as the create's headers give it.
            "representation": representation(call.headers),
            "parts": [],
        }
        with self.resources.exclusive():
            self.resources.bucket(bucket)
            self.resources.store.change_document(UPLOADS, upload["id"], lambda _: upload)
        headers = {"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": kind} if algorithm else {}
        body = {"Bucket": bucket, "Key": key, "UploadId": upload["id"]}
        return _xml("InitiateMultipartUploadResult", body, headers)

    def upload_part(self, call: Call, bucket: str, key: str, body: Payload) -> Reply:
        number = _part_number(call.query.get("partNumber", ""))
        upload_id = call.query.get("uploadId", "")
        checksums.check_content_md5(body.headers, body.data)
        sent = checksums.sent(body.headers, body.data)
        with self.resources.exclusive():
            upload = self.resources.upload(bucket, key, upload_id)
            algorithm = upload["algorithm"]
            if sent is not None and algorithm and sent.algorithm != algorithm:
                raise errors.invalid_request(
                    f"Checksum Type mismatch occurred, expected checksum Type: {algorithm.lower()}, "
                    f"actual checksum Type: {sent.algorithm.lower()}"
                )
            checksum = sent or (checksums.compute(algorithm, body.data) if algorithm else None)
            part = {
                "number": number,
                "size": len(body.data),
                "md5": hashlib.md5(body.data).hexdigest(),
                "checksum": checksum.value if checksum else "",
                "checksum_algorithm": checksum.algorithm if checksum else "",
                "last_modified": call.now,
                "data": encode(body.data),
            }
            self.resources.save_part(upload_id, part)
        headers = {"ETag": f'"{part["md5"]}"'}
        if checksum is not None:
            headers[f"x-amz-checksum-{checksum.algorithm.lower()}"] = checksum.value
        return RawReply(200, headers=headers)

    def complete(self, call: Call, bucket: str, key: str, body: Payload) -> Reply:
        upload_id = call.query.get("uploadId", "")
        listed = _listed_parts(body.data)
        with self.resources.exclusive():
            self.resources.bucket(bucket)
            upload = self.resources.upload(bucket, key, upload_id)
            parts = [self._matching(upload, number, fields) for number, fields in listed]
            _check_sizes(parts)
            data = b"".join(decode(part) for part in parts)
            checksum = _object_checksum(call, upload, listed, data)
            _check_object_size(call, len(data))
            etag = f'"{hashlib.md5(b"".join(bytes.fromhex(p["md5"]) for p in parts)).hexdigest()}-{len(parts)}"'
            check_write(call.headers, self.resources.object(bucket, key), key)
            stored = new_object(call, bucket, key, data, checksum, etag=etag, parts=len(parts))
            stored.update(upload["representation"])
            self.resources.write(stored, data)
            self.resources.drop_upload(upload)
        result: dict[str, Any] = {
            "Location": f"{call.host_url}{bucket}/{key}",
            "Bucket": bucket,
            "Key": key,
            "ETag": etag,
            f"Checksum{checksum.algorithm}": checksum.value,
            "ChecksumType": checksum.type,
        }
        return _xml("CompleteMultipartUploadResult", result, {})

    def abort(self, call: Call, bucket: str, key: str) -> Reply:
        with self.resources.exclusive():
            self.resources.bucket(bucket)
            upload = self.resources.upload(bucket, key, call.query.get("uploadId", ""))
            self.resources.drop_upload(upload)
        return RawReply(204)

    def list_parts(self, call: Call, bucket: str, key: str) -> Reply:
        """ListParts: the parts uploaded so far (a resumed upload's starting point)."""
        self.resources.bucket(bucket)
        upload = self.resources.upload(bucket, key, call.query.get("uploadId", ""))
        marker = call.query.get("part-number-marker", "0")
        after = int(marker) if marker.isdigit() else 0
        limit = call.query.get("max-parts", str(MAX_LISTED_PARTS))
        size = min(int(limit), MAX_LISTED_PARTS) if limit.isdigit() else MAX_LISTED_PARTS
        numbers = [number for number in upload["parts"] if number > after]
        shown = [self.resources.part(upload["id"], number) for number in numbers[:size]]
        parts = [_listed(part) for part in shown if part is not None]
        body: dict[str, Any] = {
            "Bucket": bucket,
            "Key": key,
            "UploadId": upload["id"],
            "PartNumberMarker": after,
            "NextPartNumberMarker": parts[-1]["PartNumber"] if parts else 0,
            "MaxParts": size,
            "IsTruncated": len(numbers) > size,
            "Part": parts,
            "Initiator": OWNER,
            "Owner": OWNER,
            "StorageClass": "STANDARD",
        }
        if upload["algorithm"]:
            body["ChecksumAlgorithm"] = upload["algorithm"]
            body["ChecksumType"] = upload["type"]
        return _xml("ListPartsResult", body, {})

    def _matching(self, upload: Document, number: int, fields: dict[str, str]) -> Document:
        """The stored part a CompleteMultipartUpload names, when its ETag (and the
        checksum it gives) match; InvalidPart otherwise."""
        part = self.resources.part(upload["id"], number)
        if part is None or fields.get("ETag", "").strip('"') != part["md5"]:
            raise _invalid_part(number)
        algorithm = upload["algorithm"]
        given = fields.get(f"Checksum{algorithm}") if algorithm else None
        if given is not None and given != part["checksum"]:
            raise _invalid_part(number)
        if given is None and algorithm and upload["type"] == checksums.COMPOSITE:
            raise errors.invalid_request(
                f"The upload was created using a {algorithm.lower()} checksum. The complete request must "
                f"include the checksum for each part. It was missing for part {number} in the request."
            )
        return part


def _checksum_mode(call: Call) -> tuple[str, str]:
    """The upload's algorithm and checksum type ("" and "" when none is named)."""
    named = call.headers.get("x-amz-checksum-algorithm", "")
    kind = call.headers.get("x-amz-checksum-type", "").upper()
    if not named:
        if kind:
            raise errors.invalid_request(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."
            )
        return "", ""
    algorithm = checksums.algorithm_name(named, "x-amz-checksum-algorithm")
    if not kind:
        kind = checksums.FULL_OBJECT if algorithm == "CRC64NVME" else checksums.COMPOSITE
    if kind not in (checksums.COMPOSITE, checksums.FULL_OBJECT):
        raise errors.invalid_argument("Invalid checksum type", "x-amz-checksum-type", kind)
    if kind == checksums.FULL_OBJECT and algorithm not in checksums.FULL_OBJECT_ALGORITHMS:
        raise errors.invalid_request(
            f"The FULL_OBJECT checksum type cannot be used with the {algorithm.lower()} checksum algorithm."
        )
    if kind == checksums.COMPOSITE and algorithm == "CRC64NVME":
        raise errors.invalid_request(
            "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."
        )
    return algorithm, kind


def _part_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARTS:
        raise errors.invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive", "partNumber", text
        )
    return int(text)


def _listed_parts(body: bytes) -> list[tuple[int, dict[str, str]]]:
    """The (number, fields) of each <Part> of a CompleteMultipartUpload body, in
    ascending order (InvalidPartOrder otherwise), at least one."""
    root = parse(body)
    if root is None or root.tag != "CompleteMultipartUpload":
        raise errors.malformed_xml()
    listed = [(_number_of(part), _fields(part)) for part in root.findall("Part")]
    if not listed:
        raise errors.malformed_xml()
    numbers = [number for number, _ in listed]
    if numbers != sorted(set(numbers)):
        raise errors.S3Error(
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
        )
    return listed


def _number_of(part: ElementTree.Element) -> int:
    text = (part.findtext("PartNumber") or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARTS:
        raise errors.malformed_xml()
    return int(text)


def _fields(part: ElementTree.Element) -> dict[str, str]:
    return {child.tag: (child.text or "").strip() for child in part if child.tag != "PartNumber"}


def _check_sizes(parts: list[Document]) -> None:
    for part in parts[:-1]:
        if part["size"] < MIN_PART_BYTES:
            raise errors.S3Error(
                400,
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
                ProposedSize=str(part["size"]),
                MinSizeAllowed=str(MIN_PART_BYTES),
            )


def _object_checksum(
    call: Call, upload: Document, listed: list[tuple[int, dict[str, str]]], data: bytes
) -> checksums.Checksum:
    """COMPOSITE: of the parts' checksums; FULL_OBJECT: of the data, checked against
    the whole-object checksum header when one is sent; none asked: CRC64NVME, as S3."""
    algorithm = upload["algorithm"]
    if not algorithm:
        return checksums.compute(checksums.DEFAULT_ALGORITHM, data)
    if upload["type"] == checksums.COMPOSITE:
        return checksums.composite(algorithm, [fields[f"Checksum{algorithm}"] for _, fields in listed])
    computed = checksums.compute(algorithm, data)
    sent = call.headers.get(f"x-amz-checksum-{algorithm.lower()}")
    if sent is not None and sent != computed.value:
        raise errors.bad_digest(f"The {algorithm} you specified did not match the calculated checksum.")
    return computed


def _check_object_size(call: Call, size: int) -> None:
    declared = call.headers.get("x-amz-mp-object-size")
    if declared is not None and declared != str(size):
        raise errors.invalid_request(
            f"The provided 'x-amz-mp-object-size' header value {declared[:20]} does not match the object size {size}."
        )


def _listed(part: Document) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "PartNumber": part["number"],
        "LastModified": iso(part["last_modified"]),
        "ETag": f'"{part["md5"]}"',
        "Size": part["size"],
    }
    if part["checksum"]:
        shown[f"Checksum{part['checksum_algorithm']}"] = part["checksum"]
    return shown


def _invalid_part(number: int) -> errors.S3Error:
    return errors.S3Error(
        400,
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the "
        "specified entity tag may not match the part's entity tag.",
        PartNumber=str(number),
    )


def _xml(root: str, body: dict[str, Any], headers: dict[str, str]) -> RawReply:
    return RawReply(200, document(root, body), content_type="application/xml", headers=headers)
