"""The S3 surface's route table (path-style: `/{bucket}` and `/{bucket}/{key}`,
reached only by requests signed for `s3`), and how S3 answers what every
surface shares: a signature of the wrong shape, throttling, a 503, a 500."""

from __future__ import annotations

from reconciler.emulator.aws import AwsError
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.routing import Route, aws
from reconciler.emulator.s3 import errors
from reconciler.emulator.s3.objects import ObjectService
from reconciler.emulator.s3.resources import S3Resources
from reconciler.emulator.sigv4 import Problem
from reconciler.emulator.store import Store

BUCKET = "/<bucket>"
OBJECT = "/<bucket>/<path:key>"
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your key and signing method."
)


class S3Surface:
    service = "s3"

    def __init__(self, store: Store, ids: IdMaker) -> None:
        self.resources = S3Resources(store, ids)
        self.objects = ObjectService(self.resources)

    def routes(self) -> tuple[Route, ...]:
        objects = self.objects
        # HEAD before GET: werkzeug lets a GET route answer HEAD too, and takes the first.
        return (
            aws("GET", "/", objects.list_buckets),
            aws("HEAD", BUCKET, objects.head_bucket),
            aws("GET", BUCKET, objects.get_bucket),
            aws("PUT", BUCKET, objects.create_bucket),
            aws("DELETE", BUCKET, objects.delete_bucket),
            aws("HEAD", OBJECT, objects.head),
            aws("GET", OBJECT, objects.get),
            aws("PUT", OBJECT, objects.put),
            aws("POST", OBJECT, objects.post),
            aws("DELETE", OBJECT, objects.delete),
        )

    def unauthorized(self, problem: Problem) -> AwsError:
        """S3's answers (its error list): no signature is an anonymous caller, 403
        AccessDenied; a malformed Authorization header, 400 AuthorizationHeaderMalformed
        (the credential scoped to another service too); a signature that cannot be
        ours, 403 SignatureDoesNotMatch; no date, 403 AccessDenied."""
        kind = problem.kind
        if kind == "missing":
            return errors.access_denied()
        if kind == "unsupported":
            return errors.invalid_request(
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
            )
        if kind == "service":
            return _malformed(f'incorrect service "{problem.scope_service[:50]}". This endpoint belongs to "s3".')
        if kind in ("incomplete", "date_scope"):
            return _malformed(problem.message)
        if kind == "date":
            return errors.access_denied("AWS authentication requires a valid Date or x-amz-date header")
        return errors.S3Error(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)

    def no_route(self, method: str, path: str) -> AwsError:
        return errors.S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    def throttled(self, retry_after_seconds: int) -> AwsError:
        # S3 throttles with 503 SlowDown, never 429.
        return errors.S3Error(503, "SlowDown", "Please reduce your request rate.")

    def unavailable(self) -> AwsError:
        return errors.S3Error(503, "ServiceUnavailable", "Service is unable to handle request.")

    def refuse_body(self, kind: str) -> AwsError:
        if kind == "too_large":
            return errors.S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        return errors.S3Error(
            400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header"
        )

    def internal(self) -> AwsError:
        return errors.S3Error(500, "InternalError", "We encountered an internal error. Please try again.")

    def request_headers(self, request_id: str) -> dict[str, str]:
        return {"x-amz-request-id": request_id, "x-amz-id-2": errors.host_id(request_id)}


def _malformed(reason: str) -> errors.S3Error:
    return errors.S3Error(400, "AuthorizationHeaderMalformed", f"The authorization header is malformed; {reason}")
