"""Cloud Storage answers its errors with the HTTP code of the failure (412 for
a precondition) and a legacy `errors[]` list beside the `google.rpc` fields."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.errors import ApiError

REASONS = {
    400: "invalid",
    404: "notFound",
    409: "conflict",
    412: "conditionNotMet",
    416: "requestedRangeNotSatisfiable",
}
STATUSES = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    412: "FAILED_PRECONDITION",
    416: "OUT_OF_RANGE",
}


class StorageError(ApiError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(STATUSES[code], message)
        self.code = code

    @property
    def http_code(self) -> int:
        return self.code

    def envelope(self) -> dict[str, Any]:
        body = super().envelope()
        body["error"]["errors"] = [{"message": self.message, "domain": "global", "reason": REASONS[self.code]}]
        return body


def bucket_not_found() -> StorageError:
    return StorageError(404, "The specified bucket does not exist.")


def object_not_found(bucket: str, name: str) -> StorageError:
    return StorageError(404, f"No such object: {bucket}/{name}")


def precondition_failed() -> StorageError:
    return StorageError(412, "At least one of the pre-conditions you specified did not hold.")


def bad_request(message: str) -> StorageError:
    return StorageError(400, message)
