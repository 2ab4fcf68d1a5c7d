"""Vertex AI supervised tuning behind the `Backend` interface.

A create has no client-chosen id on Vertex, so what makes a crash or a retry
safe is: a per-model lock in the datasets bucket (two applies at once), a
look for a live job with the same id and fingerprint before creating (a crash
after the create), and a per-attempt label that an ambiguous answer is
resolved by (a lost answer): never a blind second create.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Collection, Mapping
from contextlib import suppress
from functools import partial
from typing import Any

from reconciler.apply.backend import CannotAdopt, ChangeFailed, Tuned
from reconciler.apply.progress import Progress
from reconciler.apply.waiting import TimedOut, Waiter
from reconciler.backends.vertex import uploads
from reconciler.backends.vertex.client import VertexClient
from reconciler.backends.vertex.credentials import (
    AIPLATFORM_EMULATOR_ENV,
    CLOUD_PLATFORM,
    STORAGE_EMULATOR_ENV,
    vertex_credentials_error,
)
from reconciler.backends.vertex.datasets import canonical_jsonl
from reconciler.backends.vertex.export import manifest_for
from reconciler.backends.vertex.labels import (
    ATTEMPT,
    FORGOTTEN,
    ID,
    MANAGED_FILTER,
    PUBLISHER_PREFIX,
    LabelMarker,
    evaluation_of,
    job_scope,
    model_scope,
    owned_labels,
)
from reconciler.backends.vertex.live import (
    JOB_ID_LABEL,
    RUNNING,
    SUCCEEDED,
    Handle,
    Join,
    hyperparameters,
    job_endpoints,
    job_model,
    job_state,
    reported_of,
)
from reconciler.backends.vertex.lock import Locks
from reconciler.backends.vertex.names import host_for, unmanaged_key, without_version
from reconciler.backends.vertex.rules import ADAPTER_SIZE_NAMES, RULES, checks, manifest_problems, retirement_notes
from reconciler.backends.vertex.settings import VertexSettings, VertexTarget, vertex_shards
from reconciler.client.auth import (
    AdcLoader,
    Anonymous,
    GoogleCredentials,
    emulator_url,
    emulator_with_credentials,
    load_default_credentials,
)
from reconciler.client.errors import ApiError, CredentialsError, FailedPrecondition, NotFound
from reconciler.client.pacing import Pacer, QuotaExhausted
from reconciler.client.retry import is_transient
from reconciler.loader.checks import BackendChecks
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.errors import UserError
from reconciler.model.live import LiveModel, LiveState, Observed
from reconciler.model.ownership import Ownership, gated, ownership_for
from reconciler.model.settings import Settings
from reconciler.model.shards import Shards
from reconciler.model.signing import keys_from
from reconciler.plan.inputs import input_changes, mismatch_lines
from reconciler.plan.types import PermissionChange

STORAGE_HOST = "https://storage.googleapis.com"
TUNED_FILTER = "labels.tune-type:*"
FAILED_STATES = frozenset({"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"})
CREATE_ATTEMPTS = 3
# After an ambiguous create, the lists by its attempt label, an apply's poll
# interval apart, that must agree it is not there before it is made again
# (list consistency is not documented).
CLEAN_LISTS = 2
DELETE_REFUSALS = 8  # DeleteModel refused FAILED_PRECONDITION this often (the waiter backing off): give up


class VertexBackend:
    name = "vertex"
    rules = RULES
    settings_block = VertexSettings
    settings_inline = False
    target_block = VertexTarget
    secret_variables: tuple[str, ...] = ()  # Application Default Credentials are files, never variables
    manifest_problems = staticmethod(manifest_problems)

    @classmethod
    def checks(cls, settings: Settings) -> BackendChecks:
        return checks(cls.block_of(settings))

    @classmethod
    def shards(cls, settings: Settings) -> Shards:
        return vertex_shards(settings, cls.block_of(settings))

    @staticmethod
    def block_of(settings: Settings) -> VertexSettings:
        block = settings.block()
        if not isinstance(block, VertexSettings):
            raise UserError("backend: vertex needs a `vertex:` block in reconciler.yaml")
        return block

    def __init__(
        self,
        client: VertexClient,
        settings: VertexSettings,
        *,
        marker: LabelMarker | None = None,
        locks: Locks | None = None,
    ) -> None:
        # No timing of its own: every wait goes through the apply's Waiter (its
        # clock, its stop, its timeout), whatever API the client talks to.
        self.client = client
        self.settings = settings
        self.marker = marker or LabelMarker()
        self.locks = locks or Locks(client, settings.bucket, settings.prefix)
        # One project and location, one quota: every create of this backend's
        # workers takes its turn here (vertex.maxCreatesPerMinute).
        self.pacer = Pacer(settings.max_creates_per_minute, setting="vertex.maxCreatesPerMinute")
        self._generation: dict[str, dict[str, Any]] = {}  # key -> generationConfig for smoke tests
        self._endpoint: dict[str, str] = {}  # key -> serving endpoint, from the last create or wait
        self.uploads = 0  # objects this backend uploaded (tests: a second apply uploads nothing)

    @classmethod
    def connect(
        cls,
        settings: Settings,
        *,
        emulator: str | None = None,
        env: Mapping[str, str] | None = None,
        load_adc: AdcLoader = load_default_credentials,
    ) -> VertexBackend:
        """A backend for reconciler.yaml's `vertex:` block: the embedded emulator
        (`emulator`), an emulator named by AIPLATFORM_EMULATOR_HOST /
        STORAGE_EMULATOR_HOST (no credentials), or Vertex AI with ADC. With
        ADC, STORAGE_EMULATOR_HOST alone is refused unless it is on this
        machine: the access token would go to it."""
        env = os.environ if env is None else env
        vertex = cls.block_of(settings)
        marker = LabelMarker(keys_from(env))
        api_host = env.get(AIPLATFORM_EMULATOR_ENV, "").strip()
        storage_host = env.get(STORAGE_EMULATOR_ENV, "").strip()
        common: dict[str, Any] = {
            "api_version": vertex.api_version,
            "timeout": settings.request_timeout_seconds,
            "pool_size": max(10, settings.concurrency),
        }
        if emulator is not None or api_host:
            api = emulator or emulator_url(api_host)
            storage = emulator or (emulator_url(storage_host) if storage_host else api)
            client = VertexClient(api, storage, vertex.project, vertex.location, credentials=Anonymous(), **common)
            return cls(client, vertex, marker=marker)
        storage = emulator_with_credentials(STORAGE_EMULATOR_ENV, storage_host) if storage_host else STORAGE_HOST
        try:
            credentials, adc_quota = load_adc(CLOUD_PLATFORM)
        except CredentialsError as error:
            raise vertex_credentials_error(error, env) from error
        client = VertexClient(
            host_for(vertex.location),
            storage,
            vertex.project,
            vertex.location,
            credentials=GoogleCredentials(credentials),
            quota_project=settings.quota_project or adc_quota,
            **common,
        )
        return cls(client, vertex, marker=marker)

    @classmethod
    def emulator_fixtures(cls, settings: Settings) -> dict[str, Any]:
        """What an emulator started for these settings (`--emulator`) must hold
        that a real project has before its first apply, as `EmulatorOptions`
        fields: the datasets bucket. The backend never makes it itself."""
        block = settings.block()
        return {"buckets": (block.bucket,)} if isinstance(block, VertexSettings) else {}

    def describe_target(self) -> str:
        """Every host the run calls: the Vertex AI API's and Cloud Storage's."""
        where = f"Vertex AI project {self.settings.project} in {self.settings.location}"
        storage = f"Cloud Storage at {self.client.storage_endpoint}"
        if isinstance(self.client.credentials, Anonymous):
            return (
                f"{where} on the emulator at {self.client.endpoint} ({AIPLATFORM_EMULATOR_ENV}), "
                f"{storage}, no credentials"
            )
        if self.client.storage_endpoint != STORAGE_HOST:
            storage += f" ({STORAGE_EMULATOR_ENV})"
        quota = self.client.quota_project
        return f"{where} at {self.client.endpoint}, {storage} ({self.client.credentials.describe()})" + (
            f", quota project {quota}" if quota else ""
        )

    def close(self) -> None:
        self.client.close()

    # --- observe ------------------------------------------------------------------

    def observe(self, desired: Desired) -> Observed:
        return self.observe_models()(desired)

    def observe_models(self, *, progress: bool = False) -> Callable[[Desired], Observed]:
        """Three paged lists (jobs and endpoints by label, tuned Models), joined
        per manifest id; never a GET per model. A job carries its progress
        already, so `progress` asks for nothing more."""
        live = self._join().live_models()

        def complete(desired: Desired) -> Observed:
            for model in desired.models:
                self._generation[model.id] = _generation_config(model)
            declared = desired.by_id()
            # A run that failed or was cancelled and left nothing behind is only a
            # tombstone (jobs cannot be deleted): without a manifest there is
            # nothing to delete, so it is not a live model.
            kept = [m for m in live if m.key in declared or not _left_nothing(m)]
            return Observed(models=tuple(self._with_retirement_notices(kept)))

        return complete

    def _with_retirement_notices(self, live: list[LiveModel]) -> list[LiveModel]:
        """Managed models whose base model retires within retirementNoticeDays
        carry a notice saying when (the planner turns it into a plan notice)."""
        notes = retirement_notes({m.key: m.base_model for m in live if m.managed and m.base_model}, self.settings)
        return [m.model_copy(update={"notices": (notes[m.key],)}) if m.key in notes else m for m in live]

    def _join(self) -> Join:
        jobs = [j for j in self.client.list_tuning_jobs(MANAGED_FILTER) if _managed(j)]
        models = self.client.list_models(TUNED_FILTER)
        endpoints = [e for e in self.client.list_endpoints(MANAGED_FILTER) if _managed(e)]
        return Join(self.marker, jobs, models, endpoints)

    def find(self, key: str) -> LiveModel | None:
        """The live model of one id now: its jobs and Models listed by its
        label, and a GET for a job's Model not (yet) labelled; no full list."""
        jobs = self._jobs_of(key)
        by_key = f"{MANAGED_FILTER} AND labels.{ID}={key}"
        models = {without_version(m["name"]): m for m in self.client.list_models(by_key)}
        for name in {job_model(j) for j in jobs} - set(models) - {""}:
            with suppress(NotFound):
                models[name] = self.client.get_model(name)
        endpoints = [e for e in self.client.list_endpoints(by_key) if _managed(e)]
        lives = Join(self.marker, jobs, models.values(), endpoints).live_models()
        return next((m for m in lives if m.key == key), None)

    # --- create and wait --------------------------------------------------------------

    def create(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        self._generation[model.id] = _generation_config(model)
        dataset_uri = self.upload(model)
        validation_uri = self.upload(model, validation=True) if model.validation is not None else ""
        source = self._source_of(model)
        with self.locks.held(model.id, waiter.pause):
            self._cancel_superseded(model, waiter)
            job = self._adoptable_job(model, source)
            found = job is not None
            if job is None:
                job = self._create_job(model, dataset_uri, source, waiter, validation_uri)
        return self._await(model, job, waiter, found=found)

    def upload(self, model: DesiredModel, *, validation: bool = False) -> str:
        """The canonical JSONL at its content address, its checksum checked (uploads.py)."""
        stored = uploads.store_dataset(self.client, self.settings, canonical_jsonl(model, validation=validation))
        self.uploads += stored.uploaded
        return stored.uri

    def _jobs_of(self, key: str) -> list[dict[str, Any]]:
        listed = self.client.list_tuning_jobs(f"{MANAGED_FILTER} AND labels.{ID}={key}")
        return [
            j
            for j in listed
            if _managed(j) and (j.get("labels") or {}).get(ID) == key and self._job_ownership(j) is not None
        ]

    def _job_ownership(self, job: Mapping[str, Any]) -> Ownership | None:
        """What a job's labels record, when they verify for what the job tunes
        (a legacy marker too: waiting on or adopting a job destroys nothing)."""
        return self.marker.read(job.get("labels") or {}, job_scope(job), legacy_scope="").ownership

    def _source_of(self, model: DesiredModel) -> str:
        """What the job tunes from: the base model, or the source's current Model."""
        spec = model.manifest.spec
        if not spec.source_id:
            return spec.base_model or ""
        source = self.find(spec.source_id)
        name = source.serving.get("model") if source is not None and source.state is LiveState.ACTIVE else None
        if not name:
            raise ChangeFailed(f"its source model {spec.source_id} has no live Model to tune from")
        return name

    def _adoptable_job(self, model: DesiredModel, source: str) -> dict[str, Any] | None:
        """A live, non-failed job with this id and fingerprint, tuned from the
        same source Model: a crashed or concurrent apply made it, and it is what
        this create would make. (The fingerprint names the source by manifest
        id; a replace because the source was re-tuned keeps it, so the source
        Model itself is compared too.)"""
        wanted = ownership_for(model).inputs
        for job in sorted(self._jobs_of(model.id), key=lambda j: j.get("createTime", ""), reverse=True):
            ownership = self._job_ownership(job)
            state = job_state(job)
            if ownership is None or ownership.inputs != wanted or state in FAILED_STATES:
                continue
            if _tuned_from(job) != source:
                continue
            if state == SUCCEEDED and not self._model_exists(job_model(job)):
                continue  # a tombstone: its model was deleted
            return job
        return None

    def _model_exists(self, name: str) -> bool:
        """One GET (a create is rare): the Model may not carry our labels yet."""
        try:
            self.client.get_model(name)
        except NotFound:
            return False
        return True

    def _cancel_superseded(self, model: DesiredModel, waiter: Waiter) -> None:
        """A replace of a model still tuning: its old run is cancelled first."""
        wanted = ownership_for(model).inputs
        for job in self._jobs_of(model.id):
            ownership = self._job_ownership(job)
            if job_state(job) in RUNNING and ownership is not None and ownership.inputs != wanted:
                self._cancel_and_wait(job, waiter)

    def _create_job(
        self, model: DesiredModel, dataset_uri: str, source: str, waiter: Waiter, validation_uri: str = ""
    ) -> dict[str, Any]:
        for _ in range(CREATE_ATTEMPTS):
            attempt = secrets.token_hex(4)
            body = self._job_body(model, dataset_uri, attempt, source, validation_uri)
            try:
                # Paced to the project's quota; a 429 (nothing made) waits for it
                # and is sent again there, so what reaches here is answered or ambiguous.
                return self.pacer.submit(partial(self.client.create_tuning_job, body), waiter.quota(model.id))
            except QuotaExhausted as error:
                raise ChangeFailed(str(error)) from error
            except ApiError as error:
                if not is_transient(error):
                    raise ChangeFailed(f"the tuning job was refused: {error}") from error
                landed = self._find_attempt(model.id, attempt, waiter)
                if landed is not None:
                    return landed
        raise ChangeFailed(
            f"creating the tuning job of {model.id} failed {CREATE_ATTEMPTS} times; "
            "no job was made (each attempt was looked for by its label)"
        )

    def _find_attempt(self, key: str, attempt: str, waiter: Waiter) -> dict[str, Any] | None:
        """Whether an ambiguous create landed: list by its attempt label until it
        is found or CLEAN_LISTS lists agree it is not there, paced by the waiter.
        Lists that keep failing end the create: a blind second one could make a
        second job (the next apply finds the first by its id and inputs)."""
        found: list[dict[str, Any]] = []
        clean_lists = 0

        def look(_elapsed: float) -> bool:
            nonlocal clean_lists
            for job in self.client.list_tuning_jobs(f"labels.{ATTEMPT}={attempt}"):
                labels = job.get("labels") or {}
                if labels.get(ATTEMPT) == attempt and labels.get(ID) == key:
                    found.append(job)
            clean_lists += 1
            return bool(found) or clean_lists >= CLEAN_LISTS

        try:
            waiter.poll(look, f"the look for the tuning job of {key} whose create got no answer")
        except ApiError as error:
            raise ChangeFailed(
                f"the create of the tuning job of {key} got no answer, and listing the jobs to see "
                f"whether it was made failed ({error}); the next apply looks for it again"
            ) from error
        return found[0] if found else None

    def _tuned_display_name(self, model: DesiredModel, source: str) -> str:
        """The display name the job gives its Model. Tuned from a Model of the same
        display name, the service would add a version to that Model instead of
        making one (and deleting either would take the other): so it is made
        under another, and renamed to the manifest's once it is ours."""
        display = _display_name(model)
        if not model.manifest.spec.source_id or display != self.client.get_model(source).get("displayName"):
            return display
        return f"{display} ({model.id})"[-128:]

    def _job_body(
        self, model: DesiredModel, dataset_uri: str, attempt: str, source: str, validation_uri: str = ""
    ) -> dict[str, Any]:
        spec = model.manifest.spec
        hyper = spec.hyperparameters
        hyper_body: dict[str, Any] = {}
        if hyper.epoch_count is not None:
            hyper_body["epochCount"] = hyper.epoch_count
        if hyper.learning_rate_multiplier is not None:
            hyper_body["learningRateMultiplier"] = hyper.learning_rate_multiplier
        if hyper.adapter_size is not None:
            hyper_body["adapterSize"] = ADAPTER_SIZE_NAMES[hyper.adapter_size]
        tuning: dict[str, Any] = {
            "trainingDatasetUri": dataset_uri,
            "exportLastCheckpointOnly": self.settings.export_last_checkpoint_only,
        }
        if validation_uri:
            tuning["validationDatasetUri"] = validation_uri
        if hyper_body:
            tuning["hyperParameters"] = hyper_body
        ownership = ownership_for(model, untested=gated(model))
        body: dict[str, Any] = {
            "supervisedTuningSpec": tuning,
            # Never the source's display name: that would add a version to the
            # source's Model, and deleting the source would delete this one.
            "tunedModelDisplayName": self._tuned_display_name(model, source),
            "description": spec.description,
        }
        if spec.source_id:
            body["preTunedModel"] = {"tunedModelName": source}
        else:
            body["baseModel"] = source
        body["labels"] = self.marker.labels(model.id, ownership, job_scope(body), attempt=attempt)
        return body

    def wait(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        self._generation[model.id] = _generation_config(model)
        live = self.find(model.id)
        if live is None or not isinstance(live.handle, Handle) or live.handle.job is None:
            raise ChangeFailed(f"{RULES.address(model.id)} has no tuning job to wait for")
        return self._await(model, live.handle.job, waiter, found=True)

    def _await(self, model: DesiredModel, job: dict[str, Any], waiter: Waiter, *, found: bool) -> Tuned:
        final = self._poll_job(model.id, job["name"], waiter)
        state = job_state(final)
        if state != SUCCEEDED:
            error = (final.get("error") or {}).get("message", "")
            raise ChangeFailed(
                f"tuning ended {state.removeprefix('JOB_STATE_')}"
                + (f": {error}" if error else "")
                + "; the next plan replaces it"
            )
        self._label_outputs(model, final, untested=gated(model))
        endpoint = (final.get("tunedModel") or {}).get("endpoint", "")
        if endpoint:
            self._endpoint[model.id] = endpoint
        return Tuned(found=found, reported=reported_of(final, ownership_for(model)))

    def _poll_job(self, key: str, name: str, waiter: Waiter) -> dict[str, Any]:
        final: dict[str, Any] = {}

        def look(elapsed: float) -> bool:
            job = self.client.get_tuning_job(name)
            waiter.reporter.progress(_progress(key, job, elapsed))
            if job_state(job) in RUNNING:
                return False
            final.update(job)
            return True

        waiter.poll(look, f"tuning of {RULES.address(key)}")
        return final

    def _label_outputs(self, model: DesiredModel, job: dict[str, Any], *, untested: bool) -> None:
        """PATCH the Model's display name, description and labels, then label its
        endpoints: only what this job made (a version added to someone else's
        Model never makes that Model ours)."""
        name = job_model(job)
        if name:
            self._check_made_by(model.id, job, self.client.get_model(name))
            self._patch_model(model, name, ("displayName", "description", "labels"), untested=untested)
        ownership = ownership_for(model, untested=untested)
        for endpoint in job_endpoints(job):
            try:
                body = self.client.get_endpoint(endpoint)
                if owned_labels(body.get("labels") or {}) not in ({}, owned_labels(job.get("labels") or {})):
                    continue  # labelled already, or not as the service copies them: not touched
                labels = self.marker.merged(body.get("labels") or {}, self.marker.labels(model.id, ownership, endpoint))
                self.client.update_endpoint_labels(endpoint, labels)
            except (FailedPrecondition, NotFound):
                continue  # a tuned endpoint that refuses labels is still found through its Model

    def _check_made_by(self, key: str, job: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """Refuse to claim a Model this job did not make whole (see live.Join)."""
        if str(body.get("versionId") or "1") != "1":
            raise ChangeFailed(
                f"{job_model(job)} is a new version (@{body.get('versionId')}) of a Model the "
                "reconciler did not make; it is not labelled, promoted or deleted"
            )
        reading = self.marker.read(body.get("labels") or {}, model_scope(body))
        owned = owned_labels(body.get("labels") or {})
        if not (reading.key == key and reading.ownership is not None) and owned not in (
            {},
            owned_labels(job.get("labels") or {}),
        ):
            raise ChangeFailed(
                f"{job_model(job)} carries reconciler labels that are not its tuning job's; "
                "it is not labelled or promoted"
            )

    def _patch_model(
        self,
        model: DesiredModel,
        name: str,
        mask: tuple[str, ...],
        *,
        untested: bool,
        evaluation: Mapping[str, str] | None = None,
    ) -> None:
        """Read-modify-write with the etag read; `evaluation`: the gate result to
        record (None keeps the one recorded). A stale etag (someone changed the
        Model meanwhile: 400 FAILED_PRECONDITION, AIP-154) is read again and sent
        once more; a second one fails this model with a clear conflict."""
        for attempt in range(2):
            try:
                self._patch_model_once(model, name, mask, untested=untested, evaluation=evaluation)
                return
            except _StaleEtag as stale:
                if attempt:
                    raise ChangeFailed(
                        f"{name} was changed by someone else while it was being updated, twice "
                        "(its etag was stale); nothing was changed; the next apply tries again"
                    ) from stale
        raise AssertionError("unreachable")

    def _patch_model_once(
        self,
        model: DesiredModel,
        name: str,
        mask: tuple[str, ...],
        *,
        untested: bool,
        evaluation: Mapping[str, str] | None = None,
    ) -> None:
        live = self.client.get_model(name)
        if evaluation is None:
            evaluation = evaluation_of(live.get("labels") or {})
        owned = self.marker.labels(
            model.id, ownership_for(model, untested=untested), model_scope(live), evaluation=evaluation
        )
        values = {
            "displayName": _display_name(model),
            "description": model.manifest.spec.description,
            # Read-modify-write: the service's own labels (tune-type, google-vertex-llm-tuning-*)
            # stay, or google-genai stops listing the model.
            "labels": self.marker.merged(
                {k: v for k, v in (live.get("labels") or {}).items() if k != FORGOTTEN}, owned
            ),
        }
        body = {field: values[field] for field in mask}
        if live.get("etag"):
            body["etag"] = live["etag"]
        try:
            self.client.update_model(name, body, list(mask))
        except FailedPrecondition as error:
            # Refused for the etag only if the Model's etag is no longer the one sent.
            if body.get("etag") and self.client.get_model(name).get("etag") != body["etag"]:
                raise _StaleEtag(name) from error
            raise

    # --- changes in place ------------------------------------------------------------

    def update(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        live = self._managed_model(model.id)
        self._patch_model(model, live, tuple(update_mask), untested=untested)

    def mark_tested(self, model: DesiredModel, evaluation: Mapping[str, str] | None = None) -> None:
        """Drop `untested` (and `held`): the Model serves from the next read on."""
        live = self._managed_model(model.id)
        self._patch_model(
            model,
            live,
            ("labels",),
            untested=False,
            evaluation={k: v for k, v in (evaluation or {}).items() if k != "held"},
        )

    def hold(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """Label the candidate held: the Join keeps serving on the Model before it."""
        live = self._managed_model(model.id)
        self._patch_model(model, live, ("labels",), untested=False, evaluation={**evaluation, "held": "true"})

    def record_evaluation(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """Record a gate result on the Model serving (an `evaluate`): nothing else changes."""
        live = self.find(model.id)
        handle = live.handle if live is not None else None
        name = live.serving.get("model", "") if live is not None else ""
        if not isinstance(handle, Handle) or not name:
            raise ChangeFailed(f"{RULES.address(model.id)} has no Model serving to record its evaluation on")
        untested = bool(
            live is not None
            and live.ownership is not None
            and live.ownership.untested
            and handle.model is not None
            and without_version(handle.model["name"]) == name
        )
        self._patch_model(model, name, ("labels",), untested=untested, evaluation=evaluation)

    def _managed_model(self, key: str) -> str:
        live = self.find(key)
        handle = live.handle if live is not None else None
        if not isinstance(handle, Handle) or handle.model is None:
            raise ChangeFailed(f"{RULES.address(key)} has no Model to update")
        return without_version(handle.model["name"])

    # --- delete -----------------------------------------------------------------------

    def delete(self, live: LiveModel, waiter: Waiter) -> None:
        """Cancel its running jobs, then remove every Model the id claims with the
        endpoints made for them; the jobs stay, as tombstones. What a cancelled
        run made meanwhile is decided from a fresh read."""
        handle = live.handle
        if not isinstance(handle, Handle):
            return
        running = [job for job in handle.jobs if job_state(job) in RUNNING]
        if running:
            for job in running:
                self._cancel_and_wait(job, waiter)
            fresh = self.find(live.key)
            if fresh is None or not isinstance(fresh.handle, Handle) or fresh.ownership is None:
                return
            handle = fresh.handle
        self._remove(handle, [m for m in (handle.model, *handle.others) if m is not None], waiter)

    def remove_superseded(self, live: LiveModel, waiter: Waiter) -> None:
        """Remove the id's Models that serve nobody: `live` is read after the new
        model serves, and the Model it serves from is never among them."""
        handle = live.handle
        if isinstance(handle, Handle) and live.ownership is not None:
            self._remove(handle, [m for m in handle.others if without_version(m["name"]) in live.superseded], waiter)

    def _remove(self, handle: Handle, models: list[dict[str, Any]], waiter: Waiter) -> None:
        """Undeploy and delete the endpoints these Models' jobs made (a user's own
        endpoint is only emptied of them), then the Models."""
        names = list(dict.fromkeys(without_version(m["name"]) for m in models))
        bodies = {}
        for name in names:
            with suppress(NotFound):
                bodies[name] = self.client.get_model(name)
                self._refuse_foreign_versions(name)
        made = {e for job in handle.jobs if job_model(job) in bodies for e in job_endpoints(job)}
        for name in bodies.keys() - {job_model(job) for job in handle.jobs}:
            # An imported Model's job is not ours: what that job made is read from it
            # (every endpoint serving the Model would take a user's own too).
            made |= set(job_endpoints(self._job_that_made(bodies[name]) or {}))
        serving = sorted(made) + [
            r.get("endpoint", "") for body in bodies.values() for r in body.get("deployedModels") or ()
        ]
        for endpoint in dict.fromkeys(e for e in serving if e):
            self._delete_endpoint(endpoint, set(bodies), made, waiter)
        for name in bodies:
            self._delete_model(name, waiter)

    def _refuse_foreign_versions(self, name: str) -> None:
        """The reconciler makes only version 1 of a Model; DeleteModel removes every
        version, so a Model someone added a version to is not deleted."""
        versions = [str(v.get("versionId", "")) for v in self.client.list_model_versions(name)]
        foreign = [v for v in versions if v != "1"]
        if foreign:
            raise ChangeFailed(
                f"{name} has versions the reconciler did not make ({', '.join('@' + v for v in foreign)}"
                "): it is not deleted; delete those versions, or the Model, yourself"
            )

    def _cancel_and_wait(self, job: dict[str, Any], waiter: Waiter) -> None:
        """Cancel a run and wait until it has stopped (what it made meanwhile is
        then read afresh)."""
        name = job["name"]
        with suppress(FailedPrecondition):  # ended (or cancelling) meanwhile
            self.client.cancel_tuning_job(name)
        waiter.until(lambda: job_state(self.client.get_tuning_job(name)) not in RUNNING, f"the cancel of {name}")

    def _delete_endpoint(self, name: str, models: set[str], made: set[str], waiter: Waiter) -> None:
        """Undeploy our models (zero-traffic ones first, sending the recomputed
        split), then delete the endpoint once it holds nothing else."""
        try:
            endpoint = self.client.get_endpoint(name)
        except NotFound:
            return
        deployed = list(endpoint.get("deployedModels") or ())
        split = {k: int(v) for k, v in (endpoint.get("trafficSplit") or {}).items()}
        ours = [d for d in deployed if without_version(d.get("model", "")) in models]
        for item in sorted(ours, key=lambda d: split.get(d["id"], 0)):
            split.pop(item["id"], None)
            rest = sum(split.values())
            if rest and rest != 100:  # give the others all the traffic, in proportion
                split = _normalised(split)
            with suppress(NotFound):
                self._finish(self.client.undeploy_model(name, item["id"], split), waiter, f"the undeploy from {name}")
        # Only an endpoint the tuning made (or labelled ours) goes; a user's own
        # endpoint is left, empty of our model.
        labelled = (endpoint.get("labels") or {}).get("managed-by") == "reconciler"
        if len(ours) == len(deployed) and (name in made or labelled):
            with suppress(NotFound):
                self._finish(self.client.delete_endpoint(name), waiter, f"the deletion of {name}")

    def _delete_model(self, name: str, waiter: Waiter) -> None:
        """Delete, asking again while the service refuses it (FAILED_PRECONDITION:
        a deployment not yet released, python-aiplatform#2807), the waiter's
        growing interval apart, until DELETE_REFUSALS refusals or the operation
        timeout. A Model still refused stays claimed by its labels, so every
        later plan shows it again."""
        refusals = 0
        refused_last = False  # so a delete operation that outlasts the timeout is not called refused

        def look(_elapsed: float) -> bool:
            nonlocal refusals, refused_last
            refused_last = False
            try:
                self._finish(self.client.delete_model(name), waiter, f"the deletion of {name}")
            except NotFound:
                pass  # gone already is done
            except FailedPrecondition as error:
                refusals += 1
                refused_last = True
                if refusals >= DELETE_REFUSALS:
                    raise ChangeFailed(
                        f"{name} is still refused deletion (FAILED_PRECONDITION) after {refusals} tries; "
                        "the next apply tries again"
                    ) from error
                return False
            return True

        try:
            waiter.poll(look, f"the deletion of {name}")
        except TimedOut as error:
            if not refused_last:
                raise
            raise ChangeFailed(
                f"{name} was still refused deletion (FAILED_PRECONDITION) when the operation timeout "
                f"({waiter.timeout:g}s, operationTimeoutSeconds) ran out; the next apply tries again"
            ) from error

    def _finish(self, operation: dict[str, Any], waiter: Waiter, what: str) -> None:
        """Poll a long-running operation until done, paced by the waiter; raise its error."""
        latest = dict(operation)
        name = operation.get("name")
        if not operation.get("done") and name:

            def look(_elapsed: float) -> bool:
                latest.clear()
                latest.update(self.client.get_operation(name))
                return bool(latest.get("done"))

            waiter.poll(look, what, wait_first=True)
        error = latest.get("error")
        if error:
            if error.get("code") == 9:
                raise FailedPrecondition(error.get("message", "FAILED_PRECONDITION"))
            raise ChangeFailed(f"{operation.get('name', 'an operation')} failed: {error.get('message', error)}")

    def forget(self, live: LiveModel) -> None:
        """Remove the reconciler's labels from the Model and endpoints and leave
        them live; `reconciler-forgotten` says the job's frozen labels no longer hold."""
        handle = live.handle
        if not isinstance(handle, Handle) or handle.model is None:
            return
        name = without_version(handle.model["name"])
        model = self.client.get_model(name)
        labels = {**self.marker.merged(model.get("labels") or {}, {}), FORGOTTEN: "true"}
        self.client.update_model(name, {"labels": labels}, ["labels"])
        for endpoint in handle.endpoints:
            with suppress(ApiError):
                body = self.client.get_endpoint(endpoint)
                self.client.update_endpoint_labels(endpoint, self.marker.merged(body.get("labels") or {}, {}))

    def adopt(self, model: DesiredModel, live_key: str | None = None) -> LiveModel:
        """Label an unmanaged tuned Model the manifest describes; returns it as it was.

        `live_key` names it (`model-<id>`, or a Model's or tuning job's resource
        name); by default it is the Model whose key is the manifest id. Its base
        model and hyperparameters are read from the job that made it (a job
        made by hand carries no reconciler label, so it is fetched by the name
        the service's own label gives) and must be the manifest's. The Model is
        then labelled with the manifest id, and lives under that id."""
        live = self._unmanaged(live_key or model.id)
        if live.ownership is not None:
            raise CannotAdopt(f"{live.address} is managed already; `reconciler plan` shows its state")
        handle = live.handle
        if not isinstance(handle, Handle) or handle.model is None:
            raise CannotAdopt(f"{live.address} has no Model to import")
        described = self._as_tuned(live, self._job_that_made(handle.model))
        _, _, diffs = input_changes(model, described, RULES.hyperparameter_defaults)
        if diffs:
            raise CannotAdopt(
                f"{live.address} does not match {model.file}; fix the manifest to describe it:\n  - "
                + "\n  - ".join(mismatch_lines(diffs))
            )
        taken = self.find(model.id) if model.id != live.key else None
        if taken is not None:
            raise CannotAdopt(
                f"{taken.address} is live under the id {model.id} already; "
                "choose another metadata.name to import it under"
            )
        self._patch_model(model, without_version(handle.model["name"]), ("labels",), untested=False)
        return described

    def _unmanaged(self, wanted: str) -> LiveModel:
        """The live model `wanted` names: its key, or a Model's or tuning job's name."""
        lives = self._join().live_models()
        key = wanted.rpartition("/")[2]
        if "/tuningJobs/" in wanted:
            made = job_model(self.client.get_tuning_job(wanted))
            key = unmanaged_key(made) if made else key
        elif "/models/" in wanted:
            key = unmanaged_key(wanted)
        live = next((m for m in lives if m.key == key), None)
        if live is None:
            raise CannotAdopt(f"no tuned model {key} is live")
        return live

    def _job_that_made(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """The tuning job that made a Model, by the job id the service labels it
        with; None when the label is gone or the job is (a Model uploaded by hand)."""
        job_id = (body.get("labels") or {}).get(JOB_ID_LABEL, "")
        if not job_id:
            return None
        try:
            return self.client.get_tuning_job(
                f"projects/{self.settings.project}/locations/{self.settings.location}/tuningJobs/{job_id}"
            )
        except NotFound:
            return None

    @staticmethod
    def _as_tuned(live: LiveModel, job: Mapping[str, Any] | None) -> LiveModel:
        """The live model with what its job was tuned from and with: the base
        model as the catalogue spells it, and the hyperparameters it ran."""
        if job is None or job.get("preTunedModel"):
            return live
        base = str(job.get("baseModel", "")).removeprefix(PUBLISHER_PREFIX) or live.source
        return live.model_copy(update={"source": base, "base_model": base, "hyperparameters": hyperparameters(job)})

    # --- smoke tests ----------------------------------------------------------------

    def generate(self, key: str, base_model: str, text: str) -> str:
        endpoint = self._endpoint.get(key)
        if endpoint is None:  # the model this id is now: a candidate, not the one still serving
            live = self.find(key)
            endpoint = live.handle.endpoint if live is not None and isinstance(live.handle, Handle) else None
        return self._answer(key, endpoint, text)

    def generate_serving(self, key: str, base_model: str, text: str) -> str:
        """One answer from the Model serving now (not a candidate beside it)."""
        live = self.find(key)
        return self._answer(key, live.serving.get("endpoint") if live is not None else None, text)

    def _answer(self, key: str, endpoint: str | None, text: str) -> str:
        if not endpoint:
            raise ChangeFailed(f"{RULES.address(key)} has no endpoint to test")
        response = self.client.generate_content(endpoint, text, self._generation.get(key, {}))
        candidates = response.get("candidates") or [{}]
        parts = (candidates[0].get("content") or {}).get("parts") or []
        return "".join(str(part.get("text", "")) for part in parts)

    # --- grants (none on Vertex: validate refuses them) ---------------------------------

    def grant(self, key: str, grant: PermissionChange) -> None:
        raise ChangeFailed("Vertex AI has no per-model grants")

    update_grant = revoke = grant

    # --- export -----------------------------------------------------------------------

    def export(self, keys: Collection[str] = ()) -> dict[str, dict[str, Any]]:
        live = self._join().live_models()
        wanted = {key.rpartition("/")[2] for key in keys}
        missing = wanted - {m.key for m in live}
        if missing:
            raise UserError(f"no live model {', '.join(sorted(missing))}; nothing was exported")
        return {
            m.key: manifest_for(self._with_its_job(m))
            for m in live
            if (not wanted or m.key in wanted) and m.state is not LiveState.FAILED
        }

    def _with_its_job(self, live: LiveModel) -> LiveModel:
        """A Model made by hand (or imported) has no job in the managed lists:
        its job, fetched by the service's label, says how it was tuned."""
        handle = live.handle
        if live.hyperparameters or not isinstance(handle, Handle) or handle.model is None or handle.job is not None:
            return live
        return self._as_tuned(live, self._job_that_made(handle.model))


class _StaleEtag(Exception):
    """A Model PATCH refused because the Model changed after it was read."""


def _left_nothing(live: LiveModel) -> bool:
    handle = live.handle
    return (
        live.state is LiveState.FAILED
        and isinstance(handle, Handle)
        and handle.model is None
        and not handle.endpoints
        and not handle.others
    )


def _tuned_from(job: Mapping[str, Any]) -> str:
    pre_tuned = job.get("preTunedModel") or {}
    return without_version(pre_tuned.get("tunedModelName", "")) if pre_tuned else str(job.get("baseModel", ""))


def _managed(resource: Mapping[str, Any]) -> bool:
    return (resource.get("labels") or {}).get("managed-by") == "reconciler"


def _display_name(model: DesiredModel) -> str:
    return model.manifest.spec.display_name or model.id


def _generation_config(model: DesiredModel) -> dict[str, Any]:
    generation = model.manifest.spec.generation
    values = {"temperature": generation.temperature, "topP": generation.top_p, "topK": generation.top_k}
    return {k: v for k, v in values.items() if v is not None}


def _normalised(split: dict[str, int]) -> dict[str, int]:
    total = sum(split.values())
    shares = {k: v * 100 // total for k, v in split.items()}
    first = next(iter(shares))
    shares[first] += 100 - sum(shares.values())
    return shares


def _progress(key: str, job: Mapping[str, Any], elapsed: float) -> Progress:
    """What the job says of its progress. v1 gives the state and, once the data
    is read, `tuningDataStats.tuningStepCount`; the completed steps and epochs
    (`tuningJobMetadata`) only v1beta1 gives. Without them no step count is
    shown (never `step 0/N` for a whole run): the stage says why."""
    metadata = job.get("tuningJobMetadata")
    stats = (job.get("tuningDataStats") or {}).get("supervisedTuningDataStats") or {}
    total = int(stats.get("tuningStepCount", 0) or 0)
    steps = int((metadata or {}).get("completedStepCount", 0) or 0)
    done = job_state(job) == SUCCEEDED
    if not done and not isinstance(metadata, Mapping):
        total = 0  # the run's length is known, how far it is is not
    return Progress(
        model_id=key,
        completed_steps=total if done and total else steps,
        total_steps=total,
        percent=100.0 if done else (min(100.0, 100.0 * steps / total) if total else 0.0),
        epoch=int((metadata or {}).get("completedEpochCount", 0) or 0),
        elapsed=elapsed,
        stage=_stage(job),
    )


NO_STEP_PROGRESS = "no step progress from this API version"


def _stage(job: Mapping[str, Any]) -> str:
    """`pending`, `running: tuning`, `succeeded`: the job state, with the
    running sub-state (v1beta1's tuningJobState) when there is one; a v1 answer
    has none, nor step counts: `running (no step progress from this API version)`."""
    state = job_state(job).removeprefix("JOB_STATE_").lower()
    detail = str(job.get("tuningJobState", "")).removeprefix("TUNING_JOB_STATE_").lower().replace("_", " ")
    if state != "running":
        return state
    if detail:
        return f"{state}: {detail}"
    return state if "tuningJobMetadata" in job else f"{state} ({NO_STEP_PROGRESS})"
