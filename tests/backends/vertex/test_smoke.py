from __future__ import annotations

from pathlib import Path

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import manifest, vertex_cli, write_repo


def test_create_then_converge(tmp_path: Path, make_emulator) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers", smoke=(("3", "4"),))])
    first = vertex_cli(repo, emulator, "apply", "--yes")
    print(first.text)
    assert first.code == 0
    second = vertex_cli(repo, emulator, "plan", "--detailed-exitcode")
    print(second.text)
    assert second.code == 0
