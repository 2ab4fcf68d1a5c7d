"""A per-model lock object in the datasets bucket, so two applies at once never
make two tuning jobs for one id (Vertex creates take no client-chosen id).

The object is JSON `{"owner", "token", "expires"}`: who holds it (for people),
the holding run's random token (for the holder itself), and a wall-clock expiry
(Unix seconds). Every write of it carries a generation precondition, as
Terraform's gcs backend takes its state lock:

- taking a free lock writes with `ifGenerationMatch=0`: one writer wins;
- the holder renews it every RENEW_SECONDS, writing a new expiry
  STALE_SECONDS ahead over the generation it last wrote, so a run that dies
  leaves a lock that is stale within STALE_SECONDS;
- a stale lock, or one whose content is no lock at all, is taken over by
  writing over the generation that was read: of two runs that read the same
  stale lock, only one write lands.

A write whose answer was lost (its retry meets a 412, or the retries run out)
is recognised by this run's token in the object: the run holds the lock.

Clock skew: a run compares a holder's expiry to its own clock. The holder
writes expires = its now + 60 s every 15 s, so a live lock always claims at
least 45 s ahead; a breaker whose clock runs up to about 45 s ahead of the
holder's still sees it live (NTP keeps machines far closer). A clock that runs
behind only delays a take-over; an expiry more than MAX_AHEAD_SECONDS ahead
is no lock any version wrote, and is broken.
"""

from __future__ import annotations

import getpass
import json
import logging
import math
import os
import secrets
import socket
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.apply.backend import ChangeFailed
from reconciler.apply.progress import one_line
from reconciler.backends.vertex.client import PRECONDITION_FAILED, VertexClient
from reconciler.client.errors import ApiError, UnexpectedResponse

STALE_SECONDS = 60.0  # a lock not renewed for this long belongs to a run that stopped
RENEW_SECONDS = 15.0  # how often the holder renews it: several tries fit in one window
WAIT_SECONDS = 90.0  # how long to wait for a live lock: longer than a dead holder's lock lasts
MAX_AHEAD_SECONDS = 660.0  # the earlier format's 600 s expiry, plus a minute of clock skew
HOLDER_CHARS = 80  # of a holder's text quoted in a message

logger = logging.getLogger("reconciler.vertex")


def this_run() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def quoted(text: str) -> str:
    """A holder's text as a message may show it: one plain line, at most HOLDER_CHARS."""
    # No control character (it could drive the terminal), nor a bidi override (it could reorder the line).
    line = "".join(c for c in one_line(text) if unicodedata.category(c) != "Cf").strip()
    return line if len(line) <= HOLDER_CHARS else line[: HOLDER_CHARS - 1] + "…"


@dataclass(frozen=True)
class Seen:
    """A lock object as read: its generation and content, or why the content is no lock."""

    generation: str
    owner: str = ""
    token: str = ""
    expires: float = 0.0
    problem: str = ""


def parse(generation: str, content: Any, now: float) -> Seen:
    """A lock's content checked: anything a run did not write is a `problem`."""
    if not isinstance(content, dict):
        return Seen(generation, problem="its content is not a JSON object")
    owner, token, expires = content.get("owner"), content.get("token", ""), content.get("expires")
    if not isinstance(owner, str) or not isinstance(token, str):
        return Seen(generation, problem="its owner or token is not a string")
    if isinstance(expires, bool) or not isinstance(expires, int | float) or not math.isfinite(expires):
        return Seen(generation, problem="its expiry is not a finite number")
    if not 0 <= expires <= now + MAX_AHEAD_SECONDS:
        return Seen(generation, problem=f"its expiry is not within {MAX_AHEAD_SECONDS:g} s from now")
    return Seen(generation, owner, token, float(expires))


