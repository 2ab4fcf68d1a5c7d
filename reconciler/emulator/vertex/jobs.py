"""tuningJobs: create (a TuningJob in JOB_STATE_PENDING, not an operation),
get, list and cancel. No update or delete: the API has neither."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from reconciler.emulator.calls import AnswerLost, Call, Reply
from reconciler.emulator.errors import BAD_REQUEST_TYPE, ApiError, failed_precondition, invalid_argument
from reconciler.emulator.gcs.service import read_object
from reconciler.emulator.paging import page_body, page_of_documents, page_request
from reconciler.emulator.schema import parse
from reconciler.emulator.vertex import render
from reconciler.emulator.vertex.catalog import TunableModel, find_tunable
from reconciler.emulator.vertex.dataset import (
    Line,
    examples_for_inference,
    read_jsonl,
    steps_per_epoch,
    tuning_data_stats,
)
from reconciler.emulator.vertex.filters import compile_filter
from reconciler.emulator.vertex.names import Parent, check_id, new_id, parent_of, parse_name
from reconciler.emulator.vertex.resources import (
    JOBS,
    MODELS,
    OPEN,
    Vertex,
    check_labels,
    missing,
    serialized,
)
from reconciler.emulator.vertex.schema import CANCEL_TUNING_JOB, TUNING_JOB
from reconciler.emulator.vertex.timeline import PENDING, Phase, phase

SPEC = "tuning_job.supervised_tuning_spec"
MAX_DISPLAY_NAME = 128
MAX_EPOCHS = 100  # [infer] a bound, so a run has a finite number of steps
# The label the reconciler puts its manifest id in (reconciler/backends/vertex/labels.py;
# the emulator imports nothing from the reconciler): what --fail-model names.
MANIFEST_ID_LABEL = "reconciler-id"
ADAPTER_SIZE_MESSAGE = "The adapter size is not supported for this base model."  # python-genai#908


def _job_fields(now: float) -> dict[str, Callable[[dict[str, Any]], str]]:
    """What a tuningJobs filter can name (the state is where the clock says it is)."""

    def display_name(job: dict[str, Any]) -> str:
        return str(job["display_name"])

    def base_model(job: dict[str, Any]) -> str:
        return str(job["base_model"])

    return {
        "state": lambda job: phase(job, now).state,
        "display_name": display_name,
        "displayName": display_name,
        "tuned_model_display_name": display_name,
        "tunedModelDisplayName": display_name,
        "base_model": base_model,
        "baseModel": base_model,
    }


class TuningJobService:
    def __init__(self, vertex: Vertex) -> None:
        self.vertex = vertex

    @serialized
    def create_tuning_job(self, call: Call, project: str, location: str) -> Reply:
        where = parent_of(project, location)
        # The submission quota (off unless asked for), per project and location,
        # before anything is read: a refused create makes nothing.
        if self.vertex.quota.admit(("vertex", project, location), call.now) is not None:
            raise submission_quota_exceeded(project, location, self.vertex.quota.per_minute)
        self.vertex.settle(call.now)
        body = parse(call.body, TUNING_JOB, "tuning_job")
        job = self._new_job(call, where, body)
        if self.vertex.faults.take("create_errors"):
            raise ApiError("INTERNAL", "Internal error encountered.")
        job["failure"] = self._failure(job)
        self.vertex.save(JOBS, job)
        key = where.key(job["id"])
        self.vertex.store.change_document(OPEN, key, lambda _: {"key": key})
        if self.vertex.faults.take("create_answers_lost"):
            raise AnswerLost
        # "Will be attempted to be run right away": the answer is PENDING, whatever the speed.
        created = Phase(PENDING, update_time=job["create_time"])
        return 200, render.tuning_job(job, created, call.enums, call.version)

    def _failure(self, job: dict[str, Any]) -> str:
        """How this job will fail, if it does: an armed endpoint_failures fault, or the
        tuning settings (`--fail-model` / `--fail-tuning`), as Gemini runs fail. A job is
        chosen by the manifest id the reconciler labels it with, or its display name."""
        if self.vertex.faults.take("endpoint_failures"):
            return "endpoint"
        tuning = self.vertex.tuning
        chosen = {job["labels"].get(MANIFEST_ID_LABEL), job["display_name"]} & tuning.fail_ids
        if chosen or (tuning.fail_rate and self.vertex.ids.chance(tuning.fail_rate)):
            return tuning.vertex_failure
        return ""

    def get_tuning_job(self, call: Call, project: str, location: str, job_id: str) -> Reply:
        job = self._job(call, project, location, job_id)
        return 200, render.tuning_job(job, phase(job, call.now), call.enums, call.version)

    def list_tuning_jobs(self, call: Call, project: str, location: str) -> Reply:
        where = parent_of(project, location)
        self.vertex.settle(call.now)
        page = page_request(call.query, default_size=100, max_size=1000)  # [infer] sizes
        self.vertex.faults.refuse_label_filter(page.filter)
        matches = compile_filter(page.filter, _job_fields(call.now), lambda job: job["labels"])
        jobs, next_token = page_of_documents(
            self.vertex.store, JOBS, page, lambda job: job["parent"] == vars(where) and matches(job)
        )
        rendered = [render.tuning_job(job, phase(job, call.now), call.enums, call.version) for job in jobs]
        return 200, page_body("tuningJobs", rendered, next_token)

    @serialized
    def cancel_tuning_job(self, call: Call, project: str, location: str, job_id: str) -> Reply:
        parse(call.body, CANCEL_TUNING_JOB)
        job = self._job(call, project, location, job_id)
        run = phase(job, call.now)
        if run.ended or job.get("cancel_time") is not None:
            # [infer] the text; the code is the canonical one for a job in the wrong state
            raise failed_precondition(
                f"Cannot cancel tuning job {render.parent(job).child('tuningJobs', job['id'])} in state {run.state}."
            )
        job["cancel_time"] = call.now
        self.vertex.save(JOBS, job)
        return 200, {}

    def get_experiment_context(self, call: Call, project: str, location: str, store: str, context_id: str) -> Reply:
        """The metadata Context a started job names as its `experiment` (MetadataService
        GetContext): google-cloud-aiplatform's `TuningJob.refresh()` reads it."""
        where = parent_of(project, location)
        name = f"{where.name}/metadataStores/{store}/contexts/{context_id}"
        job_id = context_id.removeprefix(render.EXPERIMENT_PREFIX)
        self.vertex.settle(call.now)
        job = self.vertex.find(JOBS, where, job_id) if store == "default" and job_id != context_id else None
        run = phase(job, call.now) if job is not None else None
        if job is None or run is None or run.start_time is None:
            raise missing("Context", name)
        return 200, render.experiment_context(name, context_id, run.start_time)

    def _job(self, call: Call, project: str, location: str, job_id: str) -> dict[str, Any]:
        where = parent_of(project, location)
        check_id(job_id, "tuning job")
        self.vertex.settle(call.now)
        job = self.vertex.find(JOBS, where, job_id)
        if job is None:
            raise missing("TuningJob", where.child("tuningJobs", job_id))
        return job

    # --- create --------------------------------------------------------------------------

    def _new_job(self, call: Call, where: Parent, body: dict[str, Any]) -> dict[str, Any]:
        base, pre_tuned, source_key, source_name = self._source(body, where)
        spec = body.get("supervisedTuningSpec")
        if not spec:
            raise invalid_argument("supervised_tuning_spec is required.", SPEC)
        lines = self._datasets(spec)
        hyper = _hyper_parameters(spec.get("hyperParameters", {}), base)
        display_name = body.get("tunedModelDisplayName") or source_name or self._generated_name(base)
        if len(display_name) > MAX_DISPLAY_NAME:
            raise invalid_argument(
                f"tuned_model_display_name must be at most {MAX_DISPLAY_NAME} characters.",
                "tuning_job.tuned_model_display_name",
            )
        step = self.vertex.tuning.step_seconds
        pending = self.vertex.faults.pending_seconds or step
        job_spec = {
            "trainingDatasetUri": spec["trainingDatasetUri"],
            "hyperParameters": hyper,
            "exportLastCheckpointOnly": bool(spec.get("exportLastCheckpointOnly")),
        }
        if spec.get("validationDatasetUri"):
            job_spec["validationDatasetUri"] = spec["validationDatasetUri"]
        return {
            "id": new_id(self.vertex.ids),
            "parent": vars(where),
            "api_version": call.version,
            "create_time": call.now,
            "pending_until": call.now + pending,
            "step_seconds": step,
            "epochs": hyper["epochCount"],
            "steps_per_epoch": steps_per_epoch(lines),
            "base_model": base.name,
            "pre_tuned": pre_tuned,
            "source_model_key": source_key,
            "display_name": display_name,
            "description": body.get("description", ""),
            "labels": check_labels(body.get("labels"), "tuning_job.labels"),
            "spec": job_spec,
            "encryption_spec": body.get("encryptionSpec"),
            "service_account": body.get("serviceAccount", ""),
            "stats": tuning_data_stats(lines, hyper["epochCount"], self.vertex.faults.max_example_tokens),
            "examples": examples_for_inference(lines),
            "failure": "",  # "", "endpoint" or "tuning": decided once the create commits
            "cancel_time": None,
            "outcome": None,
        }

    def _source(self, body: dict[str, Any], where: Parent) -> tuple[TunableModel, dict[str, str] | None, str, str]:
        """The base model, and for continuous tuning the source Model (its key and name)."""
        pre_tuned = body.get("preTunedModel")
        if pre_tuned:
            return self._pre_tuned(pre_tuned, where)
        name = body.get("baseModel", "")
        if not name:
            raise invalid_argument("base_model is required.", "tuning_job.base_model")
        base = find_tunable(name)
        if base is None:
            # [infer] wording; the code is what an unsupported value gets
            raise invalid_argument(f"Base model {name[:200]} is not supported for tuning.", "tuning_job.base_model")
        return base, None, "", ""

    def _pre_tuned(self, pre_tuned: dict[str, str], where: Parent) -> tuple[TunableModel, dict[str, str], str, str]:
        field = "tuning_job.pre_tuned_model.tuned_model_name"
        raw = pre_tuned.get("tunedModelName", "")
        if raw.startswith("models/"):  # relative to the job's parent [infer]
            raw = f"{where.name}/{raw}"
        name = parse_name(raw, "models", field)
        source = self.vertex.find(MODELS, name.parent, name.resource_id)
        if source is None:
            raise missing("model", raw)
        versions = source["versions"]
        version = (
            next((v for v in versions if v["version_id"] == name.version or name.version in v["aliases"]), None)
            if name.version
            else versions[0]
        )
        if version is None:
            raise missing("model", raw)
        checkpoint = pre_tuned.get("checkpointId", "")
        if checkpoint and checkpoint not in {c["checkpointId"] for c in version["checkpoints"]}:
            raise invalid_argument(
                f"Checkpoint {checkpoint[:50]} does not exist in {raw}.", "tuning_job.pre_tuned_model.checkpoint_id"
            )
        base = find_tunable(version["base_model"])
        assert base is not None  # versions are only made from catalog models
        echoed = {"tunedModelName": raw, "baseModel": base.name}
        if checkpoint:
            echoed["checkpointId"] = checkpoint
        return base, echoed, name.parent.key(name.resource_id), source["display_name"]

    def _generated_name(self, base: TunableModel) -> str:
        # as observed: "gemini-1.5-pro-002-bf6ead6f-…" (the base model and a UUID)
        hex_digits = "0123456789abcdef"
        groups = [self.vertex.ids.chars(n, hex_digits) for n in (8, 4, 4, 4, 12)]
        return f"{base.name}-{'-'.join(groups)}"

    def _datasets(self, spec: dict[str, Any]) -> list[Line]:
        """The training examples; the recorded 400 for each URI that is not a JSONL object."""
        violations = []
        training = self._read(spec.get("trainingDatasetUri", ""))
        if training is None:
            violations.append("training_dataset_uri")
        if spec.get("validationDatasetUri") and self._read(spec["validationDatasetUri"]) is None:
            violations.append("validation_dataset_uri")
        if violations:
            raise _not_jsonl(violations)
        assert training is not None
        return training

    def _read(self, uri: str) -> list[Line] | None:
        if not uri.startswith("gs://"):
            return None
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        data = read_object(self.vertex.store, bucket, name) if bucket and name else None
        return read_jsonl(data) if data is not None else None


