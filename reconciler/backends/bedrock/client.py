"""Amazon Bedrock, Bedrock Runtime and S3 through boto3, behind the project's errors.

boto3 is an optional extra (`pip install 'gemini-tuning-reconciler[bedrock]'`),
imported only when `backend: bedrock` connects: `validate` and `plan --help`
never need it, and without it the error names the extra.

- **Credentials** are botocore's own chain (environment, profiles, SSO, web
  identity, and instance metadata where the environment allows it): never a
  signer of ours. On an emulator (`--emulator`) the clients get its URL as
  `endpoint_url` and dummy keys.
- **Endpoints**: botocore reads AWS_ENDPOINT_URL and the per-service
  AWS_ENDPOINT_URL_BEDROCK, AWS_ENDPOINT_URL_BEDROCK_RUNTIME and
  AWS_ENDPOINT_URL_S3 itself; nothing here sets an endpoint unless told to, so
  those keep working. With an endpoint other than AWS's, S3 is addressed
  path-style (what an emulator serves).
- **Retries** are ours, not botocore's (its retries are turned off): the
  project's `RetryPolicy`, with its injected clock and sleep, resends what is
  transient (throttling, 5xx, no answer), except a throttled create, which
  the backend waits out paced to the quota. Every call sent again is safe to
  send again: creates carry a clientRequestToken (Bedrock's idempotency
  token), a delete that finds nothing is done, an S3 PUT of a content-addressed
  name is the same bytes.
- **Errors** become the one hierarchy of reconciler.client.errors, with
  Bedrock's error code as the status (ResourceNotFoundException is a NotFound,
  ThrottlingException a RateLimited, ConflictException a Conflict even at
  HTTP 400, as botocore's service model gives it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.client.errors import (
    ApiError,
    ClientError,
    Conflict,
    CredentialsError,
    FailedPrecondition,
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
)
from reconciler.client.pacing import is_quota_refusal
from reconciler.client.retry import RetryPolicy, is_transient
from reconciler.model.errors import UserError

EXTRA = "gemini-tuning-reconciler[bedrock]"
# The endpoint variables botocore reads itself (and, set, mean an endpoint that
# is not AWS's: S3 is then addressed path-style).
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ENDPOINT_URL_S3",
)
# Dummy keys for an emulator: it checks that requests are signed, never with what.
EMULATOR_KEYS = {"aws_access_key_id": "reconciler-emulator", "aws_secret_access_key": "reconciler-emulator"}
PAGE_SIZE = 1000  # maxResults: the largest Bedrock's lists allow
MAX_PAGES = 10_000  # a list longer than this is a server sending tokens in a loop
CREDENTIALS_HELP = (
    "Give AWS credentials as the AWS CLI takes them: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
    "(and AWS_SESSION_TOKEN), AWS_PROFILE, `aws sso login`, or web identity (in GitHub Actions, "
    "aws-actions/configure-aws-credentials with OIDC)"
)

_NOT_FOUND = {"ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NoSuchUpload", "NotFound", "404"}
_CONFLICT = {"ConflictException", "ResourceInUseException"}
_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "SlowDown", "RequestLimitExceeded"}
_DENIED = {"AccessDeniedException", "AccessDenied"}
_UNAUTHENTICATED = {
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
}
_INVALID = {"ValidationException", "TooManyTagsException", "InvalidRequest", "InvalidArgument"}
_BY_CODE: dict[str, type[ApiError]] = {
    **dict.fromkeys(_NOT_FOUND, NotFound),
    **dict.fromkeys(_CONFLICT, Conflict),
    **dict.fromkeys(_THROTTLED, RateLimited),
    **dict.fromkeys(_DENIED, PermissionDenied),
    **dict.fromkeys(_UNAUTHENTICATED, Unauthenticated),
    **dict.fromkeys(_INVALID, InvalidArgument),
    "PreconditionFailed": FailedPrecondition,
    "InternalServerException": Internal,
    "InternalError": Internal,
    "ServiceUnavailableException": Unavailable,
    "ServiceUnavailable": Unavailable,
}
_BY_HTTP: dict[int, type[ApiError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: FailedPrecondition,
    429: RateLimited,
    500: Internal,
    503: Unavailable,
}


class BedrockCredentialsError(CredentialsError):
    """No AWS credentials in botocore's chain, or they could not be refreshed."""

    @property
    def remedy(self) -> str | None:
        return CREDENTIALS_HELP


