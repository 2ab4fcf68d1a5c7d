"""Promotion gates on Vertex AI (issue 21), through the CLI against the emulator.

The emulator answers with the output of the nearest training example, so an
evaluation set of inputs near the training inputs (`3?` near `3`) scores
exactly what the training data teaches: a shifted (corrupted) training set
scores 0 on exactMatch, an unchanged one 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import jobs_of, listed, manifest, vertex_cli, write_manifest, write_repo

EVALUATION = {
    "data": {"file": "../datasets/numbers.eval.jsonl"},
    "metrics": ["exactMatch", "rougeL"],
    "gate": {"metric": "exactMatch", "atLeast": 0.8},
}


def _repo(tmp_path: Path, **evaluation: Any) -> Path:
    repo = write_repo(tmp_path, [manifest("numbers", evaluation={**EVALUATION, **evaluation})])
    eval_rows = [{"text_input": f"{n}?", "output": str(n + 1)} for n in range(10)]
    (repo / "datasets" / "numbers.eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in eval_rows), "utf-8")
    return repo


def _models(emulator: EmulatorServer) -> list[dict[str, Any]]:
    return [m for m in listed(emulator, "models") if (m.get("labels") or {}).get("reconciler-id") == "numbers"]


def _answer(emulator: EmulatorServer, endpoint: str, text: str) -> str:
    import requests

    response = requests.post(
        f"{emulator.url}/v1/{endpoint}:generateContent",
        json={"contents": [{"role": "user", "parts": [{"text": text}]}]},
        timeout=10,
    )
    response.raise_for_status()
    return "".join(p.get("text", "") for p in response.json()["candidates"][0]["content"]["parts"])


def _serving_endpoint(tmp_path: Path, emulator: EmulatorServer) -> str:
    status = vertex_cli(tmp_path, emulator, "status", "--output", "json")
    assert status.code == 0, status.text
    document = json.loads(status.out)
    model = document["models"][0]
    return str(model["serving"]["endpoint"])


def test_a_bad_training_change_is_held_and_the_old_model_keeps_serving(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path)
    first = vertex_cli(repo, emulator, "apply", "--yes")
    assert first.code == 0, first.text
    [old] = _models(emulator)
    old_endpoint = _serving_endpoint(repo, emulator)
    assert old["labels"]["reconciler-score"] == "1000"

    document = manifest("numbers", evaluation=EVALUATION)
    write_manifest(repo, document, shift=5)  # every answer learnt wrong
    summary = tmp_path / "step-summary.md"
    bad = vertex_cli(repo, emulator, "apply", "--yes", GITHUB_STEP_SUMMARY=str(summary))
    assert bad.code == 1, bad.text
    # the "Quality gate" table: metric, live, candidate, threshold, decision
    assert "Quality gate:" in bad.out and "numbers  exactMatch  -     0.000      atLeast 0.80  hold" in bad.out, bad.out
    assert "| `numbers` | exactMatch | - | 0.000 | atLeast 0.80 | hold |" in summary.read_text("utf-8")
    last = bad.out.strip().splitlines()[-1]
    assert "held" in bad.text and "exactMatch 0.00 < atLeast 0.80" in bad.text, bad.text
    assert "held" in last, bad.out
    models = _models(emulator)
    assert len(models) == 2  # the old one kept, the candidate beside it
    held = next(m for m in models if m["name"] != old["name"])
    assert held["labels"]["reconciler-held"] == "true" and held["labels"]["reconciler-score"] == "0000"
    # the old Model and Endpoint still answer, and status serves the old one
    assert _serving_endpoint(repo, emulator) == old_endpoint
    assert _answer(emulator, old_endpoint, "3?") == "4"
    document = json.loads(vertex_cli(repo, emulator, "status", "--output", "json").out)
    assert document["models"][0]["evaluation"] == {
        "score": 0.0,
        "digest": held["labels"]["reconciler-eval"],
        "decision": "hold",
        "candidate": True,
        "serving_score": 1.0,
        "serving_digest": old["labels"]["reconciler-eval"],
    }

    jobs = len(jobs_of(emulator, "numbers"))
    again = vertex_cli(repo, emulator, "apply", "--yes")
    assert len(jobs_of(emulator, "numbers")) == jobs, again.text  # never tuned again
    plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert plan.code == 2, plan.text
    assert "held" in plan.text and "onFailure: promote" in plan.text, plan.text
    assert "reconciler promote numbers" in plan.text, plan.text


def test_b_a_candidate_as_good_is_promoted_and_the_old_model_removed(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path, gate={"metric": "exactMatch", "atLeast": 0.8, "notWorseThan": "live"})
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    [old] = _models(emulator)
    write_manifest(
        repo,
        manifest(
            "numbers",
            epochs=3,
            evaluation={**EVALUATION, "gate": {"metric": "exactMatch", "atLeast": 0.8, "notWorseThan": "live"}},
        ),
    )
    good = vertex_cli(repo, emulator, "apply", "--yes")
    assert good.code == 0, good.text
    [new] = _models(emulator)
    assert new["name"] != old["name"]
    assert "reconciler-held" not in new["labels"]
    endpoint = _serving_endpoint(repo, emulator)
    # (e) the printed score is a recomputation from the endpoint's answers
    answers = [_answer(emulator, endpoint, f"{n}?") for n in range(10)]
    exact = sum(a.strip() == str(n + 1) for n, a in enumerate(answers)) / 10
    assert f"{exact:.2f}" in good.text and new["labels"]["reconciler-score"] == f"{round(exact * 1000):04d}"
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_d_an_evaluation_changed_alone_plans_evaluate_and_tunes_nothing(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    [before] = _models(emulator)
    write_manifest(repo, manifest("numbers", evaluation={**EVALUATION, "gate": {"metric": "rougeL", "atLeast": 0.5}}))
    plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert plan.code == 2 and "evaluate" in plan.text, plan.text
    jobs = len(jobs_of(emulator, "numbers"))
    applied = vertex_cli(repo, emulator, "apply", "--yes")
    assert applied.code == 0, applied.text
    assert len(jobs_of(emulator, "numbers")) == jobs  # never tuned
    [after] = _models(emulator)
    assert after["name"] == before["name"]  # never deleted
    assert after["labels"]["reconciler-eval"] != before["labels"]["reconciler-eval"]
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def _held_repo(tmp_path: Path, make_emulator: Any) -> tuple[Path, EmulatorServer, dict[str, Any]]:
    """A model applied, then a training change its gate holds; the old Model serving."""
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    [old] = _models(emulator)
    write_manifest(repo, manifest("numbers", evaluation=EVALUATION), shift=5)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 1
    return repo, emulator, old


def test_c_a_held_candidate_is_promoted_by_the_promote_command(tmp_path: Path, make_emulator: Any) -> None:
    repo, emulator, old = _held_repo(tmp_path, make_emulator)
    [held] = [m for m in _models(emulator) if m["name"] != old["name"]]
    jobs = len(jobs_of(emulator, "numbers"))
    promoted = vertex_cli(repo, emulator, "promote", "numbers")
    assert promoted.code == 0, promoted.text
    assert "Promoted" in promoted.out and old["name"].partition("@")[0] in promoted.out, promoted.text
    [now] = _models(emulator)  # the old Model removed
    assert now["name"] == held["name"]
    assert "reconciler-held" not in now["labels"] and "reconciler-untested" not in now["labels"]
    assert now["labels"]["reconciler-score"] == "0000"  # the recorded score stays
    assert _serving_endpoint(repo, emulator) != ""
    assert _answer(emulator, _serving_endpoint(repo, emulator), "3?") == "9"  # the candidate answers now
    assert len(jobs_of(emulator, "numbers")) == jobs  # nothing tuned
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_promote_refuses_without_a_held_candidate(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    [before] = _models(emulator)
    refused = vertex_cli(repo, emulator, "promote", "numbers")
    assert refused.code == 1 and "no held candidate to promote" in refused.text, refused.text
    assert _models(emulator) == [before]


def test_promote_refuses_a_candidate_held_for_other_inputs(tmp_path: Path, make_emulator: Any) -> None:
    repo, emulator, _ = _held_repo(tmp_path, make_emulator)
    models = _models(emulator)
    write_manifest(repo, manifest("numbers", evaluation=EVALUATION, epochs=3), shift=5)
    refused = vertex_cli(repo, emulator, "promote", "numbers")
    assert refused.code == 1 and "other inputs" in refused.text, refused.text
    assert _models(emulator) == models


def test_the_plan_shows_the_gate_of_a_replace_and_the_live_score(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    [live] = _models(emulator)
    digest = live["labels"]["reconciler-eval"]
    write_manifest(repo, manifest("numbers", epochs=3, evaluation=EVALUATION))
    gate_line = f"gate: exactMatch atLeast 0.80, on 10 examples (evaluation {digest}); on failure: hold"
    score_line = "live score: exactMatch 1.000 (recorded for this evaluation)"
    for output in ("text", "markdown"):
        shown = vertex_cli(repo, emulator, "plan", "--output", output)
        assert gate_line in shown.out and score_line in shown.out, shown.text
        assert "cannot be kept" not in shown.out
    document = json.loads(vertex_cli(repo, emulator, "plan", "--output", "json").out)
    [change] = [c for c in document["changes"] if c["action"] == "replace"]
    assert change["gate"] == {
        "metric": "exactMatch",
        "at_least": 0.8,
        "not_worse_than": None,
        "tolerance": 0.0,
        "on_failure": "hold",
        "examples": 10,
        "digest": digest,
        "live_score": 1.0,
        "live_digest": digest,
        "old_model_kept": True,
    }


def _snapshot(emulator: EmulatorServer) -> list[tuple[str, str, str]]:
    return sorted(
        (m["name"], str(m.get("updateTime")), json.dumps(m["labels"], sort_keys=True)) for m in _models(emulator)
    )


def test_a_held_candidate_is_never_touched_by_another_models_apply(tmp_path: Path, make_emulator: Any) -> None:
    repo, emulator, _ = _held_repo(tmp_path, make_emulator)
    write_manifest(repo, manifest("letters"))
    before = _snapshot(emulator)
    other = vertex_cli(repo, emulator, "apply", "--yes")  # letters is created; numbers stays held
    assert "1 created" in other.text, other.text
    assert [m for m in listed(emulator, "models") if m["labels"].get("reconciler-id") == "letters"]
    assert _snapshot(emulator) == before
