"""A model's answer (or any text from outside) cannot inject GitHub workflow commands.

`runner_commands` reads output the way the Actions runner does: lines split
on LF and CR; a line is a command when it starts with `::` after leading
whitespace, or holds the legacy `##[` anywhere.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli.annotations import annotation
from reconciler.cli.console import Console, defuse_workflow_commands
from reconciler.emulator import EmulatorServer
from reconciler.loader.problems import error

from .helpers import EXPECTED_PEAK_BYTES, EXPECTED_SECONDS, finish, manifest, rows, start, write_dataset, write_repo


def runner_commands(text: str) -> list[str]:
    lines = re.split(r"\r\n|\r|\n", text)
    return [line for line in lines if line.lstrip().startswith("::") or "##[" in line]


INJECTIONS = [
    "::error::pwned",
    "ok\n::error file=README.md,line=1::pwned",
    "ok\r::warning::pwned",
    "ok\r\n  \t::add-mask::secret",
    "ok\n\u2003::notice::pwned",  # an em space: whitespace to the runner too
    "::set-output name=x::y",
    "text ##[error]pwned",
    "##[set-env name=A;]b",
    "::stop-commands::token",
]
HARMLESS = ["a::b", "https://example.com", "tunedModels/x: ok", "# heading [link]"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injected_commands_are_defused(text: str) -> None:
    assert runner_commands(text)  # the case is a real injection
    assert runner_commands(defuse_workflow_commands(text)) == []


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert defuse_workflow_commands(text) == text


def test_the_console_defuses_only_in_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=out, err=err, secrets=())
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    for text in INJECTIONS:
        console.print(text)
        console.info(text)
        console.warn(text)
        console.error(text)
    assert runner_commands(out.getvalue() + err.getvalue()) == []
    monkeypatch.delenv("GITHUB_ACTIONS")
    console.print("::error::outside CI this is just text")
    assert out.getvalue().endswith("::error::outside CI this is just text\n")


def test_text_printed_in_pieces_is_defused_as_if_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    text = "\n".join(INJECTIONS * 20) + "\n" + "\n".join(HARMLESS)
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]  # cuts through every command
    whole, streamed = io.StringIO(), io.StringIO()
    Console(out=whole, err=io.StringIO(), secrets=()).print(text, nl=False)
    Console(out=streamed, err=io.StringIO(), secrets=()).print_chunks(pieces, block_chars=50)
    assert streamed.getvalue() == whole.getvalue()
    assert runner_commands(streamed.getvalue()) == []


def test_our_own_annotations_still_reach_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    problem = error("manifests/a.yaml", 3, "spec.description", "bad\n::error::injected")
    Console(out=io.StringIO(), err=err, secrets=()).command(annotation(problem))
    assert runner_commands(err.getvalue()) == [err.getvalue().rstrip("\n")]
    assert err.getvalue().startswith("::error file=manifests/a.yaml,line=3")


ANSWER = "ok\n::error file=README.md,line=1::pwned\r##[error]pwned again"


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_model_answer_cannot_annotate_the_apply_log(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path, output: str
) -> None:
    server = make_emulator(seed=0, step_seconds=0)
    document = manifest(smokeTests=[{"input": "inject", "expect": {"equals": "something else"}}])
    repo = write_repo(tmp_path, [document], settings={"pollIntervalSeconds": 0.02})
    write_dataset(repo, "alpha.jsonl", [*rows(), {"text_input": "inject", "output": ANSWER}])
    started = time.monotonic()
    process = start(
        # --apply-ref '*': the log is what is tested, not the ref an apply may run on.
        repo,
        "apply",
        "--yes",
        "--output",
        output,
        "--apply-ref",
        "*",
        GENERATIVELANGUAGE_EMULATOR_HOST=server.host_port,
        GITHUB_ACTIONS="true",
    )
    result = finish(process, started)
    assert result.code == 1, result.text  # the smoke test failed
    assert "pwned" in result.text  # the answer is shown...
    assert runner_commands(result.text) == []  # ...and is no command
    assert result.seconds < EXPECTED_SECONDS
    assert result.peak_rss_bytes < EXPECTED_PEAK_BYTES


def test_api_text_in_progress_lines_is_one_plain_line() -> None:
    """A stage or an error message from the server cannot move the cursor, recolour
    the terminal or break the live block (which counts one row a line)."""
    from reconciler.apply.progress import Event, Progress
    from reconciler.cli.progress import event_line, progress_line

    hostile = "quota\x1b[2J\x1b[31m red\r\nnext\x07\x9b"
    lines = [
        progress_line(Progress(model_id="m", total_steps=4, completed_steps=1, stage=hostile), bar=True),
        event_line(Event(kind="failed", model_id="m", action="create", message=hostile)),
    ]
    for line in lines:
        assert "quota" in line and "next" in line
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line), repr(line)


def test_api_text_in_the_apply_summary_is_one_plain_line_a_row() -> None:
    """The same for a failure's message and a smoke test's answer in the text summary."""
    from reconciler.apply.executor import ApplyResult, Outcome
    from reconciler.apply.smoke import SmokeResult
    from reconciler.apply.summary import render_apply_text
    from reconciler.plan.types import Action

    hostile = "quota\x1b[2J\r\nnext"
    result = ApplyResult(
        outcomes=[Outcome("m", Action.CREATE, "failed", message=hostile)],
        smoke=[SmokeResult(model_id="m", input="1", expected="2", got=hostile, passed=False)],
    )
    text = render_apply_text(result)
    assert "quota" in text and "next" in text and "\x1b" not in text and "\r" not in text
    assert all(line.count("quota") <= 1 and ("quota" not in line or "next" in line) for line in text.splitlines())
