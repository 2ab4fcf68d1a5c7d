"""The live model of a manifest id is a join of three paged lists: its tuning
jobs, its Models and the Endpoints serving them.

- A Model is the id's only by its own labels, or as the untouched output of a
  verified job of the id (`Join`); a job's claim alone never makes it so.
- The Model that serves is the one promoted last among those whose run
  succeeded and that passed their smoke tests and gate; a newer one that has
  not (untested or held) is a candidate beside it, and the others are
  superseded (a replace removes them once the new one serves, from a fresh
  read: `_serving_and_current`).
- A run newer than the current Model that still runs makes the id CREATING:
  wait, never create again. With no Model, the newest run decides: FAILED,
  CANCELLED or EXPIRED is FAILED; SUCCEEDED with its Model gone is a tombstone
  (jobs can never be deleted) and the id has no live model.

Ownership comes from the Model's own labels once the reconciler has written
them (the lifecycle flags live there), else from the job's (frozen at create).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.backends.vertex.labels import (
    EVALUATION_LABELS,
    FORGOTTEN,
    ID,
    LabelMarker,
    Reading,
    evaluation_of,
    job_scope,
    model_scope,
    owned_labels,
)
from reconciler.backends.vertex.names import ADDRESS_TEMPLATE, last_segment, unmanaged_key, without_version
from reconciler.backends.vertex.rules import ADAPTER_SIZE_NAMES, ADAPTER_SIZE_NUMBERS, BASE_MODELS
from reconciler.model.live import LiveModel, LiveState, Reported
from reconciler.model.ownership import Ownership

RUNNING = frozenset(
    {
        "JOB_STATE_QUEUED",
        "JOB_STATE_PENDING",
        "JOB_STATE_RUNNING",
        "JOB_STATE_CANCELLING",
        "JOB_STATE_PAUSED",
        "JOB_STATE_UPDATING",
    }
)
SUCCEEDED = "JOB_STATE_SUCCEEDED"
JOB_STATE_NAMES = {
    0: "JOB_STATE_UNSPECIFIED",
    1: "JOB_STATE_QUEUED",
    2: "JOB_STATE_PENDING",
    3: "JOB_STATE_RUNNING",
    4: "JOB_STATE_SUCCEEDED",
    5: "JOB_STATE_FAILED",
    6: "JOB_STATE_CANCELLING",
    7: "JOB_STATE_CANCELLED",
    8: "JOB_STATE_PAUSED",
    9: "JOB_STATE_EXPIRED",
    10: "JOB_STATE_UPDATING",
    11: "JOB_STATE_PARTIALLY_SUCCEEDED",
}
_SIZE_BY_NAME = {name: size for size, name in ADAPTER_SIZE_NAMES.items()}
_SIZE_BY_NUMBER = {number: size for size, number in ADAPTER_SIZE_NUMBERS.items()}
# The service's label of a tuned Model's base model (dots become `_`).
BASE_MODEL_LABEL = "google-vertex-llm-tuning-base-model-id"
# The service's label of the job that made a tuned Model.
JOB_ID_LABEL = "google-vertex-llm-tuning-job-id"


@dataclass(frozen=True)
class Handle:
    """What the backend needs to act on one live model."""

    job: dict[str, Any] | None  # the current job: the one in flight, or the one that made `model`
    model: dict[str, Any] | None  # the Model this id is now (claimed by its own labels, or born of our job)
    endpoints: tuple[str, ...] = ()
    # Every other Model this id claims: the one still serving while `model` is
    # a candidate or in flight, earlier runs a replace has not removed yet, a
    # failed run's Model.
    others: tuple[dict[str, Any], ...] = ()
    jobs: tuple[dict[str, Any], ...] = field(default=())
    endpoint: str = ""  # where `model` answers (smoke tests and scores go here, not to the serving one)


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


@dataclass
class _Claims:
    """What one manifest id's labels claim, before it is decided what it is."""

    jobs: list[dict[str, Any]] = field(default_factory=list)  # verified, oldest first
    models: dict[str, tuple[dict[str, Any], Ownership]] = field(default_factory=dict)  # name -> body, ownership
    unverified: list[tuple[str, Reading]] = field(default_factory=list)  # (resource name, reading)

    def set_aside_weak_models(self, key: str) -> None:
        """A Model whose own marker is trusted only where that destroys nothing
        (unsigned while a key is set, or bound as an earlier release bound it)
        never joins an id that has a Model whose marker fully verifies: as the
        newest it would serve and have the others deleted as superseded, and as
        an older one it would be deleted itself, on a word anyone could have
        written. It is left alone, with the reason."""
        if all(ownership.legacy for _, ownership in self.models.values()):
            return  # nothing verifies fully: the id is as legacy as its Models (re-signed in place)
        for name in [n for n, (_, ownership) in self.models.items() if ownership.legacy]:
            del self.models[name]
            self.unverified.append((name, Reading(None, key, _WEAK_BESIDE_TRUSTED)))


