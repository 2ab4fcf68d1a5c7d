"""The client layer: HTTP to the Gemini API (auth, retries, paging, typed errors).

Only this layer talks to the API. Everything it raises is an `ApiError`
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
from reconciler.client.gemini import GeminiClient, base_model_name, tuned_model_name
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
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "GeminiClient",
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
    "base_model_name",
    "error_from_response",
    "resolve_connection",
    "tuned_model_name",
]
