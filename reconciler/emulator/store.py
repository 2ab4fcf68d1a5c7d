"""Where tuned models live: a `Store` protocol with an in-memory and a SQLite
implementation. Both are safe under concurrent requests (one lock each) and
keep models in creation order, which paging relies on.

The same store keeps the other surfaces' resources (Vertex AI jobs, models,
endpoints; Cloud Storage buckets and objects) as JSON documents of a `kind`,
also in creation order, so that one reset and one state file cover them all.

A SQLite file may be shared by several emulators (two `reconciler --emulator`
runs in one repository): every read-modify-write is one `BEGIN IMMEDIATE`
transaction, and `transaction()` makes several of them one, so that each
process sees the others' writes before it changes anything. A file that is not
a sound store is refused when opened (`StateFileError`), never served."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from reconciler.emulator.errors import already_exists, tuned_model_not_found
from reconciler.emulator.records import TunedModelRecord

MEMORY = ":memory:"
# How long a write waits for another process's transaction on a shared file.
BUSY_TIMEOUT_SECONDS = 30.0

Mutation = Callable[[TunedModelRecord], TunedModelRecord]
Document = dict[str, Any]
# Gets the current document (None when absent) and returns the new one (None deletes it).
DocumentChange = Callable[[Document | None], Document | None]


class Store(Protocol):
    def get(self, model_id: str) -> TunedModelRecord | None: ...

    def insert(self, record: TunedModelRecord) -> None:
        """Add a model; ALREADY_EXISTS when its id is taken."""

    def mutate(self, model_id: str, change: Mutation) -> TunedModelRecord:
        """Apply `change` atomically and keep its result; NOT_FOUND when absent."""

    def delete(self, model_id: str) -> None:
        """Remove a model; NOT_FOUND when absent."""

    def list_after(self, position: int, limit: int) -> list[tuple[int, TunedModelRecord]]:
        """Up to `limit` models created after `position`, with their positions;
        without their training examples (`example_count` says how many), which no
        list returns and which are most of a record's size."""

    def get_document(self, kind: str, key: str) -> Document | None: ...

    def change_document(self, kind: str, key: str, change: DocumentChange) -> Document | None:
        """Apply `change` atomically: it may create, replace or (returning None) delete."""

    def documents_after(self, kind: str, position: int, limit: int) -> list[tuple[int, Document]]:
        """Up to `limit` documents of `kind` created after `position`, with their positions."""

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """Make the calls inside one isolated change, also towards other processes
        sharing the file (their writes wait; what is read inside stays true);
        re-entrant within a thread. What was written is kept if the body raises."""

    def clear(self) -> None: ...

    def close(self) -> None: ...


