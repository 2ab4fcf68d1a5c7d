"""Adding, changing or removing validationData is reported as
spec.validationData, with its own counts and hash, never as a change of the
training data; a marker from before `reconciler-vdata` still reads, and its
model is not re-tuned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.loader import load
from reconciler.model.live import LiveModel
from reconciler.model.ownership import Ownership, ownership_for
from reconciler.plan.inputs import input_changes
from tests.backends.vertex.helpers import jobs_of, manifest, vertex_cli, write_manifest, write_repo


def _with_validation(repo: Path, count: int = 5, shift: int = 0) -> None:
    write_manifest(repo, manifest("numbers", validationData={"file": "../datasets/numbers-validation.jsonl"}))
    rows = [{"text_input": str(n), "output": str(n + 1 + shift)} for n in range(100, 100 + count)]
    (repo / "datasets" / "numbers-validation.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in rows), "utf-8"
    )


def _plan(repo: Path, emulator: Any) -> dict[str, Any]:
    result = vertex_cli(repo, emulator, "plan", "--output", "json")
    assert result.code == 0, result.text
    change = json.loads(result.out)["changes"][0]
    assert change["action"] == "replace", change
    return dict(change)


def test_validation_data_added_changed_and_removed(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    _with_validation(repo)
    added = _plan(repo, emulator)
    assert added["paths"] == ["spec.validationData"] and "training data" not in added["reason"]
    assert "validation data added (5 examples" in added["reason"]
    assert added["diffs"][0]["before"] is None and added["diffs"][0]["after"]["examples"] == 5
    text = vertex_cli(repo, emulator, "plan").out
    assert "spec.validationData" in text and "training data" not in text

    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    assert "reconciler-vdata" in jobs_of(emulator, "numbers")[-1]["labels"]
    _with_validation(repo, count=6, shift=1)
    changed = _plan(repo, emulator)
    assert changed["paths"] == ["spec.validationData"] and "training data" not in changed["reason"]
    assert "the validation data changed (5 -> 6 examples" in changed["reason"]

    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    write_manifest(repo, manifest("numbers"))
    removed = _plan(repo, emulator)
    assert removed["paths"] == ["spec.validationData"] and "validation data removed" in removed["reason"]
    assert removed["diffs"][0]["after"] is None

    write_manifest(repo, manifest("numbers"), shift=3)  # the training data changes, the validation data goes
    both = _plan(repo, emulator)
    assert both["paths"] == ["spec.trainingData", "spec.validationData"]


def test_a_marker_without_the_parts_is_not_re_tuned_and_says_what_it_cannot_tell(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [])
    _with_validation(repo)
    result = load(repo, cwd=repo)
    assert result.desired is not None
    model = result.desired.by_id()["numbers"]
    current = ownership_for(model)
    assert current.parts is not None
    earlier = Ownership(
        source=current.source, hyperparameters=current.hyperparameters, data=current.data, examples=current.examples
    )  # as a release before reconciler-vdata wrote it
    live = LiveModel(key="numbers", address="vertex/numbers", ownership=earlier, source=model.manifest.spec.source)
    assert input_changes(model, live, {})[0] == []
    edited = Ownership(
        source=current.source, hyperparameters=current.hyperparameters, data="0" * 12, examples=current.examples
    )
    reasons, paths, _ = input_changes(model, live.model_copy(update={"ownership": edited}), {})
    assert paths == ["spec.trainingData"] and "training or validation data" in reasons[0]
