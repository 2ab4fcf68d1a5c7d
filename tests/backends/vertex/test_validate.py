"""`reconciler validate` on `backend: vertex` refuses, with file:line and field,
what Vertex AI cannot honour; the Gemini backend refuses `adapterSize`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends.vertex.helpers import manifest, write_repo
from tests.integration.helpers_apply import run_cli

CASES = [
    ({"hyperparameters": {"batchSize": 4}}, "spec.hyperparameters.batchSize", "no batch size"),
    ({"hyperparameters": {"learningRate": 0.01}}, "spec.hyperparameters.learningRate", "no learning rate"),
    ({"permissions": [{"role": "READER", "granteeType": "EVERYONE"}]}, "spec.permissions", "no per-model grants"),
    ({"baseModel": "gemini-9-ultra"}, "spec.baseModel", "not a base model Vertex AI tunes"),
    (
        {"hyperparameters": {"adapterSize": 32}},
        "spec.hyperparameters.adapterSize",
        "allows adapter sizes 1, 2, 4, 8, 16",
    ),
    ({"customization": "continuedPreTraining"}, "spec.customization", "supervised fine-tuning only"),
    (
        {"hyperparameters": {"learningRateWarmupSteps": 5}},
        "spec.hyperparameters.learningRateWarmupSteps",
        "no learning rate warmup",
    ),
]


@pytest.mark.parametrize("spec, field, message", CASES, ids=[c[1] for c in CASES])
def test_validate_refuses_with_file_line_and_field(
    tmp_path: Path, emulator: object, spec: dict[str, object], field: str, message: str
) -> None:
    document = manifest("numbers")
    document["spec"].update(spec)
    repo = write_repo(tmp_path, [document])
    result = run_cli(repo, emulator, "validate")  # type: ignore[arg-type]
    assert result.code == 1
    text = (repo / "manifests" / "numbers.yaml").read_text("utf-8").splitlines()
    key = field.rsplit(".", 1)[-1]
    line = next(n for n, row in enumerate(text, 1) if row.strip().startswith(f"{key}:"))
    assert f"manifests/numbers.yaml:{line}: {field}: " in result.text
    assert message in result.text


def test_a_valid_vertex_manifest_validates(tmp_path: Path, emulator: object) -> None:
    repo = write_repo(tmp_path, [manifest("numbers")])
    result = run_cli(repo, emulator, "validate")  # type: ignore[arg-type]
    assert result.code == 0, result.text


def test_the_gemini_backend_refuses_an_adapter_size(tmp_path: Path, emulator: object) -> None:
    document = manifest("numbers")
    document["spec"]["baseModel"] = "models/gemini-1.5-flash-001-tuning"
    repo = write_repo(tmp_path, [document], backend="gemini", vertex=None)
    result = run_cli(repo, emulator, "validate")  # type: ignore[arg-type]
    assert result.code == 1
    assert "spec.hyperparameters.adapterSize: the Gemini API has no adapter size" in result.text


@pytest.mark.parametrize(
    "spec, found",
    [
        (
            {"customization": "distillation", "teacherModel": "models/gemini-1.5-pro"},
            "spec.customization: the Gemini API only fine-tunes (customization: fineTuning), not distillation",
        ),
        (
            {"hyperparameters": {"learningRateWarmupSteps": 5}},
            "spec.hyperparameters.learningRateWarmupSteps: the Gemini API has no learning rate warmup",
        ),
    ],
    ids=["customization", "warmup"],
)
def test_the_gemini_backend_refuses_what_only_other_services_take(
    tmp_path: Path, emulator: object, spec: dict[str, object], found: str
) -> None:
    document = manifest("numbers")
    document["spec"]["baseModel"] = "models/gemini-1.5-flash-001-tuning"
    del document["spec"]["hyperparameters"]["adapterSize"]
    document["spec"].update(spec)
    repo = write_repo(tmp_path, [document], backend="gemini", vertex=None)
    result = run_cli(repo, emulator, "validate")  # type: ignore[arg-type]
    assert result.code == 1
    assert found in result.text


def test_the_gemini_backend_refuses_validation_data(tmp_path: Path, emulator: object) -> None:
    document = manifest("numbers", validationData={"file": "../datasets/numbers.jsonl"})
    document["spec"]["baseModel"] = "models/gemini-1.5-flash-001-tuning"
    del document["spec"]["hyperparameters"]["adapterSize"]
    repo = write_repo(tmp_path, [document], backend="gemini", vertex=None)
    result = run_cli(repo, emulator, "validate")  # type: ignore[arg-type]
    assert result.code == 1
    assert "spec.validationData: the Gemini API takes no validation data" in result.text


def test_a_missing_validation_file_is_reported_at_its_line(tmp_path: Path, emulator: object) -> None:
    repo = write_repo(tmp_path, [manifest("numbers", validationData={"file": "../datasets/missing.jsonl"})])
    result = run_cli(repo, emulator, "validate")  # type: ignore[arg-type]
    assert result.code == 1
    text = (repo / "manifests" / "numbers.yaml").read_text("utf-8").splitlines()
    line = next(n for n, row in enumerate(text, 1) if "missing.jsonl" in row)
    assert f"manifests/numbers.yaml:{line}: spec.validationData.file: " in result.text


def test_backend_vertex_without_its_block_is_refused(tmp_path: Path, emulator: object) -> None:
    repo = write_repo(tmp_path, [manifest("numbers")], vertex=None)
    result = run_cli(repo, emulator, "validate")  # type: ignore[arg-type]
    assert result.code == 1
    assert "backend: vertex needs a `vertex:` block" in result.text
