"""The live model of a manifest id is a join of three paged lists: its
customization jobs, its custom models and the deployments serving them.

No Bedrock list returns tags, so ownership costs one ListTagsForResource a
resource; `tag_reads` asks only for the ones a decision needs:

- every custom model (the marker lives there, and a model imported by hand
  keeps its own name, so no name tells ours apart);
- a job only while it runs, or when it is the newest attempt of its inputs and
  ended without a model (FAILED), or when its model carries no tags at all (an
  untouched output, `born_of`); a finished job whose model carries the marker
  is history, and a tombstone (its model deleted) is never read;
- a job whose name the reconciler did not make, never (no job is ever adopted);
- a deployment, never: it is ours when it has the name `names.deployment_name`
  gives for its id and its custom model, and serves a custom model of that id
  (its own tags are read before it is deleted).

Then:

- A custom model is the id's by its own tags, or as the untouched output of a
  verified job of the id (no owned tag at all, and not `forget`-released).
- The model that serves is the newest of those whose run succeeded that passed
  their smoke tests and gate; a newer one that has not (untested or held) is a
  candidate beside it, and the others are superseded (a replace removes them
  once the new one serves, from a fresh read).
- A run newer than the current model that still runs makes the id CREATING:
  wait, never create again; so does a current model whose deployment is not
  Active yet (the wait makes or mends it). With no model, the newest run
  decides: Failed or Stopped is FAILED; Completed with its model gone is a
  tombstone (jobs can never be deleted) and the id has no live model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.backends.bedrock.names import (
    ADDRESS_TEMPLATE,
    deployment_name,
    foundation_model,
    named_by_reconciler,
    unmanaged_key,
)
from reconciler.backends.bedrock.tags import (
    DESCRIPTION,
    DISPLAY_NAME,
    FORGOTTEN,
    MANAGED_BY,
    SOURCE,
    TEACHER,
    Reading,
    TagMarker,
    evaluation_of,
    job_scope,
    model_scope,
    owned_tags,
    text_of,
)
from reconciler.model.live import LiveModel, LiveState
from reconciler.model.ownership import Ownership

RUNNING = frozenset({"InProgress", "Stopping"})
COMPLETED = "Completed"
ENDED_BADLY = frozenset({"Failed", "Stopped"})
ACTIVE = "Active"

# The tags of many resources at once: ARN -> tags (a resource gone meanwhile is left out).
TagReader = Callable[[list[str]], Mapping[str, Mapping[str, str]]]


@dataclass(frozen=True)
class Handle:
    """What the backend needs to act on one live model."""

    job: dict[str, Any] | None  # the current job: the one in flight, or the one that made `model`
    model: dict[str, Any] | None  # the custom model this id is now
    # Every other custom model this id claims: the one still serving while
    # `model` is a candidate or in flight, earlier runs a replace has not removed yet.
    others: tuple[dict[str, Any], ...] = ()
    jobs: tuple[dict[str, Any], ...] = ()  # every verified job of the id, oldest first
    # The deployments that are the id's, by the ARN of the custom model each serves.
    deployments: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # Where `model` answers (smoke tests and scores go here, not to the serving one).
    deployment: dict[str, Any] | None = None


def status(job: Mapping[str, Any]) -> str:
    return str(job.get("status", ""))


def job_name(job: Mapping[str, Any]) -> str:
    return str(job.get("jobName", ""))


def made_model_name(job: Mapping[str, Any]) -> str:
    """The custom model a job makes (its name is chosen in the request)."""
    return str(job.get("customModelName") or job.get("outputModelName") or "")


def model_status(model: Mapping[str, Any]) -> str:
    # modelStatus is recent in the API: a custom model without one is listed, so Active.
    return str(model.get("modelStatus") or ACTIVE)


def tag_reads(jobs: Iterable[Mapping[str, Any]], models: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ARNs whose tags a join needs before it can decide (see the module doc)."""
    model_names = {str(m["modelName"]) for m in models}
    arns = [str(m["modelArn"]) for m in models]
    ours = [j for j in jobs if named_by_reconciler(job_name(j))]
    newest: dict[str, Mapping[str, Any]] = {}
    for job in sorted(ours, key=lambda j: (str(j.get("creationTime", "")), job_name(j))):
        newest[job_name(job).rpartition("-")[0]] = job
    for job in ours:
        if status(job) in RUNNING or (
            status(job) in ENDED_BADLY
            and newest.get(job_name(job).rpartition("-")[0]) is job
            and made_model_name(job) not in model_names
        ):
            arns.append(str(job["jobArn"]))
    return arns


