"""The Bedrock resources in the shared store, and the end of a job.

Documents, one kind each, keyed by `{region}/{name}` (names are unique per
account and region): `bedrock.job`, `bedrock.model`, `bedrock.deployment`;
`bedrock.arn` (an ARN → the kind and key of what it names: identifiers may be
ARNs, and tags are kept by ARN); `bedrock.token` (a `clientRequestToken` →
the ARN its create made, so that a retried create answers it again);
`bedrock.open` (a marker per job that has not ended, so that `settle` looks
only at those); `bedrock.examples` (what a job's data teaches, the
(prompt, answer) pairs its custom model answers from, by the job's key).

Every read-modify-write holds one lock and a store transaction (`exclusive`),
so that two creates with one token make one job, and a job ends into exactly
one custom model, also with another emulator on the same state file."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from reconciler.emulator.bedrock import errors, names
from reconciler.emulator.bedrock.faults import BedrockFaults
from reconciler.emulator.bedrock.timeline import COMPLETED, phase
from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.quota import SubmissionQuota
from reconciler.emulator.settings import TuningSettings
from reconciler.emulator.store import Document, DocumentChange, Store

JOBS, MODELS, DEPLOYMENTS = "bedrock.job", "bedrock.model", "bedrock.deployment"
ARNS, TOKENS, OPEN = "bedrock.arn", "bedrock.token", "bedrock.open"
# What a job's data teaches, by the job's key, apart from the job and its model:
# only the runtime reads it, and a list need not decode it.
EXAMPLES = "bedrock.examples"
MAX_TAGS = 50


class Bedrock:
    """What the Bedrock services share: store, ids, tuning speed, faults, one lock."""

    def __init__(
        self, store: Store, ids: IdMaker, tuning: TuningSettings, quota: SubmissionQuota | None = None
    ) -> None:
        self.store = store
        self.ids = ids
        self.tuning = tuning
        self.faults = BedrockFaults()
        self.quota = quota or SubmissionQuota()  # customization-job submissions, per account and region
        self.lock = threading.RLock()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self.lock, self.store.transaction():
            yield

    # --- documents by name or ARN ------------------------------------------------------------

    def save(self, kind: str, document: Document) -> None:
        self.store.change_document(kind, document["key"], lambda _: document)
        entry = {"kind": kind, "key": document["key"]}
        self.store.change_document(ARNS, document["arn"], lambda _: entry)

    def remove(self, kind: str, document: Document) -> None:
        self.store.change_document(kind, document["key"], lambda _: None)
        self.store.change_document(ARNS, document["arn"], lambda _: None)

    def find(self, kind: str, region: str, identifier: str) -> Document | None:
        """A resource named by its ARN or its name, in this region."""
        if identifier.startswith("arn:"):
            entry = self.store.get_document(ARNS, identifier)
            if entry is None or entry["kind"] != kind:
                return None
            found = self.store.get_document(kind, entry["key"])
        else:
            found = self.store.get_document(kind, names.key(region, identifier))
        return found if found is not None and found["region"] == region else None

    def by_arn(self, arn: str) -> tuple[str, Document] | None:
        entry = self.store.get_document(ARNS, arn)
        if entry is None:
            return None
        found = self.store.get_document(entry["kind"], entry["key"])
        return (entry["kind"], found) if found is not None else None

    def all(self, kind: str, region: str) -> list[Document]:
        return [
            document for _, document in self.store.documents_after(kind, 0, 10_000_000) if document["region"] == region
        ]

    # --- idempotency tokens --------------------------------------------------------------

    def made_by(self, region: str, operation: str, token: str | None) -> str | None:
        """The ARN an earlier create with this token made, if any."""
        if not token:
            return None
        entry = self.store.get_document(TOKENS, f"{region}/{operation}/{token}")
        return entry["arn"] if entry else None

    def remember(self, region: str, operation: str, token: str | None, arn: str) -> None:
        if token:
            self.store.change_document(TOKENS, f"{region}/{operation}/{token}", lambda _: {"arn": arn})

    # --- tags ------------------------------------------------------------------------------

    def running_jobs(self) -> list[Document]:
        """The jobs that have not ended (as of the last `settle`)."""
        markers = self.store.documents_after(OPEN, 0, 10_000_000)
        found = (self.store.get_document(JOBS, marker["key"]) for _, marker in markers)
        return [job for job in found if job is not None]

    def examples(self, model: Document) -> list[list[str]]:
        """The (prompt, answer) pairs a custom model was trained on."""
        taught = self.store.get_document(EXAMPLES, model["examples_key"])
        return list(taught["examples"]) if taught else []

    def check_tag_count(self, tags: list[Document], resource: str) -> None:
        if len({tag["key"] for tag in tags}) > MAX_TAGS:
            raise errors.too_many_tags(resource)

    # --- the end of a job ------------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Record the end of every job whose run has ended by `now`, once; a
        Completed job's custom model is made then."""
        with self.exclusive():
            for _, marker in self.store.documents_after(OPEN, 0, 10_000_000):
                job = self.store.get_document(JOBS, marker["key"])
                if job is None:
                    continue
                run = phase(job, now)
                if not run.ended:
                    continue
                job["outcome"] = {"status": run.status, "end_time": run.end_time, "epochs_done": run.epochs_done}
                if run.status == COMPLETED:
                    self._custom_model(job, run.end_time or now, run.epochs_done)
                self.store.change_document(JOBS, job["key"], _becomes(job))
                self.store.change_document(OPEN, marker["key"], lambda _: None)

    def _custom_model(self, job: Document, when: float, epochs_done: int) -> None:
        model = {
            "key": names.key(job["region"], job["custom_model_name"]),
            "name": job["custom_model_name"],
            "arn": job["output_model_arn"],
            "region": job["region"],
            "create_time": when,
            "job_name": job["name"],
            "job_arn": job["arn"],
            "base_model": job["base_model"],
            "customization_type": job["customization_type"],
            "kms_key": job.get("kms_key", ""),
            "hyper_parameters": job["hyper_parameters"],
            "training": job["training"],
            "validation": job["validation"],
            "output": job["output"],
            "customization_config": job.get("customization_config"),
            "epochs_done": epochs_done,
            "tags": job["custom_model_tags"],
            "examples_key": job["key"],
        }
        self.save(MODELS, model)


def _becomes(document: Document) -> DocumentChange:
    return lambda _: document


def region_of(call: Call) -> str:
    return call.credential.region if call.credential else "us-east-1"


def serialized(handler: Callable[..., Reply]) -> Callable[..., Reply]:
    """Run a handler that changes documents under the Bedrock lock (see `Bedrock.exclusive`)."""

    @functools.wraps(handler)
    def locked(service: Any, *args: Any, **kwargs: Any) -> Reply:
        with service.bedrock.exclusive():
            return handler(service, *args, **kwargs)

    return locked
