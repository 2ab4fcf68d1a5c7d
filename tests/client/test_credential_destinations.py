"""Credentials go only where they belong: over https, or over plain http to an
emulator on this machine; an emulator variable that points off this machine
never receives real credentials; the Target line names every host a run calls.

Fake ADC credentials are injected (`load_adc`); nothing here sends a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from reconciler.backends.gemini.client import GeminiClient
from reconciler.backends.vertex import VertexBackend
from reconciler.client import Anonymous, ApiKey, CredentialsRefused, GoogleCredentials, RetryPolicy, resolve_connection
from reconciler.client.transport import Transport, new_session
from reconciler.model.settings import parse_settings
from tests.backends.vertex.helpers import SETTINGS as VERTEX_SETTINGS

from .fakes import API_KEY, FakeApi

TOKEN = "ya29.secret-token"
API_HOST = "https://us-central1-aiplatform.googleapis.com"
STORAGE_HOST = "https://storage.googleapis.com"


class FakeAdc:
    token, valid, quota_project_id = TOKEN, True, None

    def refresh(self, request: object) -> None:
        raise AssertionError("never refreshed while valid")


class Loader:
    """Stands in for google.auth.default, counting the loads."""

    def __init__(self) -> None:
        self.loads = 0

    def __call__(self, scopes: Sequence[str]) -> tuple[Any, str | None]:
        self.loads += 1
        return FakeAdc(), None


def vertex(env: dict[str, str], loader: Loader | None = None) -> VertexBackend:
    return VertexBackend.connect(parse_settings(VERTEX_SETTINGS), env=env, load_adc=loader or Loader())


@pytest.mark.parametrize(
    "storage",
    [
        "203.0.113.5:9000",  # documentation range: never a real host
        "http://203.0.113.5:9000",
        "https://storage.example.test",
        "http://127.0.0.1.example.test:9000",
        "http://localhost.example.test",
    ],
)
def test_a_storage_emulator_off_this_machine_never_gets_the_access_token(storage: str) -> None:
    loader = Loader()
    with pytest.raises(CredentialsRefused) as refused:
        vertex({"STORAGE_EMULATOR_HOST": storage}, loader)
    message = str(refused.value)
    assert "STORAGE_EMULATOR_HOST names an emulator that is not on this machine" in message
    assert "real credentials would be sent to it" in message
    assert TOKEN not in message
    assert loader.loads == 0  # refused before credentials are even loaded


@pytest.mark.parametrize(
    ("storage", "url"),
    [
        ("127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("localhost:9000", "http://localhost:9000"),
    ],
)
def test_a_storage_emulator_on_this_machine_is_used_and_named(storage: str, url: str) -> None:
    backend = vertex({"STORAGE_EMULATOR_HOST": storage})
    assert isinstance(backend.client.credentials, GoogleCredentials)
    assert backend.client.storage_endpoint == url
    target = backend.describe_target()
    assert f"at {API_HOST}, Cloud Storage at {url} (STORAGE_EMULATOR_HOST)" in target
    assert TOKEN not in target


def test_the_target_line_names_the_api_and_the_storage_hosts() -> None:
    target = vertex({}).describe_target()
    assert f"at {API_HOST}, Cloud Storage at {STORAGE_HOST} (Application Default Credentials" in target


def test_the_emulators_target_line_names_both_hosts_too() -> None:
    env = {"AIPLATFORM_EMULATOR_HOST": "127.0.0.1:9", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:10"}
    target = vertex(env).describe_target()
    assert "on the emulator at http://127.0.0.1:9 (AIPLATFORM_EMULATOR_HOST)" in target
    assert "Cloud Storage at http://127.0.0.1:10, no credentials" in target


def test_an_emulator_variable_takes_no_credentials_wherever_it_points() -> None:
    """The API emulators get no credentials at all, so they may be anywhere."""
    gemini = resolve_connection(
        STORAGE_HOST, None, {"GENERATIVELANGUAGE_EMULATOR_HOST": "203.0.113.5:80", "GEMINI_API_KEY": API_KEY}
    )
    assert isinstance(gemini.credentials, Anonymous)
    backend = vertex({"AIPLATFORM_EMULATOR_HOST": "203.0.113.5:80", "STORAGE_EMULATOR_HOST": "203.0.113.6:80"})
    assert isinstance(backend.client.credentials, Anonymous)


@pytest.mark.parametrize(
    "credentials", [ApiKey(API_KEY, "GEMINI_API_KEY"), GoogleCredentials(FakeAdc())], ids=["API key", "ADC"]
)
@pytest.mark.parametrize("endpoint", ["http://203.0.113.5:8080", "http://example.test", "ftp://example.test"])
def test_the_transport_never_sends_credentials_in_clear(credentials: Any, endpoint: str) -> None:
    api = FakeApi()
    with pytest.raises(CredentialsRefused) as refused:
        Transport(endpoint, credentials, timeout=1, retry=RetryPolicy(max_attempts=1), session=api.session())
    assert "would be sent to" in str(refused.value) and "in clear" in str(refused.value)
    assert API_KEY not in str(refused.value) and TOKEN not in str(refused.value)
    assert api.seen == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://generativelanguage.googleapis.com",
        "http://127.0.0.1:8085",
        "http://[::1]:8085",
        "http://localhost:8085",
    ],
)
def test_the_transport_sends_credentials_over_https_or_to_loopback(endpoint: str) -> None:
    transport = Transport(endpoint, ApiKey(API_KEY), timeout=1, retry=RetryPolicy(), session=new_session(1))
    assert transport.endpoint == endpoint


def test_no_credentials_may_go_anywhere() -> None:
    client = GeminiClient("http://203.0.113.5:8080", credentials=Anonymous())
    assert client.endpoint == "http://203.0.113.5:8080"
