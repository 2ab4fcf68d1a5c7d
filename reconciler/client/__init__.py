"""The client layer: HTTP to Google APIs (auth, retries, typed errors), shared
by every backend; each backend's calls live in its own package.

Only this layer and the backends' clients talk to the API. Everything it raises is an `ApiError`
(see `errors.py` for the tree); no `requests` or google-auth exception
escapes it.
"""

from reconciler.client.auth import (
    Anonymous,
    ApiKey,
    Connection,
    Credentials,
    GoogleCredentials,
    resolve_connection,
)
from reconciler.client.errors import (
    SCOPES,
    Aborted,
    AlreadyExists,
    ApiError,
    Cancelled,
    ClientError,
    Conflict,
    CredentialsError,
    CredentialsRefused,
    DeadlineExceeded,
    FailedPrecondition,
    FieldViolation,
    InsufficientScopes,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TransportError,
    Unauthenticated,
    Unavailable,
    UnexpectedResponse,
    Unimplemented,
    error_from_response,
)
from reconciler.client.retry import RetryPolicy

__all__ = [
    "SCOPES",
    "Aborted",
    "AlreadyExists",
    "Anonymous",
    "ApiError",
    "ApiKey",
    "Cancelled",
    "ClientError",
    "Conflict",
    "Connection",
    "Credentials",
    "CredentialsError",
    "CredentialsRefused",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "GoogleCredentials",
    "InsufficientScopes",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "Unauthenticated",
    "Unavailable",
    "UnexpectedResponse",
    "Unimplemented",
    "error_from_response",
    "resolve_connection",
]