class Join:
    """Jobs, Models and Endpoints (as listed) decoded into live models.

    A Model is this id's only when its own labels verify for it (name and
    version), or when it is the version-1 output of a verified job of this id
    that nobody has touched since (the labels the service copied from the job,
    or none at all on a Model not updated since it was made): a job can never
    make someone else's Model ours. A Model whose labels claim an id but do not
    verify blocks that id when nothing of it verifies (likely ours, signed
    with a key not given), and is a note otherwise."""

    def __init__(
        self,
        marker: LabelMarker,
        jobs: Iterable[dict[str, Any]],
        models: Iterable[dict[str, Any]],
        endpoints: Iterable[dict[str, Any]],
    ) -> None:
        self.marker = marker
        self.models = {without_version(m["name"]): m for m in models}
        self.endpoints = {e["name"]: e for e in endpoints}
        self.ownership: dict[str, Ownership] = {}  # job name -> ownership its labels record
        self.claims: dict[str, _Claims] = defaultdict(_Claims)
        for job in jobs:
            self._claim_job(job)
        for claim in self.claims.values():
            claim.jobs.sort(key=lambda j: (j.get("createTime", ""), j["name"]))
        self.job_of_model = {job_model(j): (k, j) for k, c in self.claims.items() for j in c.jobs if job_model(j)}
        for name, body in self.models.items():
            self._claim_model(name, body)
        for key, claim in self.claims.items():
            claim.set_aside_weak_models(key)
        self.current_models = {name: key for key, claim in self.claims.items() for name in claim.models}

    def _claim_job(self, job: dict[str, Any]) -> None:
        labels = job.get("labels") or {}
        reading = self.marker.read(labels, job_scope(job), legacy_scope="")
        if reading.ownership is not None and reading.key:
            self.claims[reading.key].jobs.append(job)
            self.ownership[job["name"]] = reading.ownership
        elif reading.key and job_state(job) in RUNNING:
            # A running job we cannot verify may be ours under another key: its
            # id waits rather than tune twice. A finished one leaves only its Model.
            self.claims[reading.key].unverified.append((job["name"], reading))

    def _claim_model(self, name: str, body: dict[str, Any]) -> None:
        labels = body.get("labels") or {}
        reading = self.marker.read(labels, model_scope(body), legacy_scope=name)
        made_by = self.job_of_model.get(name)
        if reading.ownership is not None and reading.key:
            self.claims[reading.key].models[name] = (body, reading.ownership)
        elif made_by is not None and self._born_of(body, made_by[1]):
            key, job = made_by
            self.claims[key].models[name] = (body, self.ownership[job["name"]])
        elif reading.claims and reading.key is not None:
            self.claims[reading.key].unverified.append((name, reading))
        elif made_by is not None and FORGOTTEN not in labels:
            # Our job made it, and its labels were removed by hand: left alone.
            self.claims[made_by[0]].unverified.append((name, Reading(None, made_by[0], _STRIPPED)))

    def _born_of(self, model: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
        """The Model is what this verified job made, untouched since: version 1
        (not a version added to someone else's Model), and carrying the job's
        own labels as the service copied them, or none on a Model never updated."""
        if self.ownership[job["name"]].legacy or str(model.get("versionId") or "1") != "1":
            return False
        job_id = (model.get("labels") or {}).get(JOB_ID_LABEL)
        if job_id is not None and job_id != last_segment(job["name"]):
            return False
        owned = owned_labels(model.get("labels") or {})
        untouched = not owned and model.get("updateTime") == model.get("createTime")
        return untouched or owned == owned_labels(job.get("labels") or {})

    def live_models(self) -> list[LiveModel]:
        lives: list[LiveModel] = []
        claimed: set[str] = set()
        for key in sorted(self.claims):
            claim = self.claims[key]
            live = self._from_claims(key, claim)
            if live is not None:
                lives.append(live)
                claimed |= set(claim.models)
            blocking = live is None and not claim.models  # nothing of it verifies: likely ours, another key
            for index, (name, reading) in enumerate(claim.unverified):
                if name in self.models:
                    claimed.add(name)
                if blocking and index == 0:
                    lives.append(self._blocked(key, name, reading))
                elif name in self.models:
                    lives.append(self._from_model_alone(name, self.models[name], note=reading.note))
        for name, body in sorted(self.models.items()):
            if name not in claimed:
                lives.append(self._from_model_alone(name, body))
        return lives

    def _from_claims(self, key: str, claim: _Claims) -> LiveModel | None:
        """The id's live model: the Model that serves, a candidate beside it (or a
        run in flight), and the Models it claims besides (superseded)."""
        serving, current = self._serving_and_current(claim)
        job = self._current_job(claim, current)
        if job is None and current is None:
            return None
        state = job_state(job) if job is not None else SUCCEEDED
        model = (
            claim.models[current][0]
            if current is not None and (job is None or job_model(job) == current)
            else (claim.models[job_model(job)][0] if job is not None and job_model(job) in claim.models else None)
        )
        if state == SUCCEEDED and model is None:
            return None  # a tombstone: its model was deleted (or forgotten); the job stays forever
        live_state = (
            LiveState.CREATING if state in RUNNING else (LiveState.ACTIVE if state == SUCCEEDED else LiveState.FAILED)
        )
        ownership = self._ownership(job, model, claim)
        serving_body = claim.models[serving][0] if serving is not None else model
        made_serving = self.job_of_model[serving][1] if serving in self.job_of_model else None
        serving_job = made_serving if serving is not None else job
        # Every other Model it claims; the plan lists those that serve nobody.
        others = tuple(
            body for name, (body, _) in claim.models.items() if model is None or name != without_version(model["name"])
        )
        endpoints = self._endpoints_of(job, model)
        serving_handle = _serving(serving_body, serving_job, self._owned_endpoint(serving_job, serving_body, key))
        pre_tuned = (job or {}).get("preTunedModel") or {}
        source_name = without_version(pre_tuned.get("tunedModelName", ""))
        source_key = self.current_models.get(source_name) if source_name else None
        fields_from = model or {
            "displayName": (job or {}).get("tunedModelDisplayName", ""),
            "description": (job or {}).get("description", ""),
        }
        base = (job or {}).get("baseModel", "") or _base_model_of((model or {}).get("labels") or {})
        metadata = (job or {}).get("tuningJobMetadata") or {}
        return LiveModel(
            key=key,
            address=ADDRESS_TEMPLATE.format(key=key),
            ownership=ownership,
            state=live_state,
            source=(source_key or source_name) if source_name else base,
            source_key=source_key,
            base_model=pre_tuned.get("baseModel") or base,
            fields={
                "spec.displayName": fields_from.get("displayName", ""),
                "spec.description": fields_from.get("description", ""),
            },
            hyperparameters=hyperparameters(job) if job is not None else {},
            create_time=(job or model or {}).get("createTime", ""),
            update_time=(model or job or {}).get("updateTime", ""),
            step=int(metadata.get("completedStepCount", 0) or 0),
            state_words=state.removeprefix("JOB_STATE_"),
            serving=serving_handle,
            superseded=tuple(without_version(b["name"]) for b in others if b is not serving_body),
            broken=self._broken(model, job, live_state, key),
            evaluation=evaluation_of((model or {}).get("labels") or {}),
            serving_evaluation=evaluation_of((serving_body or {}).get("labels") or {})
            if serving_body is not None and serving_body is not model
            else {},
            candidate=serving_body is not None and model is not None and serving_body is not model,
            reported=reported_of(job, ownership) if state == SUCCEEDED else None,
            handle=Handle(
                job=job,
                model=model,
                endpoints=endpoints,
                others=others,
                jobs=tuple(claim.jobs),
                endpoint=self._owned_endpoint(job, model, key) if model is not None else "",
            ),
        )

    def _serving_and_current(self, claim: _Claims) -> tuple[str | None, str | None]:
        """The Model that serves: of those a run made whole (not a failed run's),
        the one that passed its smoke tests and gate and was promoted last
        (labelled last: superseded Models are never written to). The current
        Model: a candidate labelled since that has not passed them (yet, or
        held), else the serving one."""

        def recency(name: str) -> tuple[str, str, str]:
            body = claim.models[name][0]
            return (body.get("updateTime", ""), body.get("createTime", ""), name)

        whole = sorted((n for n in claim.models if self._made_whole(n)), key=recency)
        passed = [n for n in whole if not claim.models[n][1].untested and not _held(claim.models[n][0])]
        serving = passed[-1] if passed else None
        after = whole[whole.index(serving) + 1 :] if serving is not None else whole
        candidates = [n for n in after if n not in passed]
        return serving, (candidates[-1] if candidates else serving)

    def _made_whole(self, name: str) -> bool:
        """Made by a run that succeeded (or adopted with no job): a failed run's
        Model (code 13: no endpoint) never serves."""
        made = self.job_of_model.get(name)
        return made is None or job_state(made[1]) == SUCCEEDED

    def _current_job(self, claim: _Claims, current: str | None) -> dict[str, Any] | None:
        """A run newer than the current Model's that still runs, or (with no
        current Model) the newest run; else the run that made the current Model.
        A run that ended with nothing after the current Model is history."""
        made = self.job_of_model[current][1] if current in self.job_of_model else None
        for job in claim.jobs[::-1]:  # not reversed(): mypy types its items as Any
            if job is made or job_state(job) in RUNNING or current is None:
                return job
        return made

    def _ownership(self, job: Mapping[str, Any] | None, model: dict[str, Any] | None, claim: _Claims) -> Ownership:
        """The Model's own labels when they verify (lifecycle flags included);
        the job's while it runs, or before the Model was labelled."""
        on_model = claim.models[without_version(model["name"])][1] if model is not None else None
        from_job = self.ownership.get(job["name"]) if job is not None else None
        if on_model is None:
            assert from_job is not None
            return from_job
        if from_job is not None and on_model.inputs != from_job.inputs:
            return from_job
        return on_model

    def _owned_endpoint(self, job: Mapping[str, Any] | None, model: Mapping[str, Any] | None, key: str) -> str:
        """The endpoint the id serves from: one that exists and is the reconciler's
        (its labels verify for it, or are the job's as the service copied them)."""
        names = list(job_endpoints(job)[:1]) if job is not None else []
        if model is not None:
            names += [ref.get("endpoint", "") for ref in model.get("deployedModels") or ()]
        for name in names:
            body = self.endpoints.get(name)
            if body is None:
                continue
            labels = body.get("labels") or {}
            reading = self.marker.read(labels, name)
            if reading.ownership is not None and reading.key == key:
                return name
            if job is not None and owned_labels(labels) == owned_labels(job.get("labels") or {}):
                return name
        return ""

    def _broken(
        self, model: Mapping[str, Any] | None, job: Mapping[str, Any] | None, state: LiveState, key: str
    ) -> str:
        made = job_endpoints(job)[:1] if job is not None else ()
        if state is LiveState.ACTIVE and model is not None and made and not self._owned_endpoint(job, model, key):
            return f"its endpoint {made[0]} is gone"
        return ""

    def _endpoints_of(self, job: Mapping[str, Any] | None, model: Mapping[str, Any] | None) -> tuple[str, ...]:
        """The job's endpoints (checkpoints included) and any listed endpoint
        that serves its Model."""
        names = list(job_endpoints(job)) if job is not None else []
        if model is not None:
            names += [ref.get("endpoint", "") for ref in model.get("deployedModels") or ()]
            model_name = without_version(model["name"])
            names += [
                name
                for name, body in self.endpoints.items()
                if any(without_version(d.get("model", "")) == model_name for d in body.get("deployedModels") or ())
            ]
        return tuple(dict.fromkeys(n for n in names if n))

    def _blocked(self, key: str, name: str, reading: Reading) -> LiveModel:
        """An id whose only claim does not verify: shown, left alone, never re-created."""
        body = self.models.get(name) or {}
        return LiveModel(
            key=key,
            address=name,
            ownership=None,
            ownership_note=reading.note,
            fields={"spec.displayName": body.get("displayName", ""), "spec.description": body.get("description", "")},
            create_time=body.get("createTime", ""),
            update_time=body.get("updateTime", ""),
            handle=Handle(job=None, model=body or None),
        )

    def _from_model_alone(self, name: str, body: dict[str, Any], note: str | None = None) -> LiveModel:
        """A tuned Model no claim of an id holds: not the reconciler's."""
        labels = body.get("labels") or {}
        key = unmanaged_key(name)
        base = _base_model_of(labels)
        refs = [r.get("endpoint", "") for r in body.get("deployedModels") or ()]
        return LiveModel(
            key=key,
            address=name,
            ownership=None,
            ownership_note=note or self.marker.read(labels, model_scope(body), legacy_scope=name).note,
            source=base,
            base_model=base,
            fields={"spec.displayName": body.get("displayName", ""), "spec.description": body.get("description", "")},
            create_time=body.get("createTime", ""),
            update_time=body.get("updateTime", ""),
            state_words="SUCCEEDED",  # a Model with no job to read: what it is in Vertex's words
            serving=_serving(body, None, next((r for r in refs if r), "")),
            handle=Handle(job=None, model=body, endpoints=tuple(dict.fromkeys(r for r in refs if r))),
        )


_STRIPPED = "its reconciler labels were removed (by hand?): it is left alone; to manage it again, import it"
_WEAK_BESIDE_TRUSTED = (
    "its labels are trusted only where that destroys nothing (unsigned although a key is set, or "
    "bound as an earlier release bound them), and its id has a Model whose labels verify fully: it is "
    "left alone, never served from or deleted; to manage it, import it"
)


def reported_of(job: Mapping[str, Any] | None, ownership: Ownership | None) -> Reported | None:
    """What a finished job reports of its run (`tuningDataStats`), bound to the
    dataset its verified labels say it tuned on; None without either."""
    stats = ((job or {}).get("tuningDataStats") or {}).get("supervisedTuningDataStats") or {}
    if not stats or ownership is None:
        return None
    truncated = tuple(_count(index) for index in stats.get("truncatedExampleIndices") or ())
    return Reported(
        data=ownership.data,
        tokens=_count(stats.get("totalBillableTokenCount")) or None,
        steps=_count(stats.get("tuningStepCount")) or None,
        epochs=_count(hyperparameters(job or {}).get("epochCount")) or None,
        truncated=tuple(index for index in truncated if index > 0),
        reasons=tuple(str(reason)[:200] for reason in stats.get("droppedExampleReasons") or ()),
    )


def _count(value: Any) -> int:
    """An int64 of proto3 JSON (a string) or a number; 0 when it is neither."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _serving(model: Mapping[str, Any] | None, job: Mapping[str, Any] | None, endpoint: str) -> dict[str, str]:
    """What callers use: the job and Model, and the endpoint only when it exists
    and is the reconciler's (`endpoint` is "" otherwise)."""
    serving: dict[str, str] = {}
    if job is not None:
        serving["job"] = job["name"]
    if model is not None:
        serving["model"] = without_version(model["name"])
    if endpoint:
        serving["endpoint"] = endpoint
    return serving


def _held(model: Mapping[str, Any]) -> bool:
    return (model.get("labels") or {}).get(EVALUATION_LABELS["held"]) == "true"


def _base_model_of(labels: Mapping[str, str]) -> str:
    """The base model the service's label names (`gemini-2_5-flash`), as the catalog spells it."""
    value = labels.get(BASE_MODEL_LABEL, "")
    return next((name for name in BASE_MODELS if name.replace(".", "_") == value), value)


def key_of_labels(labels: Mapping[str, str]) -> str | None:
    return labels.get(ID)
