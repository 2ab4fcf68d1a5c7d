"""`reconciler emulator`: serve the local emulator of the tuned-model API."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import click

from reconciler.cli.app import App, pass_app
from reconciler.cli.state import make_state_folder
from reconciler.emulator import EmulatorOptions, EmulatorServer, FaultSettings
from reconciler.emulator.errors import ApiError
from reconciler.emulator.store import StateFileError
from reconciler.model.errors import UserError

DEFAULT_STATE = ".reconciler/emulator.sqlite"
RATE = click.FloatRange(0.0, 1.0)


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8095,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--state",
    default=DEFAULT_STATE,
    show_default=True,
    help="SQLite file that keeps the models across runs; ':memory:' keeps nothing.",
)
@click.option(
    "--step-seconds",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0),
    help="Simulated tuning speed: seconds per training step (0 finishes at once).",
)
@click.option("--latency", default=0.0, type=click.FloatRange(0, 60), help="Seconds added to every API request.")
@click.option("--rate-429", default=0.0, type=RATE, help="Share of requests answered 429.")
@click.option("--rate-503", default=0.0, type=RATE, help="Share of requests answered 503.")
@click.option("--rate-drop", default=0.0, type=RATE, help="Share of connections dropped.")
@click.option("--rate-slow", default=0.0, type=RATE, help="Share of requests answered slowly.")
@click.option("--slow-seconds", default=2.0, type=click.FloatRange(0, 600), help="How slow a slow answer is.")
@click.option("--fault-paths", default="", help="Regex: only matching paths get faults.")
@click.option("--fail-tuning", default=0.0, type=RATE, help="Share of tuning runs that fail.")
@click.option(
    "--fail-model",
    multiple=True,
    help="Id of a tuned model whose run fails (Vertex: a manifest id, as the "
    "reconciler-id label, or a tuned model display name). Repeatable.",
)
@click.option(
    "--vertex-failure",
    type=click.Choice(["endpoint", "tuning"]),
    default="endpoint",
    show_default=True,
    help="How a Vertex job chosen by --fail-tuning/--fail-model fails: at endpoint "
    "creation (code 13, its Model stays) or halfway through tuning (no Model).",
)
@click.option(
    "--require-auth",
    is_flag=True,
    help="Refuse requests without an API key or bearer token (403), or with a malformed Authorization header (401).",
)
@click.option(
    "--token-without-tuning-scope",
    multiple=True,
    metavar="TOKEN",
    help="A bearer token that lacks the tuning scope: tuned-model methods answer it "
    "403 'insufficient authentication scopes'. Repeatable.",
)
@click.option(
    "--bucket",
    multiple=True,
    metavar="NAME",
    help="A Cloud Storage bucket that exists from the start, as in a real project "
    "(the bucket of vertex.datasets). Repeatable.",
)
@click.option(
    "--tuning-quota",
    default=0,
    type=click.IntRange(0, 1_000_000),
    metavar="N",
    help="At most N tuning-job submissions a minute per project and location (Vertex AI: 429 "
    "RESOURCE_EXHAUSTED) and per account and region (Bedrock: ThrottlingException); 0 is off.",
)
@click.option("--seed", type=int, default=None, help="Make ids and faults repeatable.")
@pass_app
def emulator(app: App, /, **values: Any) -> None:
    """Serve a local emulator of the Gemini API and Vertex AI tuning (with Cloud Storage) until SIGINT/SIGTERM."""
    options = _options(values)
    server = _server(options)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server.start()
    app.console.print(
        f"Emulator listening on {server.url} (state: {options.state}); "
        f"export {' '.join(_emulator_host_variables(server))}"
    )
    while not stop.wait(0.5):  # a timeout keeps the main thread responsive to signals
        pass
    server.stop()
    app.console.info("Emulator stopped")


def _emulator_host_variables(server: EmulatorServer) -> list[str]:
    """One server, each client family's convention: the Gemini API and Vertex AI take
    host:port (the latter a convention of ours), google-cloud-storage a URL."""
    return [
        f"GENERATIVELANGUAGE_EMULATOR_HOST={server.host_port}",
        f"AIPLATFORM_EMULATOR_HOST={server.host_port}",
        f"STORAGE_EMULATOR_HOST={server.url}",
    ]


def _options(values: dict[str, Any]) -> EmulatorOptions:
    if values["fail_model"] and values["fail_tuning"]:
        raise UserError("--fail-tuning and --fail-model exclude each other; choose one")
    try:
        faults = FaultSettings(
            rate_429=values["rate_429"],
            rate_503=values["rate_503"],
            rate_drop=values["rate_drop"],
            rate_slow=values["rate_slow"],
            slow_seconds=values["slow_seconds"],
            path_regex=values["fault_paths"],
        )
        faults.check()
    except ApiError as exc:
        raise UserError(f"--fault-paths: {exc.message}") from None
    state = values["state"]
    if state != ":memory:":
        make_state_folder(Path(state).parent)
    return EmulatorOptions(
        host=values["host"],
        port=values["port"],
        state=state,
        step_seconds=values["step_seconds"],
        latency_seconds=values["latency"],
        faults=faults,
        fail_tuning=frozenset(values["fail_model"]) or values["fail_tuning"],
        vertex_failure=values["vertex_failure"],
        require_auth=values["require_auth"],
        seed=values["seed"],
        tokens_without_tuning_scope=frozenset(values["token_without_tuning_scope"]),
        buckets=tuple(values["bucket"]),
        tuning_submissions_per_minute=values["tuning_quota"],
    )


def _server(options: EmulatorOptions) -> EmulatorServer:
    try:
        server = EmulatorServer(options)
        server.bind()
    except StateFileError as exc:
        raise UserError(f"--state: {exc}") from None
    except ValueError as exc:  # the one option the server checks itself
        raise UserError(f"--bucket: {exc}") from None
    except OSError as exc:
        raise UserError(f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}") from None
    return server
