"""Smoke tests: ask a freshly ACTIVE model each declared input and check the answer."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler.model.errors import ReconcilerError
from reconciler.model.manifest import SmokeTest
from reconciler.model.patterns import PatternTimeout

# PaLM-era base models are served through generateText (v1beta3), the rest
# through generateContent.
PALM_PREFIX = "models/text-"


class InferenceClient(Protocol):
    def generate_content(self, model: str, text: str) -> dict[str, Any]: ...
    def generate_text(self, model: str, text: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SmokeResult:
    model_id: str
    input: str
    expected: str
    got: str
    passed: bool
    error: str = ""


def answer_text(response: dict[str, Any]) -> str:
    """The text of the first candidate of generateContent or generateText."""
    candidates = response.get("candidates") or [{}]
    first = candidates[0]
    if "output" in first:  # generateText
        return str(first["output"])
    parts = (first.get("content") or {}).get("parts") or []
    return "".join(str(part.get("text", "")) for part in parts)


def run_smoke_tests(
    client: InferenceClient,
    model_id: str,
    base_model: str,
    tests: tuple[SmokeTest, ...],
    stop: threading.Event | None = None,
) -> list[SmokeResult]:
    """Each test's result, until `stop` is set (SIGTERM or Ctrl-C: the rest are not run)."""
    generate = client.generate_text if base_model.startswith(PALM_PREFIX) else client.generate_content
    results = []
    for test in tests:
        if stop is not None and stop.is_set():
            break
        try:
            got = answer_text(generate(f"tunedModels/{model_id}", test.input))
        except ReconcilerError as exc:  # one failing call must not hide the others
            results.append(
                SmokeResult(model_id, test.input, test.expect.describe(), "", False, str(exc))
            )
            continue
        try:
            passed = test.expect.matches(got)  # a regex runs with a time bound
        except PatternTimeout as exc:
            results.append(SmokeResult(model_id, test.input, test.expect.describe(), got, False, str(exc)))
            continue
        results.append(SmokeResult(model_id, test.input, test.expect.describe(), got, passed))
    return results