def born_of_reads(
    jobs: Iterable[Mapping[str, Any]], models: Iterable[Mapping[str, Any]], tags: Mapping[str, Mapping[str, str]]
) -> list[str]:
    """The finished jobs whose tags are needed too: those whose model carries no
    owned tag at all (its tags were never written over the job's)."""
    bare = {
        str(m["modelName"])
        for m in models
        if not owned_tags(tags.get(str(m["modelArn"])) or {}) and FORGOTTEN not in (tags.get(str(m["modelArn"])) or {})
    }
    return [
        str(j["jobArn"])
        for j in jobs
        if status(j) == COMPLETED and named_by_reconciler(job_name(j)) and made_model_name(j) in bare
    ]


@dataclass
class _Claims:
    """What one manifest id's tags claim, before it is decided what it is."""

    jobs: list[dict[str, Any]] = field(default_factory=list)  # verified, oldest first
    models: dict[str, tuple[dict[str, Any], Ownership]] = field(default_factory=dict)  # name -> body, ownership
    unverified: list[tuple[str, Reading]] = field(default_factory=list)  # (resource name, reading)

    def set_aside_weak_models(self, key: str) -> None:
        """A model whose marker is unsigned while a key is set never joins an id
        that has a model whose marker fully verifies (it would be served from,
        or delete the other as superseded, on a word anyone could write)."""
        if all(ownership.legacy for _, ownership in self.models.values()):
            return
        for name in [n for n, (_, ownership) in self.models.items() if ownership.legacy]:
            del self.models[name]
            self.unverified.append((name, Reading(None, key, _WEAK_BESIDE_TRUSTED)))


