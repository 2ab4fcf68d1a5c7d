"""The SQLite state file: a damaged one is refused at start with the file named
(never served as 500s), and two emulators may share one safely."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.emulator.store import SqliteStore, StateFileError
from reconciler.emulator.vertex.resources import MODELS, OPEN
from tests.emulator.vertex_helpers import PARENT, ManualClock, create_job, upload, vertex
from tests.integration.helpers_apply import manifest, run_cli, write_repo


def _filled_state(path: Path) -> None:
    """A state file with enough rows to span many pages."""
    store = SqliteStore(str(path))
    for n in range(300):
        store.change_document("test.kind", str(n), lambda _: {"text": "x" * 400})
    store.close()


def _damage_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 3 + 300] = b"A" * 300  # the middle of a b-tree page
    path.write_bytes(bytes(data))


def test_a_damaged_file_is_refused_at_start_naming_the_file(tmp_path: Path) -> None:
    state = tmp_path / "emulator.sqlite"
    _filled_state(state)
    _damage_pages(state)
    with pytest.raises(StateFileError) as refused:
        EmulatorServer(EmulatorOptions(state=str(state)))
    message = str(refused.value)
    assert str(state) in message and "malformed" in message
    assert f"rm -f '{state}'" in message  # how to start over


def test_a_row_that_does_not_decode_is_refused_at_start(tmp_path: Path) -> None:
    state = tmp_path / "emulator.sqlite"
    SqliteStore(str(state)).close()
    with contextlib.closing(sqlite3.connect(state)) as db:
        db.execute("INSERT INTO documents (kind, key, document) VALUES ('vertex.job', 'k', '{')")
        db.commit()
    with pytest.raises(StateFileError, match=r"vertex\.job document 'k' does not decode"):
        EmulatorServer(EmulatorOptions(state=str(state)))


def test_reconciler_emulator_names_the_damaged_file_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reconciler.cli.main import main

    state = tmp_path / "emulator.sqlite"
    state.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SystemExit) as exit_info:
        main(["emulator", "--port", "0", "--state", str(state)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert str(state) in err and "rm -f" in err and "Traceback" not in err


def test_an_emulator_run_with_a_damaged_file_exits_1_with_the_reason(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    state = repo / ".reconciler" / "emulator.sqlite"
    state.parent.mkdir()
    _filled_state(state)
    _damage_pages(state)
    result = run_cli(repo, emulator, "--emulator", "plan")
    assert result.code == 1, result.text
    assert "emulator.sqlite" in result.err and "rm -f" in result.err
    assert "Internal error" not in result.text and "Traceback" not in result.text


def test_two_emulators_opening_a_new_file_at_once_both_start(tmp_path: Path) -> None:
    # Before: "duplicate column name: examples" for one of them, often.
    errors: list[BaseException] = []

    def open_one(path: Path) -> None:
        try:
            SqliteStore(str(path)).close()
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    for round_number in range(10):
        path = tmp_path / f"state-{round_number}.sqlite"
        threads = [threading.Thread(target=open_one, args=(path,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert [str(e)[:160] for e in errors] == []


def test_two_emulators_on_one_file_see_each_others_writes(make_emulator: Any, tmp_path: Path) -> None:
    state = str(tmp_path / "shared.sqlite")
    first = make_emulator(state=state, seed=1)
    second = make_emulator(state=state, seed=2)
    upload(first.url)
    job = create_job(second.url)
    seen = vertex(first.url, "GET", f"v1/{job['name']}").json()
    assert seen["state"] == "JOB_STATE_SUCCEEDED"
    assert len(vertex(second.url, "GET", f"{PARENT}/models").json()["models"]) == 1


class _Watched:
    """A proxy of a store's connection that reports when a transaction is begun."""

    def __init__(self, db: sqlite3.Connection, began: threading.Event) -> None:
        self._db, self._began = db, began

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "BEGIN IMMEDIATE":
            self._began.set()
        return self._db.execute(sql, *args)

    def close(self) -> None:
        self._db.close()


def test_a_job_ended_by_two_emulators_at_once_makes_one_model(make_emulator: Any, tmp_path: Path) -> None:
    """The interleaving that made two Models for one job: the second emulator reads
    the job as still open while the first is making its Model. Now the second waits
    for the file (it begins its transaction, and blocks) before it reads anything."""
    state = str(tmp_path / "shared.sqlite")
    clock = ManualClock()
    first = make_emulator(state=state, seed=1, clock=clock, step_seconds=1)
    second = make_emulator(state=state, seed=2, clock=clock, step_seconds=1)
    upload(first.url)
    create_job(first.url)
    clock.advance(3600)  # the job has ended; nobody has seen it yet

    second_store = second.app.vertex.resources.store
    reached = threading.Event()  # the second settle began its transaction, or read the markers
    second_store._db = _Watched(second_store._db, reached)
    read_markers = second_store.documents_after

    def documents_after(kind: str, position: int, limit: int) -> Any:
        if kind == OPEN:
            reached.set()
        return read_markers(kind, position, limit)

    second_store.documents_after = documents_after  # type: ignore[method-assign]
    first_store = first.app.vertex.resources.store
    write = first_store.change_document
    other: list[threading.Thread] = []

    def change_document(kind: str, key: str, change: Any) -> Any:
        if kind == MODELS and not other:  # the first settle is about to make the Model
            other.append(threading.Thread(target=second.app.vertex.resources.settle, args=(clock(),)))
            other[0].start()
            assert reached.wait(30)
        return write(kind, key, change)

    first_store.change_document = change_document  # type: ignore[method-assign]
    first.app.vertex.resources.settle(clock())
    other[0].join(timeout=60)
    assert not other[0].is_alive()
    models = vertex(first.url, "GET", f"{PARENT}/models").json()["models"]
    assert len(models) == 1
