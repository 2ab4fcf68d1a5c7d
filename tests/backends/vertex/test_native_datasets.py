"""Vertex AI the way its users write it: datasets in its own `contents` format,
spec.systemInstruction, its own limits (not the Gemini API's), and base
models from the catalogue, through the CLI against the emulator."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from reconciler.backends.gemini.rules import MAX_REQUEST_BYTES as GEMINI_MAX_REQUEST_BYTES
from reconciler.emulator import EmulatorServer
from reconciler.loader import load
from tests.backends.vertex.helpers import BUCKET, jobs_of, manifest, objects, vertex_cli, write_repo

SYSTEM = "Answer in French."


def turns_row(n: int, *, long_output: bool = False) -> dict[str, Any]:
    answer = f"réponse {n} " + ("x" * 6_000 if long_output else "")
    return {
        "systemInstruction": {"role": "system", "parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": f"question {n}"}]},
            {"role": "model", "parts": [{"text": f"first answer {n}"}]},
            {"role": "user", "parts": [{"text": f"and then {n}?"}]},
            {"role": "model", "parts": [{"text": answer}]},
        ],
    }


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def big_pairs(path: Path, size: int) -> int:
    """Distinct text pairs with 6,000-character outputs until the file passes `size` bytes."""
    output = "y" * 6_000
    count = 0
    with path.open("w", encoding="utf-8") as stream:
        written = 0
        while written <= size:
            line = json.dumps({"text_input": f"question {count}", "output": output}) + "\n"
            stream.write(line)
            written += len(line)
            count += 1
    return count


def object_text(emulator: EmulatorServer, name: str) -> str:
    response = requests.get(
        f"{emulator.url}/download/storage/v1/b/{BUCKET}/o/{name.replace('/', '%2F')}",
        params={"alt": "media"},
        timeout=60,
    )
    response.raise_for_status()
    return response.content.decode("utf-8")


def test_a_vertex_repository_of_native_data_validates_plans_and_applies(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    chat = manifest("chat", epochs=4, validationData={"file": "../datasets/chat-validation.jsonl"})
    chat["spec"]["baseModel"] = "gemini-3.5-flash"
    big = manifest("big", epochs=1, systemInstruction=SYSTEM)
    repo = write_repo(tmp_path, [chat, big])
    write_jsonl(repo / "datasets" / "chat.jsonl", [turns_row(n, long_output=n % 2 == 0) for n in range(22)])
    write_jsonl(repo / "datasets" / "chat-validation.jsonl", [turns_row(100 + n) for n in range(5)])
    # Past the Gemini API's request limit (and its 5,000-character outputs), which Vertex AI does not have:
    # just past it proves that, as well as 50 MB did, in under half the time.
    examples = big_pairs(repo / "datasets" / "big.jsonl", GEMINI_MAX_REQUEST_BYTES + 2**20)

    validated = vertex_cli(repo, emulator, "validate", "--output", "json")
    assert validated.code == 0, validated.text
    report = {m["model_id"]: m for m in json.loads(validated.out)["models"]}
    assert report["chat"]["examples"] == 22 and report["big"]["examples"] == examples
    planned = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "batch size" not in vertex_cli(repo, emulator, "validate").text  # no Gemini footnote

    applied = vertex_cli(repo, emulator, "apply", "--yes")
    assert applied.code == 0, applied.text
    job = jobs_of(emulator, "chat")[-1]
    assert job["baseModel"] == "gemini-3.5-flash"
    # The estimate is Vertex's own count: ceil(22 / 8) steps an epoch, 4 epochs.
    stats = job["tuningDataStats"]["supervisedTuningDataStats"]
    assert int(stats["tuningStepCount"]) == report["chat"]["total_steps"] == 12
    uploaded = [object_text(emulator, name) for name in objects(emulator) if "lock" not in name]
    with_system = [text for text in uploaded if f'"systemInstruction":{{"parts":[{{"text":"{SYSTEM}"}}]}}' in text]
    assert with_system and all(line.count(SYSTEM) == 1 for line in with_system[0].splitlines())
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_changing_the_system_instruction_changes_the_training_data(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [manifest("numbers", systemInstruction=SYSTEM)])
    first = json.loads(vertex_cli(repo, emulator, "validate", "--output", "json").out)["models"][0]
    write_repo(tmp_path, [manifest("numbers", systemInstruction="Answer in German.")])
    second = json.loads(vertex_cli(repo, emulator, "validate", "--output", "json").out)["models"][0]
    assert first["dataset_digest"] != second["dataset_digest"]


BAD_ROWS = [
    ({"contents": [{"role": "user", "parts": [{"text": "q"}]}]}, "contents[0].role", "last turn must be the model's"),
    ({"contents": [{"role": "model", "parts": [{"text": "a"}]}]}, "contents[0].role", "turns alternate"),
    (
        {
            "contents": [
                {"role": "user", "parts": [{"text": "q"}]},
                {"role": "user", "parts": [{"text": "q"}]},
                {"role": "model", "parts": [{"text": "a"}]},
            ]
        },
        "contents[1].role",
        "turns alternate",
    ),
    (
        {"contents": [{"role": "user", "parts": [{"text": " "}]}, {"role": "model", "parts": [{"text": "a"}]}]},
        "contents[0].parts[0].text",
        "must not be empty",
    ),
    ({"contents": [{"role": "assistant", "parts": [{"text": "q"}]}]}, "contents[0].role", "must be user or model"),
    (
        {"contents": [{"role": "user", "parts": [{"fileData": {}}]}, {"role": "model", "parts": [{"text": "a"}]}]},
        "contents[0].parts[0]",
        "text only",
    ),
    (
        {
            "systemInstruction": {"parts": [{"text": ""}]},
            "contents": [{"role": "user", "parts": [{"text": "q"}]}, {"role": "model", "parts": [{"text": "a"}]}],
        },
        "systemInstruction.parts[0].text",
        "must not be empty",
    ),
]


@pytest.mark.parametrize("row, field, message", BAD_ROWS, ids=[c[1] + ":" + c[2] for c in BAD_ROWS])
def test_a_malformed_contents_row_is_an_error_at_its_file_line_and_field(
    tmp_path: Path, emulator: EmulatorServer, row: dict[str, Any], field: str, message: str
) -> None:
    repo = write_repo(tmp_path, [manifest("chat")])
    write_jsonl(repo / "datasets" / "chat.jsonl", [*[turns_row(n) for n in range(20)], row])
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert f"datasets/chat.jsonl:21: {field}: " in result.text and message in result.text, result.text


def _gemini_manifest(**spec: Any) -> dict[str, Any]:
    document = manifest("numbers", **spec)
    document["spec"]["baseModel"] = "models/gemini-1.5-flash-001-tuning"
    del document["spec"]["hyperparameters"]["adapterSize"]
    return document


def test_the_gemini_backend_refuses_contents_rows_and_says_why(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [_gemini_manifest()], backend="gemini", vertex=None)
    write_jsonl(repo / "datasets" / "numbers.jsonl", [turns_row(n) for n in range(20)])
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert "datasets/numbers.jsonl:1: contents: the Gemini API tunes on single-turn text pairs only" in result.text


def test_the_gemini_backend_refuses_a_system_instruction(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [_gemini_manifest(systemInstruction=SYSTEM)], backend="gemini", vertex=None)
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert "spec.systemInstruction: the Gemini API takes no system instruction" in result.text


def test_the_gemini_backend_keeps_its_limits(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [_gemini_manifest()], backend="gemini", vertex=None)
    write_jsonl(repo / "datasets" / "numbers.jsonl", [{"text_input": str(n), "output": "y" * 6_000} for n in range(20)])
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert "output: is 6,000 characters, the API takes at most 5,000" in result.text


def test_vertex_takes_long_outputs_and_few_examples_name_the_file(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [manifest("numbers")])
    write_jsonl(repo / "datasets" / "numbers.jsonl", [{"text_input": str(n), "output": "y" * 6_000} for n in range(20)])
    assert vertex_cli(repo, emulator, "validate").code == 0
    write_jsonl(repo / "datasets" / "numbers.jsonl", [{"text_input": "1", "output": "2"}] * 3)
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert "spec.trainingData: datasets/numbers.jsonl has 3 examples, Vertex AI needs at least 16" in result.text


def test_a_validation_set_over_vertex_limit_is_refused(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [manifest("numbers", validationData={"file": "../datasets/v.jsonl"})])
    write_jsonl(repo / "datasets" / "v.jsonl", [{"text_input": str(n), "output": "y"} for n in range(5_001)])
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert "spec.validationData: datasets/v.jsonl has 5,001 examples, Vertex AI takes at most 5,000" in result.text


def test_an_example_over_the_token_limit_is_refused(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [manifest("numbers")])
    rows = [{"text_input": str(n), "output": "y"} for n in range(20)]
    rows.append({"text_input": "big", "output": "y" * (131_072 * 4 + 1)})
    write_jsonl(repo / "datasets" / "numbers.jsonl", rows)
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert "datasets/numbers.jsonl:21: " in result.text and "takes at most 131,072 an example" in result.text


def test_publishers_prefix_is_the_same_base_model(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    document = manifest("numbers")
    document["spec"]["baseModel"] = "publishers/google/models/gemini-2.5-flash"
    (repo / "manifests" / "numbers.yaml").write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
    planned = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert planned.code == 0, planned.text


def test_a_retired_base_model_is_refused_and_the_catalogue_can_be_extended(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    document = manifest("numbers")
    document["spec"]["baseModel"] = "gemini-2.0-flash-001"  # retired 2026-02-05
    repo = write_repo(tmp_path, [document])
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert "spec.baseModel: gemini-2.0-flash-001 retired on 2026-02-05" in result.text
    document["spec"]["baseModel"] = "gemini-9-flash"
    future = (date.today() + timedelta(days=365)).isoformat()
    vertex = {
        **yaml.safe_load((repo / "reconciler.yaml").read_text())["vertex"],
        "baseModels": {"gemini-9-flash": {"adapterSizes": [1, 4], "retires": future}},
    }
    write_repo(tmp_path, [document], vertex=vertex)
    assert vertex_cli(repo, emulator, "validate").code == 0
    document["spec"]["baseModel"] = "gemini-9-flsh"
    write_repo(tmp_path, [document])
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1 and "the nearest are" in result.text


def test_the_system_instruction_counts_in_every_pairs_characters(tmp_path: Path) -> None:
    """It is tuned on, and billed, with every example: the estimate counts it,
    for a file (read in clean batches) and for inline examples (row by row)."""
    system = "Answer with the next number."
    inline = [{"textInput": str(n), "output": str(n + 1)} for n in range(20)]
    repo = write_repo(
        tmp_path,
        [
            manifest("numbers", systemInstruction=system),
            manifest("inline", systemInstruction=system, trainingData={"examples": inline}),
        ],
    )
    result = load(repo, cwd=repo)
    assert result.desired is not None
    for model in result.desired.models:
        inputs = sum(len(str(n)) for n in range(20))
        assert model.dataset.input_characters == inputs + 20 * len(system), model.id
