"""Amazon Bedrock model customization behind the `Backend` interface.

Bedrock lets the client name everything and takes an idempotency token, which
makes a crash or a retry safe without a lock (Vertex AI needs one):

- the job and its custom model are named from the id, the inputs and the
  attempt (names.py), and a create first looks for a live job under the same
  name prefix (a crash after the create, or a concurrent apply);
- the create carries `clientRequestToken` derived from the same three: resent
  (a throttled or unanswered create, botocore's or our retry, or two applies
  at once), it returns the job the first one made, never a second job;
- a name once used is never free again (jobs cannot be deleted), so a create
  whose token Bedrock has forgotten meets a conflict on the name, and finds
  the job by it.

Every job, custom model and deployment carries the signed marker (tags.py);
nothing whose tags do not verify is touched. A custom model serves through an
on-demand deployment of its own; a replace creates the new model and its
deployment first, and the old ones are deleted only after the new model passed
its smoke tests and gate (`remove_superseded`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from decimal import Decimal
from functools import partial
from typing import Any

from reconciler.apply.backend import CannotAdopt, ChangeFailed, Tuned
from reconciler.apply.progress import Progress
from reconciler.apply.waiting import TimedOut, Waiter
from reconciler.backends.bedrock import names, uploads
from reconciler.backends.bedrock.catalogue import ModelEntry, entry
from reconciler.backends.bedrock.client import BedrockClient, tag_list
from reconciler.backends.bedrock.datasets import canonical_jsonl, object_name
from reconciler.backends.bedrock.export import manifest_for
from reconciler.backends.bedrock.live import (
    ACTIVE,
    COMPLETED,
    RUNNING,
    Handle,
    Join,
    born_of_reads,
    job_name,
    made_model_name,
    model_status,
    status,
    tag_reads,
)
from reconciler.backends.bedrock.rules import RULES, checks
from reconciler.backends.bedrock.settings import BedrockSettings, BedrockTarget, bedrock_shards
from reconciler.backends.bedrock.tags import (
    DESCRIPTION,
    DISPLAY_NAME,
    FORGOTTEN,
    OWNED,
    RUN,
    SOURCE,
    TEACHER,
    TEXT_FIELDS,
    TagMarker,
    deployment_scope,
    evaluation_of,
    job_scope,
    model_scope,
    owned_tags,
    text_keys,
    text_tags,
)
from reconciler.client.errors import ApiError, Conflict, InvalidArgument, NotFound
from reconciler.client.pacing import Pacer, QuotaExhausted
from reconciler.client.retry import RetryPolicy, is_transient
from reconciler.loader.checks import BackendChecks
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.errors import UserError
from reconciler.model.live import LiveModel, LiveState, Observed
from reconciler.model.manifest import TunedModelManifest
from reconciler.model.ownership import Ownership, gated, ownership_for
from reconciler.model.settings import Settings
from reconciler.model.shards import Shards
from reconciler.model.signing import keys_from
from reconciler.plan.inputs import input_changes, mismatch_lines
from reconciler.plan.types import PermissionChange

NAME = "bedrock"
# spec.customization, as the manifest writes it, to Bedrock's customizationType.
CUSTOMIZATION_TYPES = {
    "fineTuning": "FINE_TUNING",
    "continuedPreTraining": "CONTINUED_PRE_TRAINING",
    "distillation": "DISTILLATION",
}
ON_DEMAND = "customModelDeployment"  # the catalogue's name of the on-demand inference path
DELETE_REFUSALS = 8  # DeleteCustomModel refused (a deployment not yet released) this often: give up
FIELD_PATHS = {"spec.displayName": DISPLAY_NAME, "spec.description": DESCRIPTION}


class BedrockBackend:
    name = NAME
    rules = RULES
    settings_block = BedrockSettings
    settings_inline = False
    # Whatever else botocore finds (a profile, SSO, web identity) lives in files
    # or is fetched; these two are the secrets an environment can hold.
    secret_variables: tuple[str, ...] = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    target_block = BedrockTarget

    @classmethod
    def shards(cls, settings: Settings) -> Shards:
        return bedrock_shards(settings, cls.block_of(settings))

    @classmethod
    def checks(cls, settings: Settings) -> BackendChecks:
        found: BackendChecks = checks(cls.block_of(settings))
        return found

    @staticmethod
    def block_of(settings: Settings) -> BedrockSettings:
        block = settings.block()
        if not isinstance(block, BedrockSettings):
            raise UserError("backend: bedrock needs a `bedrock:` block in reconciler.yaml")
        return block

    def __init__(
        self,
        client: BedrockClient,
        settings: BedrockSettings,
        *,
        marker: TagMarker | None = None,
        concurrency: int = 4,
    ) -> None:
        # No timing of its own: every wait goes through the apply's Waiter, every
        # resend through the client's RetryPolicy.
        self.client = client
        self.settings = settings
        self.marker = marker or TagMarker()
        self.concurrency = max(1, concurrency)
        self._chat: dict[str, tuple[str | None, dict[str, Any]]] = {}  # key -> system text, inferenceConfig
        self._deployment: dict[str, str] = {}  # key -> the deployment its last create or wait made
        self.uploads = 0  # objects this backend uploaded (tests: a second apply uploads nothing)
        self.run = secrets.token_hex(8)  # this apply, in the RUN tag of each job it sends
        # One account and region, one quota: every create of this backend's workers
        # takes its turn here (bedrock.maxCreatesPerMinute).
        self.pacer = Pacer(settings.max_creates_per_minute, setting="bedrock.maxCreatesPerMinute")

    def manifest_problems(self, manifest: TunedModelManifest) -> Iterable[tuple[tuple[str, ...], str]]:
        found: BackendChecks = checks(self.settings)
        return found.manifest(manifest)

    @classmethod
    def connect(
        cls,
        settings: Settings,
        *,
        emulator: str | None = None,
        env: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
    ) -> BedrockBackend:
        """A backend for reconciler.yaml's `bedrock:` block: the embedded emulator
        (`emulator`, dummy credentials), or Amazon Bedrock where botocore's
        endpoint variables and credentials chain say (a CredentialsError says
        how to give credentials when there are none)."""
        env = os.environ if env is None else env
        block = cls.block_of(settings)
        client = BedrockClient.connect(
            block.region,
            emulator=emulator,
            timeout=settings.request_timeout_seconds,
            pool_size=max(10, settings.concurrency),
            retry=retry,
            env=env,
        )
        return cls(client, block, marker=TagMarker(keys_from(env)), concurrency=settings.concurrency)

    @classmethod
    def emulator_fixtures(cls, settings: Settings) -> dict[str, Any]:
        """What an emulator started for these settings must hold that an AWS
        account has before its first apply: the datasets and outputs buckets,
        in the region. The backend never makes a bucket itself."""
        block = settings.block()
        if not isinstance(block, BedrockSettings):
            return {}
        outputs = block.outputs.removeprefix("s3://").split("/", 1)[0]
        return {"s3_buckets": tuple(sorted({block.bucket, outputs})), "aws_region": block.region}

    def describe_target(self) -> str:
        endpoints = self.client.endpoints()
        return (
            f"Amazon Bedrock in {self.client.region} at {endpoints['bedrock']} "
            f"(runtime {endpoints['bedrock-runtime']}), S3 at {endpoints['s3']} ({self.client.credentials})"
        )

    def close(self) -> None:
        self.client.close()

    # --- observe --------------------------------------------------------------------------

    def observe(self, desired: Desired) -> Observed:
        return self.observe_models()(desired)

    def observe_models(self, *, progress: bool = False) -> Callable[[Desired], Observed]:
        """Three paged lists (jobs, custom models, deployments) and the tags a
        decision needs (live.tag_reads), read concurrently; never a GET per model."""
        live = self._join().live_models()

        def complete(desired: Desired) -> Observed:
            for model in desired.models:
                self._chat[model.id] = _chat_of(model)
            declared = desired.by_id()
            # A run that failed and left nothing is only a tombstone without a manifest.
            kept = [m for m in live if m.key in declared or not _left_nothing(m)]
            return Observed(models=tuple(kept))

        return complete

    def _join(self, key: str | None = None) -> Join:
        """The join of everything listed (or, for `key`, of what may be its)."""
        jobs = self.client.list_jobs(names.key_prefix(key) if key else None)
        models = self.client.list_models()
        if key is not None:
            jobs = [j for j in jobs if names.made_for(job_name(j), key)]
            # Its own names, and names it did not make (a model imported by hand keeps its own).
            models = [
                m
                for m in models
                if names.made_for(str(m["modelName"]), key) or not names.named_by_reconciler(str(m["modelName"]))
            ]
        deployments = self.client.list_deployments()
        tags = self._read_tags(tag_reads(jobs, models))
        tags.update(self._read_tags(born_of_reads(jobs, models, tags)))
        return Join(self.marker, jobs, models, deployments, tags, deploys=self.deploys)

    def _read_tags(self, arns: list[str]) -> dict[str, dict[str, str]]:
        """ListTagsForResource for each ARN, as many at a time as the client has
        connections (at least 10); a resource deleted since it was listed is left out."""

        def read(arn: str) -> tuple[str, dict[str, str] | None]:
            try:
                return arn, self.client.tags(arn)
            except NotFound:
                return arn, None

        wanted = list(dict.fromkeys(arns))
        if not wanted:
            return {}
        with ThreadPoolExecutor(max_workers=min(max(10, self.concurrency), len(wanted))) as pool:
            return {arn: tags for arn, tags in pool.map(read, wanted) if tags is not None}

    def find(self, key: str) -> LiveModel | None:
        """The live model of one id now: its jobs listed by name, and the tags of
        the custom models that may be its."""
        return next((m for m in self._join(key).live_models() if m.key == key), None)

    # --- create and wait ------------------------------------------------------------------

    def create(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        self._chat[model.id] = _chat_of(model)
        source, base = self._source_of(model)
        catalogued = entry(base, self.settings.base_models)
        if catalogued is None:
            raise ChangeFailed(f"{base} is not a base model the catalogue knows how to write data for")
        training = self.upload(model, catalogued)
        validation = self.upload(model, catalogued, validation=True) if model.validation is not None else ""
        inputs = _inputs(model, source)
        self._stop_superseded(model, inputs, waiter)
        job, attempt = self._earlier_attempts(model.id, inputs)
        found = job is not None
        if job is None:
            job = self._start(model, inputs, attempt, source, training, validation, waiter)
            # A concurrent apply's create of the same token may have made it first.
            found = self.client.tags(str(job["jobArn"])).get(RUN) != self.run
        return self._await(model, job, waiter, found=found, deploy=self.deploys(base))

    def upload(self, model: DesiredModel, catalogued: ModelEntry, *, validation: bool = False) -> str:
        """The canonical JSONL at its content address (uploads.py); its s3:// URI."""
        data = canonical_jsonl(model, catalogued, validation=validation)
        key = object_name(self.settings.prefix, data)
        try:
            self.uploads += uploads.store(self.client, self.settings.bucket, key, data)
        except uploads.ObjectMismatch as error:
            raise ChangeFailed(str(error)) from error
        return f"s3://{self.settings.bucket}/{key}"

    def _source_of(self, model: DesiredModel) -> tuple[str, str]:
        """What the job tunes (a base model id, or the source id's custom model
        ARN) and the base model at the root of the chain (for the catalogue)."""
        spec = model.manifest.spec
        if not spec.source_id:
            return spec.base_model or "", spec.base_model or ""
        source = self.find(spec.source_id)
        arn = source.serving.get("model") if source is not None and source.state is LiveState.ACTIVE else None
        if not arn or source is None:
            raise ChangeFailed(f"its source model {spec.source_id} has no live custom model to tune from")
        return arn, source.base_model

    def _jobs_named(self, name_prefix: str) -> list[dict[str, Any]]:
        return [j for j in self.client.list_jobs(name_prefix) if names.attempt_of(job_name(j), name_prefix)]

    def _job_ownership(self, job: Mapping[str, Any], key: str) -> Ownership | None:
        """What a job's tags record, when they verify for it and name `key`."""
        reading = self.marker.read(self.client.tags(str(job["jobArn"])), job_scope(job_name(job), made_model_name(job)))
        return reading.ownership if reading.key == key else None

    def _earlier_attempts(self, key: str, inputs: str) -> tuple[dict[str, Any] | None, int]:
        """A live job of these inputs an interrupted or concurrent create made
        (running, or completed with its model still there), and the next
        attempt number (the names of ended jobs are never free again)."""
        name_prefix = names.prefix(key, inputs)
        listed = self._jobs_named(name_prefix)
        attempts = [names.attempt_of(job_name(j), name_prefix) or 0 for j in listed]
        for job in sorted(listed, key=lambda j: names.attempt_of(job_name(j), name_prefix) or 0, reverse=True):
            if status(job) not in RUNNING and status(job) != COMPLETED:
                continue
            if self._job_ownership(job, key) is None:
                continue
            if status(job) == COMPLETED and not self._model_exists(made_model_name(job)):
                continue  # a tombstone: its model was deleted
            return job, max(attempts) + 1
        return None, max(attempts, default=0) + 1

    def _model_exists(self, name: str) -> bool:
        try:
            self.client.get_model(name)
        except NotFound:
            return False
        return True

    def _stop_superseded(self, model: DesiredModel, inputs: str, waiter: Waiter) -> None:
        """A replace of a model still tuning: its old run (other inputs) is stopped first."""
        current = names.prefix(model.id, inputs)
        for job in self.client.list_jobs(names.key_prefix(model.id)):
            if not names.made_for(job_name(job), model.id) or job_name(job).startswith(current):
                continue
            if status(job) in RUNNING and self._job_ownership(job, model.id) is not None:
                self._stop_and_wait(job, waiter)

    def _start(
        self,
        model: DesiredModel,
        inputs: str,
        attempt: int,
        source: str,
        training: str,
        validation: str,
        waiter: Waiter,
    ) -> dict[str, Any]:
        """CreateModelCustomizationJob with this attempt's names and token, paced to
        the account's quota in the region; a throttled create (nothing made)
        waits for it and is sent again, with the same token."""
        name = names.resource_name(model.id, inputs, attempt)
        ownership = ownership_for(model, untested=gated(model))
        fields = self._field_tags(model)
        request: dict[str, Any] = {
            "jobName": name,
            "customModelName": name,
            "roleArn": self.settings.role_arn,
            "baseModelIdentifier": source,
            "customizationType": _customization(model),
            "trainingDataConfig": {"s3Uri": training},
            "outputDataConfig": {"s3Uri": self.settings.outputs},
            "jobTags": tag_list(
                self.marker.tags(model.id, ownership, job_scope(name, name)) | fields | {RUN: self.run}
            ),
            "customModelTags": tag_list(self.marker.tags(model.id, ownership, model_scope(name)) | fields),
            "clientRequestToken": names.client_token(model.id, inputs, attempt),
        }
        teacher = _teacher(model)
        if teacher:
            request["customizationConfig"] = {
                "distillationConfig": {"teacherModelConfig": {"teacherModelIdentifier": teacher}}
            }
        hyperparameters = _hyperparameters(model)
        if hyperparameters:
            request["hyperParameters"] = hyperparameters
        if validation:
            request["validationDataConfig"] = {"validators": [{"s3Uri": validation}]}
        try:
            arn = self.pacer.submit(partial(self.client.create_job, request), waiter.quota(model.id))
        except QuotaExhausted as error:
            raise ChangeFailed(str(error)) from error
        except (Conflict, InvalidArgument) as error:
            if "exist" not in error.message.lower():
                raise ChangeFailed(f"the customization job was refused: {error}") from error
            return self._named_job(model.id, name, error)
        except ApiError as error:
            if not is_transient(error):
                raise ChangeFailed(f"the customization job was refused: {error}") from error
            raise ChangeFailed(
                f"the create of the customization job {name} got no answer ({error}); every attempt carried "
                "the same clientRequestToken, so at most one job was made, and the next apply finds it by its name"
            ) from error
        del arn  # a job is asked for by its name, which is ours
        return self.client.get_job(name)

    def _named_job(self, key: str, name: str, error: ApiError) -> dict[str, Any]:
        """The job a create met under its own name (made by an earlier attempt whose
        token Bedrock no longer remembers): waited on if its tags are ours."""
        for job in self.client.list_jobs(name):
            if job_name(job) == name and self._job_ownership(job, key) is not None:
                return job
        raise ChangeFailed(f"a customization job named {name} exists, and its tags are not this model's ({error})")

    def _field_tags(self, model: DesiredModel) -> dict[str, str]:
        """The display name, description and source as tags (tags.text_tags)."""
        spec = model.manifest.spec
        values = {
            DISPLAY_NAME: spec.display_name,
            DESCRIPTION: spec.description,
            SOURCE: spec.source,
            TEACHER: _teacher(model),
        }
        tags: dict[str, str] = {}
        for tag, value in values.items():
            if not value and (value is None or tag in (DESCRIPTION, TEACHER)):
                continue
            try:
                tags.update(text_tags(tag, value))
            except ValueError as error:
                raise ChangeFailed(f"its {tag.removeprefix('reconciler-')} {error}") from error
        return tags

    def wait(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        """Wait for a run an earlier apply started, or finish what it left: the
        custom model's tags and its deployment."""
        self._chat[model.id] = _chat_of(model)
        live = self.find(model.id)
        handle = live.handle if live is not None else None
        if not isinstance(handle, Handle) or (handle.job is None and handle.model is None):
            raise ChangeFailed(f"{RULES.address(model.id)} has no customization job to wait for")
        assert live is not None
        deploy = self.deploys(live.base_model)
        if handle.job is not None and (status(handle.job) in RUNNING or handle.model is None):
            return self._await(model, handle.job, waiter, found=True, deploy=deploy)
        assert handle.model is not None
        untested = live.ownership.untested if live.ownership is not None else gated(model)
        self._finish(model, str(handle.model["modelName"]), waiter, untested=untested, deploy=deploy)
        return Tuned(found=True)

    def deploys(self, base_model: str) -> bool:
        """Whether a custom model of this base model gets an on-demand deployment:
        where the catalogue says Bedrock has one for it (the others need
        Provisioned Throughput, which the reconciler never buys). A base model
        the catalogue lacks is tried."""
        catalogued = entry(base_model, self.settings.base_models) if base_model else None
        return catalogued is None or ON_DEMAND in catalogued.inference

    def _await(
        self, model: DesiredModel, job: Mapping[str, Any], waiter: Waiter, *, found: bool, deploy: bool
    ) -> Tuned:
        final = self._poll_job(model.id, job_name(job), waiter)
        if status(final) != COMPLETED:
            reason = str(final.get("failureMessage") or "")
            raise ChangeFailed(
                f"tuning ended {status(final)}" + (f": {reason}" if reason else "") + "; the next plan replaces it"
            )
        # The reconciler names a job's custom model as the job (names.py): by
        # name, the model is found whatever the job's answer says of it.
        model_name = job_name(final)
        self._finish(model, model_name, waiter, untested=gated(model), deploy=deploy)
        loss = (final.get("trainingMetrics") or {}).get("trainingLoss")
        return Tuned(found=found, losses=(float(loss),) if isinstance(loss, int | float) else ())

    def _poll_job(self, key: str, name: str, waiter: Waiter) -> dict[str, Any]:
        final: dict[str, Any] = {}

        def look(elapsed: float) -> bool:
            job = self.client.get_job(name)
            loss = (job.get("trainingMetrics") or {}).get("trainingLoss")
            waiter.reporter.progress(
                Progress(
                    model_id=key,
                    percent=100.0 if status(job) == COMPLETED else 0.0,
                    mean_loss=float(loss) if isinstance(loss, int | float) else None,
                    elapsed=elapsed,
                    stage=status(job).lower() or None,
                )
            )
            if status(job) in RUNNING:
                return False
            final.update(job)
            return True

        waiter.poll(look, f"tuning of {RULES.address(key)}")
        return final

    def _finish(self, model: DesiredModel, model_name: str, waiter: Waiter, *, untested: bool, deploy: bool) -> None:
        """The custom model, once Active, tagged for this id; then its deployment,
        Active, where its base model has on-demand deployments."""
        body: dict[str, Any] = {}

        def active(_elapsed: float) -> bool:
            body.clear()
            body.update(self.client.get_model(model_name))
            if model_status(body) == "Failed":
                raise ChangeFailed(f"the custom model {model_name} failed: {body.get('failureMessage', '')}")
            return model_status(body) == ACTIVE

        waiter.poll(active, f"the custom model {model_name}")
        model_arn = str(body["modelArn"])
        self._tag_model(model, model_arn, model_name, untested=untested)
        if deploy:
            self._deployment[model.id] = self._ensure_deployment(model, model_arn, waiter)

    def _tag_model(
        self,
        model: DesiredModel,
        arn: str,
        name: str,
        *,
        untested: bool,
        evaluation: Mapping[str, str] | None = None,
        fields: bool = True,
    ) -> None:
        """Write the marker (and the fields) onto a custom model of this id: one
        TagResource, whose owned tags replace the whole marker at once. Refused
        on a model whose tags name another id or do not verify: never claimed."""
        live = self.client.tags(arn)
        reading = self.marker.read(live, model_scope(name))
        if owned_tags(live) and reading.key != model.id:
            raise ChangeFailed(f"the custom model {name} carries reconciler tags of another id; it is not tagged")
        if owned_tags(live) and reading.ownership is None:
            raise ChangeFailed(f"the custom model {name} carries reconciler tags that do not verify: {reading.note}")
        if evaluation is None:
            evaluation = evaluation_of(live)
        owned = self.marker.tags(model.id, ownership_for(model, untested=untested), model_scope(name), evaluation)
        written = owned | (self._field_tags(model) if fields else {})
        self.client.tag(arn, written)
        stale = {k for tag in TEXT_FIELDS for k in text_keys(live, tag)} - set(written) if fields else set()
        self.client.untag(arn, sorted(stale | ({FORGOTTEN} & set(live))))

    def _ensure_deployment(self, model: DesiredModel, model_arn: str, waiter: Waiter) -> str:
        """The custom model's deployment, made if missing (a Failed one is deleted
        and made again once), and waited for until Active; its ARN."""
        name = names.deployment_name(model.id, model_arn)
        for _ in range(2):
            deployment = self._deployment_named(name, model_arn)
            if deployment is not None and deployment.get("status") == "Failed":
                self._delete_deployment(model.id, deployment, waiter)
                deployment = None
            arn = str(deployment["customModelDeploymentArn"]) if deployment else self._deploy(model, model_arn, name)
            if self._deployed(arn, waiter):
                return arn
        raise ChangeFailed(f"the deployment {name} of {model_arn} failed twice; the next apply tries again")

    def _deployment_named(self, name: str, model_arn: str) -> dict[str, Any] | None:
        listed = self.client.list_deployments(model_arn)
        return next((d for d in listed if d.get("customModelDeploymentName") == name), None)

    def _deploy(self, model: DesiredModel, model_arn: str, name: str) -> str:
        ownership = ownership_for(model)
        request = {
            "modelDeploymentName": name,
            "modelArn": model_arn,
            "description": f"{RULES.address(model.id)} (reconciler)",
            "tags": tag_list(self.marker.tags(model.id, ownership, deployment_scope(name, model_arn))),
            "clientRequestToken": names.deployment_token(model.id, model_arn),
        }
        try:
            return self.client.create_deployment(request)
        except (Conflict, InvalidArgument) as error:
            found = self._deployment_named(name, model_arn) if "exist" in error.message.lower() else None
            if found is None:
                raise ChangeFailed(f"the deployment of {model_arn} was refused: {error}") from error
            return str(found["customModelDeploymentArn"])

    def _deployed(self, arn: str, waiter: Waiter) -> bool:
        """Wait until the deployment is Active (True) or Failed (False)."""
        ended: list[str] = []

        def look(_elapsed: float) -> bool:
            state = str(self.client.get_deployment(arn).get("status", ""))
            if state in (ACTIVE, "Failed"):
                ended.append(state)
                return True
            return False

        waiter.poll(look, f"the deployment {arn}")
        return ended == [ACTIVE]

    # --- changes in place -------------------------------------------------------------------

    def update(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        """Rewrite the tags the mask names: the marker (one TagResource), and the
        display name and description (tags too: Bedrock has no such fields)."""
        arn, name = self._managed_model(model.id)
        paths = {f.mask: f.path for f in RULES.mutable_fields}
        wanted = self._field_tags(model)
        live = self.client.tags(arn)
        written: dict[str, str] = {}
        stale: set[str] = set()
        for mask in update_mask:
            tag = FIELD_PATHS.get(paths.get(mask, ""))
            if tag is not None:
                value = {k: v for k, v in wanted.items() if k == tag or k.startswith(f"{tag}-")}
                written.update(value)
                stale |= text_keys(live, tag) - set(value)
        if RULES.marker_mask in update_mask:
            ownership = ownership_for(model, untested=untested)
            written.update(self.marker.tags(model.id, ownership, model_scope(name), evaluation_of(live)))
            written.update({SOURCE: wanted[SOURCE]} if SOURCE in wanted else {})
        if written:
            self.client.tag(arn, written)
        self.client.untag(arn, sorted(stale))

    def mark_tested(self, model: DesiredModel, evaluation: Mapping[str, str] | None = None) -> None:
        """Drop `untested` (and `held`): the custom model serves from the next read on."""
        arn, name = self._managed_model(model.id)
        kept = {k: v for k, v in (evaluation or {}).items() if k != "held"}
        self._tag_model(model, arn, name, untested=False, evaluation=kept, fields=False)

    def hold(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """Tag the candidate held: the join keeps serving on the model before it."""
        arn, name = self._managed_model(model.id)
        self._tag_model(model, arn, name, untested=False, evaluation={**evaluation, "held": "true"}, fields=False)

    def record_evaluation(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """Record a gate result on the custom model serving (an `evaluate`)."""
        live = self.find(model.id)
        handle = live.handle if live is not None else None
        serving = live.serving.get("model", "") if live is not None else ""
        if live is None or not isinstance(handle, Handle) or not serving:
            raise ChangeFailed(f"{RULES.address(model.id)} has no custom model serving to record its evaluation on")
        body = next((m for m in (handle.model, *handle.others) if m is not None and m["modelArn"] == serving), None)
        if body is None:
            raise ChangeFailed(f"{RULES.address(model.id)} has no custom model serving to record its evaluation on")
        untested = bool(live.ownership and live.ownership.untested and handle.model is body)
        self._tag_model(model, serving, str(body["modelName"]), untested=untested, evaluation=evaluation, fields=False)

    def _managed_model(self, key: str) -> tuple[str, str]:
        live = self.find(key)
        handle = live.handle if live is not None else None
        if live is None or live.ownership is None or not isinstance(handle, Handle) or handle.model is None:
            raise ChangeFailed(f"{RULES.address(key)} has no custom model to update")
        return str(handle.model["modelArn"]), str(handle.model["modelName"])

    # --- delete -----------------------------------------------------------------------------

    def delete(self, live: LiveModel, waiter: Waiter) -> None:
        """Stop its running jobs, then delete every custom model the id claims,
        each after its deployment; the jobs stay, as tombstones."""
        handle = live.handle
        if not isinstance(handle, Handle) or live.ownership is None:
            return
        running = [job for job in handle.jobs if status(job) in RUNNING]
        if running:
            for job in running:
                self._stop_and_wait(job, waiter)
            fresh = self.find(live.key)
            if fresh is None or not isinstance(fresh.handle, Handle) or fresh.ownership is None:
                return
            handle = fresh.handle
        self._remove(live.key, [m for m in (handle.model, *handle.others) if m is not None], waiter)

    def remove_superseded(self, live: LiveModel, waiter: Waiter) -> None:
        """Remove the id's custom models that serve nobody: `live` is read after
        the new model serves, and the model it serves from is never among them."""
        handle = live.handle
        if isinstance(handle, Handle) and live.ownership is not None:
            self._remove(live.key, [m for m in handle.others if m["modelName"] in live.superseded], waiter)

    def _remove(self, key: str, models: list[dict[str, Any]], waiter: Waiter) -> None:
        for body in models:
            arn = str(body["modelArn"])
            for deployment in self.client.list_deployments(arn):
                if deployment.get("modelArn") != arn:
                    continue
                if not self._deployment_is_ours(key, deployment):
                    raise ChangeFailed(
                        f"the custom model {body['modelName']} is served by the deployment "
                        f"{deployment.get('customModelDeploymentName')}, which is not the reconciler's: it is not "
                        "deleted; delete that deployment yourself, or keep the model (deletionPolicy: Orphan)"
                    )
                self._delete_deployment(key, deployment, waiter)
            self._delete_model(str(body["modelName"]), waiter)

    def _deployment_is_ours(self, key: str, deployment: Mapping[str, Any]) -> bool:
        name = str(deployment.get("customModelDeploymentName", ""))
        if name != names.deployment_name(key, str(deployment.get("modelArn", ""))):
            return False
        try:
            tags = self.client.tags(str(deployment["customModelDeploymentArn"]))
        except NotFound:
            return True  # gone meanwhile: nothing left to refuse
        reading = self.marker.read(tags, deployment_scope(name, str(deployment.get("modelArn", ""))))
        return reading.ownership is not None and reading.key == key

    def _delete_deployment(self, key: str, deployment: Mapping[str, Any], waiter: Waiter) -> None:
        arn = str(deployment["customModelDeploymentArn"])
        with suppress(NotFound):
            self.client.delete_deployment(arn)

        def gone() -> bool:
            try:
                self.client.get_deployment(arn)
            except NotFound:
                return True
            return False

        waiter.until(gone, f"the deletion of the deployment {arn}")
        self._deployment.pop(key, None)

    def _delete_model(self, name: str, waiter: Waiter) -> None:
        """Delete, asking again while Bedrock refuses it (ConflictException: a
        deployment not yet released), the waiter's growing interval apart, until
        DELETE_REFUSALS refusals or the operation timeout."""
        refusals = 0
        refused_last = False

        def look(_elapsed: float) -> bool:
            nonlocal refusals, refused_last
            refused_last = False
            try:
                self.client.delete_model(name)
            except NotFound:
                pass  # gone already is done
            except Conflict as error:
                refusals += 1
                refused_last = True
                if refusals >= DELETE_REFUSALS:
                    raise ChangeFailed(
                        f"the custom model {name} is still refused deletion ({error.status}) after {refusals} "
                        "tries; the next apply tries again"
                    ) from error
                return False
            return True

        try:
            waiter.poll(look, f"the deletion of {name}")
        except TimedOut as error:
            if not refused_last:
                raise
            raise ChangeFailed(
                f"the custom model {name} was still refused deletion when the operation timeout "
                f"({waiter.timeout:g}s, operationTimeoutSeconds) ran out; the next apply tries again"
            ) from error

    def _stop_and_wait(self, job: Mapping[str, Any], waiter: Waiter) -> None:
        """Stop a run and wait until it has ended (what it made meanwhile is then read afresh)."""
        name = job_name(job)  # Bedrock takes a job's name or ARN; its name is ours
        with suppress(Conflict, InvalidArgument):  # ended (or stopping) meanwhile
            self.client.stop_job(name)
        waiter.until(lambda: status(self.client.get_job(name)) not in RUNNING, f"the stop of {name}")

    # --- forget and adopt -------------------------------------------------------------------

    def forget(self, live: LiveModel) -> None:
        """Remove the reconciler's tags from every custom model of the id and its
        deployments, and leave them live; `reconciler-forgotten` says the jobs'
        tags no longer claim them."""
        handle = live.handle
        if not isinstance(handle, Handle):
            return
        for body in (handle.model, *handle.others):
            if body is None:
                continue
            arn = str(body["modelArn"])
            tags = self.client.tags(arn)
            self.client.tag(arn, {FORGOTTEN: "true"})  # first: a stop between the two leaves it ours still
            ours = set(owned_tags(tags)) | {k for tag in TEXT_FIELDS for k in text_keys(tags, tag)}
            self.client.untag(arn, sorted(ours))
        for deployment in handle.deployments.values():
            with suppress(NotFound):
                self.client.untag(str(deployment["customModelDeploymentArn"]), list(OWNED))

    def adopt(self, model: DesiredModel, live_key: str | None = None) -> LiveModel:
        """Tag an unmanaged custom model the manifest describes; returns it as it was.

        `live_key` names it (`model-<name>`, its name or its ARN); by default the
        model whose key is the manifest id. Its base model and hyperparameters
        (GetCustomModel) must be the manifest's."""
        live = self._unmanaged(live_key or model.id)
        if live.ownership is not None:
            raise CannotAdopt(f"{live.address} is managed already; `reconciler plan` shows its state")
        handle = live.handle
        if not isinstance(handle, Handle) or handle.model is None:
            raise CannotAdopt(f"{live.address} has no custom model to import")
        described = _as_tuned(live, self.client.get_model(str(handle.model["modelName"])))
        _, _, diffs = input_changes(model, described, RULES.hyperparameter_defaults)
        if diffs:
            raise CannotAdopt(
                f"{live.address} does not match {model.file}; fix the manifest to describe it:\n  - "
                + "\n  - ".join(mismatch_lines(diffs))
            )
        taken = self.find(model.id)
        if taken is not None and taken.ownership is not None:
            raise CannotAdopt(
                f"{taken.address} is live under the id {model.id} already; "
                "choose another metadata.name to import it under"
            )
        self._tag_model(model, str(handle.model["modelArn"]), str(handle.model["modelName"]), untested=False)
        return described

    def _unmanaged(self, wanted: str) -> LiveModel:
        """The live model `wanted` names: its key, or a custom model's name or ARN."""
        lives = self._join().live_models()
        name = wanted.rpartition("/")[2] if ":custom-model/" in wanted else wanted
        for key in (wanted, names.unmanaged_key(name)):
            live = next((m for m in lives if m.key == key), None)
            if live is not None:
                return live
        by_arn = next((m for m in lives if m.address == wanted), None)
        if by_arn is None:
            raise CannotAdopt(f"no custom model {wanted} is live")
        return by_arn

    # --- smoke tests ------------------------------------------------------------------------

    def generate(self, key: str, base_model: str, text: str) -> str:
        deployment = self._deployment.get(key)
        if deployment is None:  # the model this id is now: a candidate, not the one still serving
            live = self.find(key)
            handle = live.handle if live is not None else None
            if isinstance(handle, Handle) and handle.deployment is not None:
                deployment = str(handle.deployment["customModelDeploymentArn"])
        return self._answer(key, deployment, text)

    def generate_serving(self, key: str, base_model: str, text: str) -> str:
        """One answer from the model serving now (not a candidate beside it)."""
        live = self.find(key)
        return self._answer(key, live.serving.get("deployment") if live is not None else None, text)

    def _answer(self, key: str, deployment: str | None, text: str) -> str:
        if not deployment:
            raise ChangeFailed(
                f"{RULES.address(key)} has no on-demand deployment to test: its base model is served through "
                "Provisioned Throughput only, which the reconciler does not buy, or its deployment is gone"
            )
        system, inference = self._chat.get(key, (None, {}))
        return self.client.converse(deployment, text, system=system, inference=inference)

    # --- grants (none on Bedrock) -----------------------------------------------------------

    def grant(self, key: str, grant: PermissionChange) -> None:
        raise ChangeFailed(
            "Amazon Bedrock has no per-model grants: who may call a custom model is IAM's "
            "(bedrock:InvokeModel on its deployment's ARN); remove spec.permissions"
        )

    update_grant = revoke = grant

    # --- export -----------------------------------------------------------------------------

    def export(self, keys: Collection[str] = ()) -> dict[str, dict[str, Any]]:
        live = self._join().live_models()
        wanted = set(keys)
        missing = wanted - {m.key for m in live}
        if missing:
            raise UserError(f"no live model {', '.join(sorted(missing))}; nothing was exported")
        chosen = [m for m in live if (not wanted or m.key in wanted) and m.state is not LiveState.FAILED]
        return {m.key: manifest_for(self._described(m)) for m in chosen}

    def _described(self, live: LiveModel) -> LiveModel:
        """With the hyperparameters its custom model was tuned with (GetCustomModel:
        no list returns them)."""
        handle = live.handle
        if not isinstance(handle, Handle) or handle.model is None:
            return live
        try:
            return _as_tuned(live, self.client.get_model(str(handle.model["modelName"])), keep_source=live.managed)
        except NotFound:
            return live


def _inputs(model: DesiredModel, source: str) -> str:
    """What a create tunes, for its names and token: the ownership fingerprint
    and example count, the source as sent, and the customization type."""
    ownership = ownership_for(model)
    parts = (ownership.fingerprint, str(ownership.examples), source, _customization(model), _teacher(model))
    return "\n".join(part for part in parts if part)


def _customization(model: DesiredModel) -> str:
    value = getattr(model.manifest.spec, "customization", None)
    value = getattr(value, "value", value) or "fineTuning"
    return CUSTOMIZATION_TYPES.get(str(value), str(value))


def _teacher(model: DesiredModel) -> str:
    """A distillation's teacher model ("" otherwise)."""
    return str(getattr(model.manifest.spec, "teacher_model", None) or "")


def _hyperparameters(model: DesiredModel) -> dict[str, str]:
    """The manifest's hyperparameters as Bedrock's map of strings."""
    return {key: _as_string(value) for key, value in model.manifest.spec.hyperparameters.as_sent().items()}


def _as_string(value: Any) -> str:
    """2 -> "2", 1e-05 -> "0.00001": a decimal a service parses, never an exponent."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _from_string(value: str) -> int | float | str:
    for kind in (int, float):
        with suppress(ValueError):
            return kind(value)
    return value


def _as_tuned(live: LiveModel, body: Mapping[str, Any], *, keep_source: bool = False) -> LiveModel:
    """The live model with what GetCustomModel says it was tuned from and with."""
    base = names.foundation_model(str(body.get("baseModelArn", "")))
    hyperparameters = {str(k): _from_string(str(v)) for k, v in (body.get("hyperParameters") or {}).items()}
    update: dict[str, Any] = {"hyperparameters": hyperparameters}
    if not keep_source and base:
        update |= {"source": base, "base_model": base}
    return live.model_copy(update=update)


def _chat_of(model: DesiredModel) -> tuple[str | None, dict[str, Any]]:
    """The system text and Converse's inferenceConfig a smoke test sends."""
    generation = model.manifest.spec.generation
    inference = {"temperature": generation.temperature, "topP": generation.top_p}
    return model.manifest.spec.system_instruction, {k: v for k, v in inference.items() if v is not None}


def _left_nothing(live: LiveModel) -> bool:
    handle = live.handle
    return live.state is LiveState.FAILED and isinstance(handle, Handle) and handle.model is None and not handle.others
