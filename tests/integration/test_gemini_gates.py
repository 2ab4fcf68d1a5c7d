"""Promotion gates on the Gemini API (issue 21), through the CLI against the emulator.

There a replace deletes first (the model id must be free), so a gate cannot
keep the old model: the plan says so, `atLeast` is checked after the create,
and a failure leaves the new model untested (verify) with apply exiting 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.helpers_apply import manifest, run_cli, write_manifest, write_repo

EVALUATION = {
    "data": {"file": "../datasets/numbers.eval.jsonl"},
    "metrics": ["exactMatch"],
    "gate": {"metric": "exactMatch", "atLeast": 0.8},
}


def _with_evaluation(**evaluation: Any) -> dict[str, Any]:
    document = manifest("numbers")
    document["spec"]["evaluation"] = {**EVALUATION, **evaluation}
    return document


def _repo(tmp_path: Path) -> Path:
    repo = write_repo(tmp_path, [_with_evaluation()])
    eval_rows = [{"text_input": f"{n}?", "output": str(n + 1)} for n in range(10)]
    (repo / "datasets" / "numbers.eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in eval_rows), "utf-8")
    return repo


def test_a_gemini_replace_that_fails_its_gate_stays_untested_until_it_passes(
    tmp_path: Path, make_emulator: Any
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path)
    assert run_cli(repo, emulator, "apply", "--yes").code == 0
    write_manifest(repo, _with_evaluation(), shift=5)  # every answer learnt wrong

    plan = run_cli(repo, emulator, "plan")
    assert "the old model cannot be kept" in plan.out, plan.text
    document = json.loads(run_cli(repo, emulator, "plan", "--output", "json").out)
    [change] = [c for c in document["changes"] if c["action"] == "replace"]
    assert change["gate"]["old_model_kept"] is False and change["gate"]["examples"] == 10

    failed = run_cli(repo, emulator, "apply", "--yes")
    assert failed.code == 1, failed.text
    assert "failed its gate: exactMatch 0.00 < atLeast 0.80" in failed.text, failed.text
    again = run_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert again.code == 2 and "promotion gate have not passed" in again.text, again.text
    planned = json.loads(run_cli(repo, emulator, "plan", "--output", "json").out)
    assert [c["action"] for c in planned["changes"] if c["action"] != "noop"] == ["verify"]
    assert run_cli(repo, emulator, "apply", "--yes").code == 1  # verify: still failing, still untested

    write_manifest(repo, _with_evaluation(gate={"metric": "exactMatch", "atLeast": 0.0}), shift=5)
    passed = run_cli(repo, emulator, "apply", "--yes")
    assert passed.code == 0, passed.text
    assert run_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_promote_on_gemini_says_why_there_is_nothing_to_promote(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path)
    assert run_cli(repo, emulator, "apply", "--yes").code == 0
    refused = run_cli(repo, emulator, "promote", "numbers")
    assert refused.code == 1, refused.text
    assert "nothing to promote" in refused.text and "deletes the old model before" in refused.text, refused.text
