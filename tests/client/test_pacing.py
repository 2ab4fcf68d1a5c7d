"""The Pacer (reconciler/client/pacing.py) on a virtual clock: its sliding
window, its sharing between threads, and how a quota refusal is waited out."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from reconciler.client.errors import ApiError, Internal, RateLimited, TransportError
from reconciler.client.pacing import Pacer, QuotaExhausted, QuotaWaits, is_quota_refusal


class Clock:
    """Virtual time: `sleep` moves it; thread-safe."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def waits(clock: Clock, timeout: float = 3600.0, said: list[str] | None = None) -> QuotaWaits:
    told = said if said is not None else []
    return QuotaWaits(
        clock=clock, sleep=clock.sleep, timeout=timeout, report=lambda stage, _elapsed: told.append(stage)
    )


def sent_at(clock: Clock, times: list[float], answer_after: float = 0.0) -> Any:
    def send() -> str:
        times.append(clock())
        if answer_after:
            clock.sleep(answer_after)
        return "made"

    return send


def most_in_a_window(times: list[float], window: float = 60.0) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + window) for start in ordered)


def test_at_most_n_creates_in_any_sliding_minute() -> None:
    clock, times, said = Clock(), [], []  # type: ignore[var-annotated]
    pacer = Pacer(6, setting="vertex.maxCreatesPerMinute")
    for _ in range(20):
        assert pacer.submit(sent_at(clock, times), waits(clock, said=said)) == "made"
    assert most_in_a_window(times) == 6
    # The first six at once; then each waits for the oldest to leave the window.
    assert times[:6] == [1000.0] * 6 and times[6] == 1060.0 and times[12] == 1120.0
    assert said and all(s == "waiting for quota: at most 6 creates a minute, vertex.maxCreatesPerMinute" for s in said)


def test_a_slot_counts_from_the_answer_so_a_slow_answer_cannot_crowd_the_next_window() -> None:
    """Sent at 0 and answered at 10: the server may have counted it at 10, so
    the seventh create waits until 70, not 60."""
    clock, times = Clock(), []  # type: ignore[var-annotated]
    pacer = Pacer(6)
    pacer.submit(sent_at(clock, times, answer_after=10.0), waits(clock))
    for _ in range(6):
        pacer.submit(sent_at(clock, times), waits(clock))
    assert times[6] == 1070.0


def test_zero_turns_the_pacing_off() -> None:
    clock, times = Clock(), []  # type: ignore[var-annotated]
    pacer = Pacer(0)
    for _ in range(100):
        pacer.submit(sent_at(clock, times), waits(clock))
    assert clock.sleeps == [] and set(times) == {1000.0}


def test_the_window_is_shared_by_the_threads_of_one_pacer() -> None:
    clock, times = Clock(), []  # type: ignore[var-annotated]
    pacer = Pacer(3)
    start = threading.Barrier(8)
    lock = threading.Lock()

    def send() -> str:
        with lock:
            times.append(clock())
        return "made"

    def worker() -> None:
        start.wait()
        for _ in range(3):
            pacer.submit(send, waits(clock))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(times) == 24 and most_in_a_window(times) <= 3


def test_two_pacers_share_nothing() -> None:
    """One a connected backend, so one a target: another target's creates never wait here."""
    clock, first, second = Clock(), [], []  # type: ignore[var-annotated]
    a, b = Pacer(2), Pacer(2)
    for _ in range(2):
        a.submit(sent_at(clock, first), waits(clock))
        b.submit(sent_at(clock, second), waits(clock))
    assert clock.sleeps == [] and first == second == [1000.0, 1000.0]


def refusing(clock: Clock, times: list[float], refusals: int, error: ApiError) -> Any:
    def send() -> str:
        times.append(clock())
        if len(times) <= refusals:
            raise error
        return "made"

    return send