def boto3_module() -> Any:
    """boto3, or a UserError naming the extra that installs it."""
    try:
        import boto3  # only a run that chose `backend: bedrock` pays for it
    except ImportError as error:
        raise UserError(f"backend: bedrock needs boto3; install it with: pip install '{EXTRA}'") from error
    return boto3


def api_error(error: Exception, request: str = "") -> ApiError:
    """The project's error for what botocore raised (anything else is returned
    as a plain ApiError, never retried)."""
    from botocore import exceptions as boto  # loaded already: the error came from it

    if isinstance(error, boto.ClientError):
        return _answered(error.response, request)
    if isinstance(error, boto.ParamValidationError):
        return InvalidArgument(f"the request is not what the service model allows: {error}", request=request)
    credential_errors = tuple(
        getattr(boto, name)
        for name in (
            "NoCredentialsError",
            "PartialCredentialsError",
            "CredentialRetrievalError",
            "TokenRetrievalError",
            "NoAuthTokenError",
            "ProfileNotFound",
            "SSOError",
            "UnauthorizedSSOTokenError",
        )
        if hasattr(boto, name)
    )
    if isinstance(error, credential_errors):
        return BedrockCredentialsError(str(error), request=request)
    if isinstance(error, boto.SSLError):
        return ApiError(f"TLS failed: {error}", request=request)  # will not verify on the next try either
    if isinstance(error, boto.ConnectTimeoutError | boto.EndpointConnectionError):
        return TransportError(f"connection failed: {error}", request=request, sent=False)
    if isinstance(error, boto.HTTPClientError | boto.ConnectionError | boto.IncompleteReadError):
        return TransportError(f"no answer: {error}", request=request)
    return ApiError(str(error), request=request)


def _answered(response: Mapping[str, Any], request: str) -> ApiError:
    details = response.get("Error") or {}
    metadata = response.get("ResponseMetadata") or {}
    status = int(metadata.get("HTTPStatusCode") or 0)
    code = str(details.get("Code") or "")
    message = str(details.get("Message") or details.get("message") or "") or f"HTTP {status}"
    kind = _BY_CODE.get(code) or _BY_HTTP.get(status) or (ServerError if status >= 500 else ClientError)
    headers = {str(k).lower(): str(v) for k, v in (metadata.get("HTTPHeaders") or {}).items()}
    retry_after = headers.get("retry-after", "")
    return kind(
        message[:1024],
        http_status=status,
        status=code,
        request=request,
        retry_after=float(retry_after) if retry_after.isdigit() else None,
    )


def _transient_unthrottled(error: ApiError) -> bool:
    return is_transient(error) and not is_quota_refusal(error)


