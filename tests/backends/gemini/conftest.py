"""The Gemini API client over the scripted transport of tests/client/fakes.py:
`api` answers what a test scripts, `client` is a GeminiClient on it whose retries
sleep on `clock` (no time passes)."""

from __future__ import annotations

import pytest

from reconciler.backends.gemini.client import GeminiClient
from reconciler.client import ApiKey, RetryPolicy
from tests.client.fakes import API_KEY, FakeApi, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def client(api: FakeApi, clock: FakeClock) -> GeminiClient:
    # random() == 0 takes no jitter off: backoffs are exactly 1, 2, 4, ...
    retry = RetryPolicy(sleep=clock.sleep, clock=clock.time, random=lambda: 0.0)
    return GeminiClient(
        "https://api.test", credentials=ApiKey(API_KEY, "GEMINI_API_KEY"), retry=retry, session=api.session()
    )
