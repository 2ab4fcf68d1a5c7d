"""`EmulatorServer`: the emulator on a loopback port, in a background thread
(tests) or in the foreground (`reconciler emulator`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, DechunkedInput, WSGIRequestHandler, make_server

from reconciler.emulator.app import MAX_BODY_BYTES, EmulatorApp
from reconciler.emulator.auth import AuthSettings
from reconciler.emulator.chunked import BoundedDechunkedInput
from reconciler.emulator.faults import FaultSettings
from reconciler.emulator.gcs.service import seed_bucket
from reconciler.emulator.holds import Hold
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.quota import SubmissionQuota
from reconciler.emulator.s3.resources import seed_bucket as seed_s3_bucket
from reconciler.emulator.settings import VERTEX_FAILURES, TuningSettings
from reconciler.emulator.store import MEMORY, Store, open_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmulatorOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0 picks a free port
    state: str = MEMORY  # ":memory:" or the path of a SQLite file
    step_seconds: float = 0.0  # simulated tuning speed; 0 finishes a run at once
    latency_seconds: float = 0.0  # added to every API request
    faults: FaultSettings = field(default_factory=FaultSettings)
    fail_tuning: float | frozenset[str] = 0.0  # a rate of failed runs, or the ids that fail
    # How a Vertex job chosen by fail_tuning fails: "endpoint" (code 13 once tuned; its
    # Model stays, no Endpoint) or "tuning" (code 13 halfway through; no Model).
    vertex_failure: str = "endpoint"
    require_auth: bool = False  # refuse callers without an API key or bearer token (see auth.py)
    tokens_without_tuning_scope: frozenset[str] = frozenset()  # 403 on tuned-model methods
    seed: int | None = None  # makes generated ids and injected faults repeatable
    # Cloud Storage buckets that exist from the start, as a real project's do
    # (the Vertex datasets bucket); kept if the state has them already.
    buckets: tuple[str, ...] = ()
    # S3 buckets that exist from the start (the bucket of bedrock.datasets), in
    # `aws_region`; kept if the state has them already.
    s3_buckets: tuple[str, ...] = ()
    aws_region: str = "us-east-1"
    # A quota on tuning-job submissions: at most this many in any 60 s of the
    # emulator's clock, per project and location (Vertex AI: 429
    # RESOURCE_EXHAUSTED) and per account and region (Bedrock: 429
    # ThrottlingException); 0 is off. /_internal/quota changes it.
    tuning_submissions_per_minute: int = 0


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the debug log, not to stderr; chunked bodies are read
    by our bounded reader (werkzeug's crashes the process on hostile input)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug(message, *args)

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if isinstance(environ["wsgi.input"], DechunkedInput):
            environ["wsgi.input"] = BoundedDechunkedInput(self.rfile, max_chunk=MAX_BODY_BYTES)
        return environ


class EmulatorServer:
    """Serve the API; use as a context manager in tests:

    >>> with EmulatorServer(EmulatorOptions()) as emulator:
    ...     requests.get(f"{emulator.url}/v1beta/tunedModels")
    """

    def __init__(
        self,
        options: EmulatorOptions,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.store: Store = open_store(options.state)
        for bucket in options.buckets:
            seed_bucket(self.store, bucket, clock())
        for bucket in options.s3_buckets:
            seed_s3_bucket(self.store, bucket, options.aws_region, clock())
        self.app = EmulatorApp(
            store=self.store,
            ids=IdMaker(options.seed),
            tuning=_tuning_settings(options),
            faults=options.faults,
            auth=AuthSettings(options.require_auth, options.tokens_without_tuning_scope),
            latency_seconds=options.latency_seconds,
            clock=clock,
            sleep=sleep,
            quota=SubmissionQuota(options.tuning_submissions_per_minute),
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def _bind(self) -> BaseWSGIServer:
        if self._server is None:
            self._server = make_server(
                self.options.host,
                self.options.port,
                self.app,
                threaded=True,
                request_handler=_QuietHandler,
            )
        return self._server

    def bind(self) -> None:
        """Take the port now (start() would), so that a taken port fails early."""
        self._bind()

    @property
    def host_port(self) -> str:
        """What GENERATIVELANGUAGE_EMULATOR_HOST takes, e.g. `127.0.0.1:54321`."""
        server = self._bind()
        return f"{self.options.host}:{server.server_port}"

    @property
    def url(self) -> str:
        return f"http://{self.host_port}"

    def start(self) -> EmulatorServer:
        """Serve on a background thread; returns once the port accepts connections."""
        server = self._bind()
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until `stop()` is called (e.g. from a signal handler)."""
        self._bind().serve_forever()

    def hold(self, method: str, path_regex: str, times: int = 1, after: bool = False) -> Hold:
        """Hold the next `times` requests of `method` whose path matches `path_regex`
        (before their handler runs, or with `after` before their answer is sent) until
        `release()`: `hold.wait_arrived(timeout=5)`, then `hold.release()`."""
        return self.app.control.holds.add(method, path_regex, times, after)

    def lose_answers(self, method: str, path_regex: str, count: int = 1, answer: str = "drop") -> None:
        """Serve the next `count` such requests, then drop the connection (`drop`) or
        answer 503 (`503`) instead of their answer."""
        self.app.control.lost_answers.arm(method, path_regex, count, answer)

    def stop(self) -> None:
        self.app.control.holds.release_all()  # a held request must not outlive the server
        if self._server is not None:
            self._server.shutdown()  # waits for serve_forever to return
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _tuning_settings(options: EmulatorOptions) -> TuningSettings:
    if options.vertex_failure not in VERTEX_FAILURES:
        raise ValueError(f"vertex_failure must be one of {', '.join(VERTEX_FAILURES)}")
    fail = options.fail_tuning
    settings = TuningSettings(step_seconds=options.step_seconds, vertex_failure=options.vertex_failure)
    if isinstance(fail, (int, float)):
        settings.fail_rate = float(fail)
    else:
        settings.fail_ids = frozenset(fail)
    return settings
