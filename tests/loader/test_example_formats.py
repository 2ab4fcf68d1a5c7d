"""A backend whose limits and format depend on the manifest (`BackendChecks.limits_for`):
each manifest's training and validation data is checked against its own, an
example its format cannot hold is an error at its file, line and field, and
the evaluation set (asked at inference, never uploaded) is not held to it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from reconciler.loader import load
from reconciler.loader.checks import BackendChecks
from reconciler.loader.limits import DatasetLimits
from reconciler.model.manifest import TunedModelManifest

MANIFEST = """apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: {name}
spec:
  baseModel: {base}
  trainingData:
    file: ../datasets/shared.jsonl
"""


@dataclass(frozen=True)
class NoShouting:
    """A made-up format that cannot hold an input in capitals, nor a conversation of more than one exchange."""

    def pair_problem(self, text_input: str, output: str) -> tuple[str, str] | None:
        return ("input", "this format cannot hold capitals") if text_input.isupper() else None

    def contents_problem(self, canonical: bytes) -> tuple[str, str] | None:
        turns = json.loads(canonical)["contents"]
        return ("contents", "one exchange only") if len(turns) > 2 else None


LOOSE = DatasetLimits(service="the service")
STRICT = DatasetLimits(service="the strict model", min_examples=3, example_format=NoShouting())


def limits_for(manifest: TunedModelManifest) -> DatasetLimits:
    return STRICT if manifest.spec.base_model == "strict" else LOOSE


CHECKS = BackendChecks(lambda _manifest: (), LOOSE, limits_for=limits_for)


def repo(root: Path, rows: list[dict[str, object]], **manifests: str) -> Path:
    (root / "manifests").mkdir()
    (root / "datasets").mkdir()
    for name, base in manifests.items():
        (root / "manifests" / f"{name}.yaml").write_text(MANIFEST.format(name=name, base=base))
    (root / "datasets" / "shared.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def errors(root: Path) -> list[str]:
    return [str(problem) for problem in load(root, cwd=root, checks_for=lambda _settings: CHECKS).errors]


def test_each_manifest_is_held_to_its_own_format_even_on_a_shared_file(tmp_path: Path) -> None:
    rows = [
        {"text_input": "hello", "output": "hi"},
        {"text_input": "HELLO", "output": "hi!"},
        {"text_input": "", "output": "x"},
    ]
    found = errors(repo(tmp_path, rows, loose="loose", strict="strict"))
    assert found == ["datasets/shared.jsonl:2: text_input: this format cannot hold capitals"]


def test_each_manifest_is_held_to_its_own_limits(tmp_path: Path) -> None:
    rows = [{"text_input": "a", "output": "b"}, {"text_input": "c", "output": "d"}]
    found = errors(repo(tmp_path, rows, loose="loose", strict="strict"))
    assert found == [
        "manifests/strict.yaml:7: spec.trainingData: "
        "datasets/shared.jsonl has 2 examples, the strict model needs at least 3"
    ]


def test_a_conversation_the_format_cannot_hold_is_an_error_at_its_line(tmp_path: Path) -> None:
    turn = {"role": "user", "parts": [{"text": "a"}]}
    answer = {"role": "model", "parts": [{"text": "b"}]}
    rows: list[dict[str, object]] = [
        {"contents": [turn, answer]},
        {"contents": [turn, answer, turn, answer]},
        {"contents": [turn, {"role": "model", "parts": [{"text": "c"}]}]},
    ]
    assert errors(repo(tmp_path, rows, strict="strict")) == ["datasets/shared.jsonl:2: contents: one exchange only"]


def test_inline_examples_name_their_manifest_field(tmp_path: Path) -> None:
    root = repo(tmp_path, [], strict="strict")
    inline = MANIFEST.format(name="strict", base="strict").replace(
        "    file: ../datasets/shared.jsonl\n",
        "    examples:\n" + "".join(f"      - {{textInput: {word}, output: x}}\n" for word in ("one", "TWO", "three")),
    )
    (root / "manifests" / "strict.yaml").write_text(inline)
    assert errors(root) == [
        "manifests/strict.yaml:10: spec.trainingData.examples[1].textInput: this format cannot hold capitals"
    ]


def test_validation_data_is_held_to_the_format_and_the_evaluation_set_is_not(tmp_path: Path) -> None:
    rows = [{"text_input": "a", "output": "b"}, {"text_input": "c", "output": "d"}, {"text_input": "e", "output": "f"}]
    root = repo(tmp_path, rows, strict="strict")
    (root / "datasets" / "loud.jsonl").write_text(json.dumps({"text_input": "LOUD", "output": "quiet"}) + "\n")
    (root / "manifests" / "strict.yaml").write_text(
        MANIFEST.format(name="strict", base="strict")
        + "  validationData:\n    file: ../datasets/loud.jsonl\n"
        + "  evaluation:\n    data:\n      file: ../datasets/loud.jsonl\n"
        + "    metrics: [exactMatch]\n    gate: {metric: exactMatch, atLeast: 0.5}\n"
    )
    assert errors(root) == ["datasets/loud.jsonl:1: text_input: this format cannot hold capitals"]
