"""Evaluation metrics, the scoring runner and the promotion gate's decision."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.apply import evaluation
from reconciler.apply.evaluation import (
    EvaluationStopped,
    contains,
    decide,
    exact_match,
    lcs_length,
    regex,
    rouge_l,
    score,
    tokens,
)
from reconciler.model.errors import ReconcilerError
from reconciler.model.manifest import Example, Gate, Metric, OnFailure
from reconciler.model.patterns import PatternTimeout

EXACT, CONTAINS, REGEX, ROUGE = Metric.EXACT_MATCH, Metric.CONTAINS, Metric.REGEX, Metric.ROUGE_L

# ------------------------------------------------------------------ metrics


@pytest.mark.parametrize(
    ("answer", "expected", "score_"),
    [(" 42\n", "42", 1.0), ("42", " 42 ", 1.0), ("42.", "42", 0.0), ("Yes", "yes", 0.0), ("4 2", "42", 0.0)],
)
def test_exact_match_compares_trimmed_texts(answer: str, expected: str, score_: float) -> None:
    assert exact_match(answer, expected) == score_


@pytest.mark.parametrize(
    ("answer", "expected", "score_"),
    [
        ("The answer is 42.", " 42 \n", 1.0),
        ("twenty three", "twenty three", 1.0),
        ("4 2", "42", 0.0),
        ("Forty", "forty", 0.0),
    ],
)
def test_contains_looks_for_the_trimmed_expected_output(answer: str, expected: str, score_: float) -> None:
    assert contains(answer, expected) == score_


@pytest.mark.parametrize(
    ("answer", "expected", "score_"),
    [("1,001", "^1,001$", 1.0), ("it is 101 now", "10[0-9]", 1.0), ("abc", "^b", 0.0), ("1,0010", "^1,001$", 0.0)],
)
def test_regex_searches_the_answer_for_the_expected_pattern(answer: str, expected: str, score_: float) -> None:
    assert regex(answer, expected) == score_


def test_tokens_are_lower_case_runs_of_ascii_letters_and_digits() -> None:
    assert tokens("Hello, World! 42x  it's") == ["hello", "world", "42x", "it", "s"]
    assert tokens("Café MMXXIV") == ["caf", "mmxxiv"]
    assert tokens(" .,!? ") == []


def test_rouge_l_by_hand() -> None:
    # LCS of "the cat sat on the mat" and "the cat is on the mat": "the cat on the mat", 5 of 6 and 6.
    assert rouge_l("The cat sat on the mat.", "the cat is on the mat") == pytest.approx(10 / 12)
    # "twenty three" against "twenty five": 1 token of 2 each: P = R = F1 = 1/2.
    assert rouge_l("twenty three", "twenty five") == 0.5
    # 1 of 4 answer tokens, 1 of 1 expected: P = 1/4, R = 1, F1 = 2 * 1 / (4 + 1).
    assert rouge_l("it is LXIV", "lxiv") == pytest.approx(2 / 4)
    assert rouge_l("well it is LXIV", "lxiv") == pytest.approx(2 / 5)


@pytest.mark.parametrize(
    ("answer", "expected", "score_"),
    [("", "", 1.0), ("...", "!!!", 1.0), ("a", "", 0.0), ("", "a", 0.0), ("?", "b", 0.0), ("x", "y", 0.0)],
)
def test_rouge_l_empty_cases(answer: str, expected: str, score_: float) -> None:
    assert rouge_l(answer, expected) == score_


def lcs_table(a: list[str], b: list[str]) -> int:
    """The textbook dynamic programme, to check the bit-parallel one against."""
    row = [0] * (len(b) + 1)
    for token in a:
        previous, row = row, [0]
        for j, other in enumerate(b):
            row.append(previous[j] + 1 if token == other else max(previous[j + 1], row[j]))
    return row[-1]


small_tokens = st.lists(st.sampled_from(["a", "b", "c", "d", "1"]), max_size=30)
texts = st.text(alphabet="abcAB12 ,.é\n", max_size=60)


@given(small_tokens, small_tokens)
def test_lcs_length_equals_the_textbook_table(a: list[str], b: list[str]) -> None:
    assert lcs_length(a, b) == lcs_table(a, b) == lcs_length(b, a)


@given(texts)
def test_rouge_l_of_identical_texts_is_1(text: str) -> None:
    assert rouge_l(text, text) == 1.0
    assert rouge_l(text.upper(), text.lower()) == 1.0


@given(texts, texts)
def test_rouge_l_is_a_symmetric_score_in_0_1(answer: str, expected: str) -> None:
    value = rouge_l(answer, expected)
    assert 0.0 <= value <= 1.0
    assert value == rouge_l(expected, answer)
    assert (value == 1.0) == (tokens(answer) == tokens(expected))


def test_a_long_answer_is_scored_quickly() -> None:
    # 8,000 answer tokens against 2,500 expected: a table would be 20 million cells.
    answer = " ".join(str(i % 97) for i in range(8000))
    expected = " ".join(str(i % 89) for i in range(2500))
    assert 0.0 < rouge_l(answer, expected) < 1.0


# ------------------------------------------------------------------ scoring


def examples(*pairs: tuple[str, str]) -> list[Example]:
    return [Example(text_input=i, output=o) for i, o in pairs]


SET = examples(("1", "2"), ("twenty two", "twenty three"), ("LXIII", "LXIV"), ("1,000", "1,001"))
ANSWERS = {"1": "2", "twenty two": "It is twenty three.", "LXIII": "LXV", "1,000": " 1,001\n"}


def test_each_score_is_the_mean_over_the_examples() -> None:
    result = score(ANSWERS.__getitem__, SET, (EXACT, CONTAINS, ROUGE))
    assert result.examples == 4
    # exact: 2, 1,001; contains: also "twenty three"; rougeL: 1, 2*2/(4+2), 0, 1.
    assert result.scores == {EXACT: 0.5, CONTAINS: 0.75, ROUGE: pytest.approx((1 + 4 / 6 + 0 + 1) / 4)}


def test_regex_scores_the_expected_outputs_as_patterns() -> None:
    patterns = examples(("1", "^2$"), ("LXIII", "^LXIV$"), ("1,000", "1,00[0-9]"))
    answers = {"1": "2", "LXIII": "LXV", "1,000": "it is 1,001"}
    assert score(answers.__getitem__, patterns, (REGEX,)).scores == {REGEX: 2 / 3}


def test_a_regex_past_its_time_bound_scores_0_and_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_search(pattern: str, text: str) -> bool:
        if pattern == "(a|aa)+$":
            raise PatternTimeout("took too long")
        return True

    monkeypatch.setattr(evaluation, "search", slow_search)
    cases = examples(("x", "(a|aa)+$"), ("y", "y"))
    result = score(lambda text: text, cases, (REGEX, EXACT))
    assert result.scores == {REGEX: 0.5, EXACT: 0.5}
    assert result.regex_timeouts == 1


def rouge_cases() -> list[Example]:
    # rougeL 0.1, 0.2 and 0.3: a plain sum depends on their order (0.6000000000000001 or 0.6).
    def filler(count: int) -> str:
        return " ".join(f"w{i}" for i in range(count))

    # 2 * 1 / (19 + 1), 2 * 1 / (9 + 1), 2 * 3 / (17 + 3)
    return examples((f"a {filler(18)}", "a"), (f"a {filler(8)}", "a"), (f"a b c {filler(14)}", "a b c"))


def test_the_scores_do_not_depend_on_the_order_of_the_examples() -> None:
    # The evaluation digest ignores the order of the file; a recorded score must too.
    cases = rouge_cases()
    assert [rouge_l(e.text_input, e.output) for e in cases] == pytest.approx([0.1, 0.2, 0.3])
    forward = score(lambda text: text, cases, (ROUGE,), concurrency=1)
    backward = score(lambda text: text, list(reversed(cases)), (ROUGE,), concurrency=1)
    assert forward.scores == backward.scores


def test_at_most_concurrency_answers_are_asked_at_once() -> None:
    both = threading.Barrier(2, timeout=10)  # passes only with two calls in flight together
    lock, in_flight, most = threading.Lock(), [0], [0]

    def generate(text: str) -> str:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        both.wait()
        with lock:
            in_flight[0] -= 1
        return text

    many = examples(*[(str(i), str(i)) for i in range(6)])
    assert score(generate, many, (EXACT,), concurrency=2).scores == {EXACT: 1.0}
    assert most[0] == 2


def test_examples_are_read_as_they_are_asked_not_all_at_once() -> None:
    pulled: list[int] = []

    def stream() -> Iterator[Example]:
        for i in range(10):
            pulled.append(i)
            yield Example(text_input=str(i), output=str(i))

    def generate(text: str) -> str:
        # Concurrency 1: while example i is asked, at most the next one waits in memory.
        assert len(pulled) <= int(text) + 2
        return text

    assert score(generate, stream(), (EXACT,), concurrency=1).examples == 10


def test_an_error_from_generate_stops_the_scoring_with_that_error() -> None:
    asked: list[str] = []
    failure = ReconcilerError("the model could not answer: 503 after 5 attempts")

    def generate(text: str) -> str:
        asked.append(text)
        if text == "LXIII":
            raise failure
        return ANSWERS[text]

    with pytest.raises(ReconcilerError) as raised:
        score(generate, SET * 10, (EXACT,), concurrency=1)
    assert raised.value is failure
    assert len(asked) == 3  # nothing asked after the failure


def test_a_stop_set_before_scoring_asks_nothing() -> None:
    stop = threading.Event()
    stop.set()
    asked: list[str] = []

    def generate(text: str) -> str:
        asked.append(text)
        return text

    with pytest.raises(EvaluationStopped):
        score(generate, SET, (EXACT,), stop=stop)
    assert asked == []


def test_a_stop_during_scoring_stops_it_without_a_partial_score() -> None:
    stop = threading.Event()
    asked: list[str] = []

    def generate(text: str) -> str:
        asked.append(text)
        stop.set()  # SIGTERM while the first answer is on its way
        return ANSWERS[text]

    with pytest.raises(EvaluationStopped):
        score(generate, SET, (EXACT,), concurrency=1, stop=stop)
    assert asked == ["1"]


def test_an_empty_set_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one example"):
        score(lambda text: text, [], (EXACT,))


def test_the_result_never_holds_an_answer() -> None:
    secret = "the-answer-nobody-may-print-7f3a"
    result = score(lambda text: secret, SET, (EXACT, ROUGE))
    assert secret not in repr(result)
    assert secret not in json.dumps(result.as_json())
    assert result.as_json() == {"examples": 4, "scores": {"exactMatch": 0.0, "rougeL": 0.0}, "regex_timeouts": 0}


# ----------------------------------------------------------------- the gate


def gate(**fields: object) -> Gate:
    return Gate.model_validate({"metric": "exactMatch", **fields})


def test_a_score_at_or_above_the_floor_promotes() -> None:
    decision = decide(gate(atLeast=0.8), {EXACT: 0.85}, None)
    assert (decision.promote, decision.passed, decision.reason) == (True, True, "exactMatch 0.85 >= atLeast 0.80")
    assert decide(gate(atLeast=0.8), {EXACT: 4 / 5}, None).promote


def test_a_score_below_the_floor_holds() -> None:
    decision = decide(gate(atLeast=0.8), {EXACT: 0.75}, None)
    assert (decision.promote, decision.passed, decision.reason) == (False, False, "exactMatch 0.75 < atLeast 0.80")


def test_float_rounding_never_decides_a_gate() -> None:
    assert 0.7 + 0.1 < 0.8
    assert decide(gate(atLeast=0.8), {EXACT: 0.7 + 0.1}, None).promote
    assert decide(gate(notWorseThan="live", tolerance=0.1), {EXACT: 0.7}, {EXACT: 0.7 + 0.1}).promote


def test_a_score_just_below_its_threshold_is_printed_with_the_digits_that_show_it() -> None:
    assert decide(gate(atLeast=0.8), {EXACT: 0.795}, None).reason == "exactMatch 0.795 < atLeast 0.800"


def test_a_candidate_worse_than_live_beyond_the_tolerance_holds() -> None:
    decision = decide(gate(notWorseThan="live", tolerance=0.02), {EXACT: 0.70}, {EXACT: 0.90})
    assert (decision.promote, decision.reason) == (False, "exactMatch 0.70 < live 0.90 - 0.02")


def test_a_candidate_within_the_tolerance_of_live_promotes() -> None:
    decision = decide(gate(notWorseThan="live", tolerance=0.02), {EXACT: 0.88}, {EXACT: 0.90})
    assert (decision.promote, decision.reason) == (True, "exactMatch 0.88 >= live 0.90 - 0.02")
    assert decide(gate(notWorseThan="live"), {EXACT: 0.9}, {EXACT: 0.9}).reason == "exactMatch 0.90 >= live 0.90"


def test_without_a_live_model_not_worse_than_live_passes() -> None:
    decision = decide(gate(notWorseThan="live"), {EXACT: 0.1}, None)
    assert (decision.promote, decision.reason) == (True, "no live model to compare with")


def test_every_failed_threshold_is_named() -> None:
    decision = decide(gate(atLeast=0.8, notWorseThan="live"), {EXACT: 0.5}, {EXACT: 0.6})
    assert decision.reason == "exactMatch 0.50 < atLeast 0.80; exactMatch 0.50 < live 0.60"
    passed = decide(gate(atLeast=0.8, notWorseThan="live"), {EXACT: 0.9}, {EXACT: 0.6})
    assert passed.reason == "exactMatch 0.90 >= atLeast 0.80; exactMatch 0.90 >= live 0.60"


def test_on_failure_promote_promotes_a_failed_gate_and_says_so() -> None:
    decision = decide(gate(atLeast=0.8), {EXACT: 0.75}, None, OnFailure.PROMOTE)
    assert (decision.promote, decision.passed) == (True, False)
    assert decision.reason == "exactMatch 0.75 < atLeast 0.80 (promoted anyway: onFailure: promote)"


def test_the_gate_reads_only_its_own_metric() -> None:
    rouge_gate = Gate(metric=ROUGE, at_least=0.5)
    assert decide(rouge_gate, {EXACT: 0.0, ROUGE: 0.6}, None).reason == "rougeL 0.60 >= atLeast 0.50"
    with pytest.raises(ValueError, match="candidate's scores have no rougeL"):
        decide(rouge_gate, {EXACT: 1.0}, None)
    with pytest.raises(ValueError, match="live model's scores have no exactMatch"):
        decide(gate(notWorseThan="live"), {EXACT: 1.0}, {ROUGE: 1.0})


scores = st.floats(min_value=0.0, max_value=1.0)


@given(scores, scores, scores)
def test_a_better_candidate_never_fares_worse(threshold: float, low: float, high: float) -> None:
    low, high = min(low, high), max(low, high)
    floor = gate(atLeast=threshold)
    assert decide(floor, {EXACT: low}, None).promote <= decide(floor, {EXACT: high}, None).promote
    assert decide(floor, {EXACT: low}, None).promote == (low >= threshold - evaluation.EPSILON)