class Join:
    """Jobs, custom models and deployments (as listed, with the tags read) decoded into live models."""

    def __init__(
        self,
        marker: TagMarker,
        jobs: Iterable[dict[str, Any]],
        models: Iterable[dict[str, Any]],
        deployments: Iterable[dict[str, Any]],
        tags: Mapping[str, Mapping[str, str]],
        *,
        deploys: Callable[[str], bool] = lambda _base_model: True,
    ) -> None:
        self.marker = marker
        self.tags = tags
        self.deploys = deploys  # whether a model of this base model gets an on-demand deployment
        self.models = {str(m["modelName"]): m for m in models}
        self.deployments = list(deployments)
        self.ownership: dict[str, Ownership] = {}  # job name -> what its tags record
        self.job_tags: dict[str, Mapping[str, str]] = {}
        self.claims: dict[str, _Claims] = defaultdict(_Claims)
        for job in jobs:
            self._claim_job(job)
        for claim in self.claims.values():
            claim.jobs.sort(key=lambda j: (str(j.get("creationTime", "")), job_name(j)))
        self.job_of_model = {made_model_name(j): (k, j) for k, c in self.claims.items() for j in c.jobs}
        for name, body in self.models.items():
            self._claim_model(name, body)
        for key, claim in self.claims.items():
            claim.set_aside_weak_models(key)
        # model ARN -> the id it is the custom model of (to name a chain's source by its id)
        self.key_of_arn = {
            str(body["modelArn"]): key for key, claim in self.claims.items() for body, _ in claim.models.values()
        }

    def _tags_of(self, arn: str) -> Mapping[str, str]:
        return self.tags.get(arn) or {}

    def _claim_job(self, job: dict[str, Any]) -> None:
        arn = str(job.get("jobArn", ""))
        if arn not in self.tags:
            return  # not read: history, a tombstone, or not a name the reconciler makes
        tags = self._tags_of(arn)
        reading = self.marker.read(tags, job_scope(job_name(job), made_model_name(job)))
        if reading.ownership is not None and reading.key:
            self.claims[reading.key].jobs.append(job)
            self.ownership[job_name(job)] = reading.ownership
            self.job_tags[job_name(job)] = tags
        elif reading.key and status(job) in RUNNING:
            # A running job that does not verify may be ours under another key:
            # its id waits rather than tune twice.
            self.claims[reading.key].unverified.append((job_name(job), reading))

    def _claim_model(self, name: str, body: dict[str, Any]) -> None:
        tags = self._tags_of(str(body["modelArn"]))
        reading = self.marker.read(tags, model_scope(name))
        made_by = self.job_of_model.get(name)
        if reading.ownership is not None and reading.key:
            self.claims[reading.key].models[name] = (body, reading.ownership)
        elif made_by is not None and not owned_tags(tags) and FORGOTTEN not in tags:
            key, job = made_by  # the untouched output of a verified job of the id
            self.claims[key].models[name] = (body, self.ownership[job_name(job)])
        elif reading.claims and reading.key is not None:
            self.claims[reading.key].unverified.append((name, reading))

    # --- decoding -------------------------------------------------------------------------

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
                    lives.append(self._unmanaged(name, self.models[name], note=reading.note))
        for name, body in sorted(self.models.items()):
            if name not in claimed:
                lives.append(self._unmanaged(name, body))
        return _with_chain_roots(lives)

    def _from_claims(self, key: str, claim: _Claims) -> LiveModel | None:
        serving, current = self._serving_and_current(claim)
        job = self._current_job(claim, current)
        if job is None and current is None:
            return None
        made = made_model_name(job) if job is not None else ""
        if current is not None and (job is None or made == current):
            model: dict[str, Any] | None = claim.models[current][0]
        else:
            model = claim.models[made][0] if made in claim.models else None
        job_status = status(job) if job is not None else COMPLETED
        if job_status == COMPLETED and model is None:
            return None  # a tombstone: its model was deleted (or forgotten); the job stays for ever
        deployments = self._deployments_of(key, claim)
        deployment = deployments.get(str(model["modelArn"])) if model is not None else None
        deployable = self.deploys(foundation_model(str((job or model or {}).get("baseModelArn", ""))))
        state, words = self._state(job_status, model, deployment, deployable)
        ownership = self._ownership(job, model, claim)
        tags = self._tags_of(str(model["modelArn"])) if model is not None else {}
        if job is not None and not owned_tags(tags):
            tags = self.job_tags.get(job_name(job), {})
        serving_body = claim.models[serving][0] if serving is not None else model
        serving_deployment = deployments.get(str(serving_body["modelArn"])) if serving_body is not None else None
        others = tuple(body for name, (body, _) in claim.models.items() if model is None or name != model["modelName"])
        base_arn = str((job or model or {}).get("baseModelArn", ""))
        source_key = self.key_of_arn.get(base_arn)
        return LiveModel(
            key=key,
            address=ADDRESS_TEMPLATE.format(key=key),
            ownership=ownership,
            state=state,
            source=text_of(tags, SOURCE) or source_key or foundation_model(base_arn),
            source_key=source_key,
            base_model=foundation_model(base_arn),
            **_made_how(model or job or {}, tags),
            fields={
                "spec.displayName": text_of(tags, DISPLAY_NAME),
                "spec.description": text_of(tags, DESCRIPTION) or "",
            },
            create_time=str((job or model or {}).get("creationTime", "")),
            update_time=str((job or {}).get("lastModifiedTime", "") or (model or {}).get("creationTime", "")),
            state_words=words,
            serving=_serving(serving_body, self.job_of_model, serving_deployment),
            superseded=tuple(str(b["modelName"]) for b in others if b is not serving_body),
            evaluation=evaluation_of(self._tags_of(str(model["modelArn"]))) if model is not None else {},
            serving_evaluation=evaluation_of(self._tags_of(str(serving_body["modelArn"])))
            if serving_body is not None and serving_body is not model
            else {},
            candidate=serving_body is not None and model is not None and serving_body is not model,
            handle=Handle(
                job=job,
                model=model,
                others=others,
                jobs=tuple(claim.jobs),
                deployments=deployments,
                deployment=deployment,
            ),
        )

    @staticmethod
    def _state(
        job_status: str, model: Mapping[str, Any] | None, deployment: Mapping[str, Any] | None, deployable: bool
    ) -> tuple[LiveState, str]:
        """The neutral state, and Bedrock's words for it."""
        if job_status in RUNNING:
            return LiveState.CREATING, job_status
        if job_status in ENDED_BADLY or model is None:
            return LiveState.FAILED, job_status
        if model_status(model) != ACTIVE:
            words = f"custom model {model_status(model)}"
            return (LiveState.FAILED if model_status(model) == "Failed" else LiveState.CREATING), words
        if deployment is None and not deployable:
            return LiveState.ACTIVE, COMPLETED  # served through Provisioned Throughput, not ours to make
        if deployment is None:
            return LiveState.CREATING, "Completed; no deployment yet"
        if deployment.get("status") != ACTIVE:
            return LiveState.CREATING, f"Completed; deployment {deployment.get('status', '')}"
        return LiveState.ACTIVE, COMPLETED

    def _serving_and_current(self, claim: _Claims) -> tuple[str | None, str | None]:
        """The model that serves: of those a run made whole, the newest that passed
        its smoke tests and gate. The current model: a newer candidate that has
        not passed them (yet, or held), else the serving one."""

        def recency(name: str) -> tuple[str, str]:
            return (str(claim.models[name][0].get("creationTime", "")), name)

        whole = sorted((n for n in claim.models if self._made_whole(n, claim)), key=recency)
        passed = [n for n in whole if not claim.models[n][1].untested and not _held(self._tags_of(_arn(claim, n)))]
        serving = passed[-1] if passed else None
        after = whole[whole.index(serving) + 1 :] if serving is not None else whole
        candidates = [n for n in after if n not in passed]
        return serving, (candidates[-1] if candidates else serving)

    def _made_whole(self, name: str, claim: _Claims) -> bool:
        """Made by a run that completed (or adopted, with no job of ours), and Active."""
        made = self.job_of_model.get(name)
        return (made is None or status(made[1]) == COMPLETED) and model_status(claim.models[name][0]) == ACTIVE

    def _current_job(self, claim: _Claims, current: str | None) -> dict[str, Any] | None:
        """A run newer than the current model's that still runs, or (with no
        current model) the newest run; else the run that made the current model."""
        made = self.job_of_model[current][1] if current in self.job_of_model else None
        for job in claim.jobs[::-1]:
            if job is made or status(job) in RUNNING or current is None:
                return job
        return made

    def _ownership(self, job: Mapping[str, Any] | None, model: Mapping[str, Any] | None, claim: _Claims) -> Ownership:
        """The model's own tags (lifecycle flags included); the job's while it
        runs, or when the model's tags are for other inputs."""
        on_model = claim.models[str(model["modelName"])][1] if model is not None else None
        from_job = self.ownership.get(job_name(job)) if job is not None else None
        if on_model is None:
            assert from_job is not None
            return from_job
        if from_job is not None and on_model.inputs != from_job.inputs:
            return from_job
        return on_model

    def _deployments_of(self, key: str, claim: _Claims) -> dict[str, dict[str, Any]]:
        """The deployments that are the id's: named for it and one of its models."""
        arns = {str(body["modelArn"]) for body, _ in claim.models.values()}
        return {
            str(d["modelArn"]): d
            for d in self.deployments
            if str(d.get("modelArn")) in arns
            and d.get("customModelDeploymentName") == deployment_name(key, str(d["modelArn"]))
        }

    def _blocked(self, key: str, name: str, reading: Reading) -> LiveModel:
        """An id whose only claim does not verify: shown, left alone, never re-created."""
        body = self.models.get(name) or {}
        return LiveModel(
            key=key,
            address=str(body.get("modelArn") or name),
            ownership=None,
            ownership_note=reading.note,
            create_time=str(body.get("creationTime", "")),
            handle=Handle(job=None, model=body or None),
        )

    def _unmanaged(self, name: str, body: dict[str, Any], note: str | None = None) -> LiveModel:
        """A custom model no claim of an id holds: not the reconciler's."""
        tags = self._tags_of(str(body["modelArn"]))
        base = foundation_model(str(body.get("baseModelArn", "")))
        serving = [d for d in self.deployments if d.get("modelArn") == body["modelArn"]]
        return LiveModel(
            key=unmanaged_key(name),
            address=str(body["modelArn"]),
            ownership=None,
            ownership_note=note or self.marker.read(tags, model_scope(name)).note,
            source=base,
            base_model=base,
            create_time=str(body.get("creationTime", "")),
            state_words=model_status(body),
            serving={"model": str(body["modelArn"])}
            | ({"deployment": str(serving[0]["customModelDeploymentArn"])} if serving else {}),
            handle=Handle(job=None, model=body),
        )


