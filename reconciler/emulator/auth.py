"""Who may call: the three refusals the real front end answers with, and the
emulator's settings that make each one happen.

- No credentials at all (under `require_auth`): 403 PERMISSION_DENIED
  "Method doesn't allow unregistered callers…", the real text.
- An `Authorization` header that is not `Bearer <token>` (under
  `require_auth`): 401 UNAUTHENTICATED, the recorded text for bad credentials.
- A bearer token the emulator was told lacks the
  `generative-language.tuning` scope, on a tuned-model method: 403
  PERMISSION_DENIED "Request had insufficient authentication scopes." with the
  recorded ErrorInfo (the answer to tuning with a `cloud-platform`-only token).
  The emulator checks no token, so which tokens lack the scope is a setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.emulator.errors import ApiError

UNREGISTERED_MESSAGE = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
SCOPE_MESSAGE = "Request had insufficient authentication scopes."
ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"

# The RPC behind each handler that needs the tuning scope, for ErrorInfo.metadata.method.
TUNING_RPCS = {
    "models.create_tuned_model": "ModelService.CreateTunedModel",
    "models.list_tuned_models": "ModelService.ListTunedModels",
    "models.get_tuned_model": "ModelService.GetTunedModel",
    "models.update_tuned_model": "ModelService.UpdateTunedModel",
    "models.delete_tuned_model": "ModelService.DeleteTunedModel",
    "models.get_operation": "google.longrunning.Operations.GetOperation",
    "models.cancel_operation": "google.longrunning.Operations.CancelOperation",
    "models.list_model_operations": "google.longrunning.Operations.ListOperations",
    "models.list_operations": "google.longrunning.Operations.ListOperations",
    "permissions.transfer_ownership": "PermissionService.TransferOwnership",
    "permissions.create_permission": "PermissionService.CreatePermission",
    "permissions.list_permissions": "PermissionService.ListPermissions",
    "permissions.get_permission": "PermissionService.GetPermission",
    "permissions.update_permission": "PermissionService.UpdatePermission",
    "permissions.delete_permission": "PermissionService.DeletePermission",
    "generation.generate_content_tuned": "GenerativeService.GenerateContent",
    "generation.generate_text_tuned": "TextService.GenerateText",
}


@dataclass(frozen=True)
class AuthSettings:
    require_auth: bool = False  # refuse callers without an API key or bearer token
    # Bearer tokens that lack the generative-language.tuning scope.
    tokens_without_tuning_scope: frozenset[str] = field(default_factory=frozenset)


def check_caller(settings: AuthSettings, authorization: str, has_api_key: bool, handler: str, version: str) -> None:
    """Raise the real API's refusal for this caller and method, if any."""
    if settings.require_auth and not has_api_key:
        if not authorization:
            raise ApiError("PERMISSION_DENIED", UNREGISTERED_MESSAGE)
        if not _bearer_token(authorization):
            raise ApiError("UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)
    token = _bearer_token(authorization)
    if token in settings.tokens_without_tuning_scope and handler in TUNING_RPCS:
        raise _insufficient_scopes(_full_method(TUNING_RPCS[handler], version))


def _full_method(rpc: str, version: str) -> str:
    return rpc if rpc.startswith("google.") else f"google.ai.generativelanguage.{version}.{rpc}"


def _bearer_token(authorization: str) -> str:
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _insufficient_scopes(method: str) -> ApiError:
    info = {
        "@type": ERROR_INFO_TYPE,
        "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        "domain": "googleapis.com",
        "metadata": {"service": "generativelanguage.googleapis.com", "method": method},
    }
    return ApiError("PERMISSION_DENIED", SCOPE_MESSAGE, details=[info])
