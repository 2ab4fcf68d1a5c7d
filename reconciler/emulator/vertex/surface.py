"""The Vertex AI surface's services, its route table, and its own control
endpoint (`/_internal/vertex/faults`)."""

from __future__ import annotations

from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.quota import SubmissionQuota
from reconciler.emulator.routing import PAGED, Route, api, control
from reconciler.emulator.settings import TuningSettings
from reconciler.emulator.store import Store
from reconciler.emulator.vertex.faults import VertexFaults
from reconciler.emulator.vertex.jobs import TuningJobService
from reconciler.emulator.vertex.registry import RegistryService
from reconciler.emulator.vertex.resources import Vertex

# /{v1,v1beta1}/projects/{project}/locations/{location}/…
VERTEX = "<any(v1,v1beta1):version>/projects/<id:project>/locations/<id:location>"
JOB = f"{VERTEX}/tuningJobs/<id:job_id>"
MODEL = f"{VERTEX}/models/<id:model_id>"
ENDPOINT = f"{VERTEX}/endpoints/<id:endpoint_id>"
OPERATION = f"{VERTEX}/<any(tuningJobs,models,endpoints):collection>/<id:resource_id>/operations/<id:operation_id>"
LIST = (*PAGED, "filter", "orderBy", "readMask")


class VertexSurface:
    def __init__(
        self, store: Store, ids: IdMaker, tuning: TuningSettings, quota: SubmissionQuota | None = None
    ) -> None:
        self.resources = Vertex(store, ids, tuning, quota)
        self.jobs = TuningJobService(self.resources)
        self.registry = RegistryService(self.resources)

    @property
    def faults(self) -> VertexFaults:
        return self.resources.faults

    def routes(self) -> tuple[Route, ...]:
        return self._jobs() + self._models() + self._endpoints() + self._control()

    def _jobs(self) -> tuple[Route, ...]:
        jobs = self.jobs
        return (
            api("POST", f"/{VERTEX}/tuningJobs", jobs.create_tuning_job),
            api("GET", f"/{VERTEX}/tuningJobs", jobs.list_tuning_jobs, *PAGED, "filter"),
            api("GET", f"/{JOB}", jobs.get_tuning_job),
            api("POST", f"/{JOB}:cancel", jobs.cancel_tuning_job),
            api("GET", f"/{VERTEX}/metadataStores/<id:store>/contexts/<id:context_id>", jobs.get_experiment_context),
        )

    def _models(self) -> tuple[Route, ...]:
        registry = self.registry
        return (
            api("GET", f"/{VERTEX}/models", registry.list_models, *LIST),
            api("GET", f"/{MODEL}", registry.get_model),
            api("PATCH", f"/{MODEL}", registry.update_model, "updateMask"),
            api("DELETE", f"/{MODEL}", registry.delete_model),
            api("GET", f"/{MODEL}:listVersions", registry.list_model_versions, *LIST),
            api("POST", f"/{MODEL}:mergeVersionAliases", registry.merge_version_aliases),
            api("POST", f"/{MODEL}:generateContent", registry.generate_on_model),
            api("GET", f"/{OPERATION}", registry.get_operation),
        )

    def _endpoints(self) -> tuple[Route, ...]:
        registry = self.registry
        return (
            api("POST", f"/{VERTEX}/endpoints", registry.create_endpoint, "endpointId"),
            api("GET", f"/{VERTEX}/endpoints", registry.list_endpoints, *LIST),
            api("GET", f"/{ENDPOINT}", registry.get_endpoint),
            api("PATCH", f"/{ENDPOINT}", registry.update_endpoint, "updateMask"),
            api("DELETE", f"/{ENDPOINT}", registry.delete_endpoint),
            api("POST", f"/{ENDPOINT}:deployModel", registry.deploy_model),
            api("POST", f"/{ENDPOINT}:undeployModel", registry.undeploy_model),
            api("POST", f"/{ENDPOINT}:generateContent", registry.generate_content),
        )

    def _control(self) -> tuple[Route, ...]:
        return (
            control("GET", "/_internal/vertex/faults", self.get_faults),
            control("POST", "/_internal/vertex/faults", self.set_faults),
        )

    def get_faults(self, call: Call) -> Reply:
        return 200, self.faults.to_json()

    def set_faults(self, call: Call) -> Reply:
        """Arm Vertex faults: create_errors, create_answers_lost, endpoint_failures,
        delete_model_refusals, upload_corruptions, broken_chunks (counts) and
        pending_seconds; fields left out are kept."""
        self.faults.update(call.body)
        return 200, self.faults.to_json()
