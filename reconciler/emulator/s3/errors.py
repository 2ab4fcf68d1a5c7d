"""S3's errors: the HTTP code and an XML body

    <?xml version="1.0" encoding="UTF-8"?>
    <Error><Code>NoSuchKey</Code><Message>…</Message><Key>…</Key>
    <RequestId>…</RequestId><HostId>…</HostId></Error>

(codes and texts from the S3 API reference's error list; the answer to a HEAD
has no body, which the server leaves out by itself)."""

from __future__ import annotations

import base64
import hashlib

from reconciler.emulator.aws import AwsError
from reconciler.emulator.calls import RawReply
from reconciler.emulator.s3.xml import document


class S3Error(AwsError):
    def __init__(self, status: int, code: str, message: str, **details: str) -> None:
        super().__init__(status, code, message)
        self.details = details  # further elements: Key, BucketName, Condition, …

    def reply(self, request_id: str) -> RawReply:
        body = document(
            "Error",
            {
                "Code": self.code,
                "Message": self.message,
                **self.details,
                "RequestId": request_id,
                "HostId": host_id(request_id),
            },
            namespace=False,
        )
        return RawReply(self.status, body, content_type="application/xml", headers=dict(self.headers))


def host_id(request_id: str) -> str:
    """The `x-amz-id-2` of an answer: opaque, derived from its request id."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()


def no_such_bucket(bucket: str) -> S3Error:
    return S3Error(404, "NoSuchBucket", "The specified bucket does not exist", BucketName=bucket)


def no_such_key(key: str) -> S3Error:
    return S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        UploadId=upload_id,
    )


def precondition_failed(condition: str) -> S3Error:
    return S3Error(
        412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", Condition=condition
    )


def invalid_request(message: str) -> S3Error:
    return S3Error(400, "InvalidRequest", message)


def invalid_argument(message: str, name: str, value: str) -> S3Error:
    return S3Error(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=value[:200])


def bad_digest(message: str) -> S3Error:
    return S3Error(400, "BadDigest", message)


def invalid_digest() -> S3Error:
    return S3Error(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")


def not_implemented(header: str) -> S3Error:
    return S3Error(
        501, "NotImplemented", "A header you provided implies functionality that is not implemented", Header=header
    )


def malformed_xml() -> S3Error:
    return S3Error(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


def access_denied(message: str = "Access Denied") -> S3Error:
    return S3Error(403, "AccessDenied", message)
