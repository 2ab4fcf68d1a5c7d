"""Clients for the AWS surfaces that nobody here wrote: boto3 and botocore's own
SigV4 signer (for the raw requests a client would never send), with dummy
credentials and no configuration file read; and moto's server, as a second
opinion on the shapes it covers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

boto3 = pytest.importorskip("boto3")
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

REGION = "us-east-1"
KEY, SECRET = "AKIDEXAMPLE", "dummy-secret"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy keys, no profile or config file of the machine's, no instance metadata."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_BEDROCK", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def client(service: str, url: str | None = None, region: str = REGION, **config: Any) -> Any:
    """A boto3 client; without `url`, boto3 finds the endpoint itself (AWS_ENDPOINT_URL_*).
    One attempt: a test that wants botocore's retries asks for them."""
    settings = Config(**{"retries": {"total_max_attempts": 1, "mode": "standard"}, **config})
    return boto3.client(service, endpoint_url=url, region_name=region, config=settings)


def signed(
    method: str,
    url: str,
    service: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    region: str = REGION,
    change: Callable[[dict[str, str]], None] | None = None,
    content_sha256: bool = True,
) -> requests.Response:
    """A request signed by botocore's SigV4 signer (with the `x-amz-content-sha256`
    S3 wants unless not), then changed by `change` when a test wants it wrong, and sent."""
    sent = sign(method, url, service, body, headers, region, content_sha256)
    if change is not None:
        change(sent)
    return requests.request(method, url, data=body, headers=sent, timeout=10)


def sign(
    method: str,
    url: str,
    service: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    region: str = REGION,
    content_sha256: bool = True,
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    if content_sha256 and "X-Amz-Content-SHA256" not in request.headers:
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(Credentials(KEY, SECRET), service, region).add_auth(request)
    return dict(request.headers.items())


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """moto's server on a free loopback port, one per test module (it takes a while to start)."""
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_url(moto_server: str) -> str:
    """moto's server, emptied: it keeps its state per process, not per test."""
    requests.post(f"{moto_server}/moto-api/reset", timeout=10)
    return moto_server