def _hyper_parameters(sent: dict[str, Any], base: TunableModel) -> dict[str, Any]:
    """The values sent, with the defaults the service fills in for the others."""
    where = f"{SPEC}.hyper_parameters"
    for name in ("batchSize", "learningRate"):
        if name in sent:
            field = "batch_size" if name == "batchSize" else "learning_rate"
            raise invalid_argument(
                f"{field} is not supported for the base model {base.name}; it is only available for open models.",
                f"{where}.{field}",
            )
    epochs = sent.get("epochCount", base.default_epochs)
    if not 1 <= epochs <= MAX_EPOCHS:
        raise invalid_argument(f"epoch_count must be between 1 and {MAX_EPOCHS}.", f"{where}.epoch_count")
    multiplier = sent.get("learningRateMultiplier", base.default_learning_rate_multiplier)
    if not (math.isfinite(multiplier) and multiplier > 0):
        raise invalid_argument("learning_rate_multiplier must be positive.", f"{where}.learning_rate_multiplier")
    size = sent.get("adapterSize", "ADAPTER_SIZE_UNSPECIFIED")
    if size == "ADAPTER_SIZE_UNSPECIFIED":
        size = base.default_adapter_size
    elif size not in base.adapter_sizes:
        raise invalid_argument(ADAPTER_SIZE_MESSAGE)
    return {"epochCount": epochs, "learningRateMultiplier": multiplier, "adapterSize": size}


