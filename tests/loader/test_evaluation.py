"""`spec.evaluation`: loading the evaluation set, its checks, and its digests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler.cli.main import main
from reconciler.loader import LoadResult, example_digest, load, load_files, read_evaluation
from reconciler.loader.evaluation import MAX_LEAKS_SHOWN
from reconciler.model.desired import DesiredModel
from reconciler.model.evaluation import evaluation_digest, scores_digest
from reconciler.model.ownership import ownership_for
from tests.loader.test_load import errors, examples_jsonl, make_repo

MANIFEST = """apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: {name}
spec:
  baseModel: {base}
  trainingData:
    file: ../datasets/train.jsonl
  evaluation:
{evaluation}
"""
GEMINI_BASE = "models/gemini-1.5-flash-001-tuning"
# Training examples i -> i + 1 for i in 0..19; evaluation examples start at 100.
EVALUATION = """    data: {file: ../datasets/eval.jsonl}
    metrics: [exactMatch, rougeL]
    gate: {metric: exactMatch, atLeast: 0.8}"""


def eval_jsonl(pairs: list[tuple[str, str]]) -> str:
    return "".join(json.dumps({"text_input": i, "output": o}) + "\n" for i, o in pairs)


FRESH = eval_jsonl([("100", "101"), ("200", "201"), ("300", "301")])


def repo(
    root: Path,
    evaluation: str = EVALUATION,
    eval_file: str = FRESH,
    settings: str | None = None,
    base: str = GEMINI_BASE,
    extra: dict[str, str] | None = None,
) -> Path:
    manifests = {"manifests/m.yaml": MANIFEST.format(name="m", base=base, evaluation=evaluation), **(extra or {})}
    data = {"datasets/train.jsonl": examples_jsonl(), "datasets/eval.jsonl": eval_file}
    return make_repo(root, manifests, data, settings)


def loaded(root: Path) -> DesiredModel:
    result = load(root, cwd=root)
    assert errors(result) == []
    assert result.desired is not None
    return result.desired.by_id()["m"]


def load_errors(root: Path) -> list[str]:
    result: LoadResult = load(root, cwd=root)
    assert result.desired is None
    return errors(result)


# ------------------------------------------------------------------ loading


def test_the_evaluation_set_loads_as_counts_and_a_digest(tmp_path: Path) -> None:
    model = loaded(repo(tmp_path))
    assert model.evaluation is not None
    assert model.evaluation.examples == 3
    examples = list(read_evaluation(model))
    assert [(e.text_input, e.output) for e in examples] == [("100", "101"), ("200", "201"), ("300", "301")]
    assert model.evaluation.digest == example_digest(examples)
    # What the model keeps: counts, a digest and where to read the examples again, never their text.
    kept = model.evaluation.model_dump_json()
    assert "101" not in kept.replace(model.evaluation.digest, "")


def test_inline_evaluation_examples_have_the_same_digest_as_the_file(tmp_path: Path) -> None:
    from_file = loaded(repo(tmp_path / "file"))
    inline = """    data:
      examples:
        - {textInput: "300", output: "301"}
        - {textInput: "100", output: "101"}
        - {textInput: "200", output: "201"}
    metrics: [exactMatch, rougeL]
    gate: {metric: exactMatch, atLeast: 0.8}"""
    from_inline = loaded(repo(tmp_path / "inline", evaluation=inline))
    assert from_file.evaluation is not None and from_inline.evaluation is not None
    assert from_inline.evaluation.digest == from_file.evaluation.digest
    assert [e.text_input for e in read_evaluation(from_inline)] == ["300", "100", "200"]


def test_a_model_without_evaluation_has_none(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {"manifests/m.yaml": MANIFEST.split("  evaluation:")[0].format(name="m", base=GEMINI_BASE)},
        {"datasets/train.jsonl": examples_jsonl()},
    )
    model = loaded(tmp_path)
    assert model.evaluation is None
    assert list(read_evaluation(model)) == []
    assert evaluation_digest(model) is None and scores_digest(model) is None


# --------------------------------------------------------------- digests


def test_the_evaluation_is_not_a_tuning_input(tmp_path: Path) -> None:
    base = loaded(repo(tmp_path / "a"))
    other_set = loaded(repo(tmp_path / "b", eval_file=eval_jsonl([("400", "401")])))
    other_gate = loaded(repo(tmp_path / "c", evaluation=EVALUATION.replace("0.8", "0.5")))
    assert ownership_for(other_set) == ownership_for(base) == ownership_for(other_gate)
    assert len({evaluation_digest(base), evaluation_digest(other_set), evaluation_digest(other_gate)}) == 3


def test_the_scores_digest_follows_the_data_and_metrics_not_the_thresholds(tmp_path: Path) -> None:
    base = loaded(repo(tmp_path / "a"))
    threshold = loaded(repo(tmp_path / "b", evaluation=EVALUATION.replace("0.8", "0.5")))
    metrics = loaded(repo(tmp_path / "c", evaluation=EVALUATION.replace("[exactMatch, rougeL]", "[exactMatch]")))
    data = loaded(repo(tmp_path / "d", eval_file=eval_jsonl([("400", "401")])))
    assert scores_digest(threshold) == scores_digest(base)
    assert scores_digest(metrics) != scores_digest(base)
    assert scores_digest(data) != scores_digest(base)


def test_the_digests_ignore_metric_order_file_order_and_on_failure(tmp_path: Path) -> None:
    base = loaded(repo(tmp_path / "a"))
    reordered = loaded(
        repo(
            tmp_path / "b",
            evaluation=EVALUATION.replace("[exactMatch, rougeL]", "[rougeL, exactMatch]") + "\n    onFailure: promote",
            eval_file="".join(reversed(FRESH.splitlines(keepends=True))),
        )
    )
    assert evaluation_digest(reordered) == evaluation_digest(base)
    digest = evaluation_digest(base)
    assert digest is not None and len(digest) == 12 and digest.isalnum() and digest.islower()


def test_a_whole_number_threshold_is_the_same_as_its_float(tmp_path: Path) -> None:
    one = loaded(repo(tmp_path / "a", evaluation=EVALUATION.replace("0.8", "1")))
    one_point_zero = loaded(repo(tmp_path / "b", evaluation=EVALUATION.replace("0.8", "1.0")))
    assert evaluation_digest(one) == evaluation_digest(one_point_zero)


# ------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("evaluation", "expected"),
    [
        (
            EVALUATION.replace("rougeL]", "bleu]"),
            "manifests/m.yaml:11: spec.evaluation.metrics[1]: must be 'exactMatch', 'contains', 'regex' or 'rougeL'",
        ),
        (
            EVALUATION.replace("metric: exactMatch", "metric: contains"),
            "manifests/m.yaml:12: spec.evaluation.gate: the gate's metric contains is not in metrics "
            "(exactMatch, rougeL)",
        ),
        (EVALUATION.replace("0.8", "1.5"), "manifests/m.yaml:12: spec.evaluation.gate.atLeast: must be <= 1.0"),
        (EVALUATION.replace("0.8", "-0.1"), "manifests/m.yaml:12: spec.evaluation.gate.atLeast: must be >= 0.0"),
        (
            EVALUATION.replace("atLeast: 0.8", "notWorseThan: live, tolerance: -0.01"),
            "manifests/m.yaml:12: spec.evaluation.gate.tolerance: must be >= 0.0",
        ),
        (
            EVALUATION.replace("atLeast: 0.8", "notWorseThan: live, tolerance: 1.5"),
            "manifests/m.yaml:12: spec.evaluation.gate.tolerance: must be <= 1.0",
        ),
        (
            EVALUATION.replace("atLeast: 0.8", "atLeast: 0.8, tolerance: 0.1"),
            "manifests/m.yaml:12: spec.evaluation.gate: tolerance applies to notWorseThan: live; "
            "give it too, or remove tolerance",
        ),
        (
            EVALUATION.replace(", atLeast: 0.8", ""),
            "manifests/m.yaml:12: spec.evaluation.gate: give atLeast, notWorseThan: live, or both",
        ),
        (
            EVALUATION.replace("rougeL]", "exactMatch]"),
            "manifests/m.yaml:11: spec.evaluation.metrics: metric exactMatch is listed more than once",
        ),
        (
            EVALUATION.replace("{file: ../datasets/eval.jsonl}", "{unknown: true}"),
            "manifests/m.yaml:10: spec.evaluation.data: evaluation data must be a file or examples "
            "(unknown: true is for trainingData)",
        ),
    ],
)
def test_a_bad_evaluation_is_an_error_at_its_field(tmp_path: Path, evaluation: str, expected: str) -> None:
    assert load_errors(repo(tmp_path, evaluation=evaluation)) == [expected]


def test_an_empty_evaluation_file_is_an_error(tmp_path: Path) -> None:
    assert load_errors(repo(tmp_path, eval_file="")) == [
        "manifests/m.yaml:10: spec.evaluation.data: the evaluation set has no examples"
    ]


def test_empty_inline_evaluation_examples_are_an_error(tmp_path: Path) -> None:
    evaluation = EVALUATION.replace("{file: ../datasets/eval.jsonl}", "{examples: []}")
    assert load_errors(repo(tmp_path, evaluation=evaluation)) == [
        "manifests/m.yaml:10: spec.evaluation.data: the evaluation set has no examples"
    ]


def test_an_evaluation_set_over_the_cap_is_an_error(tmp_path: Path) -> None:
    root = repo(tmp_path, settings="evaluation: {maxExamples: 2}\n")
    assert load_errors(root) == [
        "manifests/m.yaml:10: spec.evaluation.data: the evaluation set has 3 examples, more than "
        "evaluation.maxExamples (2, in reconciler.yaml): each one is an inference call on the candidate "
        "and on the model serving now"
    ]


def test_an_evaluation_set_at_the_cap_loads(tmp_path: Path) -> None:
    model = loaded(repo(tmp_path, settings="evaluation: {maxExamples: 3}\n"))
    assert model.evaluation is not None and model.evaluation.examples == 3


def test_the_default_cap_is_1000(tmp_path: Path) -> None:
    pairs = [(str(1000 + i), str(1001 + i)) for i in range(1001)]
    assert load_errors(repo(tmp_path, eval_file=eval_jsonl(pairs)))[0].endswith(
        "has 1,001 examples, more than evaluation.maxExamples (1,000, in reconciler.yaml): each one is an "
        "inference call on the candidate and on the model serving now"
    )


@pytest.mark.parametrize("cap", ["0", "100001", "true", "1.5"])
def test_the_cap_setting_is_checked(tmp_path: Path, cap: str) -> None:
    found = load_errors(repo(tmp_path, settings=f"evaluation: {{maxExamples: {cap}}}\n"))
    assert [line.split(": ")[1] for line in found] == ["evaluation.maxExamples"]


def test_an_evaluation_example_in_the_training_data_is_leakage_at_its_line(tmp_path: Path) -> None:
    # Training line 6 is {"5" -> "6"}; an example with the same input but another output is no leak.
    leaky = eval_jsonl([("100", "101"), ("5", "6"), ("7", "nine")])
    assert load_errors(repo(tmp_path, eval_file=leaky)) == [
        "datasets/eval.jsonl:2: leakage: the same example is in the training data at datasets/train.jsonl:6; "
        "remove it from one of them"
    ]


def test_leakage_of_an_inline_example_names_it(tmp_path: Path) -> None:
    evaluation = """    data:
      examples:
        - {textInput: "100", output: "101"}
        - {textInput: "3", output: "4"}
    metrics: [exactMatch]
    gate: {metric: exactMatch, atLeast: 0.8}"""
    assert load_errors(repo(tmp_path, evaluation=evaluation)) == [
        "manifests/m.yaml:13: spec.evaluation.data.examples[1]: leakage: the same example is in the training "
        "data at datasets/train.jsonl:4; remove it from one of them"
    ]


def test_leakage_is_found_in_a_training_file_another_manifest_read_first(tmp_path: Path) -> None:
    # The first manifest's scan of train.jsonl kept no hashes: the second one's needs them.
    plain = MANIFEST.split("  evaluation:")[0].format(name="a-first", base=GEMINI_BASE)
    root = repo(tmp_path, eval_file=eval_jsonl([("100", "101"), ("5", "6")]), extra={"manifests/a.yaml": plain})
    assert load_errors(root) == [
        "datasets/eval.jsonl:2: leakage: the same example is in the training data at datasets/train.jsonl:6; "
        "remove it from one of them"
    ]


def test_leakage_is_found_with_the_dataset_cache_warm(tmp_path: Path) -> None:
    root = repo(tmp_path, eval_file=eval_jsonl([("100", "101"), ("5", "6")]), settings="datasetCache: true\n")
    first = load_errors(root)
    assert load_errors(root) == first
    assert len(first) == 1 and "leakage" in first[0]


def test_many_leaks_are_shown_up_to_a_limit_then_counted(tmp_path: Path) -> None:
    leaky = eval_jsonl([(str(i), str(i + 1)) for i in range(MAX_LEAKS_SHOWN + 3)])
    found = load_errors(repo(tmp_path, eval_file=leaky))
    assert len(found) == MAX_LEAKS_SHOWN + 1
    assert found[-1] == "datasets/eval.jsonl: leakage: 3 more examples are also in the training data"


def test_with_the_regex_metric_each_expected_output_must_compile(tmp_path: Path) -> None:
    evaluation = EVALUATION.replace("[exactMatch, rougeL]", "[exactMatch, regex]")
    patterns = eval_jsonl([("100", "^10[0-9]$"), ("200", "(20")])
    assert load_errors(repo(tmp_path, evaluation=evaluation, eval_file=patterns)) == [
        "datasets/eval.jsonl:2: output: with the regex metric, regex does not compile: missing ) at position 3"
    ]


def test_without_the_regex_metric_an_output_is_not_a_pattern(tmp_path: Path) -> None:
    model = loaded(repo(tmp_path, eval_file=eval_jsonl([("200", "(20")])))
    assert model.evaluation is not None


def test_evaluation_rows_are_checked_as_training_rows(tmp_path: Path) -> None:
    bad = eval_jsonl([("100", "101")]) + '{"text_input": "200", "output": ""}\n'
    assert load_errors(repo(tmp_path, eval_file=bad)) == ["datasets/eval.jsonl:2: output: must not be empty"]


def test_checking_one_manifest_reports_its_evaluation_file(tmp_path: Path) -> None:
    root = repo(tmp_path, eval_file=eval_jsonl([("5", "6")]), settings="prune: false\n")
    result = load_files([root / "manifests" / "m.yaml"], cwd=root)
    assert [p.file for p in result.errors] == ["datasets/eval.jsonl"]


# --------------------------------------------------------------- backends


def run_validate(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as exit_info:
        patch.chdir(root)
        main(["validate"])
    err = capsys.readouterr().err
    return int(exit_info.value.code or 0), [line for line in err.splitlines() if line.startswith("Error: ")]


NOT_WORSE = EVALUATION.replace("atLeast: 0.8", "notWorseThan: live, tolerance: 0.02")


def test_gemini_refuses_not_worse_than_live(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, found = run_validate(repo(tmp_path, evaluation=NOT_WORSE), capsys)
    assert code == 1
    assert found == [
        "Error: manifests/m.yaml:12: spec.evaluation.gate.notWorseThan: the Gemini API cannot keep the old "
        "model during a replace (it is deleted first, to free its id), so there is no live model to compare "
        "with; use atLeast, or backend: vertex"
    ]


def test_gemini_takes_an_absolute_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_validate(repo(tmp_path), capsys) == (0, [])


def test_vertex_takes_not_worse_than_live(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = "backend: vertex\nvertex: {project: my-project, datasets: gs://my-bucket/tuning}\n"
    root = repo(tmp_path, evaluation=NOT_WORSE, settings=settings, base="gemini-2.5-flash")
    assert run_validate(root, capsys) == (0, [])


# ------------------------------------------- leakage whatever the form (Vertex AI)

VERTEX = "backend: vertex\nvertex: {project: my-project, datasets: gs://my-bucket/tuning}\n"
VERTEX_BASE = "gemini-2.5-flash"
LEAK_AT_LINE_2 = (
    "Error: datasets/eval.jsonl:2: leakage: the same example is in the training data at "
    "datasets/train.jsonl:6; remove it from one of them"
)


def contents_row(*texts: str, system: str | None = None) -> str:
    """A `contents` row of alternate user and model turns; the last text is the model's."""
    row: dict[str, object] = {
        "contents": [{"role": ("user", "model")[i % 2], "parts": [{"text": text}]} for i, text in enumerate(texts)]
    }
    if system is not None:
        row = {"systemInstruction": {"parts": [{"text": system}]}, **row}
    return json.dumps(row) + "\n"


