"""Long-running operations take one step of the emulator's clock: a delete or
undeploy is not done when first answered, and the backend polls it to its end
(and reports the error it ends with)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from tests.backends.vertex.helpers import counts, listed, manifest, reset_counts, vertex_cli, vertex_faults, write_repo
from tests.emulator.vertex_helpers import PARENT


def _operation_reads(emulator: Any) -> int:
    return sum(n for call, n in counts(emulator).items() if call.startswith("GET") and "/operations/" in call)


def test_a_delete_is_polled_until_its_operations_end(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0.1)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    reset_counts(emulator)
    (repo / "manifests" / "numbers.yaml").unlink()
    result = vertex_cli(repo, emulator, "apply", "--yes", "--allow-empty")
    assert result.code == 0, result.text
    assert _operation_reads(emulator) >= 2  # the endpoint's delete and the Model's, each polled
    assert listed(emulator, "models") == [] and listed(emulator, "endpoints") == []


def test_an_operation_that_ends_in_error_after_a_while_fails_the_delete(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0.1)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    vertex_faults(emulator, operation_errors=3)
    (repo / "manifests" / "numbers.yaml").unlink()
    result = vertex_cli(repo, emulator, "apply", "--yes", "--allow-empty")
    assert result.code != 0
    assert "Internal error encountered" in result.text
    assert len(requests.get(f"{emulator.url}/{PARENT}/models", timeout=10).json().get("models", [])) == 1
