"""`reconciler validate` on the examples, and `reconciler schema` against the committed file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from reconciler.cli.main import main

REPO = Path(__file__).resolve().parent.parent.parent
SCHEMA_FILE = REPO / "schema" / "tunedmodel.schema.json"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_validate_passes_on_the_examples_with_a_summary_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code, out, err = run(["validate", "manifests/"], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["MODEL", "SOURCE", "EXAMPLES", "CHARACTERS", "~TRAINING-TOKENS", "~STEPS"]
    number = next(line.split() for line in lines if line.startswith("number-generator"))
    # 31 examples, 5 epochs, batch size 4: ceil(31 * 5 / 4) = 39 steps.
    assert number[2] == "31" and number[5] == "39"
    assert lines[-1] == "Valid: 2 models."


def test_validate_json_reports_models(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out, _ = run(["validate", "--output", "json"], capsys)
    report = json.loads(out)
    assert code == 0
    assert report["valid"] is True and report["diagnostics"] == []
    assert report["format_version"] == "1.0"
    roman = next(m for m in report["models"] if m["model_id"] == "roman-numerals")
    assert roman["source"] == "tunedModels/number-generator"
    assert roman["total_steps"] == -(-roman["examples"] * 3 // 4)
    assert roman["dataset_digest"].startswith("sha256:")


def test_warnings_alone_exit_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "manifests").mkdir()
    examples = "".join(f"      - {{textInput: '{i % 19}', output: '{i % 19}!'}}\n" for i in range(20))
    (tmp_path / "manifests" / "a.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: TunedModel\nmetadata: {name: a}\nspec:\n"
        "  baseModel: models/m\n  trainingData:\n    examples:\n" + examples
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["validate"], capsys)
    assert code == 0
    assert "Warning: manifests/a.yaml:27: duplicate of the example at line 8" in err
    assert "epochCount or batchSize not set" in out
    assert out.splitlines()[-1] == "Valid: 1 model, 1 warning."


def test_schema_command_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["schema"], capsys)
    assert code == 0
    assert json.loads(out) == json.loads(SCHEMA_FILE.read_text())


def test_the_schema_names_every_field_the_examples_use() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    definitions = schema["$defs"]

    def check(value: object, properties: dict[str, object]) -> None:
        assert isinstance(value, dict)
        for key, child in value.items():
            assert key in properties, key
            target = properties[key]
            assert isinstance(target, dict)
            ref = target.get("$ref") or next(
                (option["$ref"] for option in target.get("anyOf", []) if "$ref" in option), None
            )
            if ref is not None and isinstance(child, dict):
                check(child, definitions[ref.rsplit("/", 1)[1]]["properties"])

    for manifest in sorted((REPO / "manifests").glob("*.yaml")):
        text = manifest.read_text()
        assert text.startswith("# yaml-language-server: $schema=../schema/tunedmodel.schema.json")
        check(yaml.safe_load(text), schema["properties"])