def plain(value: Any) -> Any:
    """An answer as plain JSON-like values: timestamps as ISO 8601 strings in
    UTC (which sort as they happened), everything else as it is."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class BedrockClient:
    """The calls the backend makes, each retried by the policy and translated."""

    def __init__(
        self,
        bedrock: Any,
        runtime: Any,
        s3: Any,
        *,
        region: str,
        retry: RetryPolicy | None = None,
        credentials: str = "",
    ) -> None:
        self.bedrock = bedrock
        self.runtime = runtime
        self.s3 = s3
        self.region = region
        self.retry = retry or RetryPolicy()
        self.credentials = credentials  # how they were found, for people (never a secret)

    @classmethod
    def connect(
        cls,
        region: str,
        *,
        emulator: str | None = None,
        timeout: float = 30.0,
        pool_size: int = 10,
        retry: RetryPolicy | None = None,
        env: Mapping[str, str] | None = None,
    ) -> BedrockClient:
        """Clients for `region`: at `emulator` with dummy keys, or where botocore
        says (AWS, or the AWS_ENDPOINT_URL* variables) with botocore's credentials."""
        boto3 = boto3_module()
        from botocore.config import Config

        env = os.environ if env is None else env
        config = Config(
            region_name=region,
            connect_timeout=timeout,
            read_timeout=timeout,
            max_pool_connections=pool_size,
            retries={"total_max_attempts": 1},  # ours retry, on the injected clock
            user_agent_extra="reconciler",
        )
        elsewhere = emulator is not None or any(env.get(name) for name in ENDPOINT_VARIABLES)
        s3_config = config.merge(Config(s3={"addressing_style": "path"})) if elsewhere else config
        extra: dict[str, Any] = {}
        if emulator is not None:
            session = boto3.session.Session(botocore_session=_botocore_session(), region_name=region, **EMULATOR_KEYS)
            extra["endpoint_url"] = emulator.rstrip("/")
            how = "dummy credentials (an emulator)"
        else:
            session = boto3.session.Session(botocore_session=_botocore_session(), region_name=region)
            how = _credentials_method(session)
        return cls(
            session.client("bedrock", config=config, **extra),
            session.client("bedrock-runtime", config=config, **extra),
            session.client("s3", config=s3_config, **extra),
            region=region,
            retry=retry,
            credentials=how,
        )

    def endpoints(self) -> dict[str, str]:
        return {
            "bedrock": str(self.bedrock.meta.endpoint_url),
            "bedrock-runtime": str(self.runtime.meta.endpoint_url),
            "s3": str(self.s3.meta.endpoint_url),
        }

    def close(self) -> None:
        for client in (self.bedrock, self.runtime, self.s3):
            close = getattr(client, "close", None)
            if close is not None:
                close()

    # --- the one way a call is made ------------------------------------------------------

    def call(self, client: Any, operation: str, **params: Any) -> dict[str, Any]:
        """`client.<operation>(**params)`, retried while transient, its answer plain."""
        return self._call(client, operation, params, is_transient)

    def _call(
        self, client: Any, operation: str, params: Mapping[str, Any], retry_if: Callable[[ApiError], bool]
    ) -> dict[str, Any]:
        """`call`, retried while `retry_if`."""
        method: Callable[..., dict[str, Any]] = getattr(client, operation)
        what = f"{client.meta.service_model.service_name} {operation}"

        def attempt() -> dict[str, Any]:
            try:
                return method(**params)
            except Exception as error:  # only botocore's are translated; the rest is a bug
                if type(error).__module__.startswith("botocore"):
                    raise api_error(error, what) from error
                raise

        answer = self.retry.run(attempt, what=what, retry_if=retry_if)
        return dict(plain(answer))

    def pages(self, client: Any, operation: str, items: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list, page by page with nextToken."""
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self.call(
                client, operation, maxResults=PAGE_SIZE, **params, **({"nextToken": token} if token else {})
            )
            yield from page.get(items) or ()
            token = page.get("nextToken") or None
            if token is None:
                return
            if token in seen:
                raise UnexpectedResponse(f"{operation} sent the same nextToken twice", request=operation)
            seen.add(token)
        raise UnexpectedResponse(f"{operation} had more than {MAX_PAGES} pages", request=operation)

    # --- Bedrock: customization jobs ------------------------------------------------------

    def list_jobs(self, name_contains: str | None = None) -> list[dict[str, Any]]:
        params = {"nameContains": name_contains} if name_contains else {}
        return list(
            self.pages(self.bedrock, "list_model_customization_jobs", "modelCustomizationJobSummaries", **params)
        )

    def get_job(self, identifier: str) -> dict[str, Any]:
        return self.call(self.bedrock, "get_model_customization_job", jobIdentifier=identifier)

    def create_job(self, request: Mapping[str, Any]) -> str:
        """Resent (same token) while transient, but for throttling: the backend waits
        that out itself, paced to the account's quota (reconciler/client/pacing.py)."""
        answer = self._call(self.bedrock, "create_model_customization_job", request, _transient_unthrottled)
        return str(answer["jobArn"])

    def stop_job(self, identifier: str) -> None:
        self.call(self.bedrock, "stop_model_customization_job", jobIdentifier=identifier)

    # --- Bedrock: custom models and their deployments ---------------------------------

    def list_models(self) -> list[dict[str, Any]]:
        return list(self.pages(self.bedrock, "list_custom_models", "modelSummaries"))

    def get_model(self, identifier: str) -> dict[str, Any]:
        return self.call(self.bedrock, "get_custom_model", modelIdentifier=identifier)

    def delete_model(self, identifier: str) -> None:
        self.call(self.bedrock, "delete_custom_model", modelIdentifier=identifier)

    def list_deployments(self, model_arn: str | None = None) -> list[dict[str, Any]]:
        params = {"modelArnEquals": model_arn} if model_arn else {}
        return list(self.pages(self.bedrock, "list_custom_model_deployments", "modelDeploymentSummaries", **params))

    def get_deployment(self, identifier: str) -> dict[str, Any]:
        return self.call(self.bedrock, "get_custom_model_deployment", customModelDeploymentIdentifier=identifier)

    def create_deployment(self, request: Mapping[str, Any]) -> str:
        return str(self.call(self.bedrock, "create_custom_model_deployment", **request)["customModelDeploymentArn"])

    def delete_deployment(self, identifier: str) -> None:
        self.call(self.bedrock, "delete_custom_model_deployment", customModelDeploymentIdentifier=identifier)

    # --- Bedrock: tags -----------------------------------------------------------------

    def tags(self, arn: str) -> dict[str, str]:
        listed = self.call(self.bedrock, "list_tags_for_resource", resourceARN=arn).get("tags") or []
        return {str(t["key"]): str(t.get("value", "")) for t in listed}

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        self.call(self.bedrock, "tag_resource", resourceARN=arn, tags=tag_list(tags))

    def untag(self, arn: str, keys: list[str]) -> None:
        if keys:
            self.call(self.bedrock, "untag_resource", resourceARN=arn, tagKeys=sorted(keys))

    # --- Bedrock Runtime ---------------------------------------------------------------

    def converse(self, model_id: str, text: str, *, system: str | None, inference: Mapping[str, Any]) -> str:
        """One answer, its text parts joined."""
        params: dict[str, Any] = {"modelId": model_id, "messages": [{"role": "user", "content": [{"text": text}]}]}
        if system:
            params["system"] = [{"text": system}]
        if inference:
            params["inferenceConfig"] = dict(inference)
        answer = self.call(self.runtime, "converse", **params)
        content = ((answer.get("output") or {}).get("message") or {}).get("content") or []
        return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))

    # --- S3 ------------------------------------------------------------------------------

    def put_if_absent(self, bucket: str, key: str, data: bytes, checksum: str) -> bool:
        """PUT with If-None-Match: * and the SHA-256 checksum S3 checks; False
        when the object is there already (412 PreconditionFailed)."""
        try:
            self.call(
                self.s3,
                "put_object",
                Bucket=bucket,
                Key=key,
                Body=data,
                IfNoneMatch="*",
                ChecksumSHA256=checksum,
                ContentType="application/jsonl",
            )
        except FailedPrecondition:
            return False
        return True

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            return self.call(self.s3, "head_object", Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except NotFound:
            return None


_LOADER: list[Any] = []  # botocore's data loader, made once
_LOADER_LOCK = threading.Lock()


def _botocore_session() -> Any:
    """A new botocore session (its own credentials and configuration) sharing one
    data loader: the service models are parsed once a process, not once a
    connect (a fifth of a second each time)."""
    import botocore.loaders
    import botocore.session

    with _LOADER_LOCK:
        if not _LOADER:
            _LOADER.append(botocore.loaders.create_loader())
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER[0])
    return session


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def _credentials_method(session: Any) -> str:
    """How botocore found credentials (env, sso, assume-role-with-web-identity,
    ...), or a BedrockCredentialsError saying how to give them."""
    try:
        credentials = session.get_credentials()
    except Exception as error:
        if type(error).__module__.startswith("botocore"):
            raise api_error(error, "loading AWS credentials") from error
        raise
    if credentials is None:
        raise BedrockCredentialsError("no AWS credentials were found", request="loading AWS credentials")
    return f"AWS credentials from {credentials.method}"