def vertex_repo(root: Path, training: str, eval_file: str, system_instruction: str | None = None) -> Path:
    manifest = MANIFEST.format(name="m", base=VERTEX_BASE, evaluation=EVALUATION)
    if system_instruction is not None:
        manifest = manifest.replace("  trainingData:", f"  systemInstruction: {system_instruction}\n  trainingData:")
    data = {"datasets/train.jsonl": training, "datasets/eval.jsonl": eval_file}
    return make_repo(root, {"manifests/m.yaml": manifest}, data, VERTEX)


def test_a_pair_copied_from_contents_training_rows_is_leakage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Training line 6 is {"5" -> "6"} in the contents format, with an instruction of its own.
    training = "".join(contents_row(str(i), str(i + 1), system="Count." if i == 5 else None) for i in range(20))
    root = vertex_repo(tmp_path, training, eval_jsonl([("100", "101"), ("5", "6")]))
    assert run_validate(root, capsys) == (1, [LEAK_AT_LINE_2])


def test_a_pair_copied_from_training_with_a_system_instruction_is_leakage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = vertex_repo(tmp_path, examples_jsonl(), eval_jsonl([("100", "101"), ("5", "6")]), "Count on.")
    assert run_validate(root, capsys) == (1, [LEAK_AT_LINE_2])


