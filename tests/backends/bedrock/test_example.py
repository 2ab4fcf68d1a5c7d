"""examples/bedrock: `reconciler validate` passes in-process; its datasets are
written as Amazon Nova reads them; `reconciler plan`, pointed at a service
with botocore's endpoint variable alone (AWS_ENDPOINT_URL, as docs/bedrock.md
says), plans both models with their estimated cost; and, where the emulator has
its Bedrock surface, `reconciler --emulator reconcile` converges (a second run
has nothing to do), as the Vertex AI example does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler.backends.bedrock.catalogue import CONVERSATION, entry
from reconciler.backends.bedrock.datasets import canonical_jsonl
from reconciler.cli.main import main
from tests.backends.bedrock.helpers import loaded, settings
from tests.backends.bedrock.service import MotoService

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "bedrock"
MODELS = ("number-generator", "roman-numerals")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example at examples/bedrock under tmp_path (its schema
    comments point two folders up), the working directory its parent's parent."""
    copy = tmp_path / "examples" / "bedrock"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".reconciler"))
    (tmp_path / "schema").mkdir()
    monkeypatch.chdir(tmp_path)
    return copy


def run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_the_bedrock_example_validates(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-C", "examples/bedrock", "validate", "--output", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and report["error_count"] == report["warning_count"] == 0
    assert sorted(m["model_id"] for m in report["models"]) == list(MODELS)
    assert {m["model_id"]: m["source"] for m in report["models"]} == {
        "number-generator": "amazon.nova-micro-v1:0:128k",
        "roman-numerals": "amazon.nova-lite-v1:0:300k",
    }


def test_its_datasets_are_uploaded_as_amazon_nova_reads_them(repo: Path) -> None:
    """Every example becomes a bedrock-conversation-2024 line: the system
    instruction in `system`, the turns as `user` and `assistant` messages."""
    models = loaded(repo, settings())
    for model_id in MODELS:
        model = models[model_id]
        base = entry(model.manifest.spec.base_model or "")
        assert base is not None and base.format == CONVERSATION
        lines = [json.loads(line) for line in canonical_jsonl(model, base).splitlines()]
        assert len(lines) == model.dataset.examples
        for line in lines:
            assert line["schemaVersion"] == CONVERSATION
            assert [m["role"] for m in line["messages"]][:2] == ["user", "assistant"]
    micro = entry("amazon.nova-micro-v1:0:128k")
    assert micro is not None
    numbers = [json.loads(line) for line in canonical_jsonl(models["number-generator"], micro).splitlines()]
    instruction = models["number-generator"].manifest.spec.system_instruction
    assert all(line["system"] == [{"text": instruction}] for line in numbers)


def test_the_bedrock_example_plans_through_the_endpoint_variable(
    repo: Path, moto_server: MotoService, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No `--emulator`: botocore finds the service through AWS_ENDPOINT_URL,
    the credentials in the environment (the fixtures' dummy keys)."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    assert run("-C", "examples/bedrock", "plan", "--detailed-exitcode") == 2
    captured = capsys.readouterr()
    assert f"at {moto_server.url}" in captured.err  # the target line: where botocore was pointed
    for model_id in MODELS:
        assert f"+ bedrock/{model_id}" in captured.out
    # Nova Micro at the catalogue's $0.001 and Nova Lite at $0.002 a thousand tokens: cents at most.
    assert captured.out.count("under $0.01 (estimate, from the catalogue's price)") == 3, captured.out
    assert "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete." in captured.out


def test_the_bedrock_example_converges_with_the_embedded_emulator(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("-C", "examples/bedrock", "--emulator", "reconcile", "--yes") == 0
    first = capsys.readouterr().out
    assert "2 created" in first, first
    assert run("-C", "examples/bedrock", "--emulator", "plan", "--detailed-exitcode") == 0
    assert "No changes" in capsys.readouterr().out
    assert run("-C", "examples/bedrock", "--emulator", "reconcile", "--yes") == 0
    second = capsys.readouterr().out
    assert "No changes" in second and "created" not in second, second