class StateFileError(Exception):
    """The state file cannot be used; the message names it and says how to start over."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"The emulator's state file {path} is not usable: {reason}. Nothing was served. "
            f"To start over, delete it (every emulated resource in it is lost): "
            f"rm -f '{path}' '{path}-wal' '{path}-shm'"
        )
        self.path = path


def open_store(state: str) -> Store:
    """`:memory:` keeps nothing across restarts; a path is a SQLite file."""
    return MemoryStore() if state == MEMORY else SqliteStore(state)


def _taken(model_id: str) -> Exception:
    return already_exists(f"Tuned model tunedModels/{model_id} already exists.")


def require(store: Store, model_id: str) -> TunedModelRecord:
    """The model's record, or the API's own 404 for a missing tuned model."""
    record = store.get(model_id)
    if record is None:
        raise tuned_model_not_found(model_id)
    return record


class MemoryStore:
    """Models kept as JSON documents, like the SQLite store: decoding one is
    cheap, and every caller gets its own copy to change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # model id -> (position, the record without its examples, its examples)
        self._documents: dict[str, tuple[int, str, str]] = {}
        self._next_position = 1
        self._kinds: dict[str, dict[str, tuple[int, str]]] = {}

    def get(self, model_id: str) -> TunedModelRecord | None:
        with self._lock:
            entry = self._documents.get(model_id)
        return _decode(entry[1], entry[2]) if entry else None

    def insert(self, record: TunedModelRecord) -> None:
        head, examples = _encode(record)
        with self._lock:
            if record.model_id in self._documents:
                raise _taken(record.model_id)
            self._documents[record.model_id] = (self._next_position, head, examples)
            self._next_position += 1

    def mutate(self, model_id: str, change: Mutation) -> TunedModelRecord:
        with self._lock:
            if model_id not in self._documents:
                raise tuned_model_not_found(model_id)
            position, head, examples = self._documents[model_id]
            changed = change(_decode(head, examples))
            self._documents[model_id] = (position, *_encode(changed))
        return changed

    def delete(self, model_id: str) -> None:
        with self._lock:
            if self._documents.pop(model_id, None) is None:
                raise tuned_model_not_found(model_id)

    def list_after(self, position: int, limit: int) -> list[tuple[int, TunedModelRecord]]:
        with self._lock:
            # dicts keep insertion order, which is creation order here
            entries = [entry for entry in self._documents.values() if entry[0] > position]
        return [(pos, _decode(head)) for pos, head, _ in entries[:limit]]

    def get_document(self, kind: str, key: str) -> Document | None:
        with self._lock:
            entry = self._kinds.get(kind, {}).get(key)
        return _load(entry[1]) if entry else None

    def change_document(self, kind: str, key: str, change: DocumentChange) -> Document | None:
        with self._lock:
            documents = self._kinds.setdefault(kind, {})
            entry = documents.get(key)
            changed = change(_load(entry[1]) if entry else None)
            if changed is None:
                documents.pop(key, None)
            elif entry:
                documents[key] = (entry[0], _dump(changed))
            else:
                documents[key] = (self._next_position, _dump(changed))
                self._next_position += 1
        return changed

    def documents_after(self, kind: str, position: int, limit: int) -> list[tuple[int, Document]]:
        with self._lock:
            entries = [entry for entry in self._kinds.get(kind, {}).values() if entry[0] > position]
        return [(pos, _load(document)) for pos, document in entries[:limit]]

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        # Nothing outside this process sees it; the callers' own locks serialize them.
        return contextlib.nullcontext()

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()
            self._kinds.clear()

    def close(self) -> None:
        pass


