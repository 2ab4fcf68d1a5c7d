"""Bedrock's errors, as a restJson1 service answers them: the HTTP code of the
error shape in the service model, the type in the `x-amzn-ErrorType` header and
in the body's `__type`, and the body `{"message": …}`:

    HTTP/1.1 400
    x-amzn-ErrorType: ValidationException
    {"__type": "ValidationException", "message": "1 validation error detected: …"}

Codes: ValidationException, ConflictException, ServiceQuotaExceededException
and TooManyTagsException 400 (ConflictException is 400 in the service model,
not 409), AccessDeniedException 403, ResourceNotFoundException 404,
ThrottlingException 429, InternalServerException 500,
ServiceUnavailableException 503. The front end's own: SerializationException
400 (a body that is not the JSON the operation takes), the signature errors
403 (MissingAuthenticationTokenException, IncompleteSignatureException,
InvalidSignatureException), UnknownOperationException 404."""

from __future__ import annotations

import json
from typing import Any

from reconciler.emulator.aws import AwsError
from reconciler.emulator.calls import RawReply


class BedrockError(AwsError):
    def __init__(self, status: int, code: str, message: str, **members: Any) -> None:
        super().__init__(status, code, message)
        self.members = members  # further members of the error shape (TooManyTagsException: resourceName)

    def reply(self, request_id: str) -> RawReply:
        body = {"__type": self.code, "message": self.message, **self.members}
        return RawReply(
            self.status,
            json.dumps(body).encode(),
            content_type="application/json",
            headers={"x-amzn-ErrorType": self.code, **self.headers},
        )


def validation(message: str) -> BedrockError:
    return BedrockError(400, "ValidationException", message)


def constraint_failures(failures: list[str]) -> BedrockError:
    """The front end's list of violated constraints, as AWS words it:
    `2 validation errors detected: Value … at 'jobName' failed to satisfy constraint: …; …`."""
    count = len(failures)
    noun = "error" if count == 1 else "errors"
    return validation(f"{count} validation {noun} detected: {'; '.join(failures[:10])}")


def serialization(message: str) -> BedrockError:
    return BedrockError(400, "SerializationException", message)


def not_found(message: str) -> BedrockError:
    return BedrockError(404, "ResourceNotFoundException", message)


def conflict(message: str) -> BedrockError:
    return BedrockError(400, "ConflictException", message)


def quota_exceeded(message: str) -> BedrockError:
    return BedrockError(400, "ServiceQuotaExceededException", message)


def too_many_tags(resource: str) -> BedrockError:
    return BedrockError(
        400,
        "TooManyTagsException",
        "The request contains more tags than can be associated with a resource (50 tags per resource).",
        resourceName=resource,
    )


def throttling() -> BedrockError:
    return BedrockError(429, "ThrottlingException", "Too many requests, please wait before trying again.")


def internal() -> BedrockError:
    return BedrockError(500, "InternalServerException", "An internal server error occurred. Retry your request.")


def unavailable() -> BedrockError:
    return BedrockError(503, "ServiceUnavailableException", "The service isn't currently available. Try again later.")
