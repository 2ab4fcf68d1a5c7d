"""The Vertex per-model lock (reconciler/backends/vertex/lock.py) against an
in-memory bucket with Cloud Storage's generation preconditions: what counts as
a lock and why not, the exact edge of staleness and of quoting, what a renewal
that lost the lock records and logs, and which errors a write lets through.

Mutation testing (docs/mutation.md) found these edges unpinned by the emulator
tests of tests/backends/vertex/test_lock.py."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import pytest

from reconciler.apply.backend import ChangeFailed
from reconciler.backends.vertex.lock import (
    HOLDER_CHARS,
    MAX_AHEAD_SECONDS,
    STALE_SECONDS,
    Lease,
    Locks,
    Seen,
    parse,
    quoted,
    this_run,
)
from reconciler.client.errors import ApiError, Unavailable, UnexpectedResponse

BUCKET, PREFIX, NAME = "b", "p/", "p/locks/numbers.lock"
NOW = 1_700_000_000.0


class Bucket:
    """Objects by name with a generation each; writes and deletes honour ifGenerationMatch."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[int, Any]] = {}
        self.generations = 0
        self.deletes: list[str | None] = []
        self.fail_next_write: ApiError | None = None
        self.unreadable = False  # the content is not JSON
        self.vanishes = False  # deleted between reading its metadata and its content
        self.content_types: list[str] = []

    def put(self, content: Any) -> str:
        self.generations += 1
        self.objects[NAME] = (self.generations, content)
        return str(self.generations)

    def upload_object(
        self, bucket: str, name: str, data: bytes, content_type: str, if_generation_match: str = "0"
    ) -> dict[str, Any]:
        self.content_types.append(content_type)
        failure, self.fail_next_write = self.fail_next_write, None
        if failure is not None:
            raise failure
        live = str(self.objects[name][0]) if name in self.objects else "0"
        if live != if_generation_match:
            raise ApiError("precondition failed", http_status=412)
        return {"generation": self.put(json.loads(data))}

    def get_object(self, bucket: str, name: str) -> dict[str, Any] | None:
        return {"generation": str(self.objects[name][0])} if name in self.objects else None

    def download_object(self, bucket: str, name: str) -> Any:
        if self.unreadable:
            raise UnexpectedResponse("not JSON")
        if self.vanishes:
            self.objects.pop(name, None)
        return self.objects[name][1] if name in self.objects else None

    def delete_object(self, bucket: str, name: str, if_generation_match: str | None = None) -> None:
        self.deletes.append(if_generation_match)
        if name in self.objects and str(self.objects[name][0]) == if_generation_match:
            del self.objects[name]
        elif name in self.objects:
            raise ApiError("precondition failed", http_status=412)


def run(bucket: Bucket, owner: str = "me", now: float = NOW, **options: Any) -> Locks:
    settings: dict[str, Any] = {"wait_seconds": 0, "renew_seconds": 3600, **options}
    return Locks(bucket, BUCKET, PREFIX, owner=owner, clock=lambda: now, sleep=lambda _s: None, **settings)  # type: ignore[arg-type]


def held_by(bucket: Bucket, owner: str, expires: float) -> str:
    return bucket.put({"owner": owner, "token": "theirs", "expires": expires})


def test_what_is_no_lock_is_named_and_keeps_its_generation() -> None:
    assert parse("5", ["x"], NOW) == Seen("5", problem="its content is not a JSON object")
    assert parse("5", {"owner": 1, "expires": 1}, NOW) == Seen("5", problem="its owner or token is not a string")
    assert parse("5", {"owner": "o", "token": 1, "expires": 1}, NOW).problem == "its owner or token is not a string"
    for expires in (True, "1", float("nan"), float("inf"), None):
        assert parse("5", {"owner": "o", "expires": expires}, NOW) == Seen(
            "5", problem="its expiry is not a finite number"
        ), expires
    for expires in (-1, NOW + MAX_AHEAD_SECONDS + 1):
        assert parse("5", {"owner": "o", "expires": expires}, NOW) == Seen(
            "5", problem="its expiry is not within 660 s from now"
        )


