"""From a google.rpc.Status body (or anything else a server says) to our errors."""

from __future__ import annotations

import json

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from reconciler.backends.gemini.client import GeminiClient
from reconciler.client import (
    SCOPES,
    Aborted,
    AlreadyExists,
    ApiError,
    Cancelled,
    ClientError,
    Conflict,
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
from reconciler.client.errors import error_from_transport
from reconciler.model.errors import ReconcilerError

from .fakes import API_KEY, FakeApi, Reply, status_body

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def from_status(code: int, status: str, message: str = "m", *details: dict, **headers: str) -> ApiError:
    body = status_body(code, status, message, *details)
    return error_from_response(code, _json(body), headers)


def _json(body: dict) -> str:
    return json.dumps(body)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        (400, "INVALID_ARGUMENT", InvalidArgument),
        (400, "OUT_OF_RANGE", InvalidArgument),
        (400, "FAILED_PRECONDITION", FailedPrecondition),
        (401, "UNAUTHENTICATED", Unauthenticated),
        (403, "PERMISSION_DENIED", PermissionDenied),
        (404, "NOT_FOUND", NotFound),
        (409, "ALREADY_EXISTS", AlreadyExists),
        (409, "ABORTED", Aborted),
        (429, "RESOURCE_EXHAUSTED", RateLimited),
        (499, "CANCELLED", Cancelled),
        (500, "INTERNAL", Internal),
        (500, "UNKNOWN", Internal),
        (501, "UNIMPLEMENTED", Unimplemented),
        (503, "UNAVAILABLE", Unavailable),
        (504, "DEADLINE_EXCEEDED", DeadlineExceeded),
    ],
)
def test_each_status_has_its_class(code: int, status: str, expected: type[ApiError]) -> None:
    error = from_status(code, status, "it failed")
    assert type(error) is expected
    assert (error.http_status, error.code, error.status, error.message) == (code, code, status, "it failed")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (400, InvalidArgument),
        (404, NotFound),
        (409, Conflict),
        (418, ClientError),
        (502, ServerError),
        (503, Unavailable),
        (302, UnexpectedResponse),
    ],
)
def test_without_a_status_body_the_http_status_decides(code: int, expected: type) -> None:
    error = error_from_response(code, "<html>Bad Gateway</html>", {})
    assert type(error) is expected
    assert error.message == "<html>Bad Gateway</html>"
    assert error.status == getattr(expected, "default_status", "")


def test_client_and_server_errors_split_on_4xx_and_5xx() -> None:
    assert isinstance(from_status(404, "NOT_FOUND"), ClientError)
    assert isinstance(from_status(503, "UNAVAILABLE"), ServerError)
    assert isinstance(from_status(409, "ALREADY_EXISTS"), Conflict)


def test_a_body_that_is_not_json_is_cut_to_256_characters() -> None:
    error = error_from_response(502, "x" * 10_000, {})
    assert len(error.message) == 256
    assert error.message.endswith("…")


def test_an_empty_body_still_says_what_happened() -> None:
    assert error_from_response(500, "", {}).message == "HTTP 500 with an empty body"


def test_field_violations_come_from_bad_request_details() -> None:
    violations = {
        "@type": BAD_REQUEST,
        "fieldViolations": [
            {"field": "displayName", "description": "longer than 40 characters"},
            {"field": "tuningTask.hyperparameters.epochCount", "description": "must be positive"},
        ],
    }
    error = from_status(400, "INVALID_ARGUMENT", "Invalid argument.", violations)
    assert isinstance(error, InvalidArgument)
    assert error.field_violations == (
        FieldViolation("displayName", "longer than 40 characters"),
        FieldViolation("tuningTask.hyperparameters.epochCount", "must be positive"),
    )
    assert "field displayName: longer than 40 characters" in str(error)


def test_str_says_request_status_and_message() -> None:
    body = _json(status_body(404, "NOT_FOUND", "Tuned model tunedModels/x does not exist."))
    error = error_from_response(404, body, {}, request="GET /v1beta/tunedModels/x")
    assert str(error) == ("GET /v1beta/tunedModels/x: 404 NOT_FOUND: Tuned model tunedModels/x does not exist.")
    assert error.reason == ""


