"""Which of the Gemini API client's calls are sent again after a failure: a
create without an id, a grant and an ownership transfer must not run twice
(unless the request never left, or the front end refused it with a 429); a
create with an id, a generation and a delete may. The retry policy itself is
tests/client/test_retries.py's."""

from __future__ import annotations

import pytest

from reconciler.backends.gemini.client import GeminiClient
from reconciler.client import NotFound, TransportError, Unavailable
from tests.client.fakes import FakeApi, FakeClock, Reply, dropped, error, refused

MODEL = "/v1beta/tunedModels/m"
CREATE = "/v1beta/tunedModels"
OK = Reply(200, {"name": "tunedModels/m"})


def test_create_without_id_is_not_retried_after_a_503(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", CREATE, error(503, "UNAVAILABLE"), OK)
    with pytest.raises(Unavailable):
        client.create_tuned_model({"displayName": "x"})
    assert client.request_count == 1


def test_create_without_id_is_not_retried_after_a_dropped_connection(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", CREATE, dropped(), OK)
    with pytest.raises(TransportError) as raised:
        client.create_tuned_model({"displayName": "x"})
    assert raised.value.sent
    assert client.request_count == 1


def test_create_without_id_is_resent_when_the_connection_was_never_made(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", CREATE, refused(), OK)
    client.create_tuned_model({"displayName": "x"})
    assert client.request_count == 2


def test_create_with_id_is_retried(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", CREATE, error(503, "UNAVAILABLE"), dropped(), OK)
    client.create_tuned_model({"displayName": "x"}, tuned_model_id="m")
    assert client.request_count == 3
    assert all(s.query == {"tunedModelId": ["m"]} for s in api.seen)


def test_generate_content_is_retried(client: GeminiClient, api: FakeApi) -> None:
    api.script("POST", "/v1beta/tunedModels/m:generateContent", error(503), Reply(200, {}))
    client.generate_content("m", "hello")
    assert client.request_count == 2


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_permission("m", {"role": "READER", "granteeType": "EVERYONE"}),
        lambda c: c.transfer_ownership("m", "new@example.com"),
    ],
    ids=["create_permission", "transfer_ownership"],
)
def test_calls_that_must_not_run_twice_are_not_retried(client: GeminiClient, api: FakeApi, call: object) -> None:
    api.script("POST", "/v1beta/tunedModels/m/permissions", error(503), OK)
    api.script("POST", "/v1beta/tunedModels/m:transferOwnership", error(503), OK)
    with pytest.raises(Unavailable):
        call(client)  # type: ignore[operator]
    assert client.request_count == 1


def test_a_retried_delete_that_finds_nothing_has_succeeded(client: GeminiClient, api: FakeApi) -> None:
    api.script("DELETE", MODEL, error(503), error(404, "NOT_FOUND"))
    client.delete_tuned_model("m")  # no NotFound raised
    assert client.request_count == 2


def test_a_first_delete_that_finds_nothing_says_so(client: GeminiClient, api: FakeApi) -> None:
    api.script("DELETE", MODEL, error(404, "NOT_FOUND"))
    with pytest.raises(NotFound):
        client.delete_tuned_model("m")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_tuned_model({"displayName": "x"}),
        lambda c: c.create_permission("m", {"role": "READER", "granteeType": "EVERYONE"}),
        lambda c: c.transfer_ownership("m", "new@example.com"),
    ],
    ids=["create_without_id", "create_permission", "transfer_ownership"],
)
def test_a_429_is_retried_even_for_calls_that_must_not_run_twice(
    client: GeminiClient, api: FakeApi, clock: FakeClock, call: object
) -> None:
    # Google's front end rejects a rate-limited request before the service sees it.
    limited = error(429, "RESOURCE_EXHAUSTED", headers={"Retry-After": "7"})
    for path in (CREATE, "/v1beta/tunedModels/m/permissions", "/v1beta/tunedModels/m:transferOwnership"):
        api.script("POST", path, limited, OK)
    call(client)  # type: ignore[operator]
    assert client.request_count == 2
    assert clock.sleeps == [7.0]
