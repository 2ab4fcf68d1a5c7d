"""One settings mistake, one error in words (no manifest errors checked against
the wrong backend's rules), a did-you-mean for a misspelt backend; an apply
that exits 1 because a model is blocked says so last and counts it once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.backends.vertex.helpers import SETTINGS, manifest, vertex_cli, write_manifest, write_repo

KEY = {"RECONCILER_OWNERSHIP_KEY": "a-key-of-enough-length-0001"}


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("Error:")]


def test_a_misspelt_backend_is_one_error_with_a_suggestion(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0)
    # A Vertex repository: under the Gemini rules its adapter size and base model are errors.
    repo = write_repo(tmp_path, [manifest("numbers")], backend="vertx")
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert _errors(result.text) == [
        "Error: reconciler.yaml:1: backend: no backend named 'vertx' is installed "
        "(installed: bedrock, gemini, vertex); did you mean vertex?"
    ], result.text
    # Nor a summary with the default backend's step estimates: the backend is unknown.
    assert "~STEPS" not in result.text and "batchSize" not in result.text, result.text


def test_settings_errors_speak_words_not_regular_expressions(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0)
    vertex = {**SETTINGS["vertex"], "location": "us central"}
    repo = write_repo(tmp_path, [manifest("numbers")], vertex=vertex)
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    errors = _errors(result.text)
    assert len(errors) == 1 and "a location such as us-central1" in errors[0], result.text
    assert not re.search(r"must match|\^\(|\$", result.text)


def test_an_apply_with_a_blocked_model_says_so_last_and_counts_it_once(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes", **KEY).code == 0
    write_manifest(repo, manifest("other"))
    applied = vertex_cli(repo, emulator, "apply", "--yes")  # no key: numbers is blocked, other is created
    assert applied.code == 1, applied.text
    last = applied.out.rstrip().splitlines()[-1]
    assert last == "Not converged: 1 model blocked, left as it is (vertex/numbers).", applied.text
    assert applied.text.count("model blocked") == 1 and "2 models blocked" not in applied.text
    nothing_else = vertex_cli(repo, emulator, "apply", "--yes")
    assert nothing_else.code == 1
    assert nothing_else.out.rstrip().splitlines()[-1] == last, nothing_else.text
