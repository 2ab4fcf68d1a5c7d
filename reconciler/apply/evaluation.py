"""Scoring a model on its evaluation set, and the promotion gate's decision.

Pure and deterministic: the only I/O is the `generate` callable the caller
passes (a backend's inference call, with its own retries). Each metric is
defined in docs/promotion-gates.md precisely enough to recompute a score by
hand; the functions here are that definition.

Answers are scored as they arrive and then dropped: an `EvaluationResult`
holds counts and scores, never an answer, so nothing printed from it can
leak one.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from reconciler.model.errors import ReconcilerError
from reconciler.model.manifest import Example, Gate, Metric, OnFailure
from reconciler.model.patterns import PatternTimeout, search

Generate = Callable[[str], str]  # an input text -> the model's answer

DEFAULT_CONCURRENCY = 4
# A score this close below its threshold still passes: float rounding in a
# mean (or in `live - tolerance`) must never decide a gate.
EPSILON = 1e-9
# How often a wait for answers looks at `stop` (SIGTERM, Ctrl-C).
_STOP_POLL_SECONDS = 0.1

_TOKEN = re.compile(r"[a-z0-9]+")


# ------------------------------------------------------------------ metrics


def exact_match(answer: str, expected: str) -> float:
    """1 if the answer equals the expected output, both trimmed of whitespace at each end; else 0."""
    return 1.0 if answer.strip() == expected.strip() else 0.0


def contains(answer: str, expected: str) -> float:
    """1 if the expected output, trimmed of whitespace at each end, appears anywhere in the answer; else 0."""
    return 1.0 if expected.strip() in answer else 0.0


def regex(answer: str, expected: str) -> float:
    """1 if the expected output, read as a regular expression, is found anywhere in
    the answer (a search, as a smoke test's `regex`); else 0. PatternTimeout when
    the match takes longer than a smoke test's bound."""
    return 1.0 if search(expected, answer) else 0.0


def tokens(text: str) -> list[str]:
    """ROUGE-L's tokens: the runs of a-z and 0-9 in the lower-cased text."""
    return _TOKEN.findall(text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """The length of the longest common subsequence of two token lists.

    Bit-parallel (Hyyrö 2004): one bit of `v` per token of `a`, one step per
    token of `b`, each a few operations on Python's big integers, so a long
    answer costs len(b) * len(a) / 64 word operations, not len(a) * len(b)
    steps of a table. A zero bit in `v` marks a token of `a` in the LCS.
    """
    if not a or not b:
        return 0
    matches: dict[str, int] = {}
    for position, token in enumerate(a):
        matches[token] = matches.get(token, 0) | (1 << position)
    full = (1 << len(a)) - 1
    v = full
    for token in b:
        u = v & matches.get(token, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(answer: str, expected: str) -> float:
    """ROUGE-L F1 of the answer's tokens against the expected output's.

    With L the LCS length, precision L/len(answer) and recall L/len(expected),
    F1 = 2PR / (P + R) = 2L / (len(answer) + len(expected)). Two texts without
    any token score 1 (nothing expected, nothing extra); one without, 0.
    """
    got, want = tokens(answer), tokens(expected)
    if not got and not want:
        return 1.0
    return 2 * lcs_length(want, got) / (len(got) + len(want))


METRICS: Mapping[Metric, Callable[[str, str], float]] = {
    Metric.EXACT_MATCH: exact_match,
    Metric.CONTAINS: contains,
    Metric.REGEX: regex,
    Metric.ROUGE_L: rouge_l,
}


# ------------------------------------------------------------------ scoring


class EmptyEvaluation(ReconcilerError, ValueError):
    """No example was read: validate refuses an empty set, so the data changed since."""


class EvaluationStopped(ReconcilerError):
    """Scoring was asked to stop (SIGTERM or Ctrl-C) before every example had its answer."""


@dataclass(frozen=True)
class EvaluationResult:
    """Each metric's score over the set (the mean over its examples, in [0, 1]).

    `regex_timeouts`: answers whose regex match ran past its time bound (each
    scored 0 on regex). Never an answer: this is what plans and labels show.
    """

    examples: int
    scores: Mapping[Metric, float]
    regex_timeouts: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "examples": self.examples,
            "scores": {metric.value: score for metric, score in self.scores.items()},
            "regex_timeouts": self.regex_timeouts,
        }


@dataclass(frozen=True)
class _Scored:
    values: tuple[float, ...]  # one a metric, in the order asked
    timed_out: bool


def score(
    generate: Generate,
    examples: Iterable[Example],
    metrics: tuple[Metric, ...],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    stop: threading.Event | None = None,
) -> EvaluationResult:
    """Ask `generate` for each example's answer, at most `concurrency` at a time,
    and score the answers on `metrics`.

    An exception from `generate` (the backend has retried what it retries)
    stops the scoring and propagates, as does EvaluationStopped once `stop` is
    set: a gate is never decided on part of the set. Raises ValueError on an
    empty set (EmptyEvaluation: validate refuses one).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    stop = stop or threading.Event()
    scored: dict[int, _Scored] = {}
    pending: dict[Future[_Scored], int] = {}
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="evaluation")
    try:
        for position, example in enumerate(examples):
            while len(pending) >= concurrency:  # bounded: no more questions than workers
                _collect(pending, scored, stop)
            _check(stop)
            pending[pool.submit(_score_one, generate, example, metrics)] = position
        while pending:
            _collect(pending, scored, stop)
    finally:
        # A call in flight when scoring stops finishes on its own thread; nothing waits for it.
        pool.shutdown(wait=False, cancel_futures=True)
    return _result(scored, metrics)


def _score_one(generate: Generate, example: Example, metrics: tuple[Metric, ...]) -> _Scored:
    answer = generate(example.text_input)
    values, timed_out = [], False
    for metric in metrics:
        try:
            values.append(METRICS[metric](answer, example.output))
        except PatternTimeout:
            values.append(0.0)  # no match found within the bound
            timed_out = True
    return _Scored(tuple(values), timed_out)


def _collect(pending: dict[Future[_Scored], int], scored: dict[int, _Scored], stop: threading.Event) -> None:
    """Wait for at least one answer (looking at `stop` meanwhile) and keep its scores."""
    done: set[Future[_Scored]] = set()
    while not done:
        _check(stop)
        done, _ = wait(pending, timeout=_STOP_POLL_SECONDS, return_when=FIRST_COMPLETED)
    for future in done:
        scored[pending.pop(future)] = future.result()  # generate's own exception, if it raised


def _check(stop: threading.Event) -> None:
    if stop.is_set():
        raise EvaluationStopped("stopped scoring the evaluation set before every answer was in")


def _result(scored: dict[int, _Scored], metrics: tuple[Metric, ...]) -> EvaluationResult:
    if not scored:
        raise EmptyEvaluation("an evaluation set needs at least one example")
    # fsum is exact whatever the order: the same answers give the same score
    # whichever thread finished first.
    scores = {
        metric: math.fsum(item.values[column] for item in scored.values()) / len(scored)
        for column, metric in enumerate(metrics)
    }
    timeouts = sum(item.timed_out for item in scored.values())
    return EvaluationResult(examples=len(scored), scores=scores, regex_timeouts=timeouts)


# ----------------------------------------------------------------- the gate


@dataclass(frozen=True)
class Decision:
    """What to do with a candidate: promote it, or hold it and keep the live model.

    `passed`: whether the gate passed (a failed gate still promotes with
    `onFailure: promote`); `reason`: one line saying why, with the scores.
    """

    promote: bool
    passed: bool
    reason: str


def decide(
    gate: Gate,
    candidate: Mapping[Metric, float],
    live: Mapping[Metric, float] | None,
    on_failure: OnFailure = OnFailure.HOLD,
) -> Decision:
    """The gate's decision on a candidate's scores.

    `live`: the scores of the model serving now on the same set, or None when
    there is none (a first create), in which case `notWorseThan: live` has
    nothing to compare with and passes. Each threshold passes when the score
    is at least the threshold, less EPSILON.
    """
    metric = gate.metric
    got = _score_of(candidate, metric, "candidate")
    checks: list[tuple[bool, str]] = []
    if gate.at_least is not None:
        checks.append(_at_least(metric, got, gate.at_least, "atLeast ", ""))
    if gate.not_worse_than is not None:
        if live is None:
            checks.append((True, "no live model to compare with"))
        else:
            floor = _score_of(live, metric, "live model")
            minus = f" - {format_score(gate.tolerance)}" if gate.tolerance else ""
            checks.append(_at_least(metric, got, floor - gate.tolerance, "live ", minus, shown=floor))
    failed = [text for ok, text in checks if not ok]
    if not failed:
        return Decision(promote=True, passed=True, reason="; ".join(text for _, text in checks))
    reason = "; ".join(failed)
    if on_failure is OnFailure.PROMOTE:
        return Decision(promote=True, passed=False, reason=f"{reason} (promoted anyway: onFailure: promote)")
    return Decision(promote=False, passed=False, reason=reason)


def _score_of(scores: Mapping[Metric, float], metric: Metric, whose: str) -> float:
    if metric not in scores:
        raise ValueError(f"the {whose}'s scores have no {metric.value}, the gate's metric")
    return scores[metric]


def _at_least(
    metric: Metric, got: float, threshold: float, label: str, suffix: str, shown: float | None = None
) -> tuple[bool, str]:
    """(passed, "exactMatch 0.75 < atLeast 0.80"), the threshold `shown` as written (before a tolerance)."""
    passed = got >= threshold - EPSILON
    written = threshold if shown is None else shown
    decimals = _decimals_to_tell_apart(got, threshold)
    sign = ">=" if passed else "<"
    return passed, (
        f"{metric.value} {format_score(got, decimals)} {sign} {label}{format_score(written, decimals)}{suffix}"
    )


def format_score(value: float, decimals: int = 2) -> str:
    """A score as people read it: 0.80, 0.75 (more decimals only where they matter)."""
    return f"{value:.{decimals}f}"


def _decimals_to_tell_apart(got: float, threshold: float) -> int:
    """Enough decimals that a score printed below its threshold does not print equal to it."""
    for decimals in range(2, 7):
        if format_score(got, decimals) != format_score(threshold, decimals) or abs(got - threshold) <= EPSILON:
            return decimals
    return 6