def test_a_quota_refusal_waits_with_a_growing_backoff_and_is_sent_again() -> None:
    clock, times, said = Clock(), [], []  # type: ignore[var-annotated]
    pacer = Pacer(60)
    refusal = RateLimited("Quota exceeded", http_status=429)
    assert pacer.submit(refusing(clock, times, 3, refusal), waits(clock, said=said)) == "made"
    assert clock.sleeps == [2.0, 4.0, 8.0] and len(times) == 4
    assert said[0] == "waiting for quota: the service refused the create (429 RESOURCE_EXHAUSTED); trying again in 2s"


def test_a_refusal_honours_retry_after_and_holds_every_other_create_back() -> None:
    clock, times = Clock(), []  # type: ignore[var-annotated]
    pacer = Pacer(60)
    refusal = RateLimited("slow down", http_status=429, retry_after=30.0)
    pacer.submit(refusing(clock, times, 1, refusal), waits(clock))
    assert times == [1000.0, 1030.0]
    clock.now = 1010.0  # another worker's create, sent while the first was waiting
    other: list[float] = []
    said: list[str] = []
    pacer.submit(sent_at(clock, other), waits(clock, said=said))
    assert other == [1030.0]
    assert said == ["waiting for quota: the service refused a create; holding back 20s"]


def test_a_refused_create_does_not_count_against_the_window() -> None:
    clock, times = Clock(), []  # type: ignore[var-annotated]
    pacer = Pacer(2)
    pacer.submit(refusing(clock, times, 1, RateLimited("no", http_status=429, retry_after=1.0)), waits(clock))
    later: list[float] = []
    pacer.submit(sent_at(clock, later), waits(clock))
    assert later == [1001.0]  # the second slot was free: only the answered create counted


def test_a_quota_that_stays_exhausted_fails_at_the_operation_timeout() -> None:
    clock, times = Clock(), []  # type: ignore[var-annotated]
    pacer = Pacer(60)
    with pytest.raises(QuotaExhausted) as raised:
        pacer.submit(refusing(clock, times, 10**6, RateLimited("no", http_status=429)), waits(clock, timeout=100))
    assert sum(clock.sleeps) <= 100
    assert "operation timeout (100s, operationTimeoutSeconds)" in str(raised.value)
    assert "nothing was created" in str(raised.value)


@pytest.mark.parametrize(
    "error",
    [Internal("boom", http_status=500), TransportError("no answer"), ApiError("bad", http_status=400)],
    ids=["500", "no answer", "400"],
)
def test_any_other_error_goes_to_the_caller_at_once(error: ApiError) -> None:
    """A 500 or no answer may have made the job: the caller's to resolve (Vertex's
    attempt label, Bedrock's token), never a blind resend here."""
    clock, times = Clock(), []  # type: ignore[var-annotated]
    pacer = Pacer(60)
    with pytest.raises(type(error)):
        pacer.submit(refusing(clock, times, 1, error), waits(clock))
    assert len(times) == 1 and clock.sleeps == []


def test_a_stop_during_a_wait_ends_it() -> None:
    class Stop(Exception):
        pass

    def stopped(_seconds: float) -> None:
        raise Stop

    clock = Clock()
    pacer = Pacer(1)
    pacer.submit(lambda: "made", waits(clock))
    stopping = QuotaWaits(clock=clock, sleep=stopped, timeout=3600, report=lambda *_: None)
    with pytest.raises(Stop):
        pacer.submit(lambda: "made", stopping)


def test_which_errors_are_quota_refusals() -> None:
    assert is_quota_refusal(RateLimited("x", http_status=429))
    assert is_quota_refusal(RateLimited("ThrottlingException at 400", http_status=400, status="ThrottlingException"))
    assert is_quota_refusal(ApiError("x", http_status=429))
    assert not is_quota_refusal(Internal("x", http_status=500))
    assert not is_quota_refusal(TransportError("x"))


def test_a_create_that_raises_anything_else_still_gives_its_slot_back() -> None:
    """Counted (it may have been made), never left taken: the next create waits
    out the window, not for ever."""
    clock = Clock()
    pacer = Pacer(1)

    def broken() -> str:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        pacer.submit(broken, waits(clock))
    times: list[float] = []
    pacer.submit(sent_at(clock, times), waits(clock))
    assert times == [1060.0]
