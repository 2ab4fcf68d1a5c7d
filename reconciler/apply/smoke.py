"""Smoke tests: ask a freshly ACTIVE model each declared input and check the answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.model.errors import ReconcilerError
from reconciler.model.manifest import SmokeTest


@dataclass(frozen=True)
class SmokeResult:
    model_id: str
    input: str
    expected: str
    got: str
    passed: bool
    error: str = ""


def run_smoke_tests(
    ask: Callable[[str], str], model_id: str, tests: tuple[SmokeTest, ...]
) -> list[SmokeResult]:
    """`ask(text)` is the model's answer (see `Backend.generate`)."""
    results = []
    for test in tests:
        try:
            got = ask(test.input)
        except ReconcilerError as exc:  # one failing call must not hide the others
            results.append(
                SmokeResult(model_id, test.input, test.expect.describe(), "", False, str(exc))
            )
            continue
        passed = test.expect.matches(got)
        results.append(SmokeResult(model_id, test.input, test.expect.describe(), got, passed))
    return results
