"""The client over real sockets on 127.0.0.1: refused, dropped and hung
connections, and an ADC token refresh against a loopback token endpoint.

The other tests mount a fake adapter; these check that what `requests` and
urllib3 really raise is mapped and retried as the fakes assume.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconciler.backends.gemini.client import GeminiClient
from reconciler.client import SCOPES, ApiKey, RetryPolicy, TransportError
from reconciler.model.settings import parse_settings

from .fakes import API_KEY, FakeClock

DROP, HANG = "drop", "hang"


def http_response(status: int, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + payload


class ScriptedServer:
    """Answers the n-th connection with the n-th action: bytes to send, DROP or HANG.

    The last action repeats. Each connection gets its own thread, so a hung
    one does not hold up the retry that follows it.
    """

    def __init__(self, *actions: bytes | str) -> None:
        self.actions = list(actions)
        self.received: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._listener.close()

    def _accept_forever(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            action = self.actions.pop(0) if len(self.actions) > 1 else self.actions[0]
            threading.Thread(target=self._answer, args=(connection, action), daemon=True).start()

    def _answer(self, connection: socket.socket, action: bytes | str) -> None:
        with connection:
            connection.settimeout(5)
            self.received.append(_read_request(connection))
            if action == HANG:
                connection.recv(1)  # until the client gives up and closes
            elif isinstance(action, bytes):
                connection.sendall(action)


def _read_request(connection: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        body += connection.recv(65536)
    return (head + b"\r\n\r\n" + body).decode()


@pytest.fixture
def servers() -> Iterator[list[ScriptedServer]]:
    started: list[ScriptedServer] = []
    yield started
    for server in started:
        server.close()


def serve(servers: list[ScriptedServer], *actions: bytes | str) -> ScriptedServer:
    server = ScriptedServer(*actions)
    servers.append(server)
    return server


def client_at(url: str, clock: FakeClock, timeout: float = 5.0) -> GeminiClient:
    retry = RetryPolicy(max_attempts=3, sleep=clock.sleep, clock=clock.time, random=lambda: 0.0)
    return GeminiClient(url, credentials=ApiKey(API_KEY), retry=retry, timeout=timeout)


def test_a_round_trip_over_loopback_keeps_the_key_in_the_header_only(
    servers: list[ScriptedServer], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(servers, http_response(200, {"tunedModels": [{"name": "tunedModels/a"}]}))
    with caplog.at_level(logging.DEBUG), client_at(server.url, clock) as client:
        assert client.list_tuned_models() == [{"name": "tunedModels/a"}]
    [request] = server.received
    assert request.startswith("GET /v1beta/tunedModels?pageSize=1000 HTTP/1.1")
    assert f"x-goog-api-key: {API_KEY}" in request
    assert "urllib3" in caplog.text  # the HTTP library did log, and not the key
    assert API_KEY not in caplog.text


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_retried_then_reported(clock: FakeClock) -> None:
    client = client_at(f"http://127.0.0.1:{free_port()}", clock)
    with pytest.raises(TransportError, match="connection failed") as raised:
        client.create_tuned_model({"displayName": "x"})  # never arrived: safe to resend
    assert raised.value.sent is False
    assert client.request_count == 3
    assert clock.sleeps == [1.0, 2.0]


def test_a_dropped_connection_is_retried_on_get(servers: list[ScriptedServer], clock: FakeClock) -> None:
    server = serve(servers, DROP, http_response(200, {"name": "tunedModels/m"}))
    client = client_at(server.url, clock)
    assert client.get_tuned_model("m") == {"name": "tunedModels/m"}
    assert len(server.received) == 2


def test_a_dropped_create_without_id_is_not_resent(servers: list[ScriptedServer], clock: FakeClock) -> None:
    server = serve(servers, DROP, http_response(200, {"name": "tunedModels/m/operations/o"}))
    client = client_at(server.url, clock)
    with pytest.raises(TransportError, match="connection dropped") as raised:
        client.create_tuned_model({"displayName": "x"})
    assert raised.value.sent is True
    assert len(server.received) == 1


def test_a_hung_answer_times_out_and_is_retried(servers: list[ScriptedServer], clock: FakeClock) -> None:
    server = serve(servers, HANG, http_response(200, {"name": "tunedModels/m"}))
    client = client_at(server.url, clock, timeout=0.1)
    assert client.get_tuned_model("m") == {"name": "tunedModels/m"}
    assert len(server.received) == 2


def service_account_file(path: Path, token_uri: str) -> Path:
    """A service-account key file whose token endpoint is our loopback server."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "p",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "tuner@p.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path


def jwt_claims(form: str) -> dict[str, Any]:
    """The claims of the signed JWT a service account sends to the token endpoint."""
    assertion = parse_qs(form)["assertion"][0]
    payload = assertion.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_adc_refreshes_against_the_token_endpoint_with_both_scopes(
    servers: list[ScriptedServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = http_response(200, {"access_token": "ya29.loopback-token", "expires_in": 3600, "token_type": "Bearer"})
    server = serve(servers, token, http_response(200, {"name": "tunedModels/m"}))
    adc_file = service_account_file(tmp_path / "adc.json", f"{server.url}/token")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc_file))

    settings = parse_settings({"endpoint": server.url, "quotaProject": "billing"})
    with caplog.at_level(logging.DEBUG):
        client = GeminiClient.from_settings(settings, env={})
        assert client.get_tuned_model("m") == {"name": "tunedModels/m"}

    refresh, call = server.received
    assert refresh.startswith("POST /token")
    assert jwt_claims(refresh.partition("\r\n\r\n")[2])["scope"].split() == list(SCOPES)
    assert "authorization: Bearer ya29.loopback-token" in call
    assert "x-goog-user-project: billing" in call
    assert "ya29.loopback-token" not in repr(client) + caplog.text