def test_a_lock_as_a_run_writes_it_reads_back_whole_at_both_ends_of_the_window() -> None:
    assert parse("5", {"owner": "o", "token": "t", "expires": 0}, NOW) == Seen("5", "o", "t", 0.0)
    furthest = NOW + MAX_AHEAD_SECONDS
    assert parse("5", {"owner": "o", "expires": furthest}, NOW) == Seen("5", "o", "", furthest)
    assert isinstance(parse("5", {"owner": "o", "expires": 3}, NOW).expires, float)


def test_a_holders_text_is_cut_only_past_the_limit() -> None:
    exact = "x" * HOLDER_CHARS
    assert quoted(exact) == exact
    assert quoted(exact + "y") == "x" * (HOLDER_CHARS - 1) + "…"
    assert len(quoted("z" * 500)) == HOLDER_CHARS
    assert quoted("  a\u202eb\u200bc  ") == "abc"


def test_this_run_names_the_user_host_and_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("getpass.getuser", lambda: "ada")
    monkeypatch.setattr("socket.gethostname", lambda: "box")
    monkeypatch.setattr("os.getpid", lambda: 42)
    assert this_run() == "ada@box pid 42"

    def no_user() -> str:
        raise KeyError("uid not in passwd")

    monkeypatch.setattr("getpass.getuser", no_user)
    assert this_run() == "unknown@box pid 42"


def test_by_default_a_run_waits_90_s_for_a_live_lock_and_renews_its_own_every_15_s() -> None:
    locks = Locks(Bucket(), BUCKET, PREFIX, owner="me")  # type: ignore[arg-type]
    assert (locks.wait_seconds, locks.renew_seconds) == (90.0, 15.0)


