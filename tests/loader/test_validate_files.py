"""`reconciler validate FILE...`: what a pre-commit hook runs on the files of a commit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for folder in ("manifests", "datasets"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "reconciler.yaml", tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def validate(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["validate", *args])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_one_file_whose_source_is_declared_elsewhere_is_valid(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = validate(["manifests/roman-numerals.yaml"], capsys)
    assert (code, err) == (0, "")
    # Only the models of the files given.
    assert [line.split()[0] for line in out.splitlines()[1:] if line.strip()][:1] == ["roman-numerals"]
    assert out.rstrip().endswith("Valid: 1 model.")


def test_several_files_report_only_their_own_problems(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "manifests" / "other.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: TunedModel\nmetadata: {name: Bad_Id}\nspec: {}\n"
    )
    broken = repo / "manifests" / "number-generator.yaml"
    broken.write_text(broken.read_text().replace("epochCount: 5", "epochCount: -1"))
    code, _, err = validate(["manifests/number-generator.yaml", "manifests/roman-numerals.yaml"], capsys)
    assert code == 1
    assert "manifests/number-generator.yaml:16: spec.hyperparameters.epochCount" in err
    assert "other.yaml" not in err


def test_a_dataset_given_is_checked_through_its_manifest(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = repo / "datasets" / "number-generator.jsonl"
    dataset.write_text(dataset.read_text() + "{not json\n")
    code, _, err = validate(["datasets/number-generator.jsonl"], capsys)
    assert code == 1
    assert "datasets/number-generator.jsonl:" in err
    assert "malformed JSON" in err


def test_a_file_the_repository_does_not_read_is_a_problem(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "notes.yaml").write_text("a: 1\n")
    code, _, err = validate(["notes.yaml"], capsys)
    assert code == 1
    assert "notes.yaml: not read by the repository" in err


def test_a_dataset_no_manifest_uses_is_a_warning_not_an_error(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Deleting the manifest that used it, or committing the dataset first, is a valid commit.
    (repo / "datasets" / "retired.jsonl").write_text('{"text_input": "1", "output": "2"}\n')
    code, _, err = validate(["datasets/retired.jsonl"], capsys)
    assert code == 0, err
    assert "Warning: datasets/retired.jsonl: a dataset no manifest uses" in err


def test_a_file_outside_any_repository_stands_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.yaml").write_text(
        (ROOT / "manifests" / "number-generator.yaml")
        .read_text()
        .replace("file: ../datasets/number-generator.jsonl", "examples: [{textInput: '1', output: '2'}]")
    )
    code, _, err = validate(["m.yaml"], capsys)
    assert code == 1
    assert "at least 20" in err  # read and checked, as one file


def test_a_folder_and_files_together_are_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = validate(["manifests", "reconciler.yaml"], capsys)
    assert code == 1
    assert "one folder, or any number of files" in err


@pytest.mark.parametrize("given", ["reconciler.yaml", "datasets/number-generator.jsonl"])
def test_a_valid_file_that_declares_no_model_passes(repo: Path, capsys: pytest.CaptureFixture[str], given: str) -> None:
    # A commit may change only the settings or a dataset: the hook must let it through.
    code, out, err = validate([given], capsys)
    assert (code, err) == (0, ""), err
    assert out.strip() == "Valid: the files given declare no model."


def test_a_file_taking_an_id_declared_elsewhere_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The duplicate is reported on the later file (roman-numerals.yaml), not on
    # the file given: still about it, so not filtered out.
    (repo / "manifests" / "copy.yaml").write_text(
        (ROOT / "manifests" / "number-generator.yaml")
        .read_text()
        .replace("name: number-generator", "name: roman-numerals")
    )
    code, _, err = validate(["manifests/copy.yaml"], capsys)
    assert code == 1
    assert (
        "manifests/roman-numerals.yaml:8: metadata.name: duplicate id roman-numerals: "
        "also declared at manifests/copy.yaml:8"
    ) in err
