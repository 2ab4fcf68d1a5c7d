"""Secrets never reach the output, in any form: raw, repr-escaped, JSON-escaped, URL-encoded."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests

from reconciler.backends.gemini.client import GeminiClient
from reconciler.cli.console import Console
from reconciler.client import ApiError, ApiKey, RetryPolicy
from reconciler.model.secrets import REDACTED, scrub, secret_forms

from .conftest import CountingServer
from .helpers import assert_clear_error, run, write_repo

# A key with everything that escapes differently: a newline, a slash, a plus,
# a quote, a space and a non-ASCII letter.
NASTY = "AIza\nSy/key+part 'é'"
KEY = "AIzaSyTESTKEY-abc/def+ghi"


def every_form(secret: str) -> list[str]:
    return [
        secret,
        repr(secret),
        ascii(secret),
        json.dumps(secret),
        json.dumps(secret, ensure_ascii=False),
        quote(secret, safe=""),
        quote_plus(secret),
        quote(secret),
    ]


@pytest.mark.parametrize("secret", [NASTY, KEY])
@pytest.mark.parametrize("form", range(8))
def test_each_form_is_scrubbed(secret: str, form: int) -> None:
    leaked = every_form(secret)[form]
    text = scrub(f"before {leaked} after", [secret])
    assert text.startswith("before ") and text.endswith(" after")
    assert REDACTED in text
    for shown in secret_forms(secret):
        assert shown not in text


def test_short_and_empty_secrets_do_not_scrub_everything() -> None:
    assert scrub("a b c", ["", "a"]) == "a b c"


def test_the_console_scrubs_whatever_is_printed() -> None:
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=out, err=err, secrets=[NASTY])
    for form in every_form(NASTY):
        console.print(f"out {form}")
        console.error(f"err {form}")
        console.info(f"info {form}")
    for shown in secret_forms(NASTY):
        assert shown not in out.getvalue() + err.getvalue()


@pytest.mark.parametrize("secret", [KEY, NASTY])
def test_text_printed_in_pieces_is_scrubbed_as_if_whole(secret: str) -> None:
    """A plan's JSON is printed a block of lines at a time (`print_chunks`): a
    secret split across pieces or blocks is still found (NASTY holds a line
    break, so its text is cleaned whole)."""
    text = "".join(f"line {n} {every_form(secret)[n % 8]} end\n" for n in range(200))
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]  # cuts through every form
    whole, streamed = io.StringIO(), io.StringIO()
    Console(out=whole, err=io.StringIO(), secrets=[secret]).print(text, nl=False)
    Console(out=streamed, err=io.StringIO(), secrets=[secret]).print_chunks(pieces, block_chars=64)
    assert streamed.getvalue() == whole.getvalue()
    for shown in secret_forms(secret):
        assert shown not in streamed.getvalue()


def test_a_key_that_cannot_be_a_header_is_refused_without_being_shown(tmp_path: Path, api: CountingServer) -> None:
    repo = write_repo(tmp_path, settings={"endpoint": f"http://{api.host_port}"})
    result = run(repo, "plan", GEMINI_API_KEY=NASTY)
    assert_clear_error(result, "GEMINI_API_KEY must be one word of printable ASCII characters")
    for shown in secret_forms(NASTY):
        assert shown not in result.text
    assert api.requests_seen == 0


class _Echo(BaseHTTPRequestHandler):
    """An API that quotes the key back in every form in its error message."""

    def do_GET(self) -> None:
        key = self.headers.get("x-goog-api-key", "")
        message = "API key not valid: " + " | ".join(every_form(key))
        body = json.dumps({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": message}})
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_api_error_quoting_the_key_in_every_form_is_scrubbed(echo: str) -> None:
    client = GeminiClient(echo, credentials=ApiKey(KEY), retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ApiError) as raised:
        client.get_tuned_model("m")
    for text in (str(raised.value), repr(raised.value)):
        assert REDACTED in text
        for shown in secret_forms(KEY):
            assert shown not in text


def test_the_cli_never_prints_a_key_the_api_quotes(tmp_path: Path, echo: str) -> None:
    repo = write_repo(tmp_path, settings={"endpoint": echo})
    result = run(repo, "plan", GEMINI_API_KEY=KEY)
    assert result.code == 1
    assert "Traceback" not in result.text
    for shown in secret_forms(KEY):
        assert shown not in result.text


def test_a_transport_error_quoting_a_header_value_is_scrubbed() -> None:
    # requests refuses a header value with a newline and quotes it with repr().
    client = GeminiClient(
        "http://127.0.0.1:9", credentials=ApiKey(NASTY), retry=RetryPolicy(max_attempts=1), session=requests.Session()
    )
    with pytest.raises(ApiError) as raised:
        client.get_tuned_model("m")
    for shown in secret_forms(NASTY):
        assert shown not in str(raised.value)


def test_a_debug_traceback_is_scrubbed_too(tmp_path: Path, echo: str) -> None:
    repo = write_repo(tmp_path, settings={"endpoint": echo})
    result = run(repo, "--debug", "plan", GEMINI_API_KEY=KEY)
    assert result.code == 1
    assert "Traceback" in result.err  # asked for with --debug
    for shown in secret_forms(KEY):
        assert shown not in result.text


def test_live_progress_lines_are_scrubbed() -> None:
    """The terminal reporter writes around Console.print (it redraws in place);
    an event's message and a run's stage come from the API."""
    from reconciler.apply.progress import Event, Progress
    from reconciler.cli.progress import TerminalReporter

    out = io.StringIO()
    reporter = TerminalReporter(Console(out=out, err=io.StringIO(), secrets=[KEY]))
    reporter.progress(Progress(model_id="m", total_steps=10, completed_steps=3, stage=f"quota for {KEY}"))
    reporter.event(Event(kind="failed", model_id="m", action="create", message=f"rejected key {KEY}"))
    written = out.getvalue()
    assert "rejected key" in written and "quota for" in written
    assert KEY not in written and REDACTED in written


def test_the_step_summary_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GITHUB_STEP_SUMMARY is shown on the run's page: an outcome's message (from the API) is cleaned too."""
    from reconciler.apply.executor import ApplyResult, Outcome
    from reconciler.cli.app import App
    from reconciler.cli.apply_cmd import report
    from reconciler.plan.types import Action

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    app = App(console=Console(out=io.StringIO(), err=io.StringIO(), secrets=[KEY]))
    result = ApplyResult(outcomes=[Outcome("m", Action.CREATE, "failed", message=f"rejected key {KEY}")])
    report(app, result, "text", ".")
    written = summary.read_text(encoding="utf-8")
    assert "rejected key" in written and REDACTED in written and KEY not in written
