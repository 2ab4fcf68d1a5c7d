"""The Vertex resources in the shared store, and what happens when a tuning
job ends: the Model (or a new version of the source Model) and its Endpoints.

Documents, one kind each: `vertex.job`, `vertex.model`, `vertex.endpoint`,
`vertex.operation`, `vertex.open` (a marker per job that has not ended,
so that `settle` looks only at those) and `vertex.pending` (a delete made when
its delayed operation ends). Keys are `{number}/{location}/{id}`;
operations are keyed by their full name.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from reconciler.emulator.calls import Reply
from reconciler.emulator.errors import ApiError, invalid_argument, not_found
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.quota import SubmissionQuota
from reconciler.emulator.settings import TuningSettings
from reconciler.emulator.store import Document, Store
from reconciler.emulator.vertex import render
from reconciler.emulator.vertex.faults import VertexFaults
from reconciler.emulator.vertex.names import Parent, new_id
from reconciler.emulator.vertex.timeline import (
    CANCELLED,
    ENDED,
    Phase,
    failed_after_epochs,
    failure,
    phase,
)

JOBS, MODELS, ENDPOINTS = "vertex.job", "vertex.model", "vertex.endpoint"
OPERATIONS, OPEN = "vertex.operation", "vertex.open"
PENDING = "vertex.pending"  # a delete whose operation has not ended yet: made when it does
FAILED_ENDPOINT_MESSAGE = (
    "Failed to create endpoint. Tuned model is uploaded and can be accessed through Model Registry."
)
MAX_CHECKPOINTS = 10  # with intermediate checkpoints: one per epoch, at most ten [docs]
MAX_LABELS = 64


class Vertex:
    """What the Vertex services share: store, ids, tuning speed, faults, one settle lock."""

    def __init__(
        self, store: Store, ids: IdMaker, tuning: TuningSettings, quota: SubmissionQuota | None = None
    ) -> None:
        self.store = store
        self.ids = ids
        self.tuning = tuning
        self.faults = VertexFaults()
        self.quota = quota or SubmissionQuota()  # tuning-job submissions, per project and location
        # Every read-modify-write of a Vertex document, and every settle, holds this lock
        # (through `exclusive`): a settle adds versions and deployments to Models that a
        # PATCH may be changing.
        self.lock = threading.RLock()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """This lock, and a store transaction: another emulator sharing the state file
        waits too, and what is read inside is what it wrote (one job never ends twice
        into two Models)."""
        with self.lock, self.store.transaction():
            yield

    # --- documents -----------------------------------------------------------------------

    def find(self, kind: str, where: Parent, resource_id: str) -> Document | None:
        return self.store.get_document(kind, where.key(resource_id))

    def save(self, kind: str, document: Document) -> None:
        key = render.parent(document).key(document["id"])
        self.store.change_document(kind, key, lambda _: document)

    def remove(self, kind: str, document: Document) -> None:
        self.store.change_document(kind, render.parent(document).key(document["id"]), lambda _: None)

    def operation(
        self,
        resource_name: str,
        api_version: str,
        metadata_type: str,
        response_type: str,
        now: float,
        response: Document | None = None,
    ) -> Document:
        """A new operation, in progress for one step of the clock (`step_seconds`,
        or the `operation_seconds` fault when set) and failed when an
        `operation_errors` fault is armed (its caller then makes no change).
        `response` is the message of `response_type` it answers once done."""
        name = f"{resource_name}/operations/{new_id(self.ids)}"
        seconds = self.faults.operation_seconds or self.tuning.step_seconds
        document: Document = {
            "name": name,
            "api_version": api_version,
            "metadata_type": metadata_type,
            "response_type": response_type,
            "time": now,
            "done_time": now + seconds,
        }
        if self.faults.take("operation_errors"):  # [infer] the text
            document["error"] = {"code": 13, "message": "Internal error encountered."}
        elif response:
            document["response"] = response
        self.store.change_document(OPERATIONS, name, lambda _: document)
        return document

    def remove_when_done(self, kind: str, document: Document, operation: Document) -> None:
        """A delete's change: made with its operation's end, none if that is an error.
        Until then the resource stays readable [infer]."""
        if operation.get("error"):
            return
        if operation["done_time"] <= operation["time"]:
            self.remove(kind, document)
            return
        key = render.parent(document).key(document["id"])
        pending = {"operation": operation["name"], "kind": kind, "key": key, "done_time": operation["done_time"]}
        self.store.change_document(PENDING, operation["name"], lambda _: pending)

    # --- the end of a tuning run ---------------------------------------------------------

    def settle(self, now: float) -> None:
        """Record the end of every job whose run has ended by `now`, once."""
        with self.exclusive():
            for _, marker in self.store.documents_after(OPEN, 0, 1_000_000):
                job = self.store.get_document(JOBS, marker["key"])
                if job is None:
                    continue
                run = phase(job, now)
                if run.ended:
                    self._finish(job, run)
                    self.store.change_document(OPEN, marker["key"], lambda _: None)
            for _, pending in self.store.documents_after(PENDING, 0, 1_000_000):
                if pending["done_time"] <= now:  # a delayed delete has ended
                    self.store.change_document(pending["kind"], pending["key"], lambda _: None)
                    self.store.change_document(PENDING, pending["operation"], lambda _: None)

    def _finish(self, job: Document, run: Phase) -> None:
        assert run.ends_at is not None
        outcome: Document = {
            "state": run.state,
            "end_time": run.ends_at,
            "start_time": run.start_time,
            "completed_epochs": run.completed_epochs,
            "completed_steps": run.completed_steps,
        }
        if run.state == CANCELLED:
            outcome["error"] = {"code": 1, "message": "CANCELLED"}
        elif failure(job) == "tuning":  # [infer] the text; 13 as the endpoint failure
            outcome["error"] = {
                "code": 13,
                "message": (f"Tuning failed at epoch {failed_after_epochs(job) + 1} of {job['epochs']}."),
            }
        else:
            model, version = self._register(job, run.ends_at)
            model_ref = f"{render.parent(model).child('models', model['id'])}@{version['version_id']}"
            if failure(job) == "endpoint":
                outcome["error"] = {"code": 13, "message": FAILED_ENDPOINT_MESSAGE}
                outcome["tuned_model"] = {"model": model_ref}
            else:
                outcome["tuned_model"] = self._deploy(job, model, version, model_ref, run.ends_at)
        job["outcome"] = outcome
        self.save(JOBS, job)

    def _register(self, job: Document, when: float) -> tuple[Document, Document]:
        """A new Model, or a new version of the source Model (same display name)."""
        source = self._source_model(job)
        version = {
            "create_time": when,
            "update_time": when,
            "description": "",
            "checkpoints": _checkpoints(job),
            "base_model": job["base_model"],
            "job_id": job["id"],
            "examples": job["examples"],
            "aliases": [],
        }
        version["default_checkpoint_id"] = version["checkpoints"][-1]["checkpointId"]
        if source is not None:
            version["version_id"] = str(max(int(v["version_id"]) for v in source["versions"]) + 1)
            source["versions"].append(version)
            source["update_time"] = when
            self.save(MODELS, source)
            return source, version
        version.update(version_id="1", aliases=["default"])
        model = {
            "id": new_id(self.ids),
            "parent": job["parent"],
            "create_time": when,
            "update_time": when,
            "display_name": job["display_name"],
            "description": job["description"],
            "labels": {**job["labels"], **_system_labels(job)},
            "versions": [version],
            "deployed": [],
            "delete_refusals": 0,
        }
        self.save(MODELS, model)
        return model, version

    def _source_model(self, job: Document) -> Document | None:
        source_name = job.get("source_model_key")
        if not source_name:
            return None
        source = self.store.get_document(MODELS, source_name)
        if source is None or job["display_name"] != source["display_name"]:
            return None
        return source

    def _deploy(self, job: Document, model: Document, version: Document, model_ref: str, when: float) -> Document:
        """The default endpoint, plus one per intermediate checkpoint unless export-last-only."""
        checkpoints = version["checkpoints"]
        default = self._endpoint(job, model, version, checkpoints[-1]["checkpointId"], when)
        tuned: Document = {"model": model_ref, "endpoint": default}
        if job["spec"].get("exportLastCheckpointOnly"):
            return tuned
        listed = []
        for point in checkpoints:
            is_default = point is checkpoints[-1]
            endpoint = default if is_default else self._endpoint(job, model, version, point["checkpointId"], when)
            listed.append({**point, "endpoint": endpoint})
        tuned["checkpoints"] = listed
        return tuned

    def _endpoint(self, job: Document, model: Document, version: Document, checkpoint_id: str, when: float) -> str:
        where = render.parent(model)
        deployed_id = new_id(self.ids)
        endpoint = {
            "id": new_id(self.ids),
            "parent": model["parent"],
            "create_time": when,
            "update_time": when,
            "display_name": model["display_name"],
            "description": "",
            # [infer] the job's labels propagate to the endpoints as to the Model
            "labels": dict(job["labels"]),
            "deployed": [
                {
                    "id": deployed_id,
                    "model": where.child("models", model["id"]),
                    "model_version_id": version["version_id"],
                    "checkpoint_id": checkpoint_id,
                    "display_name": model["display_name"],
                    "create_time": when,
                }
            ],
            "traffic_split": {deployed_id: 100},
        }
        self.save(ENDPOINTS, endpoint)
        endpoint_name = where.child("endpoints", endpoint["id"])
        model["deployed"].append(
            {"endpoint": endpoint_name, "deployed_model_id": deployed_id, "version_id": version["version_id"]}
        )
        self.save(MODELS, model)
        return endpoint_name


def _checkpoints(job: Document) -> list[Document]:
    """Checkpoint ids "1", "2", …; the last is the default. Only the final one when
    exportLastCheckpointOnly, else one per epoch, at most MAX_CHECKPOINTS evenly spread."""
    epochs, per_epoch = job["epochs"], job["steps_per_epoch"]
    if job["spec"].get("exportLastCheckpointOnly"):
        chosen = [epochs]
    else:
        chosen = sorted(
            {
                max(1, round(epochs * k / min(epochs, MAX_CHECKPOINTS)))
                for k in range(1, min(epochs, MAX_CHECKPOINTS) + 1)
            }
        )
    return [
        {"checkpointId": str(index), "epoch": str(epoch), "step": str(epoch * per_epoch)}
        for index, epoch in enumerate(chosen, start=1)
    ]


def _system_labels(job: Document) -> dict[str, str]:
    """The labels the service puts on a tuned Model; google-genai lists by tune-type."""
    return {
        "tune-type": "sft",
        "google-vertex-llm-tuning-base-model-id": job["base_model"].replace(".", "_"),
        "google-vertex-llm-tuning-job-id": job["id"],
    }


def is_open(run: Phase) -> bool:
    return run.state not in ENDED


def check_labels(value: Any, field: str) -> dict[str, str]:
    """Labels: at most 64, keys and values up to 63 lowercase letters, digits, _ and -;
    a key starts with a letter (international letters allowed, as documented)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_LABELS:
        raise invalid_argument(f"{field} must be a map of at most {MAX_LABELS} labels.", field)
    for key, item in value.items():
        if not (
            isinstance(item, str) and _label_text(key, first_letter=True) and _label_text(item, first_letter=False)
        ):
            raise invalid_argument(
                f"Invalid label {str(key)[:70]!r}: {str(item)[:70]!r}. Keys and values may have "
                "up to 63 lowercase letters, digits, underscores and dashes; keys start with a "
                "letter.",
                field,
            )
    return dict(value)


def _label_text(text: str, first_letter: bool) -> bool:
    if len(text) > 63 or (first_letter and not text[:1].isalpha()):
        return False
    return all((ch.isalnum() and not ch.isupper()) or ch in "_-" for ch in text)


def missing(kind: str, name: str) -> ApiError:
    # The recorded form (a Config Connector log of the real service): `endpoint "…" not found`.
    return not_found(f'{kind} "{name[:300]}" not found')


def serialized(handler: Callable[..., Reply]) -> Callable[..., Reply]:
    """Run a handler that changes documents under the Vertex lock (see `Vertex.exclusive`)."""

    @functools.wraps(handler)
    def locked(service: Any, *args: Any, **kwargs: Any) -> Reply:
        with service.vertex.exclusive():
            return handler(service, *args, **kwargs)

    return locked
