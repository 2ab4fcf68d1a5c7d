"""A dataset larger than one create request can carry is refused by validate,
with its size and the limit, before apply builds a body the API would reject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.backends.gemini.rules import DATASET_LIMITS, MAX_REQUEST_BYTES
from reconciler.loader.datasets import request_bytes_at_least
from reconciler.model.desired import DatasetSummary

from .conftest import CountingServer
from .helpers import assert_clear_error, run, write_repo

LIMIT = f"{MAX_REQUEST_BYTES / 2**20:.1f} MB"


def big_jsonl(path: Path, size: int) -> None:
    """Valid, distinct examples until the file passes `size` bytes."""
    output = "y" * 4000
    with path.open("w", encoding="utf-8") as stream:
        written = number = 0
        while written <= size:
            line = json.dumps({"text_input": f"question {number}", "output": output}) + "\n"
            stream.write(line)
            written += len(line)
            number += 1


def test_a_dataset_over_the_request_limit_is_an_error_with_its_size_and_the_limit(
    tmp_path: Path, api: CountingServer
) -> None:
    repo = write_repo(tmp_path)
    big_jsonl(repo / "datasets" / "alpha.jsonl", MAX_REQUEST_BYTES + 2**20)
    validated = run(repo, "validate")
    applied = run(repo, "apply", "--yes", GENERATIVELANGUAGE_EMULATOR_HOST=api.host_port)
    for result in (validated, applied):
        assert_clear_error(
            result,
            "manifests/alpha.yaml:8: spec.trainingData: is 21.0 MB: the create request would carry at least",
            f"above the {LIMIT} the API takes in one request",
        )
    assert api.requests_besides_the_list == 0


def test_a_huge_dataset_is_refused_without_being_read(tmp_path: Path) -> None:
    repo = write_repo(tmp_path)
    dataset = repo / "datasets" / "alpha.jsonl"
    with dataset.open("wb") as stream:  # sparse: 200 MB that take no disk space
        stream.truncate(200 * 2**20)
    assert DATASET_LIMITS.max_file_bytes < 200 * 2**20
    assert_clear_error(
        run(repo, "validate"),
        f"manifests/alpha.yaml:8: spec.trainingData.file: is 200.0 MB, far above the {LIMIT} the API takes "
        "in one request; not read",
    )


def test_a_dataset_under_the_limit_is_only_warned_about(tmp_path: Path) -> None:
    repo = write_repo(tmp_path)
    big_jsonl(repo / "datasets" / "alpha.jsonl", 5 * 2**20)
    result = run(repo, "validate")
    assert result.code == 0, result.text
    assert "above the API's 4 MB reference limit" in result.err


# Text that JSON escapes or writes as \uXXXX: the body only grows.
EXAMPLES = [
    [("plain", "text")],
    [('quote " and \\ backslash', "line\nbreak\ttab")],
    [("é and 漢字", "emoji 😀")],
    [("", "x")] * 50,
]


@pytest.mark.parametrize("examples", EXAMPLES, ids=["ascii", "escapes", "non-ascii", "many"])
def test_the_request_size_is_a_lower_bound_of_the_real_body(examples: list[tuple[str, str]]) -> None:
    body = json.dumps([{"textInput": i, "output": o} for i, o in examples])
    summary = DatasetSummary(
        examples=len(examples),
        input_characters=sum(len(i) for i, _ in examples),
        output_characters=sum(len(o) for _, o in examples),
        size_bytes=0,
        digest="sha256:" + "0" * 64,
    )
    assert request_bytes_at_least(summary) <= len(body.encode()) + 2  # the last item has no ", "
