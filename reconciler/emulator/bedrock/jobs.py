"""Model customization jobs: CreateModelCustomizationJob (201 `{jobArn}`),
GetModelCustomizationJob, ListModelCustomizationJobs and
StopModelCustomizationJob. No delete: Bedrock has none, so a job stays.

Idempotency, as the API reference says of `clientRequestToken`: a create whose
token an earlier create used answers that job again and changes nothing,
whatever else it says. A job name is the account's and region's: another
token with a taken name is a ConflictException, as is a custom model name
taken by a custom model or by a job that may still make one."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.aws import ACCOUNT
from reconciler.emulator.bedrock import catalog, dataset, errors, names, render, shapes
from reconciler.emulator.bedrock.listing import page
from reconciler.emulator.bedrock.resources import EXAMPLES, JOBS, MODELS, OPEN, Bedrock, region_of, serialized
from reconciler.emulator.bedrock.timeline import IN_PROGRESS, STOPPED, STOPPING, phase
from reconciler.emulator.calls import AnswerLost, Call, Reply
from reconciler.emulator.s3.resources import read_object
from reconciler.emulator.store import Document

OPERATION = "CreateModelCustomizationJob"
# The tag the reconciler puts its manifest id in (the emulator imports nothing from
# the reconciler): what the shared `fail_ids` setting names, beside the names.
MANIFEST_ID_TAG = "reconciler-id"
JOB_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
JOB_IDENTIFIER = (
    r"(arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:model-customization-job/[a-z0-9-]{1,63}[.]{1}"
    r"[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}/[a-z0-9]{12})"
    rf"|({names.JOB_NAME})"
)


class JobService:
    def __init__(self, bedrock: Bedrock) -> None:
        self.bedrock = bedrock

    @serialized
    def create_job(self, call: Call) -> Reply:
        region = region_of(call)
        # The submission quota (off unless asked for), per account and region, at
        # the front end: before the body is read, a refused create makes nothing.
        if self.bedrock.quota.admit(("bedrock", ACCOUNT, region), call.now) is not None:
            raise errors.throttling()
        body = shapes.parse(call.body, shapes.CREATE_JOB)
        self.bedrock.settle(call.now)
        token = body.get("clientRequestToken")
        earlier = self.bedrock.made_by(region, OPERATION, token)
        if earlier is not None:
            return 201, {"jobArn": earlier}
        job = self._new_job(call, body, region)
        self._refuse_by_fault()
        taught = {"examples": job.pop("examples")}
        self.bedrock.store.change_document(EXAMPLES, job["key"], lambda _: taught)
        self.bedrock.save(JOBS, job)
        self.bedrock.store.change_document(OPEN, job["key"], lambda _: {"key": job["key"]})
        self.bedrock.remember(region, OPERATION, token, job["arn"])
        if self.bedrock.faults.take("create_answers_lost"):
            raise AnswerLost
        if self.bedrock.faults.take("create_errors_after_commit"):
            raise errors.internal()
        return 201, {"jobArn": job["arn"]}

    def get_job(self, call: Call, job_identifier: str) -> Reply:
        job = self._job(call, job_identifier)
        return 200, render.job(job, phase(job, call.now))

    def list_jobs(self, call: Call) -> Reply:
        region = region_of(call)
        self.bedrock.settle(call.now)
        status = call.query.get("statusEquals")
        if status is not None:
            shapes.check_text(status, shapes.Text(enum=JOB_STATUSES), "statusEquals")
        contains = call.query.get("nameContains")
        if contains is not None:
            shapes.check_text(contains, shapes.Text(1, 63, names.JOB_NAME), "nameContains")

        def keep(job: Document) -> bool:
            return (contains is None or contains in job["name"]) and (
                status is None or phase(job, call.now).status == status
            )

        jobs, token = page(self.bedrock.all(JOBS, region), call.query, keep)
        body: dict[str, Any] = {
            "modelCustomizationJobSummaries": [render.job_summary(j, phase(j, call.now)) for j in jobs]
        }
        if token:
            body["nextToken"] = token
        return 200, body

    @serialized
    def stop_job(self, call: Call, job_identifier: str) -> Reply:
        """Stops a job in progress (Stopping for one step, then Stopped); stopping one
        that is stopping or stopped again changes nothing; an ended one is a conflict."""
        job = self._job(call, job_identifier)
        run = phase(job, call.now)
        if run.status in (STOPPING, STOPPED):
            return 200, {}
        if run.status != IN_PROGRESS:  # [infer] the text
            raise errors.conflict(f"The job {job['name']} is {run.status} and can't be stopped.")
        job["stop_time"] = call.now
        self.bedrock.save(JOBS, job)
        return 200, {}

    def _job(self, call: Call, identifier: str) -> Document:
        shapes.check_text(identifier, shapes.Text(0, 1011, JOB_IDENTIFIER), "jobIdentifier")
        self.bedrock.settle(call.now)
        job = self.bedrock.find(JOBS, region_of(call), identifier)
        if job is None:  # [infer] the text
            raise errors.not_found(f"Could not find a model customization job named {identifier[:200]}.")
        return job

    def _refuse_by_fault(self) -> None:
        faults = self.bedrock.faults
        if faults.take("create_throttles"):
            raise errors.throttling()
        if faults.take("create_quota_refusals"):
            raise errors.quota_exceeded("You have reached the quota of model customization jobs in progress.")
        if faults.take("create_errors"):
            raise errors.internal()

    # --- create ----------------------------------------------------------------------------

    def _new_job(self, call: Call, body: dict[str, Any], region: str) -> Document:
        base = catalog.customizable(body["baseModelIdentifier"])
        customization = body.get("customizationType", catalog.FINE_TUNING)
        catalog.check_customization(base, customization)
        if customization == catalog.DISTILLATION and "distillationConfig" not in (
            body.get("customizationConfig") or {}
        ):
            raise errors.validation("A DISTILLATION job needs customizationConfig.distillationConfig.")
        if not body["trainingDataConfig"].get("s3Uri"):
            raise errors.validation("trainingDataConfig.s3Uri is required: invocation logs are not read here.")
        hyper = body.get("hyperParameters") or {}
        catalog.check_hyperparameters(base, hyper)
        self._check_names(region, body["jobName"], body["customModelName"])
        job_tags, model_tags = body.get("jobTags") or [], body.get("customModelTags") or []
        self.bedrock.check_tag_count(job_tags, body["jobName"])
        self.bedrock.check_tag_count(model_tags, body["customModelName"])
        job_id = names.new_id(self.bedrock.ids)
        job = {
            "key": names.key(region, body["jobName"]),
            "name": body["jobName"],
            "arn": names.job_arn(region, base.model_id, job_id),
            "region": region,
            "token": body.get("clientRequestToken"),
            "role_arn": body["roleArn"],
            "base_model": base.model_id,
            "customization_type": customization,
            "custom_model_name": body["customModelName"],
            "output_model_arn": names.model_arn(region, base.model_id, names.new_id(self.bedrock.ids)),
            "kms_key": body.get("customModelKmsKeyId", ""),
            "hyper_parameters": hyper,
            "training": body["trainingDataConfig"],
            "validation": body.get("validationDataConfig"),
            "output": body["outputDataConfig"],
            "vpc": body.get("vpcConfig"),
            "customization_config": body.get("customizationConfig"),
            "tags": job_tags,
            "custom_model_tags": model_tags,
            "create_time": call.now,
            "step_seconds": self.bedrock.tuning.step_seconds,
            "epochs": base.epochs(hyper),
            "stop_time": None,
            "outcome": None,
        }
        job.update(self._data_and_fate(job, base))
        return job

    def _check_names(self, region: str, job_name: str, model_name: str) -> None:
        if self.bedrock.store.get_document(JOBS, names.key(region, job_name)) is not None:  # [infer] the texts
            raise errors.conflict(f"A model customization job named {job_name} already exists.")
        if self.bedrock.store.get_document(MODELS, names.key(region, model_name)) is not None:
            raise errors.conflict(f"A custom model named {model_name} already exists.")
        for running in self.bedrock.running_jobs():  # one of them will make a model of that name
            if running["region"] == region and running["custom_model_name"] == model_name:
                raise errors.conflict(f"The job {running['name']} is making a custom model named {model_name}.")

    def _data_and_fate(self, job: Document, base: catalog.BaseModel) -> dict[str, Any]:
        """The examples the data teaches, and how the job fails, if it does: at
        validation when its data is missing or malformed, in training when a fault
        or the shared tuning settings choose it."""
        uri = job["training"]["s3Uri"]
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        data = read_object(self.bedrock.store, bucket, key)
        if data is None:  # [infer] the text
            return {
                "examples": [],
                "failure": "validation",
                "failure_message": f"The training data {uri} was not found.",
            }
        try:
            pairs = dataset.examples(data, base.data_format, job["customization_type"])
        except dataset.InvalidDataset as problem:
            return {"examples": [], "failure": "validation", "failure_message": str(problem)}
        if self._chosen_to_fail(job):  # [infer] the text
            message = f"Training failed at epoch {job['epochs'] // 2 + 1} of {job['epochs']}. Internal error."
            return {"examples": pairs, "failure": "training", "failure_message": message}
        return {"examples": pairs, "failure": "", "failure_message": ""}

    def _chosen_to_fail(self, job: Document) -> bool:
        if self.bedrock.faults.take("job_failures"):
            return True
        tuning = self.bedrock.tuning
        tags = {tag["value"] for tag in [*job["tags"], *job["custom_model_tags"]] if tag["key"] == MANIFEST_ID_TAG}
        if (tags | {job["name"], job["custom_model_name"]}) & tuning.fail_ids:
            return True
        return bool(tuning.fail_rate) and self.bedrock.ids.chance(tuning.fail_rate)
