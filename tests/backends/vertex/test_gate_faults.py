"""Promotion gates under faults (issue 21): answers lost while the candidate is
scored, and a kill between the candidate's creation and the decision. Either way
the old model keeps serving, and the next apply scores the candidate it has
(never a new tuning run), then promotes it."""

from __future__ import annotations

import functools
import json
import signal
from pathlib import Path
from typing import Any

import pytest

from reconciler.backends.vertex import client as vertex_client
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import jobs_of, listed, manifest, vertex_cli, write_manifest, write_repo
from tests.integration.helpers_apply import finish, start_cli

EVALUATION = {
    "data": {"file": "../datasets/numbers.eval.jsonl"},
    "metrics": ["exactMatch"],
    "gate": {"metric": "exactMatch", "atLeast": 0.8},
}
GENERATE = r":generateContent$"


def _repo(tmp_path: Path) -> Path:
    # One inference call at a time: the faults below hit one example's every attempt.
    repo = write_repo(tmp_path, [manifest("numbers", evaluation=EVALUATION)], evaluation={"concurrency": 1})
    rows = [{"text_input": f"{n}?", "output": str(n + 1)} for n in range(10)]
    (repo / "datasets" / "numbers.eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return repo


def _model_names(emulator: EmulatorServer) -> set[str]:
    return {m["name"] for m in listed(emulator, "models") if (m.get("labels") or {}).get("reconciler-id") == "numbers"}


def _serving(repo: Path, emulator: EmulatorServer) -> dict[str, Any]:
    status = vertex_cli(repo, emulator, "status", "--output", "json")
    return dict(json.loads(status.out)["models"][0]["serving"])


def _replace_started(tmp_path: Path, make_emulator: Any) -> tuple[Path, EmulatorServer, dict[str, Any]]:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = _repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    old = _serving(repo, emulator)
    write_manifest(repo, manifest("numbers", epochs=3, evaluation=EVALUATION))  # a replace, as good
    return repo, emulator, old


def _resumes_and_promotes(repo: Path, emulator: EmulatorServer, old: dict[str, Any]) -> None:
    """The next apply runs the gates on the candidate it has: no new job; the old model goes."""
    assert _serving(repo, emulator) == old  # the old model still serves
    jobs = len(jobs_of(emulator, "numbers"))
    plan = json.loads(vertex_cli(repo, emulator, "plan", "--output", "json").out)
    assert [c["action"] for c in plan["changes"] if c["action"] != "noop"] == ["verify"], plan
    resumed = vertex_cli(repo, emulator, "apply", "--yes")
    assert resumed.code == 0, resumed.text
    assert "exactMatch 1.00 >= atLeast 0.80 (promote)" in resumed.text, resumed.text
    assert len(jobs_of(emulator, "numbers")) == jobs  # never re-tuned
    new = _serving(repo, emulator)
    assert new["model"] != old["model"] and _model_names(emulator) == {new["model"]}
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_answers_lost_while_scoring_stop_the_apply_and_the_next_one_resumes(
    tmp_path: Path, make_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vertex_client, "RetryPolicy", functools.partial(RetryPolicy, sleep=lambda _s: None))
    repo, emulator, old = _replace_started(tmp_path, make_emulator)
    attempts = RetryPolicy().max_attempts
    emulator.lose_answers("POST", GENERATE, count=attempts, answer="503")  # one example: every attempt
    stopped = vertex_cli(repo, emulator, "apply", "--yes")
    assert stopped.code == 1, stopped.text
    assert "503" in stopped.text or "unavailable" in stopped.text.lower(), stopped.text
    assert len(_model_names(emulator)) == 2, stopped.text  # the candidate kept beside the old model
    _resumes_and_promotes(repo, emulator, old)


def test_a_kill_while_the_candidate_is_scored_leaves_the_old_model_serving(tmp_path: Path, make_emulator: Any) -> None:
    repo, emulator, old = _replace_started(tmp_path, make_emulator)
    env = {"AIPLATFORM_EMULATOR_HOST": emulator.host_port, "STORAGE_EMULATOR_HOST": emulator.url}
    with emulator.hold("POST", GENERATE) as held:
        process = start_cli(repo, emulator, "apply", "--yes", **env)
        held.wait_arrived(timeout=60)  # the candidate is tuned; its scoring has begun
        process.send_signal(signal.SIGKILL)
        finish(process)
    assert len(_model_names(emulator)) == 2
    _resumes_and_promotes(repo, emulator, old)


def test_an_evaluation_file_emptied_during_the_apply_fails_the_change_clearly(
    tmp_path: Path, make_emulator: Any
) -> None:
    """The file validated, then lost its examples before the scoring: a failed change
    naming the problem, never an internal error; the old model keeps serving."""
    import threading

    repo, emulator, old = _replace_started(tmp_path, make_emulator)
    results: list[Any] = []
    with emulator.hold("POST", r"/tuningJobs$") as held:
        worker = threading.Thread(target=lambda: results.append(vertex_cli(repo, emulator, "apply", "--yes")))
        worker.start()
        held.wait_arrived(timeout=60)
        (repo / "datasets" / "numbers.eval.jsonl").write_text("", "utf-8")
    worker.join(timeout=60)
    [failed] = results
    assert failed.code == 1, failed.text
    assert "internal error" not in failed.text and "numbers.eval.jsonl" in failed.text, failed.text
    assert "has no examples now" in failed.text, failed.text
    _repo(tmp_path)  # the evaluation set back (and the settings as they were)
    write_manifest(repo, manifest("numbers", epochs=3, evaluation=EVALUATION))
    _resumes_and_promotes(repo, emulator, old)
