"""The Gemini surface's services and its route table."""

from __future__ import annotations

from reconciler.emulator.gemini.base_models import BaseModelService
from reconciler.emulator.gemini.generation import GenerationService
from reconciler.emulator.gemini.permissions import PermissionService
from reconciler.emulator.gemini.service import TunedModelService
from reconciler.emulator.gemini.shapes import BASE_MODEL, EMPTY, OPERATION, PERMISSION, TUNED_MODEL, page
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.routing import PAGED, Route, api
from reconciler.emulator.settings import TuningSettings
from reconciler.emulator.store import Store

ALL = "<any(v1,v1beta,v1alpha,v1beta3):version>"
TUNING = "<any(v1beta,v1alpha,v1beta3):version>"  # the full tuned-model surface
GEMINI = "<any(v1,v1beta,v1alpha):version>"
PALM = "<any(v1beta,v1beta3):version>"
MODEL = "tunedModels/<id:model_id>"
PERMISSION_PATH = f"/{TUNING}/{MODEL}/permissions/<id:permission_id>"
OPS = (*PAGED, "filter", "returnPartialSuccess")
LRO = "google.longrunning.Operations"  # the service of the operations' scoped RPCs


class GeminiSurface:
    """Each route's `scoped_rpc` is the RPC that ErrorInfo names when a token
    lacks the tuning scope; `response` the message a `fields` mask is checked against."""

    def __init__(self, store: Store, ids: IdMaker, tuning: TuningSettings) -> None:
        self.models = TunedModelService(store, ids, tuning)
        self.permissions = PermissionService(store, ids)
        self.generation = GenerationService(store)
        self.base_models = BaseModelService()

    def routes(self) -> tuple[Route, ...]:
        return self._tuned_models() + self._operations() + self._permissions() + self._base_models()

    def _tuned_models(self) -> tuple[Route, ...]:
        models, generation = self.models, self.generation
        return (
            api(
                "POST",
                f"/{TUNING}/tunedModels",
                models.create_tuned_model,
                "tunedModelId",
                response=OPERATION,
                scoped_rpc="ModelService.CreateTunedModel",
            ),
            api(
                "GET",
                f"/{TUNING}/tunedModels",
                models.list_tuned_models,
                *PAGED,
                "filter",
                response=page("tunedModels", TUNED_MODEL),
                scoped_rpc="ModelService.ListTunedModels",
            ),
            api(
                "GET",
                f"/{TUNING}/{MODEL}",
                models.get_tuned_model,
                response=TUNED_MODEL,
                scoped_rpc="ModelService.GetTunedModel",
            ),
            api(
                "PATCH",
                f"/{TUNING}/{MODEL}",
                models.update_tuned_model,
                "updateMask",
                response=TUNED_MODEL,
                scoped_rpc="ModelService.UpdateTunedModel",
            ),
            api(
                "DELETE",
                f"/{TUNING}/{MODEL}",
                models.delete_tuned_model,
                response=EMPTY,
                scoped_rpc="ModelService.DeleteTunedModel",
            ),
            api(
                "POST",
                f"/{GEMINI}/{MODEL}:generateContent",
                generation.generate_content_tuned,
                scoped_rpc="GenerativeService.GenerateContent",
            ),
            api(
                "POST",
                f"/{PALM}/{MODEL}:generateText",
                generation.generate_text_tuned,
                scoped_rpc="TextService.GenerateText",
            ),
        )

    def _operations(self) -> tuple[Route, ...]:
        models = self.models
        return (
            api(
                "GET",
                f"/{ALL}/{MODEL}/operations/<id:operation_id>",
                models.get_operation,
                response=OPERATION,
                scoped_rpc=f"{LRO}.GetOperation",
            ),
            api(
                "POST",
                f"/{ALL}/{MODEL}/operations/<id:operation_id>:cancel",
                models.cancel_operation,
                response=EMPTY,
                scoped_rpc=f"{LRO}.CancelOperation",
            ),
            api(
                "GET",
                f"/{ALL}/{MODEL}/operations",
                models.list_model_operations,
                *OPS,
                response=page("operations", OPERATION),
                scoped_rpc=f"{LRO}.ListOperations",
            ),
            api(
                "GET",
                f"/{ALL}/operations",
                models.list_operations,
                *OPS,
                response=page("operations", OPERATION),
                scoped_rpc=f"{LRO}.ListOperations",
            ),
        )

    def _permissions(self) -> tuple[Route, ...]:
        permissions = self.permissions
        return (
            api(
                "POST",
                f"/{TUNING}/{MODEL}:transferOwnership",
                permissions.transfer_ownership,
                response=EMPTY,
                scoped_rpc="PermissionService.TransferOwnership",
            ),
            api(
                "POST",
                f"/{TUNING}/{MODEL}/permissions",
                permissions.create_permission,
                response=PERMISSION,
                scoped_rpc="PermissionService.CreatePermission",
            ),
            api(
                "GET",
                f"/{TUNING}/{MODEL}/permissions",
                permissions.list_permissions,
                *PAGED,
                response=page("permissions", PERMISSION),
                scoped_rpc="PermissionService.ListPermissions",
            ),
            api(
                "GET",
                PERMISSION_PATH,
                permissions.get_permission,
                response=PERMISSION,
                scoped_rpc="PermissionService.GetPermission",
            ),
            api(
                "PATCH",
                PERMISSION_PATH,
                permissions.update_permission,
                "updateMask",
                response=PERMISSION,
                scoped_rpc="PermissionService.UpdatePermission",
            ),
            api(
                "DELETE",
                PERMISSION_PATH,
                permissions.delete_permission,
                response=EMPTY,
                scoped_rpc="PermissionService.DeletePermission",
            ),
        )

    def _base_models(self) -> tuple[Route, ...]:
        base, generation = self.base_models, self.generation
        return (
            api("GET", f"/{ALL}/models", base.list_base_models, *PAGED, response=page("models", BASE_MODEL)),
            api("GET", f"/{ALL}/models/<id:base_id>", base.get_base_model, response=BASE_MODEL),
            api("POST", f"/{GEMINI}/models/<id:base_id>:generateContent", generation.generate_content_base),
            api("POST", f"/{PALM}/models/<id:base_id>:generateText", generation.generate_text_base),
        )
