"""Estimate against reported on Vertex AI, through the CLI against the emulator
(issue 22): the apply summary and `status` show both, a plan that changes only
the epochs of a tuned dataset estimates exactly, a budget stops a plan, and a
truncated example is reported at its file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.backends.vertex.helpers import jobs_of, manifest, vertex_cli, vertex_faults, write_manifest, write_repo


def _stats(emulator: Any) -> dict[str, Any]:
    return dict(jobs_of(emulator, "numbers")[-1]["tuningDataStats"]["supervisedTuningDataStats"])


def test_apply_and_status_show_the_estimate_against_what_was_reported(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    planned = json.loads(vertex_cli(repo, emulator, "plan", "--output", "json").out)["changes"][0]["estimate"]
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    stats = _stats(emulator)
    tokens = int(stats["totalBillableTokenCount"])
    # one pass over the data: the input and output sums, whatever the epochs
    assert tokens == int(stats["userInputTokenDistribution"]["sum"]) + int(stats["userOutputTokenDistribution"]["sum"])
    steps = int(stats["tuningStepCount"])
    difference = (tokens - planned["tokens_per_pass"]) / planned["tokens_per_pass"]
    assert (
        f"numbers: estimated -> reported: tokens a pass {planned['tokens_per_pass']} -> {tokens} "
        f"({difference:+.0%}), steps {planned['total_steps']} -> {steps} (+0%)" in result.out
    )
    # the emulator's tokenizer is not characters / 4: these digits differ by more than 25%
    assert f"note: numbers: the service reported {tokens} tokens a pass" in result.out
    status = json.loads(vertex_cli(repo, emulator, "status", "--output", "json").out)
    usage = status["models"][0]["usage"]
    assert usage["tokens"]["estimated"] == planned["tokens_per_pass"] and usage["tokens"]["reported"] == tokens
    assert usage["steps"] == {"estimated": planned["total_steps"], "reported": steps, "difference_percent": 0.0}


def test_changing_only_the_epochs_of_a_tuned_dataset_estimates_exactly(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", epochs=2)])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    per_pass = int(_stats(emulator)["totalBillableTokenCount"])
    write_manifest(repo, manifest("numbers", epochs=8))
    plan = vertex_cli(repo, emulator, "plan", "--output", "json")
    estimate = json.loads(plan.out)["changes"][0]["estimate"]
    assert estimate["measured"] is True
    assert estimate["tokens"] == estimate["tokens_upper"] == per_pass * 8
    text = vertex_cli(repo, emulator, "plan").out
    assert f"measured: {per_pass} tokens a pass x 8 epochs = {per_pass * 8:,} training tokens" in text
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    assert int(_stats(emulator)["totalBillableTokenCount"]) == per_pass  # the same data: the same pass


def test_a_plan_over_budget_exits_1_and_applies_nothing(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(
        tmp_path,
        [manifest("numbers"), manifest("letters")],
        budget={"maxTrainingTokens": 60, "maxTrainingTokensPerModel": 40},
    )
    plan = vertex_cli(repo, emulator, "plan")
    assert plan.code == 1
    # 20 examples of ~16 tokens a pass x 2 epochs = 32, counted at its upper bound (x 1.5) = 48
    assert (
        "numbers would spend up to 48 training tokens (the upper bound of an estimate not measured), "
        "8 over budget.maxTrainingTokensPerModel (40)" in plan.text
    )
    assert (
        "the plan would spend 96 training tokens, 36 over budget.maxTrainingTokens (60): "
        "letters (48), numbers (48)" in plan.text
    )
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 1
    assert jobs_of(emulator, "numbers") == [] and jobs_of(emulator, "letters") == []


def test_the_pr_comment_shows_the_plan_against_the_budget(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")], budget={"maxTrainingTokens": 1000})
    markdown = vertex_cli(repo, emulator, "plan", "--output", "markdown")
    assert markdown.code == 0, markdown.text
    assert (
        "**Budget:** 48 training tokens (the upper bound of estimates not measured) against a budget of "
        "1,000 a plan." in markdown.out
    )


def test_a_truncated_example_is_reported_at_its_file_and_line(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    lines = [{"text_input": str(n), "output": str(n + 1)} for n in range(20)]
    lines[3]["text_input"] = "word " * 40  # line 4 of the file: over the limit
    (repo / "datasets" / "numbers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    vertex_faults(emulator, max_example_tokens=20)
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    indices = _stats(emulator)["truncatedExampleIndices"]
    assert len(indices) == 1 and indices != ["4"]  # the canonical order is not the file's here
    warning = (
        "numbers: the example at datasets/numbers.jsonl:4 was truncated or dropped by the service: "
        "The example has more than 20 tokens and was truncated."
    )
    assert warning in result.err
    validated = vertex_cli(repo, emulator, "validate")
    assert validated.code == 0 and warning in validated.err


def test_a_saved_plan_over_budget_is_refused(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    saved = tmp_path / "plan.json"
    assert vertex_cli(repo, emulator, "plan", "--out", str(saved)).code == 0
    write_repo(repo, [], budget={"maxTrainingTokensPerModel": 40})  # the budget after the plan was saved
    refused = vertex_cli(repo, emulator, "apply", "--yes", str(saved))
    assert refused.code == 1
    assert (
        "over budget, nothing was applied" in refused.text and "8 over budget.maxTrainingTokensPerModel" in refused.text
    )
    assert jobs_of(emulator, "numbers") == []
