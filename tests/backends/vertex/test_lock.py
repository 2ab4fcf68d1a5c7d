"""The Vertex per-model lock against the emulator's Cloud Storage: the holder
renews it; a lock not renewed within 60 s, or one whose content is no lock, is
taken over under a generation precondition (two breakers: one wins); a lost
answer on a lock write is recognised by the run's token; the holder's text is
quoted cleaned and bounded. Time is a fake clock: nothing waits for a window."""

from __future__ import annotations

import json
import logging
import threading
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from reconciler.apply.backend import ChangeFailed
from reconciler.backends.vertex import lock
from reconciler.backends.vertex.client import VertexClient
from reconciler.backends.vertex.lock import Lease, Locks
from reconciler.client.errors import Unavailable
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import BUCKET, LOCATION, PROJECT, jobs_of, manifest, vertex_cli, write_repo

PREFIX = "reconciler/datasets/"
LOCK = f"{PREFIX}locks/numbers.lock"
START = 1_700_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Client(VertexClient):
    """The real client, with a hook told each lock write's precondition before
    it is sent (to interleave another run), and answers it can lose after the
    write landed."""

    def __init__(self, emulator: EmulatorServer) -> None:
        super().__init__(emulator.url, emulator.url, PROJECT, LOCATION, retry=RetryPolicy(max_attempts=1))
        self.on_write: Callable[[str], None] = lambda _over: None
        self.lose = ""  # "retry": the resend meets a 412; "gone": the retries run out
        self.writes: list[str] = []  # each write's ifGenerationMatch

    def upload_object(
        self, bucket: str, name: str, data: bytes, content_type: str, if_generation_match: str = "0"
    ) -> dict[str, Any]:
        self.on_write(if_generation_match)
        self.writes.append(if_generation_match)
        answer = super().upload_object(bucket, name, data, content_type, if_generation_match)
        lose, self.lose = self.lose, ""
        if lose == "retry":
            return super().upload_object(bucket, name, data, content_type, if_generation_match)
        if lose == "gone":
            raise Unavailable("the answer was lost", http_status=503)
        return answer


def client_for(emulator: EmulatorServer) -> Client:
    return Client(emulator)  # the bucket: seeded by the emulator (tests/backends/conftest.py)


def locks(client: VertexClient, clock: Clock, owner: str, **options: Any) -> Locks:
    """A run's locks: it never waits for a live lock, and renews only when told (the test calls `renew`)."""
    settings: dict[str, Any] = {"wait_seconds": 0, "renew_seconds": 3600, **options}
    return Locks(client, BUCKET, PREFIX, owner=owner, clock=clock, sleep=lambda _s: None, **settings)


def object_url(emulator: EmulatorServer) -> str:
    return f"{emulator.url}/storage/v1/b/{BUCKET}/o/{quote(LOCK, safe='')}"


def stored(emulator: EmulatorServer) -> dict[str, Any] | None:
    meta = requests.get(object_url(emulator), timeout=10)
    if meta.status_code == 404:
        return None
    content = requests.get(object_url(emulator), params={"alt": "media"}, timeout=10)
    return {**json.loads(content.content), "generation": meta.json()["generation"]}


