"""Every error the client raises, built from the API's `google.rpc.Status` body.

The client owns this hierarchy so that callers never see, and never depend on,
the HTTP library underneath: no `requests` exception escapes the client, and
`ApiError` is not a subclass of any of them.

    ReconcilerError
     └── ApiError                  http_status, code, status, message, details, retry_after
          ├── ClientError          4xx
          │    ├── InvalidArgument (field_violations)   400 INVALID_ARGUMENT, OUT_OF_RANGE
          │    ├── FailedPrecondition                   400 FAILED_PRECONDITION
          │    ├── Unauthenticated                      401
          │    ├── PermissionDenied                     403
          │    │    └── InsufficientScopes              403 ACCESS_TOKEN_SCOPE_INSUFFICIENT
          │    ├── NotFound                             404
          │    ├── Conflict                             409
          │    │    ├── AlreadyExists                   409 ALREADY_EXISTS
          │    │    └── Aborted                         409 ABORTED
          │    ├── RateLimited                          429 RESOURCE_EXHAUSTED
          │    └── Cancelled                            499
          ├── ServerError          5xx
          │    ├── Internal                             500 INTERNAL, UNKNOWN, DATA_LOSS
          │    ├── Unimplemented                        501
          │    ├── Unavailable                          503
          │    └── DeadlineExceeded                     504
          ├── TransportError       no answer: refused, dropped, timed out, cut short
          ├── UnexpectedResponse   an answer that is not the JSON object promised
          ├── CredentialsError     no usable credentials, or they could not be refreshed
          └── CredentialsRefused   credentials would go where they do not belong
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import requests
from urllib3.exceptions import NewConnectionError

from reconciler.client.bounded_json import json_object
from reconciler.model.errors import ReconcilerError

SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/generative-language.tuning",
)
LOGIN_COMMAND = "gcloud auth application-default login --scopes=" + ",".join(SCOPES)
BODY_EXCERPT_CHARS = 256

_TYPE_PREFIX = "type.googleapis.com/google.rpc."
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


@dataclass(frozen=True)
class FieldViolation:
    """One entry of a `google.rpc.BadRequest` detail: which field, and what is wrong."""

    field: str
    description: str


class ApiError(ReconcilerError):
    """The API answered with an error, or did not answer at all."""

    default_status: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        http_status: int = 0,
        status: str = "",
        details: Sequence[Mapping[str, Any]] = (),
        retry_after: float | None = None,
        request: str = "",
    ) -> None:
        self.message = message
        self.http_status = http_status
        self.status = status or self.default_status
        self.details = tuple(details)
        self.retry_after = retry_after
        # "GET /v1beta/<resource>": what was asked, never with credentials.
        self.request = request
        # How many attempts the call made before giving up (set by the retry loop),
        # and the retry deadline when it, not the attempt limit, stopped them.
        self.attempts = 1
        self.deadline: float | None = None
        super().__init__(message)

    @property
    def code(self) -> int:
        """The HTTP status as google.rpc.Status reports it (0 when nothing answered)."""
        return self.http_status

    @property
    def field_violations(self) -> tuple[FieldViolation, ...]:
        return tuple(
            FieldViolation(str(v.get("field", "")), str(v.get("description", "")))
            for detail in self.details_of("BadRequest")
            for v in detail.get("fieldViolations") or ()
        )

    @property
    def reason(self) -> str:
        """The `ErrorInfo.reason`, e.g. ACCESS_TOKEN_SCOPE_INSUFFICIENT, or ''."""
        infos = self.details_of("ErrorInfo")
        return str(infos[0].get("reason", "")) if infos else ""

    @property
    def remedy(self) -> str | None:
        """What the person running the reconciler can do about it, when known."""
        return None

    def details_of(self, kind: str) -> list[Mapping[str, Any]]:
        """The details of one google.rpc type, e.g. `details_of("RetryInfo")`."""
        return [d for d in self.details if d.get("@type") == _TYPE_PREFIX + kind]

    def __str__(self) -> str:
        parts = [f"{self.request}: " if self.request else ""]
        if self.http_status:
            parts.append(f"{self.http_status} ")
        if self.status:
            parts.append(f"{self.status}: ")
        parts.append(self.message)
        parts.extend(f"; field {v.field}: {v.description}" for v in self.field_violations)
        if self.attempts > 1:
            stopped = f"; the retry deadline of {self.deadline:.0f}s left no time for another" if self.deadline else ""
            parts.append(f" (after {self.attempts} attempts{stopped})")
        if self.remedy:
            parts.append(f". {self.remedy}")
        return "".join(parts)


class ClientError(ApiError):
    """The request was wrong or not allowed (HTTP 4xx)."""


class ServerError(ApiError):
    """The service failed to answer the request (HTTP 5xx)."""


class InvalidArgument(ClientError):
    default_status = "INVALID_ARGUMENT"


class FailedPrecondition(ClientError):
    default_status = "FAILED_PRECONDITION"


class Unauthenticated(ClientError):
    default_status = "UNAUTHENTICATED"

    @property
    def remedy(self) -> str | None:
        # Before October 2024 tuning refused API keys; the message is the API's own.
        if "API keys are not supported" in self.message:
            return f"This endpoint needs OAuth: unset GEMINI_API_KEY and GOOGLE_API_KEY and run `{LOGIN_COMMAND}`"
        return None


class PermissionDenied(ClientError):
    default_status = "PERMISSION_DENIED"


class InsufficientScopes(PermissionDenied):
    """The OAuth token lacks the tuning scope: a login with both scopes fixes it."""

    @property
    def remedy(self) -> str | None:
        return f"Log in again with both scopes: `{LOGIN_COMMAND}`"


class NotFound(ClientError):
    default_status = "NOT_FOUND"


class Conflict(ClientError):
    pass


class AlreadyExists(Conflict):
    default_status = "ALREADY_EXISTS"


class Aborted(Conflict):
    default_status = "ABORTED"


class RateLimited(ClientError):
    default_status = "RESOURCE_EXHAUSTED"


class Cancelled(ClientError):
    default_status = "CANCELLED"


class Internal(ServerError):
    default_status = "INTERNAL"


class Unimplemented(ServerError):
    default_status = "UNIMPLEMENTED"


class Unavailable(ServerError):
    default_status = "UNAVAILABLE"


class DeadlineExceeded(ServerError):
    default_status = "DEADLINE_EXCEEDED"


class TransportError(ApiError):
    """No answer: the connection was refused, dropped or timed out."""

    def __init__(self, message: str, *, request: str = "", sent: bool = True) -> None:
        super().__init__(message, request=request)
        # False when the request surely never reached the server (the connection
        # was never made), so even a call that is not idempotent may be resent.
        self.sent = sent


class UnexpectedResponse(ApiError):
    """A success status with a body that is not the JSON object the API promises."""


class CredentialsError(ApiError):
    """No usable credentials were found, or they could not be refreshed."""

    @property
    def remedy(self) -> str | None:
        return f"Set GOOGLE_API_KEY or GEMINI_API_KEY, or log in with `{LOGIN_COMMAND}`"


class CredentialsRefused(ApiError):
    """Credentials would be sent in clear, or to an emulator that is not on this
    machine: refused before any request, the message saying why."""


_BY_STATUS: dict[str, type[ApiError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "OUT_OF_RANGE": InvalidArgument,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
    "NOT_FOUND": NotFound,
    "ALREADY_EXISTS": AlreadyExists,
    "ABORTED": Aborted,
    "RESOURCE_EXHAUSTED": RateLimited,
    "CANCELLED": Cancelled,
    "INTERNAL": Internal,
    "UNKNOWN": Internal,
    "DATA_LOSS": Internal,
    "UNIMPLEMENTED": Unimplemented,
    "UNAVAILABLE": Unavailable,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
}

# Used when the body carries no status name (proxies, HTML error pages).
_BY_HTTP_STATUS: dict[int, type[ApiError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
    499: Cancelled,
    500: Internal,
    501: Unimplemented,
    503: Unavailable,
    504: DeadlineExceeded,
}


def error_from_response(http_status: int, body: str, headers: Mapping[str, str], *, request: str = "") -> ApiError:
    """The error an HTTP answer stands for; `headers` must match names case-insensitively."""
    status_body = _parse_status(body)
    if status_body is None:
        message = excerpt(body) or f"HTTP {http_status} with an empty body"
        status, details = "", []
    else:
        message = str(status_body.get("message", "")) or f"HTTP {http_status}"
        status = str(status_body.get("status", ""))
        details = [d for d in status_body.get("details") or () if isinstance(d, dict)]
    error_class = _error_class(http_status, status, details, message)
    error = error_class(message, http_status=http_status, status=status, details=details, request=request)
    error.retry_after = _retry_after(headers, error)
    return error


def error_from_transport(exc: requests.RequestException, *, request: str = "") -> ApiError:
    """The one place where a `requests` exception becomes one of ours."""
    cause = _innermost(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        # A certificate that does not verify will not verify on the next try either.
        return ApiError(f"TLS failed: {cause}", request=request)
    if isinstance(exc, requests.ConnectTimeout):
        return TransportError(f"connection timed out: {cause}", request=request, sent=False)
    if isinstance(exc, requests.Timeout):
        return TransportError(f"no answer in time: {cause}", request=request)
    if isinstance(exc, requests.ConnectionError):
        sent = not isinstance(cause, NewConnectionError)
        kind = "connection dropped" if sent else "connection failed"
        return TransportError(f"{kind}: {cause}", request=request, sent=sent)
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return TransportError(f"answer cut short: {cause}", request=request)
    # Invalid URLs, too many redirects and the like: not worth retrying.
    return ApiError(f"request failed: {cause}", request=request)


def _innermost(exc: requests.RequestException) -> object:
    """What really happened: requests wraps urllib3's MaxRetryError, whose `reason`
    says it (and whose own text, "Max retries exceeded", would mislead: we retry)."""
    wrapped = exc.args[0] if exc.args else None
    reason = getattr(wrapped, "reason", None)
    return reason if reason is not None else exc


def _error_class(http_status: int, status: str, details: list[dict[str, Any]], message: str) -> type[ApiError]:
    error_class = _BY_STATUS.get(status) or _BY_HTTP_STATUS.get(http_status)
    if error_class is None:
        error_class = _by_range(http_status)
    if error_class is PermissionDenied and _scope_insufficient(details, message):
        return InsufficientScopes
    return error_class


def _by_range(http_status: int) -> type[ApiError]:
    if 400 <= http_status < 500:
        return ClientError
    if http_status >= 500:
        return ServerError
    # 1xx and 3xx: redirects are not followed (they would carry the API key along).
    return UnexpectedResponse


def _scope_insufficient(details: list[dict[str, Any]], message: str) -> bool:
    reasons = {d.get("reason") for d in details if d.get("@type") == _TYPE_PREFIX + "ErrorInfo"}
    return "ACCESS_TOKEN_SCOPE_INSUFFICIENT" in reasons or "insufficient authentication scopes" in message.lower()


def _parse_status(body: str) -> dict[str, Any] | None:
    """The `error` object of a google.rpc.Status body, or None for anything else
    (a body too large or too deep for `json_object` included)."""
    parsed, _problem = json_object(body)
    error = parsed.get("error") if parsed is not None else None
    return error if isinstance(error, dict) else None


def excerpt(body: str) -> str:
    """A body that is not a Status, squeezed to one line of at most 256 characters."""
    # Only the start is looked at: splitting a body of megabytes would take a
    # string object per word.
    text = " ".join(body[: 16 * BODY_EXCERPT_CHARS].split())
    if len(text) <= BODY_EXCERPT_CHARS:
        return text
    return text[: BODY_EXCERPT_CHARS - 1] + "…"


def _retry_after(headers: Mapping[str, str], error: ApiError) -> float | None:
    """How long the server asked us to wait: the longer of Retry-After and RetryInfo."""
    hints = [_retry_after_header(headers), *map(_retry_info_delay, error.details_of("RetryInfo"))]
    known = [h for h in hints if h is not None]
    return max(known) if known else None


def _retry_after_header(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    # An HTTP date: measured against the answer's own Date header, so the
    # result does not depend on this machine's clock.
    try:
        when = parsedate_to_datetime(value)
        sent = parsedate_to_datetime(headers.get("Date", ""))
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - sent).total_seconds())


def _retry_info_delay(detail: Mapping[str, Any]) -> float | None:
    """`RetryInfo.retryDelay` is a proto3 JSON Duration such as "2s" or "0.5s"."""
    delay = detail.get("retryDelay")
    match = _DURATION_RE.fullmatch(delay) if isinstance(delay, str) else None
    return float(match.group(1)) if match else None
