from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.conformance.surfaces import SURFACES, Surface


@pytest.fixture(params=sorted(SURFACES))
def surface(request: pytest.FixtureRequest) -> Surface:
    """Each backend's Surface in turn; a case it is known to fail is a strict xfail."""
    made = SURFACES[request.param]()
    reason = made.known_failures.get(_case(request)) or made.known_failures.get(request.function.__name__)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    return made


@pytest.fixture(autouse=True)
def _no_aws_settings_of_this_machine(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """boto3 (the Bedrock Surface's) reads no profile or config file of the
    person running the tests, and never asks for instance metadata."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    nowhere: Path = tmp_path_factory.getbasetemp() / "no-aws-files"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _case(request: pytest.FixtureRequest) -> str:
    """One parametrized case as `known_failures` may name it: the test function
    and the ids of its other parameters (`test_...[before]`)."""
    ids = request.node.callspec.id.split("-")
    ids.remove(request.param)
    return f"{request.function.__name__}[{'-'.join(ids)}]" if ids else request.function.__name__
