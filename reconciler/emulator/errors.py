"""Typed API errors, rendered once as the real `google.rpc.Status` envelope.

Handlers raise these; the HTTP adapter turns them into
`{"error": {"code", "message", "status", "details"}}` with the HTTP code that
`google/rpc/code.proto` maps the status to.
"""

from __future__ import annotations

from typing import Any

HTTP_CODE_BY_STATUS = {
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}

# The numeric google.rpc.Code values, used inside a long-running operation's error.
RPC_CODE = {"CANCELLED": 1, "INTERNAL": 13}

BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"


class ApiError(Exception):
    """An error the emulator answers with, as the real API would."""

    def __init__(
        self,
        status: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    @property
    def http_code(self) -> int:
        return HTTP_CODE_BY_STATUS[self.status]

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "code": self.http_code,
            "message": self.message,
            "status": self.status,
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


def invalid_argument(message: str, field: str | None = None) -> ApiError:
    """400 INVALID_ARGUMENT, with a BadRequest field violation when a field is named."""
    details = []
    if field is not None:
        violation = {"field": field, "description": message}
        details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": [violation]})
    return ApiError("INVALID_ARGUMENT", message, details)


def failed_precondition(message: str) -> ApiError:
    return ApiError("FAILED_PRECONDITION", message)


def not_found(message: str) -> ApiError:
    return ApiError("NOT_FOUND", message)


def tuned_model_not_found(model_id: str) -> ApiError:
    # The exact text the real API answers (recorded after a delete).
    return not_found(f"Tuned model tunedModels/{model_id} does not exist.")


def already_exists(message: str) -> ApiError:
    return ApiError("ALREADY_EXISTS", message)