class SqliteStore:
    """One table, one JSON document per model; the file persists across runs and
    may be shared by several processes (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self._path = path
        # Re-entrant: a transaction holds it while the calls inside take it again.
        self._lock = threading.RLock()
        self._depth = 0  # nesting of transaction() in the thread that holds the lock
        try:
            self._db = sqlite3.connect(
                path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS
            )
            self._use_wal()
            with self.transaction():  # two processes opening a new file make its tables once
                self._create_tables()
            self._check_sound()
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self._db.close()
            raise StateFileError(path, f"SQLite says: {exc}") from None
        except StateFileError:
            self._db.close()
            raise

    def _use_wal(self) -> None:
        """WAL, so that readers never wait for a writer. Switching to it takes the file
        alone and, unlike other statements, does not wait when another connection is
        opening the same new file: so retry, for at most the busy timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _create_tables(self) -> None:
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS tuned_models ("
            " position INTEGER PRIMARY KEY AUTOINCREMENT,"
            " model_id TEXT NOT NULL UNIQUE,"
            " document TEXT NOT NULL)"
        )
        # The examples apart from the rest (added later: a file made before has
        # them inside `document`, which decodes the same).
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(tuned_models)")}
        if "examples" not in columns:
            self._db.execute("ALTER TABLE tuned_models ADD COLUMN examples TEXT")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents ("
            " position INTEGER PRIMARY KEY AUTOINCREMENT,"
            " kind TEXT NOT NULL,"
            " key TEXT NOT NULL,"
            " document TEXT NOT NULL,"
            " UNIQUE (kind, key))"
        )

    def _check_sound(self) -> None:
        """Refuse a damaged file now rather than answer 500 to every request that
        reads the damaged part: SQLite's own check, then every row decoded."""
        problems = [row[0] for row in self._db.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise StateFileError(
                self._path, "SQLite's integrity check failed: " + "; ".join(str(p)[:200] for p in problems)
            )
        for model_id, document, examples in self._db.execute("SELECT model_id, document, examples FROM tuned_models"):
            try:
                _decode(document, examples)
            except Exception as exc:  # any failure to decode is a broken row
                raise StateFileError(
                    self._path, f"the tuned model {str(model_id)[:100]!r} does not decode ({type(exc).__name__})"
                ) from None
        for kind, key, document in self._db.execute("SELECT kind, key, document FROM documents"):
            try:
                if not isinstance(_load(document), dict):
                    raise ValueError("not an object")
            except (ValueError, TypeError, RecursionError) as exc:
                raise StateFileError(
                    self._path,
                    f"the {str(kind)[:50]} document {str(key)[:100]!r} does not decode ({type(exc).__name__})",
                ) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            # IMMEDIATE takes the file's write lock now (waiting for another process's
            # transaction), so that what is read inside is still true when written.
            # What was written is kept even when the caller then raises (a refusal that
            # used up a fault, a committed create whose answer is lost), as in memory.
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                self._db.execute("COMMIT")

    def get(self, model_id: str) -> TunedModelRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT document, examples FROM tuned_models WHERE model_id = ?", (model_id,)
            ).fetchone()
        return _decode(row[0], row[1]) if row else None

    def insert(self, record: TunedModelRecord) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO tuned_models (model_id, document, examples) VALUES (?, ?, ?)",
                    (record.model_id, *_encode(record)),
                )
            except sqlite3.IntegrityError:
                raise _taken(record.model_id) from None

    def mutate(self, model_id: str, change: Mutation) -> TunedModelRecord:
        with self.transaction():
            row = self._db.execute(
                "SELECT document, examples FROM tuned_models WHERE model_id = ?", (model_id,)
            ).fetchone()
            if row is None:
                raise tuned_model_not_found(model_id)
            changed = change(_decode(row[0], row[1]))
            self._db.execute(
                "UPDATE tuned_models SET document = ?, examples = ? WHERE model_id = ?",
                (*_encode(changed), model_id),
            )
        return changed

    def delete(self, model_id: str) -> None:
        with self._lock:
            cursor = self._db.execute("DELETE FROM tuned_models WHERE model_id = ?", (model_id,))
            if cursor.rowcount == 0:
                raise tuned_model_not_found(model_id)

    def list_after(self, position: int, limit: int) -> list[tuple[int, TunedModelRecord]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT position, document FROM tuned_models WHERE position > ? ORDER BY position LIMIT ?",
                (position, limit),
            ).fetchall()
        return [(pos, _decode(document)) for pos, document in rows]

    def get_document(self, kind: str, key: str) -> Document | None:
        with self._lock:
            row = self._db.execute("SELECT document FROM documents WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return _load(row[0]) if row else None

    def change_document(self, kind: str, key: str, change: DocumentChange) -> Document | None:
        with self.transaction():
            row = self._db.execute("SELECT document FROM documents WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            changed = change(_load(row[0]) if row else None)
            if changed is None:
                self._db.execute("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key))
            elif row:
                self._db.execute(
                    "UPDATE documents SET document = ? WHERE kind = ? AND key = ?", (_dump(changed), kind, key)
                )
            else:
                self._db.execute(
                    "INSERT INTO documents (kind, key, document) VALUES (?, ?, ?)", (kind, key, _dump(changed))
                )
        return changed

    def documents_after(self, kind: str, position: int, limit: int) -> list[tuple[int, Document]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT position, document FROM documents WHERE kind = ? AND position > ? ORDER BY position LIMIT ?",
                (kind, position, limit),
            ).fetchall()
        return [(pos, _load(document)) for pos, document in rows]

    def clear(self) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM tuned_models")
            self._db.execute("DELETE FROM documents")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _encode(record: TunedModelRecord) -> tuple[str, str]:
    """The record without its examples, and its examples, as two documents."""
    data = record.to_dict()
    examples = data.pop("examples")
    return json.dumps(data, separators=(",", ":")), json.dumps(examples, separators=(",", ":"))


def _decode(document: str, examples: str | None = None) -> TunedModelRecord:
    """A record; without `examples` it has none (a list's), unless a document
    written before they were kept apart holds them."""
    data = json.loads(document)
    if examples is not None:
        data["examples"] = json.loads(examples)
    return TunedModelRecord.from_dict(data)


def _dump(document: Document) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _load(text: str) -> Document:
    loaded: Document = json.loads(text)
    return loaded
