"""The boto3 client behind the project's errors and retries: botocore's errors
mapped, throttling resent on the injected clock, lists paged, endpoints and
credentials left to botocore (and dummy ones on an emulator), and a clear
error without the extra. No request leaves the process (botocore's Stubber)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import botocore.exceptions as boto
import pytest
from botocore.stub import Stubber

from reconciler.backends.bedrock.client import EXTRA, BedrockClient, BedrockCredentialsError, api_error, boto3_module
from reconciler.client.errors import (
    ApiError,
    Conflict,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransportError,
    Unauthenticated,
    UnexpectedResponse,
)
from reconciler.client.retry import RetryPolicy, is_transient
from reconciler.model.errors import UserError

URL = "http://127.0.0.1:9"  # never reached: the Stubber answers


def _client_error(code: str, status: int, message: str = "boom", headers: dict[str, str] | None = None) -> Exception:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
    }
    return boto.ClientError(response, "CreateModelCustomizationJob")


@pytest.mark.parametrize(
    ("code", "status", "kind", "transient"),
    [
        ("ValidationException", 400, InvalidArgument, False),
        ("ResourceNotFoundException", 404, NotFound, False),
        ("ConflictException", 400, Conflict, False),  # HTTP 400 in botocore's service model, a Conflict all the same
        ("ResourceInUseException", 400, Conflict, False),
        ("ThrottlingException", 429, RateLimited, True),
        ("AccessDeniedException", 403, PermissionDenied, False),
        ("UnrecognizedClientException", 403, Unauthenticated, False),
        ("InternalServerException", 500, Internal, True),
        ("PreconditionFailed", 412, FailedPrecondition, False),
        ("NoSuchKey", 404, NotFound, False),
        ("SlowDown", 503, RateLimited, True),
        ("SomethingNew", 409, Conflict, False),
    ],
)
def test_botocore_errors_become_the_projects(code: str, status: int, kind: type[ApiError], transient: bool) -> None:
    error = api_error(_client_error(code, status), "bedrock CreateModelCustomizationJob")
    assert type(error) is kind
    assert (error.http_status, error.status, error.message) == (status, code, "boom")
    assert is_transient(error) is transient
    assert str(error).startswith(f"bedrock CreateModelCustomizationJob: {status} {code}: boom")


def test_a_quota_error_is_a_client_error_not_retried() -> None:
    error = api_error(_client_error("ServiceQuotaExceededException", 400))
    assert isinstance(error, InvalidArgument) and not is_transient(error)


def test_retry_after_is_read() -> None:
    error = api_error(_client_error("ThrottlingException", 429, headers={"Retry-After": "7"}))
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    ("raised", "sent"),
    [
        (boto.EndpointConnectionError(endpoint_url=URL), False),
        (boto.ConnectTimeoutError(endpoint_url=URL), False),
        (boto.ReadTimeoutError(endpoint_url=URL), True),
        (boto.ConnectionClosedError(endpoint_url=URL), True),
    ],
)
def test_no_answer_is_a_transport_error_that_says_whether_it_was_sent(raised: Exception, sent: bool) -> None:
    error = api_error(raised)
    assert isinstance(error, TransportError) and error.sent is sent and is_transient(error)


def test_missing_credentials_say_how_to_give_them() -> None:
    error = api_error(boto.NoCredentialsError())
    assert isinstance(error, BedrockCredentialsError)
    assert "aws-actions/configure-aws-credentials" in str(error) and "AWS_PROFILE" in str(error)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


_SHARED: list[BedrockClient] = []


def _stubbed(clock: _Clock, max_attempts: int = 5) -> tuple[BedrockClient, Stubber]:
    """One client for every stubbed test (making one loads botocore's models:
    a fraction of a second), with this test's retry policy and stubber."""
    if not _SHARED:
        _SHARED.append(BedrockClient.connect("us-east-1", emulator=URL))
    client = _SHARED[0]
    client.retry = RetryPolicy(max_attempts=max_attempts, sleep=clock.sleep, clock=clock, random=lambda: 0.0)
    return client, Stubber(client.bedrock)


def test_throttling_is_resent_on_the_injected_clock() -> None:
    clock = _Clock()
    client, stub = _stubbed(clock)
    stub.add_client_error("list_custom_models", "ThrottlingException", "slow down", 429)
    stub.add_client_error("list_custom_models", "ThrottlingException", "slow down", 429)
    stub.add_response("list_custom_models", {"modelSummaries": []}, {"maxResults": 1000})
    with stub:
        assert client.list_models() == []
    assert clock.sleeps == [1.0, 2.0]  # the project's backoff, not botocore's, and no real sleep
    stub.assert_no_pending_responses()


def test_a_refusal_is_not_resent() -> None:
    clock = _Clock()
    client, stub = _stubbed(clock)
    stub.add_client_error("get_custom_model", "ValidationException", "no", 400)
    with stub, pytest.raises(InvalidArgument) as raised:
        client.get_model("m")
    assert clock.sleeps == [] and raised.value.attempts == 1


