"""The credential order, token refresh, and secrets kept out of every output."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import google.auth.compute_engine._metadata
import pytest
from google.auth.exceptions import RefreshError

from reconciler.backends.gemini.client import GeminiClient
from reconciler.backends.gemini.settings import DEFAULT_ENDPOINT
from reconciler.client import (
    SCOPES,
    Anonymous,
    ApiKey,
    CredentialsError,
    GoogleCredentials,
    RetryPolicy,
    resolve_connection,
)
from reconciler.client.auth import load_default_credentials
from reconciler.model.settings import Settings, parse_settings

from .fakes import API_KEY, FakeApi, Reply, error

OTHER_KEY = "AIzaOTHER-secret-key-9876543210"
EMULATOR = "GENERATIVELANGUAGE_EMULATOR_HOST"


class FakeCredentials:
    """Quacks like google-auth credentials: each refresh mints a new token."""

    def __init__(self, quota_project_id: str | None = None, fail: bool = False) -> None:
        self.token: str | None = None
        self.expired = False
        self.refreshes = 0
        self.quota_project_id = quota_project_id
        self.fail = fail

    @property
    def valid(self) -> bool:
        return self.token is not None and not self.expired

    def refresh(self, request: Any) -> None:
        if self.fail:
            raise RefreshError("invalid_grant: Token has been expired or revoked.")
        self.refreshes += 1
        self.token = f"ya29.secret-token-{self.refreshes}"
        self.expired = False


class AdcLoader:
    """Stands in for google.auth.default and remembers the scopes asked for."""

    def __init__(self, credentials: FakeCredentials, quota_project: str | None = None) -> None:
        self.credentials = credentials
        self.quota_project = quota_project
        self.scopes: list[tuple[str, ...]] = []

    def __call__(self, scopes: Sequence[str]) -> tuple[Any, str | None]:
        self.scopes.append(tuple(scopes))
        return self.credentials, self.quota_project


def no_adc(scopes: Sequence[str]) -> tuple[Any, str | None]:
    raise AssertionError("ADC must not be consulted")


def resolve(env: dict[str, str], loader: Any = no_adc, quota: str | None = None) -> Any:
    return resolve_connection(DEFAULT_ENDPOINT, quota, env, loader)


def test_the_emulator_host_wins_and_gets_plain_http_without_credentials() -> None:
    connection = resolve({EMULATOR: "127.0.0.1:8095", "GEMINI_API_KEY": API_KEY}, quota="q")
    assert connection.endpoint == "http://127.0.0.1:8095"
    assert isinstance(connection.credentials, Anonymous)
    assert connection.quota_project is None


def test_an_emulator_host_with_a_scheme_keeps_it() -> None:
    assert resolve({EMULATOR: "http://localhost:9000/"}).endpoint == "http://localhost:9000"


def test_google_api_key_comes_before_gemini_api_key_as_in_google_genai(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        connection = resolve({"GEMINI_API_KEY": API_KEY, "GOOGLE_API_KEY": OTHER_KEY})
    assert connection.credentials.describe() == "API key from GOOGLE_API_KEY"
    assert connection.credentials.secrets() == (OTHER_KEY,)
    assert connection.endpoint == DEFAULT_ENDPOINT
    # google-genai's warning, word for word, whether or not the keys differ.
    assert caplog.messages == ["Both GOOGLE_API_KEY and GEMINI_API_KEY are set. Using GOOGLE_API_KEY."]


def test_gemini_api_key_alone_is_used(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        connection = resolve({"GEMINI_API_KEY": API_KEY, "GOOGLE_API_KEY": " "})
    assert connection.credentials.describe() == "API key from GEMINI_API_KEY"
    assert caplog.messages == []


def test_google_api_key_alone_is_used() -> None:
    connection = resolve({"GOOGLE_API_KEY": API_KEY})
    assert connection.credentials.describe() == "API key from GOOGLE_API_KEY"


def test_blank_keys_fall_through_to_adc() -> None:
    loader = AdcLoader(FakeCredentials())
    connection = resolve({"GEMINI_API_KEY": " ", "GOOGLE_API_KEY": "", EMULATOR: ""}, loader)
    assert isinstance(connection.credentials, GoogleCredentials)
    assert loader.scopes == [SCOPES]


def test_adc_asks_for_both_scopes() -> None:
    assert SCOPES == (
        "https://www.googleapis.com/auth/cloud-platform",
        "https://www.googleapis.com/auth/generative-language.tuning",
    )


def test_the_configured_quota_project_beats_the_one_adc_names() -> None:
    loader = AdcLoader(FakeCredentials(), quota_project="from-adc")
    assert resolve({}, loader, quota="configured").quota_project == "configured"
    assert resolve({}, loader).quota_project == "from-adc"


def test_adc_tokens_are_refreshed_only_when_due() -> None:
    fake = FakeCredentials()
    credentials = GoogleCredentials(fake, refresh_request=object)
    headers: dict[str, str] = {}
    credentials.apply(headers)
    credentials.apply(headers)
    assert headers["authorization"] == "Bearer ya29.secret-token-1"
    fake.expired = True
    credentials.apply(headers)
    assert headers["authorization"] == "Bearer ya29.secret-token-2"
    assert fake.refreshes == 2


def test_a_failed_refresh_is_a_credentials_error_with_the_remedy() -> None:
    credentials = GoogleCredentials(FakeCredentials(fail=True), refresh_request=object)
    with pytest.raises(CredentialsError) as raised:
        credentials.apply({})
    assert "invalid_grant" in str(raised.value)
    assert "application-default login --scopes=" in str(raised.value)


def test_no_adc_at_all_is_a_credentials_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    with pytest.raises(CredentialsError, match="no credentials found") as raised:
        load_default_credentials(SCOPES)
    assert "GEMINI_API_KEY" in str(raised.value)


def client_for(
    env: dict[str, str], api: FakeApi, settings: Settings, loader: Any = no_adc, retry: RetryPolicy | None = None
) -> GeminiClient:
    return GeminiClient.from_settings(settings, env, load_adc=loader, session=api.session(), retry=retry)


def test_from_settings_with_an_emulator_sends_plain_http_and_no_credentials(api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels/m", Reply(200, {}))
    env = {EMULATOR: "127.0.0.1:8095", "GEMINI_API_KEY": API_KEY}
    client = client_for(env, api, Settings(quota_project="q"))
    client.get_tuned_model("m")
    [seen] = api.seen
    assert seen.url == "http://127.0.0.1:8095/v1beta/tunedModels/m"
    for header in ("x-goog-api-key", "authorization", "x-goog-user-project"):
        assert header not in seen.headers


def test_from_settings_with_a_key_sends_only_the_key(api: FakeApi) -> None:
    api.script("GET", "/v1beta3/tunedModels/m", Reply(200, {}))
    settings = parse_settings({"quotaProject": "q", "apiVersion": "v1beta3", "requestTimeoutSeconds": 5})
    client = client_for({"GEMINI_API_KEY": API_KEY}, api, settings)
    client.get_tuned_model("m")
    [seen] = api.seen
    assert seen.url.startswith("https://generativelanguage.googleapis.com/v1beta3/")
    assert seen.headers["x-goog-api-key"] == API_KEY
    assert "x-goog-user-project" not in seen.headers
    assert seen.timeout == 5


def test_from_settings_with_adc_sends_a_bearer_token_and_the_quota_project(api: FakeApi) -> None:
    api.script("GET", "/v1beta/tunedModels/m", Reply(200, {}))
    client = client_for({}, api, Settings(quota_project="billing"), AdcLoader(FakeCredentials()))
    client.get_tuned_model("m")
    headers = api.seen[0].headers
    assert headers["authorization"] == "Bearer ya29.secret-token-1"
    assert headers["x-goog-user-project"] == "billing"
    assert "x-goog-api-key" not in headers


@pytest.mark.parametrize("mode", ["api key", "adc"])
def test_no_secret_reaches_repr_str_errors_or_logs(api: FakeApi, mode: str, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeCredentials()
    env = {"GEMINI_API_KEY": API_KEY} if mode == "api key" else {}
    retry = RetryPolicy(sleep=lambda s: None, random=lambda: 0.0)
    client = client_for(env, api, Settings(), AdcLoader(fake), retry)
    api.script(
        "GET", "/v1beta/tunedModels/m", error(503, "UNAVAILABLE"), error(401, "UNAUTHENTICATED", "bad credentials")
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(Exception) as raised:
        client.get_tuned_model("m")

    secret = API_KEY if mode == "api key" else str(fake.token)
    # It was sent, so the checks below look for something that exists.
    assert any(secret in value for value in api.seen[0].headers.values())
    outputs = [
        repr(client),
        str(client),
        repr(client.credentials),
        client.credentials.describe(),
        str(raised.value),
        repr(raised.value),
        caplog.text,
    ]
    for output in outputs:
        assert secret not in output
    assert "attempt 1 of at most 5" in caplog.text


def test_api_key_repr_names_only_its_source() -> None:
    assert repr(ApiKey(API_KEY, "GOOGLE_API_KEY")) == "ApiKey(source='GOOGLE_API_KEY')"


def test_no_credentials_fail_at_once_without_probing_the_metadata_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # No key, no credentials file, no gcloud configuration: ADC finds nothing.
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_API_KEY", "GEMINI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(CredentialsError, match="no credentials found"):
        load_default_credentials(SCOPES)
    # The conftest's guard: a ping of the metadata server would have failed the test.
    with pytest.raises(AssertionError, match="probed the GCE metadata server"):
        google.auth.compute_engine._metadata.ping(request=None)
