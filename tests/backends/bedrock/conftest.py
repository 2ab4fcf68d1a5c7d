"""Fixtures of the Bedrock backend's tests.

- AWS settings of this process never leak in: dummy keys, no profile or config
  file, no endpoint variables, and instance metadata never asked for (tests
  talk to 127.0.0.1 only).
- `service`: what the flow tests run against (service.py): moto's server,
  with deployments and Converse added, and controls (faults, counts);
  `any_service`: that, and the project's emulator where it has Bedrock
  (emulated.py), for the flows that need no fault or count.
- `server`: the project's emulator served on a port of its own, its
  S3 bucket made, tuning a step every 10 ms, for runs of the CLI
  (`flows.cli_env` points botocore at it);
- `bedrock_installed`: the backend registered as its entry point will be, so
  the loader reads `backend: bedrock` repositories.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.model import registry, settings
from tests.backends.bedrock import emulated
from tests.backends.bedrock.service import BUCKET, MotoService, _FrozenClock

AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_BEDROCK",
    "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "RECONCILER_OWNERSHIP_KEY",
)


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorOptions(seed=0, step_seconds=0.01, s3_buckets=(BUCKET,))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoService]:
    server = MotoService().start()
    yield server
    server.stop()


@pytest.fixture
def service(moto_server: MotoService, monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoService]:
    """moto's Bedrock and S3, empty but for the bucket, its clock a second a call."""
    import moto.bedrock.models

    monkeypatch.setattr(moto.bedrock.models, "datetime", _FrozenClock())
    moto_server.reset()
    moto_server.make_bucket(BUCKET)
    yield moto_server


@pytest.fixture
def bedrock_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The backend's distribution metadata on the path, as its entry point will be."""
    site = tmp_path / "site"
    info = site / "reconciler_bedrock_test-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: reconciler-bedrock-test\nVersion: 1.0\n")
    entry = "[reconciler.backends]\nbedrock = reconciler.backends.bedrock:BedrockBackend\n"
    (info / "entry_points.txt").write_text(entry)
    monkeypatch.syspath_prepend(str(site))
    _clear_caches()
    yield
    _clear_caches()


def _clear_caches() -> None:
    for cached in (registry.installed, settings.settings_type, settings.schema_type):
        cached.cache_clear()


@pytest.fixture(params=["moto", "emulator"])
def any_service(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The flow tests that need no fault or count run on every service there is:
    moto's server, and the project's emulator."""
    if request.param == "moto":
        yield request.getfixturevalue("service")
        return
    emulator = emulated.EmulatorService()
    yield emulator
    emulator.stop()