def test_throttling_that_lasts_ends_in_the_error_after_the_attempts() -> None:
    clock = _Clock()
    client, stub = _stubbed(clock, max_attempts=3)
    for _ in range(3):
        stub.add_client_error("get_custom_model", "ThrottlingException", "slow down", 429)
    with stub, pytest.raises(RateLimited) as raised:
        client.get_model("m")
    assert raised.value.attempts == 3 and len(clock.sleeps) == 2


def test_lists_follow_next_token() -> None:
    client, stub = _stubbed(_Clock())
    stub.add_response("list_custom_models", {"modelSummaries": [], "nextToken": "a"}, {"maxResults": 1000})
    stub.add_response(
        "list_custom_models", {"modelSummaries": [], "nextToken": "b"}, {"maxResults": 1000, "nextToken": "a"}
    )
    stub.add_response("list_custom_models", {"modelSummaries": []}, {"maxResults": 1000, "nextToken": "b"})
    with stub:
        assert client.list_models() == []
    stub.assert_no_pending_responses()


def test_a_list_whose_token_repeats_is_refused() -> None:
    client, stub = _stubbed(_Clock())
    stub.add_response("list_custom_models", {"modelSummaries": [], "nextToken": "a"}, {"maxResults": 1000})
    stub.add_response(
        "list_custom_models", {"modelSummaries": [], "nextToken": "a"}, {"maxResults": 1000, "nextToken": "a"}
    )
    with stub, pytest.raises(UnexpectedResponse, match="same nextToken"):
        client.list_models()


def test_timestamps_become_iso_strings_in_utc() -> None:
    from datetime import UTC, datetime

    client, stub = _stubbed(_Clock())
    summary = {
        "modelArn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/a.b/abcdefabcdef",
        "modelName": "m",
        "creationTime": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "baseModelArn": "arn:aws:bedrock:us-east-1::foundation-model/a.b",
        "baseModelName": "a.b",
    }
    stub.add_response("list_custom_models", {"modelSummaries": [summary]}, {"maxResults": 1000})
    with stub:
        (listed,) = client.list_models()
    assert listed["creationTime"] == "2026-01-02T03:04:05Z"


def test_without_boto3_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(UserError, match=r"pip install 'gemini-tuning-reconciler\[bedrock\]'"):
        boto3_module()
    assert EXTRA == "gemini-tuning-reconciler[bedrock]"


def test_the_backend_package_imports_without_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    """validate and plan --help never need the extra: only a connect does."""
    ours = ("", ".backend", ".client", ".live", ".names", ".tags", ".uploads", ".export")
    for name in ["boto3", *(f"reconciler.backends.bedrock{module}" for module in ours)]:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "boto3", None)
    import reconciler.backends.bedrock as package

    assert package.BedrockBackend.name == "bedrock"


def test_the_emulator_gets_its_url_and_dummy_keys_whatever_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-session-token")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    client = BedrockClient.connect("us-east-1", emulator=URL + "/")
    assert set(client.endpoints().values()) == {URL}
    credentials = client.bedrock._request_signer._credentials
    assert (credentials.access_key, credentials.token) == ("reconciler-emulator", None)
    assert client.s3.meta.config.s3["addressing_style"] == "path"


def test_botocore_reads_the_endpoint_variables_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK", "http://127.0.0.1:7001")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "http://127.0.0.1:7002")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:7003")
    client = BedrockClient.connect("us-east-1")
    assert client.endpoints() == {
        "bedrock": "http://127.0.0.1:7001",
        "bedrock-runtime": "http://127.0.0.1:7002",
        "s3": "http://127.0.0.1:7003",
    }
    assert client.s3.meta.config.s3["addressing_style"] == "path"  # an emulator's S3 is path-style
    assert client.credentials == "AWS credentials from env"


def test_aws_endpoint_url_covers_every_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:7000")
    assert set(BedrockClient.connect("us-east-1").endpoints().values()) == {"http://127.0.0.1:7000"}


def test_aws_itself_by_default() -> None:
    client = BedrockClient.connect("eu-west-1")
    assert client.endpoints()["bedrock"] == "https://bedrock.eu-west-1.amazonaws.com"
    assert client.endpoints()["bedrock-runtime"] == "https://bedrock-runtime.eu-west-1.amazonaws.com"
    assert client.s3.meta.config.s3 is None or client.s3.meta.config.s3.get("addressing_style") != "path"


def test_no_credentials_is_a_credentials_error_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(BedrockCredentialsError, match="no AWS credentials were found"):
        BedrockClient.connect("us-east-1")


def test_a_profile_is_botocores_to_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    credentials = tmp_path / "credentials"
    credentials.write_text("[team]\naws_access_key_id = AKIDTEAM\naws_secret_access_key = team-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "team")
    client = BedrockClient.connect("us-east-1")
    assert client.credentials == "AWS credentials from shared-credentials-file"
    assert "team-secret" not in client.credentials