_WEAK_BESIDE_TRUSTED = (
    "its tags are trusted only where that destroys nothing (unsigned although a key is set), and its "
    "id has a custom model whose tags verify fully: it is left alone, never served from or deleted; "
    "to manage it, import it"
)


# Bedrock's customizationType, as a manifest's spec.customization writes it.
CUSTOMIZATIONS = {
    "FINE_TUNING": "fineTuning",
    "CONTINUED_PRE_TRAINING": "continuedPreTraining",
    "DISTILLATION": "distillation",
}


def _made_how(body: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    """How the model was made from its source (the listed customizationType)
    and its teacher (a tag: no list returns it), where LiveModel records them."""
    kind = str(body.get("customizationType") or "FINE_TUNING")
    values = {"customization": CUSTOMIZATIONS.get(kind, kind), "teacher_model": text_of(tags, TEACHER)}
    return {name: value for name, value in values.items() if name in LiveModel.model_fields}


def _arn(claim: _Claims, name: str) -> str:
    return str(claim.models[name][0]["modelArn"])


def _held(tags: Mapping[str, str]) -> bool:
    return evaluation_of(tags).get("held") == "true"


def _serving(
    model: Mapping[str, Any] | None,
    job_of_model: Mapping[str, tuple[str, Mapping[str, Any]]],
    deployment: Mapping[str, Any] | None,
) -> dict[str, str]:
    """What callers use: the deployment's ARN (Converse's modelId), with the
    custom model and the job that made it; the deployment only when it is the id's."""
    if model is None:
        return {}
    serving = {"model": str(model["modelArn"])}
    made = job_of_model.get(str(model["modelName"]))
    if made is not None:
        serving["job"] = str(made[1].get("jobArn", ""))
    if deployment is not None:
        serving["deployment"] = str(deployment["customModelDeploymentArn"])
    return serving


def _with_chain_roots(lives: list[LiveModel]) -> list[LiveModel]:
    """A model tuned from another's custom model has that model's base model at
    the root of its chain (its own ARN says only the custom model)."""
    by_key = {m.key: m for m in lives}

    def root(live: LiveModel, depth: int = 0) -> str:
        source = by_key.get(live.source_key or "")
        return live.base_model if source is None or depth > 16 else root(source, depth + 1)

    return [m.model_copy(update={"base_model": root(m)}) if m.source_key else m for m in lives]


def managed(tags: Mapping[str, str]) -> bool:
    return tags.get(MANAGED_BY) == "reconciler"