def submission_quota_exceeded(project: str, location: str, per_minute: int) -> ApiError:
    """429 RESOURCE_EXHAUSTED, as Google's front end refuses a request over a
    quota: the google.rpc.Status envelope with an ErrorInfo naming the quota.
    [infer] the wording and the metadata's values: the shape is Google's quota
    error's (ErrorInfo, reason RATE_LIMIT_EXCEEDED); no refusal of CreateTuningJob
    is recorded."""
    metric = "aiplatform.googleapis.com/tuning_job_submissions"
    return ApiError(
        "RESOURCE_EXHAUSTED",
        f"Quota exceeded for quota metric '{metric}' and limit 'tuning job submissions per minute per region' "
        f"of service 'aiplatform.googleapis.com' for consumer 'projects/{project}' in {location}.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": "aiplatform.googleapis.com",
                    "consumer": f"projects/{project}",
                    "quota_metric": metric,
                    "quota_location": location,
                    "quota_limit_value": str(per_minute),
                },
            }
        ],
    )


def _not_jsonl(fields: list[str]) -> ApiError:
    """The recorded text (generative-ai#2081), one numbered entry per field."""
    entries = "".join(
        f"{index}.Field: {SPEC}.{field}; Message: {field} should be a GCS object of type JSONL.\t"
        for index, field in enumerate(fields, start=1)
    )
    violations = [
        {"field": f"{SPEC}.{field}", "description": f"{field} should be a GCS object of type JSONL."}
        for field in fields
    ]
    return ApiError(
        "INVALID_ARGUMENT",
        f"List of found errors:\t{entries}",
        [{"@type": BAD_REQUEST_TYPE, "fieldViolations": violations}],
    )
