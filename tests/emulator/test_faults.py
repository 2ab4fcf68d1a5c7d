"""Injected faults, the /_internal/ control endpoints and --require-auth."""

from __future__ import annotations

import pytest
import requests

from reconciler.emulator import EmulatorOptions, EmulatorServer, FaultSettings
from tests.emulator.helpers import call, error_of


def test_429_carries_retry_after_and_retry_info(make_emulator) -> None:  # type: ignore[no-untyped-def]
    server = make_emulator(faults=FaultSettings(rate_429=1.0, retry_after_seconds=7))
    response = call(server.url, "GET", "v1beta/tunedModels")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    error = error_of(response)
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]


def test_faults_set_at_run_time_for_chosen_paths(emulator: EmulatorServer) -> None:
    set_faults = call(emulator.url, "POST", "_internal/faults", {"rate_503": 1.0, "path_regex": "/operations"})
    assert set_faults.status_code == 200
    assert call(emulator.url, "GET", "v1beta/tunedModels").status_code == 200
    failing = call(emulator.url, "GET", "v1/operations")
    assert (failing.status_code, error_of(failing)["status"]) == (503, "UNAVAILABLE")
    assert call(emulator.url, "GET", "_internal/faults").json()["rate_503"] == 1.0
    call(emulator.url, "POST", "_internal/reset")
    assert call(emulator.url, "GET", "v1/operations").status_code == 200


def test_bad_fault_settings_are_400(emulator: EmulatorServer) -> None:
    for body in ({"rate_429": 2}, {"path_regex": "("}, {"nonsense": 1}, [1]):
        assert call(emulator.url, "POST", "_internal/faults", body).status_code == 400


def test_dropped_connection(make_emulator) -> None:  # type: ignore[no-untyped-def]
    server = make_emulator(faults=FaultSettings(rate_drop=1.0))
    with pytest.raises(requests.ConnectionError):
        call(server.url, "GET", "v1beta/tunedModels")
    assert call(server.url, "GET", "_internal/health").json() == {"status": "ok"}


def test_slow_answers_and_latency_use_the_injected_sleep() -> None:
    slept: list[float] = []
    options = EmulatorOptions(latency_seconds=0.25, faults=FaultSettings(rate_slow=1.0, slow_seconds=9.0))
    with EmulatorServer(options, sleep=slept.append) as server:
        assert call(server.url, "GET", "v1beta/tunedModels").status_code == 200
    assert slept == [0.25, 9.0]


def test_request_counts_by_route(emulator: EmulatorServer) -> None:
    call(emulator.url, "GET", "v1beta/tunedModels")
    call(emulator.url, "GET", "v1beta/tunedModels/a")
    call(emulator.url, "GET", "v1/tunedModels/b")  # no such route on v1
    counts = call(emulator.url, "GET", "_internal/requests").json()
    assert counts == {
        "counts": {"GET (no route)": 1, "GET /{version}/tunedModels": 1, "GET /{version}/tunedModels/{model_id}": 1},
        "total": 3,
    }
    call(emulator.url, "DELETE", "_internal/requests")
    assert call(emulator.url, "GET", "_internal/requests").json()["total"] == 0


def test_require_auth(make_emulator) -> None:  # type: ignore[no-untyped-def]
    server = make_emulator(require_auth=True)
    anonymous = call(server.url, "GET", "v1beta/tunedModels")
    assert anonymous.status_code == 403
    assert error_of(anonymous) == {  # the real answer to a caller without identity
        "code": 403,
        "status": "PERMISSION_DENIED",
        "message": "Method doesn't allow unregistered callers (callers without established "
        "identity). Please use API Key or other form of API consumer identity to "
        "call this API.",
    }
    for malformed in ("Basic dXNlcjpwdw==", "Bearer ", "token"):
        refused = requests.get(f"{server.url}/v1beta/tunedModels", headers={"Authorization": malformed}, timeout=5)
        assert (refused.status_code, error_of(refused)["status"]) == (401, "UNAUTHENTICATED")
    keyed = requests.get(f"{server.url}/v1beta/tunedModels", headers={"x-goog-api-key": "test-key"}, timeout=5)
    assert keyed.status_code == 200
    assert call(server.url, "GET", "v1beta/tunedModels", key="test-key").status_code == 200
    bearer = requests.get(f"{server.url}/v1beta/tunedModels", headers={"Authorization": "Bearer token"}, timeout=5)
    assert bearer.status_code == 200
    assert call(server.url, "GET", "_internal/health").status_code == 200


def test_a_token_without_the_tuning_scope(make_emulator) -> None:  # type: ignore[no-untyped-def]
    server = make_emulator(tokens_without_tuning_scope=frozenset({"platform-only"}))
    limited = {"Authorization": "Bearer platform-only"}
    refused = requests.get(f"{server.url}/v1beta/tunedModels", headers=limited, timeout=5)
    assert refused.status_code == 403
    assert error_of(refused) == {
        "code": 403,
        "status": "PERMISSION_DENIED",
        "message": "Request had insufficient authentication scopes.",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "generativelanguage.googleapis.com",
                    "method": "google.ai.generativelanguage.v1beta.ModelService.ListTunedModels",
                },
            }
        ],
    }
    # Base models need no tuning scope; other tokens are not limited.
    assert requests.get(f"{server.url}/v1beta/models", headers=limited, timeout=5).ok
    full = {"Authorization": "Bearer full"}
    assert requests.get(f"{server.url}/v1beta/tunedModels", headers=full, timeout=5).ok
