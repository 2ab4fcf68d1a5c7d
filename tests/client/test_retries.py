"""Which failures are retried, how often and how long apart: counted, never timed."""

from __future__ import annotations

import io
import logging
import threading

import pytest
import requests

from reconciler.backends.gemini.client import GeminiClient
from reconciler.client import (
    Anonymous,
    NotFound,
    RateLimited,
    RetryPolicy,
    Unavailable,
)
from reconciler.client.transport import Transport

from .fakes import FakeApi, FakeClock, Reply, dropped, error, status_body

MODEL = "/v1beta/tunedModels/m"
CREATE = "/v1beta/tunedModels"
OK = Reply(200, {"name": "tunedModels/m"})


def test_a_404_makes_one_request(client: GeminiClient, api: FakeApi, clock: FakeClock) -> None:
    api.script("GET", MODEL, error(404, "NOT_FOUND"))
    with pytest.raises(NotFound):
        client.get_tuned_model("m")
    assert client.request_count == 1
    assert clock.sleeps == []


def test_two_503_then_200_make_three_requests(client: GeminiClient, api: FakeApi, clock: FakeClock) -> None:
    api.script("GET", MODEL, error(503, "UNAVAILABLE"), error(503, "UNAVAILABLE"), OK)
    assert client.get_tuned_model("m") == {"name": "tunedModels/m"}
    assert client.request_count == 3
    assert clock.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(client: GeminiClient, api: FakeApi, status: int) -> None:
    api.script("GET", MODEL, error(status), OK)
    client.get_tuned_model("m")
    assert client.request_count == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 501])
def test_permanent_statuses_make_one_request(client: GeminiClient, api: FakeApi, status: int) -> None:
    api.script("GET", MODEL, error(status), OK)
    with pytest.raises(Exception, match=str(status)):
        client.get_tuned_model("m")
    assert client.request_count == 1


def test_retry_after_header_is_honoured(client: GeminiClient, api: FakeApi, clock: FakeClock) -> None:
    api.script("GET", MODEL, error(429, "RESOURCE_EXHAUSTED", headers={"Retry-After": "7"}), OK)
    client.get_tuned_model("m")
    assert clock.sleeps == [7.0]


def test_retry_info_delay_is_honoured(client: GeminiClient, api: FakeApi, clock: FakeClock) -> None:
    retry_info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2s"}
    body = status_body(429, "RESOURCE_EXHAUSTED", "quota", retry_info)
    api.script("GET", MODEL, Reply(429, body), OK)
    client.get_tuned_model("m")
    assert clock.sleeps == [2.0]


def test_deadline_stops_retries(api: FakeApi, clock: FakeClock) -> None:
    retry = RetryPolicy(deadline=10, sleep=clock.sleep, clock=clock.time, random=lambda: 0.0)
    client = GeminiClient("https://api.test", retry=retry, session=api.session())
    api.script("GET", MODEL, error(503, "UNAVAILABLE", headers={"Retry-After": "4"}))
    with pytest.raises(Unavailable) as raised:
        client.get_tuned_model("m")
    # Attempts at t=0, 4 and 8; one more would start at 12, past the deadline.
    assert client.request_count == 3
    assert raised.value.attempts == 3
    # The log said "of at most 5"; the error says why there were only 3.
    assert "(after 3 attempts; the retry deadline of 10s left no time for another)" in str(raised.value)


class _SilentUntilNoticed(requests.adapters.BaseAdapter):
    """An endpoint that answers only once the client has said it is waiting."""

    def __init__(self, noticed: threading.Event) -> None:
        super().__init__()
        self.noticed = noticed

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:  # type: ignore[override]
        assert self.noticed.wait(timeout=30), "no 'waiting for' line while the request hung"
        response = requests.Response()
        response.status_code, response.raw = 200, io.BytesIO(b"{}")
        return response

    def close(self) -> None:
        pass


def test_a_silent_endpoint_gets_a_waiting_for_line(caplog: pytest.LogCaptureFixture) -> None:
    noticed = threading.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("waiting for "):
                noticed.set()

    session = requests.Session()
    session.mount("https://", _SilentUntilNoticed(noticed))
    transport = Transport(
        "https://api.test", Anonymous(), timeout=30, retry=RetryPolicy(), session=session, slow_notice=0.01
    )
    handler = Watch()
    # On the root logger, after caplog's own handler: the line is captured
    # before the endpoint answers (on the client's logger it was a race).
    logging.getLogger().addHandler(handler)
    try:
        with caplog.at_level(logging.WARNING, logger="reconciler.client"):
            assert transport.call("GET", "v1beta/tunedModels") == {}
    finally:
        logging.getLogger().removeHandler(handler)
    assert caplog.messages == [
        "waiting for GET /v1beta/tunedModels at https://api.test: no answer after 0.01s (giving up after 30s)"
    ]


