"""A per-model lock object in the datasets bucket, so two applies at once never
make two tuning jobs for one id (Vertex creates take no client-chosen id).

It is created with `ifGenerationMatch=0`, as Terraform's gcs backend takes its
state lock: only one writer can create it. It names its owner and an expiry;
a lock past its expiry was left by a run that crashed, and is taken over (the
delete is conditional on the generation that was read, so two runs cannot
both take it over).
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

from reconciler.apply.backend import ChangeFailed
from reconciler.backends.vertex.client import PRECONDITION_FAILED, VertexClient
from reconciler.client.errors import ApiError

LOCK_SECONDS = 600.0  # far longer than an upload and a create take
WAIT_SECONDS = 60.0  # how long to wait for a lock another run holds


def this_run() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()} run {secrets.token_hex(4)}"


class Locks:
    def __init__(self, client: VertexClient, bucket: str, prefix: str, owner: str | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 wait_seconds: float = WAIT_SECONDS) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.owner = owner or this_run()
        self.clock, self.sleep, self.wait_seconds = clock, sleep, wait_seconds

    def object_name(self, key: str) -> str:
        return f"{self.prefix}locks/{key}.lock"

    @contextmanager
    def held(self, key: str) -> Iterator[None]:
        generation = self._acquire(key)
        try:
            yield
        finally:
            # Taken over after expiry, or the bucket unreachable: it expires.
            with suppress(ApiError):
                self.client.delete_object(self.bucket, self.object_name(key), if_generation_match=generation)

    def _acquire(self, key: str) -> str:
        name = self.object_name(key)
        deadline = self.clock() + self.wait_seconds
        while True:
            body = json.dumps({"owner": self.owner, "expires": self.clock() + LOCK_SECONDS}).encode()
            try:
                created = self.client.upload_object(self.bucket, name, body, "application/json")
                return str(created.get("generation", ""))
            except ApiError as error:
                if error.http_status != PRECONDITION_FAILED:
                    raise
            holder = self._holder(name)
            if holder is None:
                continue  # released between the two calls
            owner, expires, generation = holder
            if expires <= self.clock():
                self._take_over(name, generation)
                continue
            if self.clock() >= deadline:
                until = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                raise ChangeFailed(f"another apply holds the lock gs://{self.bucket}/{name}: {owner}, "
                                   f"until {until}; try again when it has finished")
            self.sleep(1.0)

    def _holder(self, name: str) -> tuple[str, float, str] | None:
        meta = self.client.get_object(self.bucket, name)
        content = self.client.download_object(self.bucket, name)
        if meta is None or content is None:
            return None
        try:
            return str(content.get("owner", "?")), float(content.get("expires", 0)), str(meta.get("generation", ""))
        except (TypeError, ValueError):
            return "an unreadable lock", 0.0, str(meta.get("generation", ""))

    def _take_over(self, name: str, generation: str) -> None:
        try:
            self.client.delete_object(self.bucket, name, if_generation_match=generation)
        except ApiError as error:
            if error.http_status != PRECONDITION_FAILED:  # another run took it over first
                raise
