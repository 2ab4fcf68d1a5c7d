"""Guards on `backend: vertex`, each pinned by a test that fails without it:
preventDestroy read back from the Model's labels, the smoke-test gate of a
create-first replace (the old model keeps serving until the new one passes),
and a tombstone that is never adopted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import (
    jobs_of,
    manifest,
    model_names,
    remove_endpoint,
    rows,
    status_of,
    vertex_cli,
    write_manifest,
    write_repo,
)

SMOKE = (("3", "4"),)


def answer(emulator: EmulatorServer, endpoint: str, text: str) -> str:
    response = requests.post(
        f"{emulator.url}/v1/{endpoint}:generateContent",
        json={"contents": [{"role": "user", "parts": [{"text": text}]}]},
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["candidates"][0]["content"]["parts"][0]["text"])


def teach_a_wrong_answer(repo: Path) -> None:
    """The same manifest; one training example now maps 3 to 99."""
    data = [r if r["text_input"] != "3" else {"text_input": "3", "output": "99"} for r in rows()]
    (repo / "datasets" / "numbers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data), "utf-8")


def test_a_protected_model_is_never_deleted_once_its_manifest_is_gone(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", lifecycle={"preventDestroy": True}), manifest("other")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    protected = model_names(emulator)
    (repo / "manifests" / "numbers.yaml").unlink()
    plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert plan.code != 0 and "preventDestroy" in plan.text, plan.text
    vertex_cli(repo, emulator, "apply", "--yes")
    assert model_names(emulator) == protected


def test_a_replace_whose_smoke_test_fails_keeps_the_old_model_serving(tmp_path: Path, make_emulator: Any) -> None:
    """The reproduction of the promotion-gate issue, first gate: a training change
    that teaches a wrong answer never takes down the model that works."""
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", smoke=SMOKE)])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    old = status_of(repo, emulator, "numbers")["serving"]
    teach_a_wrong_answer(repo)
    failed = vertex_cli(repo, emulator, "apply", "--yes")
    assert failed.code == 1 and "smoke tests 0/1 passed" in failed.text, failed.text
    assert old["model"] in model_names(emulator) and answer(emulator, old["endpoint"], "3") == "4"
    assert status_of(repo, emulator, "numbers")["serving"] == old
    jobs = len(jobs_of(emulator, "numbers"))
    plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert plan.code == 2 and "smoke-tested again" in plan.out, plan.text
    again = vertex_cli(repo, emulator, "apply", "--yes")
    assert again.code == 1 and len(jobs_of(emulator, "numbers")) == jobs  # tested again, never re-tuned
    assert status_of(repo, emulator, "numbers")["serving"] == old


def test_a_replace_whose_smoke_test_passes_removes_the_old_model(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", smoke=SMOKE)])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    old = status_of(repo, emulator, "numbers")["serving"]
    write_manifest(repo, manifest("numbers", smoke=SMOKE, epochs=3))
    replaced = vertex_cli(repo, emulator, "apply", "--yes")
    assert replaced.code == 0 and "smoke tests 1/1 passed" in replaced.text, replaced.text
    new = status_of(repo, emulator, "numbers")["serving"]
    assert new["model"] != old["model"] and old["model"] not in model_names(emulator)
    assert answer(emulator, new["endpoint"], "3") == "4"


def test_a_tombstone_is_never_adopted(tmp_path: Path, make_emulator: Any) -> None:
    """A succeeded job whose Model was deleted by hand: the next apply tunes anew."""
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    serving = status_of(repo, emulator, "numbers")["serving"]
    remove_endpoint(emulator, serving["endpoint"])
    requests.delete(f"{emulator.url}/v1/{serving['model']}", timeout=10).raise_for_status()
    recreated = vertex_cli(repo, emulator, "apply", "--yes")
    assert recreated.code == 0, recreated.text
    assert len(jobs_of(emulator, "numbers")) == 2
    assert status_of(repo, emulator, "numbers")["serving"]["model"] in model_names(emulator)