def test_the_opening_exchange_of_a_multi_turn_row_is_compared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Line 6 opens with {"5" -> "6"}: that answer is learned with no conversation before it.
    training = "".join(contents_row(str(i), str(i + 1), "again", str(i + 2)) for i in range(20))
    root = vertex_repo(tmp_path, training, eval_jsonl([("100", "101"), ("5", "6")]), "Count on.")
    assert run_validate(root, capsys) == (1, [LEAK_AT_LINE_2])


def test_held_out_examples_are_no_leak_whatever_the_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Alike but not the same: another answer to a training input, a later turn of a
    # conversation (learned after it), a training answer to another input.
    training = contents_row("5", "6", "again", "7") + examples_jsonl(19, start=10)
    held_out = eval_jsonl([("5", "seven"), ("again", "7"), ("6", "5"), ("10", "12")])
    root = vertex_repo(tmp_path, training, held_out, "Count on.")
    assert run_validate(root, capsys) == (0, [])


# --------------------------------------------------------------- examples


REPO = Path(__file__).resolve().parents[2]


def test_the_example_evaluation_set_is_held_out_from_its_training_set(tmp_path: Path) -> None:
    # The example as it is (pairs under spec.systemInstruction, on Vertex AI), then with a
    # training example copied into its evaluation set: the check is not blind to that form.
    root = tmp_path / "vertex"
    shutil.copytree(REPO / "examples" / "vertex", root, ignore=shutil.ignore_patterns(".reconciler"))
    (tmp_path / "schema").mkdir()
    model = loaded_from(root, "number-generator")
    assert model.manifest.spec.system_instruction and model.evaluation is not None
    assert model.evaluation.examples >= 5
    training = (root / "datasets" / "number-generator.jsonl").read_text().splitlines()
    evaluation = root / "datasets" / "number-generator.eval.jsonl"
    held_out = evaluation.read_text()
    evaluation.write_text(held_out + training[0] + "\n")
    copied_at = len(held_out.splitlines()) + 1
    assert errors(load(root, cwd=root)) == [
        f"datasets/number-generator.eval.jsonl:{copied_at}: leakage: the same example is in the training data "
        "at datasets/number-generator.jsonl:1; remove it from one of them"
    ]


def loaded_from(root: Path, model_id: str) -> DesiredModel:
    result = load(root, cwd=root)
    assert errors(result) == [] and result.desired is not None
    return result.desired.by_id()[model_id]


def test_the_vertex_example_declares_an_evaluation() -> None:
    result = load(REPO / "examples" / "vertex", cwd=REPO)
    assert errors(result) == [] and result.desired is not None
    model = result.desired.by_id()["number-generator"]
    assert model.evaluation is not None and model.manifest.spec.evaluation is not None
    assert model.manifest.spec.evaluation.gate.not_worse_than == "live"
