"""What the AWS surfaces (`bedrock/`, `s3/`) share: the error they raise, the
interface through which `app.py` dispatches them, and the emulated account.

An AWS request is told apart by its SigV4 credential scope (`sigv4.service_of`),
not by its path: S3's path-style `/{bucket}/{key}` matches any path. Each AWS
surface has its own route table and renders its own errors (JSON with
`x-amzn-ErrorType` for Bedrock, XML for S3), including those of the shared
faults, which the Google surfaces answer in `google.rpc.Status` instead."""

from __future__ import annotations

import hashlib
import itertools
import threading
from abc import ABC, abstractmethod
from typing import Protocol

from reconciler.emulator.calls import RawReply
from reconciler.emulator.routing import Route
from reconciler.emulator.sigv4 import Problem

# The account every request acts in (moto's default too): no real keys, so no
# account can be derived from one.
ACCOUNT = "123456789012"


class AwsError(Exception, ABC):
    """An error an AWS surface answers with; each service's subclass renders it
    in its own form (`reply`: Bedrock's JSON, S3's XML)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    @abstractmethod
    def reply(self, request_id: str) -> RawReply:
        """The HTTP answer: status, headers and body in the service's error shape."""


class AwsSurface(Protocol):
    """An AWS service on the emulator's port, named by its credential scope."""

    service: str  # the SigV4 signing name: "bedrock" (control plane and runtime), "s3"

    def routes(self) -> tuple[Route, ...]:
        """Its API, reached only by requests signed for `service`."""

    def unauthorized(self, problem: Problem) -> AwsError:
        """The service's answer to a request whose signature has the wrong shape."""

    def no_route(self, method: str, path: str) -> AwsError: ...

    def throttled(self, retry_after_seconds: int) -> AwsError:
        """The shared `rate_429` fault, as this service throttles."""

    def unavailable(self) -> AwsError:
        """The shared `rate_503` fault and a lost answer's 503."""

    def refuse_body(self, kind: str) -> AwsError:
        """A body over the emulator's limit (`too_large`, MAX_BODY_BYTES) or cut short (`incomplete`)."""

    def internal(self) -> AwsError:
        """A bug in the emulator, as the service's 500."""

    def request_headers(self, request_id: str) -> dict[str, str]:
        """The request-id headers every answer of the service carries."""


class RequestIds:
    """Request ids that repeat from run to run (a counter, hashed) and use up
    nothing of the seeded generator the resources' ids come from."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            number = next(self._counter)
        digest = hashlib.sha256(f"request-{number}".encode()).hexdigest()
        return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
