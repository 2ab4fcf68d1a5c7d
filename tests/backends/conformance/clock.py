"""Time for the conformance suite: one virtual clock the emulator, the
backend's sleeps and retries, its lock and the Waiter all read, so that a
tuning run of minutes, a stale lock or a retry's backoff cost no real time."""

from __future__ import annotations

import threading

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: an epoch time, as the emulator's timestamps need
TICK = 0.001  # every reading moves time on a little: no two events share a timestamp


class VirtualClock:
    """A clock (call it) that moves only when read or slept on, and the Waiter's
    stop event in one (`wait` advances time; it is never set).

    `hold_sleeps(name)`: the sleeps of the thread of that name block (really)
    until `release_sleeps()`, so a test can keep one apply from moving past a
    wait (e.g. for another apply's lock) until the other has finished."""

    def __init__(self) -> None:
        self._now = START
        self._lock = threading.Lock()
        self._held: set[str] = set()  # thread names
        self._sleeping = threading.Condition(self._lock)
        self._waiting = 0  # held threads blocked in a sleep now

    def __call__(self) -> float:
        with self._lock:
            self._now += TICK
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        with self._sleeping:
            if threading.current_thread().name in self._held:
                self._waiting += 1
                self._sleeping.notify_all()
                released = self._sleeping.wait_for(lambda: threading.current_thread().name not in self._held, 30)
                self._waiting -= 1
                assert released, "a held sleep was never released"
            self._now += max(0.0, seconds)

    # --- the Waiter's `stop` ------------------------------------------------------------

    def wait(self, seconds: float) -> bool:
        self.sleep(seconds)
        return False

    def is_set(self) -> bool:
        return False

    # --- holding one thread's sleeps ------------------------------------------------------

    def hold_sleeps(self, name: str) -> None:
        with self._lock:
            self._held.add(name)

    def release_sleeps(self) -> None:
        with self._sleeping:
            self._held.clear()
            self._sleeping.notify_all()

    def wait_for_a_held_sleep(self, done: threading.Event, timeout: float = 30.0) -> None:
        """Return once a held thread sleeps, or `done` is set (it finished
        without sleeping: whoever sets it calls `poke`)."""
        with self._sleeping:
            arrived = self._sleeping.wait_for(lambda: self._waiting > 0 or done.is_set(), timeout)
        assert arrived, "the held apply neither finished nor waited"

    def poke(self) -> None:
        """Wake `wait_for_a_held_sleep` to look again."""
        with self._sleeping:
            self._sleeping.notify_all()


class StopAtOnce:
    """A Waiter's stop event already set: Ctrl-C before the first wait."""

    def is_set(self) -> bool:
        return True

    def wait(self, seconds: float) -> bool:
        return True