@pytest.mark.parametrize(
    ("headers", "details", "expected"),
    [
        ({"Retry-After": "7"}, [], 7.0),
        ({}, [{"@type": RETRY_INFO, "retryDelay": "2s"}], 2.0),
        ({}, [{"@type": RETRY_INFO, "retryDelay": "0.5s"}], 0.5),
        ({"Retry-After": "3"}, [{"@type": RETRY_INFO, "retryDelay": "59s"}], 59.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT", "Date": "Wed, 21 Oct 2015 07:28:00 GMT"}, [], 30.0),
        ({"Retry-After": "soon"}, [{"@type": RETRY_INFO, "retryDelay": "later"}], None),
        ({}, [], None),
    ],
)
def test_retry_after_takes_the_longer_of_header_and_retry_info(
    headers: dict[str, str], details: list[dict], expected: float | None
) -> None:
    error = from_status(429, "RESOURCE_EXHAUSTED", "quota", *details, **headers)
    assert error.retry_after == expected


def test_insufficient_scopes_carry_the_login_command_with_both_scopes() -> None:
    info = {"@type": ERROR_INFO, "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com"}
    error = from_status(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.", info)
    assert isinstance(error, InsufficientScopes)
    assert isinstance(error, PermissionDenied)
    assert error.reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    command = "gcloud auth application-default login --scopes=" + ",".join(SCOPES)
    assert error.remedy is not None and command in error.remedy
    assert command in str(error)
    assert "generative-language.tuning" in command and "cloud-platform" in command


def test_insufficient_scopes_are_recognised_by_message_alone() -> None:
    error = from_status(403, "PERMISSION_DENIED", "Request had insufficient authentication scopes.")
    assert isinstance(error, InsufficientScopes)


def test_other_permission_errors_have_no_remedy() -> None:
    error = from_status(403, "PERMISSION_DENIED", "You do not have permission to access it")
    assert type(error) is PermissionDenied
    assert error.remedy is None


def test_api_keys_refused_by_tuning_point_to_oauth() -> None:
    error = from_status(401, "UNAUTHENTICATED", "API keys are not supported by this API.")
    assert error.remedy is not None and "application-default login" in error.remedy


def test_api_error_is_ours_not_the_http_librarys() -> None:
    assert issubclass(ApiError, ReconcilerError)
    assert not issubclass(ApiError, requests.RequestException)
    assert not issubclass(ApiError, OSError)


def test_transport_failures_say_whether_the_request_left() -> None:
    refused = requests.ConnectionError(MaxRetryError(None, "/", NewConnectionError(None, "refused")))  # type: ignore[arg-type]
    cases = {
        refused: False,
        requests.ConnectTimeout("connect timed out"): False,
        requests.ConnectionError("Connection aborted."): True,
        requests.ReadTimeout("read timed out"): True,
        requests.exceptions.ChunkedEncodingError("cut short"): True,
    }
    for exc, sent in cases.items():
        error = error_from_transport(exc, request="GET /v1beta/tunedModels")
        assert isinstance(error, TransportError), exc
        assert error.sent is sent, exc


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("reset"),
        requests.ConnectTimeout("connect"),
        requests.ReadTimeout("read"),
        requests.exceptions.SSLError("certificate verify failed"),
        requests.exceptions.ChunkedEncodingError("cut"),
        requests.exceptions.ContentDecodingError("gzip"),
        requests.exceptions.TooManyRedirects("loop"),
        requests.exceptions.InvalidURL("bad url"),
        requests.RequestException("anything else"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_no_requests_exception_escapes_the_client(client: GeminiClient, api: FakeApi, exc: Exception) -> None:
    api.script("GET", "/v1beta/tunedModels/m", exc)
    with pytest.raises(ApiError) as raised:
        client.get_tuned_model("m")
    assert not isinstance(raised.value, requests.RequestException)
    assert raised.value.__cause__ is exc


def test_a_certificate_failure_is_not_retried(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels/m", requests.exceptions.SSLError("verify failed"))
    with pytest.raises(ApiError, match="TLS failed"):
        client.get_tuned_model("m")
    assert client.request_count == 1


@pytest.mark.parametrize("body", ["<html>ok</html>", "[1, 2]", '"text"'])
def test_a_success_that_is_not_a_json_object_is_an_error(client: GeminiClient, api: FakeApi, body: str) -> None:
    api.script("GET", "/v1beta/tunedModels/m", Reply(200, body))
    with pytest.raises(UnexpectedResponse, match="not a JSON object"):
        client.get_tuned_model("m")


def test_an_empty_success_is_an_empty_dict(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels/m", Reply(200, ""))
    assert client.get_tuned_model("m") == {}


def test_a_server_echoing_the_key_does_not_leak_it(client: GeminiClient, api: FakeApi) -> None:
    message = f"API key not valid: {API_KEY}"
    api.script("GET", "/v1beta/tunedModels/m", Reply(400, status_body(400, "INVALID_ARGUMENT", message)))
    with pytest.raises(InvalidArgument) as raised:
        client.get_tuned_model("m")
    for text in (str(raised.value), repr(raised.value), raised.value.message):
        assert API_KEY not in text
        assert "[REDACTED]" in text


def test_a_transport_error_quoting_the_key_does_not_leak_it(client: GeminiClient, api: FakeApi) -> None:
    leaky = requests.exceptions.InvalidURL(f"bad ?key={API_KEY}")
    api.script("GET", "/v1beta/tunedModels/m", leaky)
    with pytest.raises(ApiError) as raised:
        client.get_tuned_model("m")
    assert API_KEY not in str(raised.value)
    assert API_KEY not in repr(raised.value)
