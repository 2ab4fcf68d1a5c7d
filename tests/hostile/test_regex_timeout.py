"""A smoke test's regex with catastrophic backtracking: bounded in time, and
apply still stops at SIGTERM or Ctrl-C while it is matching."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

import reconciler.model.patterns as patterns
from reconciler.apply.smoke import run_smoke_tests
from reconciler.emulator import EmulatorServer
from reconciler.model.manifest import Expectation, SmokeTest
from reconciler.model.patterns import PatternTimeout, compile_problem, search

from .helpers import EXPECTED_PEAK_BYTES, EXPECTED_SECONDS, finish, manifest, rows, start, write_dataset, write_repo

EVIL = r"(a|aa)+$"
ANSWER = "a" * 40 + "!"  # about 2**40 ways to split before failing at "!"
GENERATE_KEY = "POST /{version}/tunedModels/{model_id}:generateContent"
# The match bound in the tests' children: a second, not the shipped two, so
# that each match these tests wait for ends sooner.
MATCH_SECONDS = 1.0
SHORTER_MATCHES = f"import reconciler.model.patterns as p; p.MATCH_TIMEOUT_SECONDS = {MATCH_SECONDS}"


@pytest.mark.timeout(60)
def test_a_catastrophic_match_stops_at_its_time_bound() -> None:
    with pytest.raises(PatternTimeout, match=r"took longer than 0\.2 s"):
        search(EVIL, ANSWER, timeout=0.2)


def test_an_ordinary_match_is_unchanged() -> None:
    assert search(r"^\d+$", "42")
    assert not search(r"^\d+$", "42\n!")


@pytest.mark.parametrize(("pattern", "message"), [("(", "missing )"), ("a{2,1}", "min repeat greater than max")])
def test_a_pattern_that_does_not_compile_is_a_validation_error(pattern: str, message: str) -> None:
    problem = compile_problem(pattern)
    assert problem is not None and message in problem


@pytest.mark.timeout(60)
def test_a_smoke_test_that_times_out_fails_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patterns, "MATCH_TIMEOUT_SECONDS", 0.2)
    tests = (
        SmokeTest(input="x", expect=Expectation(regex=EVIL)),
        SmokeTest(input="y", expect=Expectation(contains="!")),
    )
    results = run_smoke_tests(lambda _text: ANSWER, "alpha", tests)
    assert [r.passed for r in results] == [False, True]
    assert "took longer than 0.2 s" in results[0].error


def evil_repo(root: Path, smoke_tests: int) -> Path:
    document = manifest(smokeTests=[{"input": "bomb", "expect": {"regex": EVIL}}] * smoke_tests)
    repo = write_repo(root, [document], settings={"pollIntervalSeconds": 0.02})
    write_dataset(repo, "alpha.jsonl", [*rows(), {"text_input": "bomb", "output": ANSWER}])
    return repo


def generate_calls(server: EmulatorServer) -> int:
    counts = requests.get(f"{server.url}/_internal/requests", timeout=10).json()["counts"]
    return int(counts.get(GENERATE_KEY, 0))


def test_apply_reports_the_timeout_and_finishes(make_emulator: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    server = make_emulator(seed=0, step_seconds=0)
    repo = evil_repo(tmp_path, smoke_tests=1)
    started = time.monotonic()
    process = start(repo, "apply", "--yes", prelude=SHORTER_MATCHES, GENERATIVELANGUAGE_EMULATOR_HOST=server.host_port)
    result = finish(process, started)
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    assert f"took longer than {MATCH_SECONDS:g} s" in result.text
    assert result.seconds < EXPECTED_SECONDS
    assert result.peak_rss_bytes < EXPECTED_PEAK_BYTES


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_during_matching_stops_apply_cleanly(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path, signal_number: int
) -> None:
    server = make_emulator(seed=0, step_seconds=0)
    # Twenty smoke tests of a second each: a run that ignored the signal would
    # take twenty seconds, and call the model twenty times.
    repo = evil_repo(tmp_path, smoke_tests=20)
    process = start(repo, "apply", "--yes", prelude=SHORTER_MATCHES, GENERATIVELANGUAGE_EMULATOR_HOST=server.host_port)
    deadline = time.monotonic() + 30
    while generate_calls(server) < 1:
        assert time.monotonic() < deadline, "no smoke test started"
        assert process.poll() is None, process.output()
        time.sleep(0.05)
    time.sleep(0.3)  # well inside the first match
    signalled = time.monotonic()
    process.send_signal(signal_number)
    result = finish(process, signalled, timeout=30)
    assert result.code in (1, 130), result.text
    assert "Traceback" not in result.text
    # The match under way ends at its bound (CPU time: slower in wall time on a
    # busy machine) and no other starts; ignoring the signal would take 20 s.
    assert result.seconds < 15, f"took {result.seconds:.1f} s after the signal"
    assert "Apply stopped" in result.out
    assert generate_calls(server) <= 2
