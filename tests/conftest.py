"""Shared fixtures.

`emulator`: a fresh in-memory emulator for one test, tuning finishing at once.
Use `emulator.url` (e.g. `http://127.0.0.1:54321`) or `emulator.host_port` (what
GENERATIVELANGUAGE_EMULATOR_HOST takes).

`make_emulator(**options)`: start one with other `EmulatorOptions` (e.g.
`step_seconds=1`, `faults=FaultSettings(rate_503=1)`, `fail_tuning=frozenset({"my-id"})`,
or `clock=` to control time); it is stopped after the test.

No test may let google-auth probe the GCE metadata server (a delay, and
traffic off this machine): NO_GCE_CHECK is set for this process and every
subprocess it starts, the check is answered "not on GCE" in this process, and
a probe that happens anyway fails the test.

In this process, the backends' clients retry after 10-20 ms, not 1-8 s
(`fast_retries`), and the embedded emulator (`--emulator`) tunes a step a
millisecond (`fast_embedded_emulator`).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

# Before google-auth is imported: it reads the variable once, at import, and
# compares it with "true" (lower case) in current releases.
os.environ["NO_GCE_CHECK"] = "true"

import google.auth.compute_engine._metadata as gce_metadata
import pytest

import reconciler.backends.gemini.client as gemini_client
import reconciler.backends.vertex.client as vertex_client
import reconciler.cli.session as session
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorOptions, EmulatorServer

# A shell that sets PYTHONDONTWRITEBYTECODE (some CI images do) would have each
# worker rewrite every test module's asserts again, and each child process
# compile the package from source again: tens of seconds a run. The suite
# writes its bytecode, to the __pycache__ folders git ignores.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


@pytest.fixture(autouse=True)
def no_metadata_server_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    # google-auth releases before NO_GCE_CHECK (the floor in pyproject.toml is
    # one) always probe: in this process, the check itself says "not on GCE",
    # and a probe made some other way fails the test.
    def probe(*args: object, **kwargs: object) -> bool:
        raise AssertionError("google-auth probed the GCE metadata server in a test")

    monkeypatch.setattr(gce_metadata, "is_on_gce", lambda request: False)
    monkeypatch.setattr(gce_metadata, "ping", probe)


@pytest.fixture(autouse=True)
def not_in_a_github_job(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite runs in GitHub Actions too: a test that wants the runner's
    # variables (annotations, the apply ref guard) sets them itself.
    for name in ("GITHUB_ACTIONS", "GITHUB_REF", "GITHUB_EVENT_PATH", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # The backends' clients, made in this process (the CLI run in-process, a
    # backend built by a test), retry after 10-20 ms instead of 1-8 s: a test of
    # what a lost answer or a 503 leads to does not wait on the backoff itself.
    # The attempts, their count, the deadline and a server's Retry-After are
    # the real ones; tests/client/ tests the backoff with its own policies.
    fast = functools.partial(RetryPolicy, base_backoff=0.01, max_backoff=0.02)
    monkeypatch.setattr(gemini_client, "RetryPolicy", fast)
    monkeypatch.setattr(vertex_client, "RetryPolicy", fast)


@pytest.fixture(autouse=True)
def fast_embedded_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    # `--emulator` run in this process: its emulator tunes a step a millisecond,
    # not a tenth of a second (which is there for a person to watch), and is
    # polled every 10 ms; as tests/github/workflows.py does for a child process.
    monkeypatch.setattr(session, "EMULATOR_STEP_SECONDS", 0.001)
    monkeypatch.setattr(session, "EMULATOR_POLL_SECONDS", 0.01)


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., EmulatorServer]]:
    started: list[EmulatorServer] = []

    def make(clock: Callable[[], float] | None = None, **options: Any) -> EmulatorServer:
        extra = {"clock": clock} if clock is not None else {}
        server = EmulatorServer(EmulatorOptions(**options), **extra).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    return make_emulator(seed=0)
