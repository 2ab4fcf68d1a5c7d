from __future__ import annotations

import pytest

from reconciler.backends.gemini.client import GeminiClient
from reconciler.client import ApiKey, RetryPolicy

from .fakes import API_KEY, FakeApi, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def retry(clock: FakeClock) -> RetryPolicy:
    # random() == 0 takes no jitter off: backoffs are exactly 1, 2, 4, ...
    return RetryPolicy(sleep=clock.sleep, clock=clock.time, random=lambda: 0.0)


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def client(api: FakeApi, retry: RetryPolicy) -> GeminiClient:
    return GeminiClient(
        "https://api.test",
        credentials=ApiKey(API_KEY, "GEMINI_API_KEY"),
        retry=retry,
        session=api.session(),
    )