def put_raw(emulator: EmulatorServer, data: bytes) -> None:
    response = requests.post(
        f"{emulator.url}/upload/storage/v1/b/{BUCKET}/o",
        timeout=10,
        params={"uploadType": "media", "name": LOCK},
        data=data,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


def put_lock(emulator: EmulatorServer, owner: str, expires: float) -> None:
    put_raw(emulator, json.dumps({"owner": owner, "token": "another-run", "expires": expires}).encode())


# --- renewal and the stale window ------------------------------------------------------------


def test_the_holder_renews_its_lock_and_a_renewed_lock_is_not_taken_over(emulator: EmulatorServer) -> None:
    client, clock = client_for(emulator), Clock()
    with locks(client, clock, "holder").held("numbers") as lease:
        first = lease.generation
        clock.now += 50
        lease.renew()
        assert lease.generation != first
        assert stored(emulator) == {
            "owner": "holder",
            "token": lease.locks.token,
            "expires": START + 50 + 60,
            "generation": lease.generation,
        }
        clock.now += 50  # 100 s after the take: past its first expiry, 50 s after the renewal
        with pytest.raises(ChangeFailed, match=r"another apply holds the lock .*: holder, renewed until"):
            locks(client, clock, "other").acquire("numbers")
    assert stored(emulator) is None  # released


def test_the_lock_is_renewed_in_the_background_while_the_block_runs(emulator: EmulatorServer) -> None:
    client, renewed = client_for(emulator), threading.Event()
    run = locks(client, Clock(), "holder", renew_seconds=0.01)
    client.on_write = lambda over: renewed.set() if over != "0" else None
    with run.held("numbers"):
        assert renewed.wait(10), "the lock was never renewed while held"
    assert client.writes[0] == "0" and all(w != "0" for w in client.writes[1:])  # renewals: over its generation
    assert stored(emulator) is None


def test_a_lock_not_renewed_for_60_seconds_is_taken_over(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    client, clock = client_for(emulator), Clock()
    locks(client, clock, "killed run").acquire("numbers")  # never renewed nor released: the run was killed
    clock.now += 59
    with pytest.raises(ChangeFailed, match="killed run"):
        locks(client, clock, "too early").acquire("numbers")
    clock.now += 2
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        lease = locks(client, clock, "rerun").acquire("numbers")
    assert stored(emulator) == {
        "owner": "rerun",
        "token": lease.locks.token,
        "expires": START + 61 + 60,
        "generation": lease.generation,
    }
    assert "killed run let it expire 1 s ago" in caplog.text


@pytest.mark.parametrize("seed", ["stale", "garbage"])
def test_two_breakers_racing_for_one_lock_only_one_takes_it(emulator: EmulatorServer, seed: str) -> None:
    if seed == "stale":
        put_lock(emulator, "dead run", START - 1)
    else:
        put_raw(emulator, b"\x00 not a lock")
    clock, first_client, second_client = Clock(), client_for(emulator), client_for(emulator)
    second = locks(second_client, clock, "second breaker")
    won: list[Lease] = []

    def second_breaks_in_first(over: str) -> None:
        # Both runs have read the same broken lock; the second writes over it first.
        if over != "0" and not won:
            won.append(second.acquire("numbers"))

    first_client.on_write = second_breaks_in_first
    first = locks(first_client, clock, "first breaker")
    with pytest.raises(ChangeFailed, match="second breaker"):
        first.acquire("numbers")
    assert first_client.writes[-1] not in ("", "0")  # the first did try to take it over
    assert stored(emulator) == {
        "owner": "second breaker",
        "token": second.token,
        "expires": START + 60,
        "generation": won[0].generation,
    }


@pytest.mark.parametrize("renews", [True, False])
def test_a_holder_whose_lock_was_taken_over_leaves_the_new_holder_alone(emulator: EmulatorServer, renews: bool) -> None:
    client, clock = client_for(emulator), Clock()
    slow = locks(client, clock, "slow run").acquire("numbers")
    clock.now += 61  # it could not renew in time
    breaker = locks(client, clock, "breaker").acquire("numbers")
    if renews:
        slow.renew()
        assert slow.lost == "breaker"
    slow.release()
    assert stored(emulator) == {
        "owner": "breaker",
        "token": breaker.locks.token,
        "expires": START + 61 + 60,
        "generation": breaker.generation,
    }


# --- bad content and the holder's text -----------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"\x00 garbage {",
        b"inf",
        b"NaN",
        b"",
        b"[1, 2]",
        b'"a string"',
        b"42",
        b'{"owner": "x", "expires": Infinity}',
        b'{"owner": "x", "expires": NaN}',
        b'{"owner": "x", "expires": "soon"}',
        b'{"owner": "x", "expires": true}',
        b'{"owner": "x", "expires": 1e300}',
        b'{"owner": "x", "expires": -1}',
        b'{"owner": ["x"], "expires": 1}',
        b'{"owner": "x", "token": 7, "expires": 1}',
        b'{"expires": 1}',
    ],
)
def test_a_lock_whose_content_is_no_lock_is_broken_with_a_clear_message(
    emulator: EmulatorServer, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    put_raw(emulator, content)
    client = client_for(emulator)
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        lease = locks(client, Clock(), "me").acquire("numbers")
    assert (stored(emulator) or {}).get("token") == lease.locks.token
    assert f"taking over the lock gs://{BUCKET}/{LOCK}: it holds no valid lock (its " in caplog.text
    assert client.writes[-1] not in ("", "0")  # written over the generation that was read


def test_the_holder_text_is_quoted_cleaned_and_bounded(emulator: EmulatorServer) -> None:
    put_lock(emulator, "mallory\x1b[2J\r\n\u202e\x07" + "x" * 10_000, START + 30)
    with pytest.raises(ChangeFailed) as caught:
        locks(client_for(emulator), Clock(), "me").acquire("numbers")
    message = str(caught.value)
    assert "mallory" in message
    assert not [c for c in message if unicodedata.category(c) in ("Cc", "Cf")], repr(message)
    assert "x" * 80 not in message and "x" * 60 in message
    assert len(message) < 400


# --- lost answers -------------------------------------------------------------------------------


@pytest.mark.parametrize("lose", ["retry", "gone"])
def test_a_lost_answer_on_a_lock_write_leaves_this_run_the_holder(emulator: EmulatorServer, lose: str) -> None:
    client, clock = client_for(emulator), Clock()
    client.lose = lose
    lease = locks(client, clock, "me").acquire("numbers")
    assert lease.generation == (stored(emulator) or {}).get("generation")
    client.lose = lose
    clock.now += 30
    lease.renew()
    assert not lease.lost
    assert stored(emulator) == {
        "owner": "me",
        "token": lease.locks.token,
        "expires": START + 30 + 60,
        "generation": lease.generation,
    }
    lease.release()
    assert stored(emulator) is None  # its own generation: released, not left to go stale


# --- through the CLI ---------------------------------------------------------------------------


def test_an_apply_after_a_killed_holder_proceeds_without_waiting(
    tmp_path: Path, make_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    # A holder that took the lock 61 s ago and was killed: nothing renewed or released it.
    Locks(client_for(emulator), BUCKET, PREFIX, owner="killed", clock=lambda: time.time() - 61).acquire("numbers")
    monkeypatch.setattr(lock, "WAIT_SECONDS", 0.0)  # the apply must not need to wait at all
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    assert len(jobs_of(emulator, "numbers")) == 1
    assert stored(emulator) is None


def test_an_apply_takes_over_a_lock_with_garbage_content(
    tmp_path: Path, make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    put_raw(emulator, b'["not", "a lock"]')
    with caplog.at_level(logging.WARNING, logger="reconciler.vertex"):
        result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    assert len(jobs_of(emulator, "numbers")) == 1
    assert "it holds no valid lock (its content is not a JSON object)" in caplog.text
