"""The live model of a manifest id is a join of three paged lists: its tuning
jobs, its Model and the Endpoints serving it.

- The newest job (by createTime) is the current one; older ones are history.
- A running job is CREATING: wait, never create again.
- SUCCEEDED with its Model present is ACTIVE; with the Model gone it is a
  tombstone (jobs can never be deleted) and the id has no live model.
- FAILED, CANCELLED or EXPIRED is FAILED; a FAILED job may still have made a
  Model (code 13: no endpoint), which a replace deletes.

Ownership comes from the job's labels (frozen at create); the lifecycle flags
from the Model's, once the reconciler has written them there.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.backends.vertex.labels import FORGOTTEN, ID, LabelMarker
from reconciler.backends.vertex.names import ADDRESS_TEMPLATE, unmanaged_key, without_version
from reconciler.backends.vertex.rules import ADAPTER_SIZE_NAMES, ADAPTER_SIZE_NUMBERS, BASE_MODELS
from reconciler.model.live import LiveModel, LiveState
from reconciler.model.ownership import Ownership

RUNNING = frozenset({"JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_CANCELLING",
                     "JOB_STATE_PAUSED", "JOB_STATE_UPDATING"})
SUCCEEDED = "JOB_STATE_SUCCEEDED"
JOB_STATE_NAMES = {0: "JOB_STATE_UNSPECIFIED", 1: "JOB_STATE_QUEUED", 2: "JOB_STATE_PENDING",
                   3: "JOB_STATE_RUNNING", 4: "JOB_STATE_SUCCEEDED", 5: "JOB_STATE_FAILED",
                   6: "JOB_STATE_CANCELLING", 7: "JOB_STATE_CANCELLED", 8: "JOB_STATE_PAUSED",
                   9: "JOB_STATE_EXPIRED", 10: "JOB_STATE_UPDATING", 11: "JOB_STATE_PARTIALLY_SUCCEEDED"}
_SIZE_BY_NAME = {name: size for size, name in ADAPTER_SIZE_NAMES.items()}
_SIZE_BY_NUMBER = {number: size for size, number in ADAPTER_SIZE_NUMBERS.items()}
# The service's label of a tuned Model's base model (dots become `_`).
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"


@dataclass(frozen=True)
class Handle:
    """What the backend needs to act on one live model."""

    job: dict[str, Any] | None
    model: dict[str, Any] | None
    endpoints: tuple[str, ...] = ()
    # Models of this id's earlier jobs still present (a replace that stopped
    # before its delete): a delete removes them too.
    leftovers: tuple[dict[str, Any], ...] = ()
    jobs: tuple[dict[str, Any], ...] = field(default=())


def job_state(job: Mapping[str, Any]) -> str:
    state = job.get("state", 0)
    return JOB_STATE_NAMES.get(state, str(state)) if isinstance(state, int) else str(state)


def job_endpoints(job: Mapping[str, Any]) -> tuple[str, ...]:
    tuned = job.get("tunedModel") or {}
    names = [tuned.get("endpoint", "")] + [c.get("endpoint", "") for c in tuned.get("checkpoints") or ()]
    return tuple(dict.fromkeys(n for n in names if n))


def job_model(job: Mapping[str, Any]) -> str:
    return without_version((job.get("tunedModel") or {}).get("model", ""))


def hyperparameters(job: Mapping[str, Any]) -> dict[str, Any]:
    sent = ((job.get("supervisedTuningSpec") or {}).get("hyperParameters")) or {}
    values: dict[str, Any] = {}
    if "epochCount" in sent:
        values["epochCount"] = int(sent["epochCount"])
    if "learningRateMultiplier" in sent:
        values["learningRateMultiplier"] = float(sent["learningRateMultiplier"])
    size = sent.get("adapterSize")
    if size is not None:
        values["adapterSize"] = _SIZE_BY_NUMBER.get(size) if isinstance(size, int) else _SIZE_BY_NAME.get(size)
    return values


class Join:
    """Jobs, Models and Endpoints (as listed) decoded into live models."""

    def __init__(self, marker: LabelMarker, jobs: Iterable[dict[str, Any]], models: Iterable[dict[str, Any]],
                 endpoints: Iterable[dict[str, Any]]) -> None:
        self.marker = marker
        self.models = {without_version(m["name"]): m for m in models}
        self.endpoints = {e["name"]: e for e in endpoints}
        self.jobs_by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.ownership: dict[str, Ownership] = {}
        for job in jobs:
            reading = marker.read(job.get("labels") or {}, "")
            if reading.ownership is not None and reading.key:
                self.jobs_by_key[reading.key].append(job)
                self.ownership[job["name"]] = reading.ownership
        for key_jobs in self.jobs_by_key.values():
            key_jobs.sort(key=lambda j: (j.get("createTime", ""), j["name"]))
        forgotten = {name for name, m in self.models.items() if FORGOTTEN in (m.get("labels") or {})}
        # Every Model a managed job made (older runs' leftovers too) is claimed;
        # only the newest run's Model is what its key's model is now, so a
        # model tuned from an earlier incarnation of its source shows that.
        self.model_keys = {job_model(j): k for k, js in self.jobs_by_key.items() for j in js
                           if job_model(j) and job_model(j) not in forgotten}
        self.current_models = {job_model(js[-1]): k for k, js in self.jobs_by_key.items()
                               if job_model(js[-1]) in self.model_keys}

    def live_models(self) -> list[LiveModel]:
        lives = [live for key in sorted(self.jobs_by_key) if (live := self._from_jobs(key)) is not None]
        claimed = set(self.model_keys)
        for name, body in sorted(self.models.items()):
            if name not in claimed:
                lives.append(self._from_model_alone(name, body))
        return lives

    def _from_jobs(self, key: str) -> LiveModel | None:
        jobs = self.jobs_by_key[key]
        job = jobs[-1]
        state = job_state(job)
        model = self.models.get(job_model(job))
        if model is not None and job_model(job) not in self.model_keys:
            return None  # forgotten: the Model is left live, and no longer the reconciler's
        if state == SUCCEEDED and model is None:
            return None  # a tombstone: the model was deleted, the job stays forever
        live_state = LiveState.CREATING if state in RUNNING else (
            LiveState.ACTIVE if state == SUCCEEDED else LiveState.FAILED)
        ownership = self._ownership(self.ownership[job["name"]], model)
        leftovers = tuple(m for j in jobs[:-1] if (m := self.models.get(job_model(j))) is not None
                          and job_model(j) != job_model(job))
        endpoints = self._endpoints_of(job, model)
        pre_tuned = job.get("preTunedModel") or {}
        source_name = without_version(pre_tuned.get("tunedModelName", ""))
        source_key = self.current_models.get(source_name) if source_name else None
        fields_from = model or {"displayName": job.get("tunedModelDisplayName", ""),
                                "description": job.get("description", "")}
        metadata = job.get("tuningJobMetadata") or {}
        return LiveModel(
            key=key,
            address=ADDRESS_TEMPLATE.format(key=key),
            ownership=ownership,
            state=live_state,
            source=(source_key or source_name) if source_name else job.get("baseModel", ""),
            source_key=source_key,
            base_model=pre_tuned.get("baseModel") or job.get("baseModel", ""),
            fields={"spec.displayName": fields_from.get("displayName", ""),
                    "spec.description": fields_from.get("description", "")},
            hyperparameters=hyperparameters(job),
            create_time=job.get("createTime", ""),
            update_time=(model or job).get("updateTime", ""),
            step=int(metadata.get("completedStepCount", 0) or 0),
            serving=_serving(model, job, live_state),
            handle=Handle(job=job, model=model, endpoints=endpoints, leftovers=leftovers, jobs=tuple(jobs)),
        )

    def _ownership(self, from_job: Ownership, model: dict[str, Any] | None) -> Ownership:
        """The job's ownership, with the lifecycle flags the Model's labels say
        now (when they verify and record the same inputs)."""
        if model is None:
            return from_job
        on_model = self.marker.read(model.get("labels") or {}, without_version(model["name"])).ownership
        if on_model is None or on_model.inputs != from_job.inputs:
            return from_job
        return replace(from_job, orphan=on_model.orphan, protect=on_model.protect, untested=on_model.untested)

    def _endpoints_of(self, job: Mapping[str, Any], model: Mapping[str, Any] | None) -> tuple[str, ...]:
        """The job's endpoints (checkpoints included) and any listed endpoint
        that serves its Model."""
        names = list(job_endpoints(job))
        if model is not None:
            names += [ref.get("endpoint", "") for ref in model.get("deployedModels") or ()]
            model_name = without_version(model["name"])
            names += [name for name, body in self.endpoints.items()
                      if any(without_version(d.get("model", "")) == model_name
                             for d in body.get("deployedModels") or ())]
        return tuple(dict.fromkeys(n for n in names if n))

    def _from_model_alone(self, name: str, body: dict[str, Any]) -> LiveModel:
        """A tuned Model no managed job made: adopted by `import` (its labels
        verify), or not the reconciler's."""
        labels = body.get("labels") or {}
        reading = self.marker.read(labels, name)
        key = reading.key if reading.ownership is not None and reading.key else unmanaged_key(name)
        base = _base_model_of(labels)
        refs = [r.get("endpoint", "") for r in body.get("deployedModels") or ()]
        return LiveModel(
            key=key,
            address=name if reading.ownership is None else ADDRESS_TEMPLATE.format(key=key),
            ownership=reading.ownership,
            ownership_note=reading.note,
            source=base,
            base_model=base,
            fields={"spec.displayName": body.get("displayName", ""), "spec.description": body.get("description", "")},
            create_time=body.get("createTime", ""),
            update_time=body.get("updateTime", ""),
            serving=_serving(body, None, LiveState.ACTIVE),
            handle=Handle(job=None, model=body, endpoints=tuple(dict.fromkeys(r for r in refs if r))),
        )


def _serving(model: Mapping[str, Any] | None, job: Mapping[str, Any] | None, state: LiveState) -> dict[str, str]:
    serving: dict[str, str] = {}
    if job is not None:
        serving["job"] = job["name"]
    if model is not None:
        serving["model"] = without_version(model["name"])
    endpoint = (job or {}).get("tunedModel", {}).get("endpoint") if job else None
    if endpoint is None and model is not None:
        refs = model.get("deployedModels") or ()
        endpoint = refs[0].get("endpoint") if refs else None
    if endpoint and state is LiveState.ACTIVE:
        serving["endpoint"] = endpoint
    return serving


def _base_model_of(labels: Mapping[str, str]) -> str:
    """The base model the service's label names (`gemini-2_5-flash`), as the catalog spells it."""
    value = labels.get(BASE_MODEL_LABEL, "")
    return next((name for name in BASE_MODELS if name.replace(".", "_") == value), value)


def key_of_labels(labels: Mapping[str, str]) -> str | None:
    return labels.get(ID)