class Locks:
    def __init__(
        self,
        client: VertexClient,
        bucket: str,
        prefix: str,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        wait_seconds: float | None = None,
        renew_seconds: float | None = None,
    ) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.owner = owner or this_run()
        self.token = secrets.token_hex(8)  # this run's, so it knows its own writes
        self.clock, self.sleep = clock, sleep
        self.wait_seconds = WAIT_SECONDS if wait_seconds is None else wait_seconds
        self.renew_seconds = RENEW_SECONDS if renew_seconds is None else renew_seconds

    def object_name(self, key: str) -> str:
        return f"{self.prefix}locks/{key}.lock"

    @contextmanager
    def held(self, key: str, pause: Callable[[float], None] | None = None) -> Iterator[Lease]:
        """The lock for `key`, renewed in the background while the block runs;
        `pause`: how to wait between looks at a live lock (an apply's waiter, so
        a stop asked for ends the wait)."""
        lease = self.acquire(key, pause)
        lease.start_renewing()
        try:
            yield lease
        finally:
            lease.release()

    def acquire(self, key: str, pause: Callable[[float], None] | None = None) -> Lease:
        """Take the lock (waiting up to wait_seconds for a live holder, pausing
        with `pause` or else this object's sleep); nothing renews it yet."""
        name = self.object_name(key)
        deadline = self.clock() + self.wait_seconds
        over = "0"  # the generation to write over: none, or a stale lock's
        while True:
            generation, seen = self.write(name, over)
            if generation:
                return Lease(self, name, generation)
            over = "0"
            if seen is None:
                continue  # released between the two calls
            stale = self._why_stale(seen)
            if stale:
                logger.warning("taking over the lock gs://%s/%s: %s", self.bucket, name, stale)
                over = seen.generation
                continue
            if self.clock() >= deadline:
                until = datetime.fromtimestamp(seen.expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                raise ChangeFailed(
                    f"another apply holds the lock gs://{self.bucket}/{name}: {quoted(seen.owner)}, "
                    f"renewed until {until}; try again when it has finished (a lock not "
                    f"renewed for {STALE_SECONDS:g} s is taken over)"
                )
            (pause or self.sleep)(1.0)

    def write(self, name: str, over: str) -> tuple[str, Seen | None]:
        """Write this run's lock with a fresh expiry, if the object's generation
        is `over` ("0": no object). The generation this run now holds, or ""
        and the lock found instead (None: there is none now)."""
        body = json.dumps({"owner": self.owner, "token": self.token, "expires": self.clock() + STALE_SECONDS})
        try:
            written = self.client.upload_object(
                self.bucket, name, body.encode(), "application/json", if_generation_match=over
            )
            return str(written.get("generation", "")), None
        except ApiError as error:
            seen = self.read(name)
            if seen is not None and seen.token == self.token:
                return seen.generation, None  # this run's write landed; its answer was lost
            if error.http_status != PRECONDITION_FAILED:
                raise
            return "", seen

    def read(self, name: str) -> Seen | None:
        meta = self.client.get_object(self.bucket, name)
        if meta is None:
            return None
        # The generation first, the content after: a write over this generation
        # lands only if the object did not change since, so the content read
        # is that generation's whenever it matters.
        generation = str(meta.get("generation", ""))
        try:
            content = self.client.download_object(self.bucket, name)
        except UnexpectedResponse:  # not a JSON object
            return Seen(generation, problem="its content is not a JSON object")
        return None if content is None else parse(generation, content, self.clock())

    def _why_stale(self, seen: Seen) -> str:
        """Why a lock may be taken over, or "" while it is live."""
        if seen.problem:
            return f"it holds no valid lock ({seen.problem})"
        late = self.clock() - seen.expires
        if late >= 0:
            return f"{quoted(seen.owner)} let it expire {late:.0f} s ago (that run stopped without releasing it)"
        return ""


class Lease:
    """A lock this run holds: the generation it last wrote, renewed until released."""

    def __init__(self, locks: Locks, name: str, generation: str) -> None:
        self.locks, self.name, self.generation = locks, name, generation
        self.lost = ""  # who holds the lock now, once a renewal found it taken over
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start_renewing(self) -> None:
        self._thread = threading.Thread(target=self._keep_renewed, name=f"renew {self.name}", daemon=True)
        self._thread.start()

    def renew(self) -> None:
        """Write a new expiry over the generation this run last wrote."""
        generation, seen = self.locks.write(self.name, self.generation)
        if generation:
            self.generation = generation
            return
        self.lost = quoted(seen.owner) if seen is not None else "nobody"
        logger.warning(
            "lost the lock gs://%s/%s to %s: it was not renewed in time", self.locks.bucket, self.name, self.lost
        )

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        # Only the generation this run wrote: taken over meanwhile, the new
        # holder's stays (a 412); the bucket unreachable, it goes stale.
        with suppress(ApiError):
            self.locks.client.delete_object(self.locks.bucket, self.name, if_generation_match=self.generation)

    def _keep_renewed(self) -> None:
        while not self.lost and not self._stop.wait(self.locks.renew_seconds):
            try:
                self.renew()
            except ApiError as error:  # tried again next time; the lock holds until its expiry
                logger.warning(
                    "could not renew the lock gs://%s/%s: %s", self.locks.bucket, self.name, one_line(str(error))
                )