def test_an_attempt_due_exactly_at_the_deadline_still_starts(api: FakeApi, clock: FakeClock) -> None:
    retry = RetryPolicy(deadline=8, sleep=clock.sleep, clock=clock.time, random=lambda: 0.0)
    client = GeminiClient("https://api.test", retry=retry, session=api.session())
    api.script("GET", MODEL, error(503, "UNAVAILABLE", headers={"Retry-After": "4"}))
    with pytest.raises(Unavailable):
        client.get_tuned_model("m")
    # Attempts at t=0, 4 and 8 (the deadline itself); the next would start at 12.
    assert client.request_count == 3


def test_a_server_delay_past_the_deadline_is_not_waited_for(
    client: GeminiClient, api: FakeApi, clock: FakeClock
) -> None:
    api.script("GET", MODEL, error(429, "RESOURCE_EXHAUSTED", headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as raised:
        client.get_tuned_model("m")
    assert client.request_count == 1
    assert clock.sleeps == []
    assert raised.value.retry_after == 3600


def test_attempts_are_bounded(client: GeminiClient, api: FakeApi, clock: FakeClock) -> None:
    api.script("GET", MODEL, error(503, "UNAVAILABLE"))
    with pytest.raises(Unavailable, match=r"after 5 attempts"):
        client.get_tuned_model("m")
    assert client.request_count == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_backoff_doubles_up_to_its_cap(clock: FakeClock) -> None:
    policy = RetryPolicy(base_backoff=1, max_backoff=4, random=lambda: 0.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [1, 2, 4, 4, 4]


def test_jitter_takes_off_at_most_its_fraction() -> None:
    policy = RetryPolicy(base_backoff=2, jitter=0.5, random=lambda: 1.0)
    assert policy.backoff(1) == 1.0
    assert RetryPolicy(base_backoff=2, jitter=0.0, random=lambda: 1.0).backoff(1) == 2.0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"jitter": 1.5}, "jitter must be between 0 and 1"),
        ({"jitter": -0.1}, "jitter must be between 0 and 1"),
    ],
)
def test_a_policy_that_cannot_work_is_refused(bad: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        RetryPolicy(**bad)  # type: ignore[arg-type]


def test_the_limits_themselves_are_allowed() -> None:
    assert RetryPolicy(max_attempts=1).max_attempts == 1
    assert RetryPolicy(jitter=1.0, base_backoff=2, random=lambda: 1.0).backoff(1) == 0.0
    assert RetryPolicy(jitter=0.0).jitter == 0.0


def test_one_attempt_turns_retries_off(api: FakeApi, clock: FakeClock) -> None:
    retry = RetryPolicy(max_attempts=1, sleep=clock.sleep, clock=clock.time)
    client = GeminiClient("https://api.test", retry=retry, session=api.session())
    api.script("GET", MODEL, error(503, "UNAVAILABLE"), OK)
    with pytest.raises(Unavailable):
        client.get_tuned_model("m")
    assert client.request_count == 1
    assert clock.sleeps == []


def test_a_dropped_connection_is_retried_on_get(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", MODEL, dropped(), OK)
    assert client.get_tuned_model("m")["name"] == "tunedModels/m"
    assert client.request_count == 2


def test_a_timeout_is_retried_on_get(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", MODEL, requests.ReadTimeout("read timed out"), OK)
    client.get_tuned_model("m")
    assert client.request_count == 2


def test_every_request_has_a_timeout(client: GeminiClient, api: FakeApi) -> None:
    api.script("GET", MODEL, error(503), OK)
    client.get_tuned_model("m")
    assert [s.timeout for s in api.seen] == [30.0, 30.0]


def test_retries_are_logged_with_attempt_numbers(
    client: GeminiClient, api: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    api.script("GET", MODEL, error(503, "UNAVAILABLE"), OK)
    with caplog.at_level(logging.DEBUG, logger="reconciler.client"):
        client.get_tuned_model("m")
    assert caplog.messages == [
        "GET /v1beta/tunedModels/m: attempt 1 of at most 5 failed (503 UNAVAILABLE); retrying in 1.0s"
    ]
