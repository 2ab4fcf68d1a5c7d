"""YAML 1.1's numbers that nobody writing a manifest means are kept as text.

SafeLoader reads `1:30` as 90 and `1:30.5` as 90.5 (base 60) and `017` as 15
(octal): `epochCount: 1:30` would tune 90 epochs with `validate` green. Such a
value stays the text written, so a number field refuses it at its line and a
text field keeps it. Every other YAML 1.1 form keeps its meaning. Both YAML
paths (the one-walk tree and the general PyYAML path, taken when a document
has an alias) read the same, in manifests and in reconciler.yaml.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from unittest.mock import patch

import pytest

from reconciler.cli.main import main
from reconciler.loader import yamldoc
from reconciler.loader.yamldoc import parse_documents

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = "manifests/number-generator.yaml"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for folder in ("manifests", "datasets"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "reconciler.yaml", tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def validate(capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["validate"])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


# what replaces a valid line of number-generator.yaml, and every error expected
MANIFEST_CASES = [
    (
        "epochCount: 5",
        "epochCount: 1:30",
        [f"{MANIFEST}:16: spec.hyperparameters.epochCount: must be an integer, not the text '1:30'"],
    ),
    (
        "epochCount: 5",
        "epochCount: 017",
        [f"{MANIFEST}:16: spec.hyperparameters.epochCount: must be an integer, not the text '017'"],
    ),
    (
        "learningRate: 0.001",
        "learningRate: 0:0.5",
        [f"{MANIFEST}:18: spec.hyperparameters.learningRate: must be a number, not the text '0:0.5'"],
    ),
    ("topK: 40", "topK: 1:30.5", [f"{MANIFEST}:22: spec.generation.topK: must be an integer, not the text '1:30.5'"]),
    # An alias takes the general path: the value it names is text there too.
    (
        "epochCount: 5\n    batchSize: 4",
        "epochCount: &n 1:04\n    batchSize: *n",
        [
            f"{MANIFEST}:16: spec.hyperparameters.epochCount: must be an integer, not the text '1:04'",
            f"{MANIFEST}:17: spec.hyperparameters.batchSize: must be an integer, not the text '1:04'",
        ],
    ),
]


@pytest.mark.parametrize(("valid", "written", "expected"), MANIFEST_CASES, ids=[c[1] for c in MANIFEST_CASES])
def test_a_base_60_or_octal_number_in_a_manifest_is_refused_at_its_line(
    repo: Path, capsys: pytest.CaptureFixture[str], valid: str, written: str, expected: list[str]
) -> None:
    edit(repo / MANIFEST, valid, written)
    code, out, err = validate(capsys)
    assert code == 1, err
    for problem in expected:
        assert problem in err
    assert f"Invalid: {len(expected)} error" in out


SETTINGS_CASES = [
    (
        "concurrency: 4",
        "concurrency: 1:04",
        ["reconciler.yaml:29: concurrency: must be an integer, not the text '1:04'"],
    ),
    (
        "# requestTimeoutSeconds: 30",
        "requestTimeoutSeconds: 1:30",
        ["reconciler.yaml:32: requestTimeoutSeconds: must be a number, not the text '1:30'"],
    ),
    (
        "maxDeletions: 5",
        "maxDeletions: 05",
        ["reconciler.yaml:26: maxDeletions: must be an integer, not the text '05'"],
    ),
    (
        "\nconcurrency: 4",
        "\nconcurrency: &c 1:04\nprune: *c",
        [
            "reconciler.yaml:28: concurrency: must be an integer, not the text '1:04'",
            "reconciler.yaml:29: prune: must be true or false, not the text '1:04'",
        ],
    ),
]


@pytest.mark.parametrize(("valid", "written", "expected"), SETTINGS_CASES, ids=[c[1] for c in SETTINGS_CASES])
def test_a_base_60_or_octal_number_in_the_settings_is_refused_at_its_line(
    repo: Path, capsys: pytest.CaptureFixture[str], valid: str, written: str, expected: list[str]
) -> None:
    if "prune" in written:  # the alias gives prune its value: its own line goes, and the lines below move up
        edit(repo / "reconciler.yaml", "prune: false\n", "")
    edit(repo / "reconciler.yaml", valid, written)
    code, out, err = validate(capsys)
    assert code == 1, err
    for problem in expected:
        assert problem in err
    assert f"Invalid: {len(expected)} error" in out


def test_a_text_field_keeps_what_was_written(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(repo / MANIFEST, 'input: "LXIII"\n      expect: {equals: "LXIV"}', "input: 12:30\n      expect: {equals: 017}")
    code, out, err = validate(capsys)
    assert (code, err) == (0, ""), err
    assert "Valid: 2 models." in out


def both_paths(text: str) -> list[object]:
    """The value of `text`'s document by the tree walk and by the general path."""
    walked, problems = parse_documents(text, "f.yaml")
    with patch.object(yamldoc, "_document", yamldoc._general_document):
        general, general_problems = parse_documents(text, "f.yaml")
    assert problems == general_problems == []
    return [walked[0].data, general[0].data]


@pytest.mark.parametrize("text", ["1:30", "-1:30", "190:20:30", "1:30.5", "+0:0.5", "017", "-017", "00", "0_7"])
def test_base_60_and_leading_zero_octal_are_text_on_both_paths(text: str) -> None:
    assert both_paths(f"a: {text}\n") == [{"a": text}] * 2
    # An alias to it as well, which only the general path reads.
    assert both_paths(f"a: &x {text}\nb: *x\n") == [{"a": text, "b": text}] * 2


# What YAML 1.1 reads that is no surprise: kept as SafeLoader reads it.
KEPT = [
    ("1_000", 1000),
    ("0x1F", 31),
    ("0b101", 5),
    ("+12", 12),
    ("0", 0),
    ("-0", 0),
    ("1_000.5", 1000.5),
    ("1.0e-4", 0.0001),
    ("yes", True),
    ("No", False),
    ("on", True),
    ("OFF", False),
    ("0o17", "0o17"),
    ("1e-4", "1e-4"),
    ("1:60", "1:60"),
    ("08", "08"),
]


@pytest.mark.parametrize(("text", "value"), KEPT, ids=[k[0] for k in KEPT])
def test_other_yaml_1_1_forms_keep_their_meaning(text: str, value: object) -> None:
    [walked, general] = both_paths(f"a: {text}\n")
    assert walked == general == {"a": value}
    assert type(walked["a"]) is type(value)
