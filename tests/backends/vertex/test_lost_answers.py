"""A request the service committed whose answer was lost, on every request of a
replace: the upload, the lock, the create, the labels PATCHes, the undeploy and
the deletes. Whatever was lost, applying again converges to one serving Model
and one new tuning job, and nothing is left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.backends.vertex.helpers import jobs_of, listed, manifest, vertex_cli, write_manifest, write_repo

REQUESTS = [
    ("POST", r"^/upload/storage/v1/b/[^/]+/o$"),  # the dataset and the lock
    ("POST", r"/tuningJobs$"),
    ("PATCH", r"/models/[0-9]+$"),
    ("PATCH", r"/endpoints/[0-9]+$"),
    ("POST", r":undeployModel$"),
    ("DELETE", r"/endpoints/[0-9]+$"),
    ("DELETE", r"/models/[0-9]+$"),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS, ids=[f"{m} {p}" for m, p in REQUESTS])
@pytest.mark.parametrize("answer", ["drop", "503"])
def test_a_lost_answer_anywhere_in_a_replace_converges(
    tmp_path: Path, make_emulator: Any, method: str, path: str, answer: str
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", smoke=(("3", "4"),))])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    write_manifest(repo, manifest("numbers", smoke=(("3", "4"),), epochs=3))
    emulator.lose_answers(method, path, count=1, answer=answer)
    for _ in range(3):
        if vertex_cli(repo, emulator, "apply", "--yes").code == 0:
            break
    assert emulator.app.control.lost_answers.to_json() == []  # the answer was lost, once
    plan = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert plan.code == 0, plan.text
    assert len(jobs_of(emulator, "numbers")) == 2  # the original and exactly one replacement
    models = [m for m in listed(emulator, "models") if m["labels"].get("reconciler-id") == "numbers"]
    assert len(models) == 1 and len(listed(emulator, "models")) == 1
    endpoints = listed(emulator, "endpoints")
    assert all((e.get("labels") or {}).get("reconciler-id") == "numbers" for e in endpoints)
    assert {d["model"] for e in endpoints for d in e.get("deployedModels") or ()} == {
        models[0]["name"].partition("@")[0]
    }
