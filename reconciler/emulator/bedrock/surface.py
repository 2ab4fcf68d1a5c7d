"""The Bedrock surface's route table (the control plane's paths and the
runtime's Converse and InvokeModel, reached only by requests signed for
`bedrock`, the signing name of both), its own control endpoint
(`/_internal/bedrock/faults`), and how Bedrock's front end answers what every
surface shares: a signature of the wrong shape, throttling, a 503, a 500.

Identifiers in a path may be ARNs, which botocore sends percent-encoded
(`arn%3Aaws%3A…%2F…`): the server decodes them, so they are `path` segments."""

from __future__ import annotations

from reconciler.emulator.aws import AwsError
from reconciler.emulator.bedrock import errors
from reconciler.emulator.bedrock.deployments import DeploymentService
from reconciler.emulator.bedrock.faults import BedrockFaults
from reconciler.emulator.bedrock.jobs import JobService
from reconciler.emulator.bedrock.models import CustomModelService
from reconciler.emulator.bedrock.resources import Bedrock
from reconciler.emulator.bedrock.runtime import RuntimeService
from reconciler.emulator.bedrock.tags import TagService
from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.quota import SubmissionQuota
from reconciler.emulator.routing import Route, aws, control
from reconciler.emulator.settings import TuningSettings
from reconciler.emulator.sigv4 import Problem
from reconciler.emulator.store import Store

JOBS = "/model-customization-jobs"
MODELS = "/custom-models"
DEPLOYMENTS = "/model-customization/custom-model-deployments"


class BedrockSurface:
    service = "bedrock"  # the signing name of the control plane and of the runtime

    def __init__(
        self, store: Store, ids: IdMaker, tuning: TuningSettings, quota: SubmissionQuota | None = None
    ) -> None:
        self.bedrock = Bedrock(store, ids, tuning, quota)
        self.jobs = JobService(self.bedrock)
        self.models = CustomModelService(self.bedrock)
        self.deployments = DeploymentService(self.bedrock)
        self.tags = TagService(self.bedrock)
        self.runtime = RuntimeService(self.bedrock)

    @property
    def faults(self) -> BedrockFaults:
        return self.bedrock.faults

    def routes(self) -> tuple[Route, ...]:
        jobs, models, deployments, tags = self.jobs, self.models, self.deployments, self.tags
        return (
            aws("POST", JOBS, jobs.create_job),
            aws("GET", JOBS, jobs.list_jobs),
            aws("GET", f"{JOBS}/<path:job_identifier>", jobs.get_job),
            aws("POST", f"{JOBS}/<path:job_identifier>/stop", jobs.stop_job),
            aws("GET", MODELS, models.list_models),
            aws("GET", f"{MODELS}/<path:model_identifier>", models.get_model),
            aws("DELETE", f"{MODELS}/<path:model_identifier>", models.delete_model),
            aws("POST", DEPLOYMENTS, deployments.create_deployment),
            aws("GET", DEPLOYMENTS, deployments.list_deployments),
            aws("GET", f"{DEPLOYMENTS}/<path:deployment_identifier>", deployments.get_deployment),
            aws("DELETE", f"{DEPLOYMENTS}/<path:deployment_identifier>", deployments.delete_deployment),
            aws("POST", "/tagResource", tags.tag_resource),
            aws("POST", "/untagResource", tags.untag_resource),
            aws("POST", "/listTagsForResource", tags.list_tags),
            # bedrock-runtime, signed for "bedrock" too
            aws("POST", "/model/<path:model_id>/converse", self.runtime.converse),
            aws("POST", "/model/<path:model_id>/invoke", self.runtime.invoke),
        )

    def control_routes(self) -> tuple[Route, ...]:
        return (
            control("GET", "/_internal/bedrock/faults", self.get_faults),
            control("POST", "/_internal/bedrock/faults", self.set_faults),
        )

    def get_faults(self, call: Call) -> Reply:
        return 200, self.faults.to_json()

    def set_faults(self, call: Call) -> Reply:
        """Arm Bedrock faults (counts; fields left out are kept)."""
        self.faults.update(call.body)
        return 200, self.faults.to_json()

    # --- how Bedrock's front end answers -------------------------------------------------

    def unauthorized(self, problem: Problem) -> AwsError:
        """The AWS front end's signature errors, all 403: no signature at all,
        MissingAuthenticationTokenException; an incomplete one or no date,
        IncompleteSignatureException; one that cannot be ours (a signature not 64
        hex digits, a signed header absent, another service's or day's scope),
        InvalidSignatureException."""
        if problem.kind == "missing":
            return errors.BedrockError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        if problem.kind in ("unsupported", "incomplete", "date"):
            return errors.BedrockError(403, "IncompleteSignatureException", problem.message)
        return errors.BedrockError(403, "InvalidSignatureException", problem.message)

    def no_route(self, method: str, path: str) -> AwsError:
        return errors.BedrockError(404, "UnknownOperationException", f"Unknown operation: {method} {path[:200]}")

    def throttled(self, retry_after_seconds: int) -> AwsError:
        return errors.throttling()

    def unavailable(self) -> AwsError:
        return errors.unavailable()

    def refuse_body(self, kind: str) -> AwsError:
        if kind == "too_large":
            return errors.validation("The request body is larger than the emulator takes (20 MiB).")
        return errors.serialization("The request body was cut short.")

    def internal(self) -> AwsError:
        return errors.internal()

    def request_headers(self, request_id: str) -> dict[str, str]:
        return {"x-amzn-RequestId": request_id}
