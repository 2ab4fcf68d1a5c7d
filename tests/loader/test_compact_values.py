"""What a large repository's loaded state keeps: no per-instance bookkeeping
that nothing reads, and no line table a validated manifest is never asked for.

These are behaviour checks (what is kept, and that pydantic's own uses of the
fields-set still work), not memory thresholds; the figures are in
benchmarks/plan_bench.py.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.loader import load
from reconciler.loader.yamldoc import parse_documents
from reconciler.model.desired import DatasetSource
from reconciler.model.manifest import Generation, Hyperparameters
from reconciler.plan.types import Change

from .test_load import MANIFEST, examples_jsonl, make_repo


def test_values_given_the_same_fields_share_one_fields_set() -> None:
    first, second = Hyperparameters(epoch_count=5, batch_size=4), Hyperparameters(epoch_count=1, batch_size=2)
    assert first.model_fields_set is second.model_fields_set == {"epoch_count", "batch_size"}
    assert Hyperparameters(epoch_count=5).model_fields_set == {"epoch_count"}
    assert Generation.model_validate({"topP": 0.5}).model_fields_set == {"top_p"}


def test_a_copy_adds_its_updated_fields_to_its_own_set_only() -> None:
    change = Change(action="noop", model_id="m", reason="same")
    other = Change(action="noop", model_id="n", reason="same too")
    updated = change.model_copy(update={"file": "manifests/m.yaml"})
    assert updated.model_fields_set == {"action", "model_id", "reason", "file"}
    assert change.model_fields_set == other.model_fields_set == {"action", "model_id", "reason"}
    assert updated.model_fields_set is Change(action="noop", model_id="x", reason="r", file="f").model_fields_set


def test_dumps_that_read_the_fields_set_are_unchanged() -> None:
    source = DatasetSource(path="/data.jsonl")
    assert source.model_dump(exclude_unset=True) == {"path": "/data.jsonl"}
    assert DatasetSource(input_key="q").model_dump(exclude_unset=True) == {"input_key": "q"}


def test_a_validated_manifest_keeps_only_the_lines_later_asked_for() -> None:
    manifest = MANIFEST.format(name="m", file="../data/m.jsonl") + "  hyperparameters: {epochCount: 5}\n"
    [document], _ = parse_documents(manifest, "m.yaml")
    shared: dict[tuple[str | int, ...], tuple[str | int, ...]] = {}
    kept = document.kept_for([("metadata", "name"), ("spec", "sourceModel")], [("spec", "trainingData")], shared)
    assert kept.data is None
    assert set(kept.lines) == {
        ("metadata",),
        ("metadata", "name"),
        ("spec",),
        ("spec", "trainingData"),
        ("spec", "trainingData", "file"),
    }
    assert kept.line_of(("spec", "sourceModel")) == kept.lines[("spec",)]  # absent: its mapping's line
    [again], _ = parse_documents(manifest, "n.yaml")
    other = again.kept_for([("metadata", "name")], [("spec", "trainingData")], shared)
    assert all(any(path is mine for mine in kept.lines) for path in other.lines)  # one tuple per path


def test_loaded_manifests_share_their_fields_sets(tmp_path: Path) -> None:
    manifests = {f"manifests/m{i}.yaml": MANIFEST.format(name=f"m{i}", file=f"../data/m{i}.jsonl") for i in range(3)}
    data = {f"data/m{i}.jsonl": examples_jsonl() for i in range(3)}
    result = load(make_repo(tmp_path, manifests, data))
    assert result.desired is not None and len(result.desired.models) == 3
    first, *rest = (m.manifest for m in result.desired.models)
    assert all(m.spec.model_fields_set is first.spec.model_fields_set for m in rest)
