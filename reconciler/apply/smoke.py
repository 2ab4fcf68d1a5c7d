"""Smoke tests: ask a freshly ACTIVE model each declared input and check the answer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from reconciler.model.errors import ReconcilerError
from reconciler.model.manifest import SmokeTest
from reconciler.model.patterns import PatternTimeout


@dataclass(frozen=True)
class SmokeResult:
    model_id: str
    input: str
    expected: str
    got: str
    passed: bool
    error: str = ""


def run_smoke_tests(
    ask: Callable[[str], str],
    model_id: str,
    tests: tuple[SmokeTest, ...],
    stop: threading.Event | None = None,
) -> list[SmokeResult]:
    """Each test's result, asking `ask(text)` for the model's answer (see
    `Backend.generate`), until `stop` is set (SIGTERM or Ctrl-C: the rest are not run)."""
    results = []
    for test in tests:
        if stop is not None and stop.is_set():
            break
        try:
            got = ask(test.input)
        except ReconcilerError as exc:  # one failing call must not hide the others
            results.append(SmokeResult(model_id, test.input, test.expect.describe(), "", False, str(exc)))
            continue
        try:
            passed = test.expect.matches(got)  # a regex runs with a time bound
        except PatternTimeout as exc:
            results.append(SmokeResult(model_id, test.input, test.expect.describe(), got, False, str(exc)))
            continue
        results.append(SmokeResult(model_id, test.input, test.expect.describe(), got, passed))
    return results