def test_a_lock_expiring_this_very_second_is_stale_and_one_a_moment_later_is_live(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bucket = Bucket()
    held_by(bucket, "them", NOW)
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        run(bucket).acquire("numbers")
    assert f"taking over the lock gs://{BUCKET}/{NAME}: them let it expire 0 s ago (that run" in caplog.text
    bucket = Bucket()
    held_by(bucket, "them", NOW + 0.5)
    with pytest.raises(ChangeFailed) as refused:
        run(bucket).acquire("numbers")
    assert str(refused.value) == (
        f"another apply holds the lock gs://{BUCKET}/{NAME}: them, renewed until 2023-11-14 22:13:20 UTC; "
        "try again when it has finished (a lock not renewed for 60 s is taken over)"
    )


def test_a_lock_with_no_valid_content_is_taken_over_saying_why(caplog: pytest.LogCaptureFixture) -> None:
    bucket = Bucket()
    bucket.put({"owner": "x"})
    bucket.unreadable = True
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        lease = run(bucket).acquire("numbers")
    assert "it holds no valid lock (its content is not a JSON object)" in caplog.text
    assert lease.generation == "2"


def test_the_written_lock_says_who_holds_it_and_until_when() -> None:
    bucket = Bucket()
    locks = run(bucket, owner="ada")
    lease = locks.acquire("numbers")
    assert bucket.objects[NAME] == (1, {"owner": "ada", "token": locks.token, "expires": NOW + STALE_SECONDS})
    assert (lease.name, lease.generation) == (NAME, "1")


def test_a_renewal_that_finds_the_lock_taken_names_the_new_holder_or_nobody(caplog: pytest.LogCaptureFixture) -> None:
    bucket = Bucket()
    lease = run(bucket).acquire("numbers")
    held_by(bucket, "thief\x1b[2J", NOW)
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        lease.renew()
    assert lease.lost == "thief [2J"
    assert caplog.messages == [f"lost the lock gs://{BUCKET}/{NAME} to thief [2J: it was not renewed in time"]
    gone = Bucket()
    lease = run(gone).acquire("numbers")
    gone.objects.clear()
    gone.put({"owner": "x"})  # a generation this run did not write; then the object goes
    gone.objects.clear()
    lease.generation = "7"
    lease.renew()
    assert lease.lost == "nobody"


def test_a_renewal_moves_the_lease_to_the_generation_it_wrote() -> None:
    bucket = Bucket()
    lease = run(bucket).acquire("numbers")
    lease.renew()
    assert (lease.generation, lease.lost) == ("2", "")


def test_a_write_error_other_than_a_failed_precondition_is_raised() -> None:
    bucket = Bucket()
    bucket.fail_next_write = Unavailable("down", http_status=503)
    with pytest.raises(Unavailable):
        run(bucket).acquire("numbers")


def test_release_deletes_only_the_generation_this_run_wrote_and_swallows_a_refusal() -> None:
    bucket = Bucket()
    lease = run(bucket).acquire("numbers")
    lease.renew()
    lease.release()
    assert bucket.deletes == ["2"] and NAME not in bucket.objects
    taken = Bucket()
    lease = run(taken).acquire("numbers")
    held_by(taken, "them", NOW + 30)
    lease.release()  # a 412: the new holder's lock stays
    assert taken.objects[NAME][1]["owner"] == "them"


def test_renewing_in_the_background_stops_after_a_lost_lock(caplog: pytest.LogCaptureFixture) -> None:
    bucket = Bucket()
    lease = Lease(run(bucket, renew_seconds=0.001), NAME, "9")  # a generation that is not there: lost
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        lease.start_renewing()
        assert lease._thread is not None
        # Named for a thread dump, and never what keeps a finished process alive.
        assert (lease._thread.name, lease._thread.daemon) == (f"renew {NAME}", True)
        lease._thread.join(timeout=10)
    assert not lease._thread.is_alive()
    assert lease.lost == "nobody"


def test_a_lock_released_between_reading_its_generation_and_its_content_is_simply_taken(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bucket = Bucket()
    held_by(bucket, "them", NOW + 30)
    bucket.vanishes = True
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        lease = run(bucket).acquire("numbers")
    assert caplog.messages == []  # nothing was taken over: the holder had released it
    assert lease.generation == "2"


def test_a_renewal_that_fails_is_logged_on_one_line_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    bucket = Bucket()
    lease = run(bucket, renew_seconds=0.001).acquire("numbers")
    bucket.objects.clear()  # the lock is gone: the retry will find it lost
    bucket.fail_next_write = Unavailable("down\nfor now", http_status=503)
    writes: list[str] = []
    retried = threading.Event()
    upload = bucket.upload_object

    def upload_and_tell(
        bucket_name: str, name: str, data: bytes, content_type: str, if_generation_match: str = "0"
    ) -> dict[str, Any]:
        writes.append(if_generation_match)
        try:
            return upload(bucket_name, name, data, content_type, if_generation_match)
        finally:
            if len(writes) == 2:
                retried.set()

    bucket.upload_object = upload_and_tell  # type: ignore[method-assign,assignment]
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        lease.start_renewing()
        assert retried.wait(timeout=10)
        lease.release()
    assert caplog.messages == [
        f"could not renew the lock gs://{BUCKET}/{NAME}: 503 UNAVAILABLE: down for now",
        f"lost the lock gs://{BUCKET}/{NAME} to nobody: it was not renewed in time",
    ]
    assert writes == ["1", "1"] and lease.lost == "nobody"


def test_a_live_holder_is_waited_for_a_second_at_a_time_until_its_lock_goes_stale() -> None:
    bucket = Bucket()
    held_by(bucket, "them", NOW + 3)
    clock = [NOW]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    locks = Locks(bucket, BUCKET, PREFIX, owner="me", clock=lambda: clock[0], sleep=sleep, wait_seconds=90)  # type: ignore[arg-type]
    lease = locks.acquire("numbers")
    assert sleeps == [1.0, 1.0, 1.0]  # expired at NOW + 3: taken over then, not refused at once
    assert bucket.objects[NAME][1]["owner"] == "me" and lease.generation == "2"
    assert bucket.content_types == ["application/json"] * 5  # four refused, then the take-over


def test_the_refusal_says_the_holders_expiry_in_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        bucket = Bucket()
        held_by(bucket, "them", NOW + 30)
        with pytest.raises(ChangeFailed, match="renewed until 2023-11-14 22:13:50 UTC;"):
            run(bucket).acquire("numbers")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
