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


@dataclass(frozen=True)
class AuthSettings:
    require_auth: bool = False  # refuse callers without an API key or bearer token
    # Bearer tokens that lack the generative-language.tuning scope.
    tokens_without_tuning_scope: frozenset[str] = field(default_factory=frozenset)


def check_caller(settings: AuthSettings, authorization: str, has_api_key: bool, scoped_rpc: str, version: str) -> None:
    """Raise the real API's refusal for this caller and method, if any. `scoped_rpc`
    is the RPC of a method that needs the tuning scope (its route says), else ""."""
    if settings.require_auth and not has_api_key:
        if not authorization:
            raise ApiError("PERMISSION_DENIED", UNREGISTERED_MESSAGE)
        if not _bearer_token(authorization):
            raise ApiError("UNAUTHENTICATED", UNAUTHENTICATED_MESSAGE)
    token = _bearer_token(authorization)
    if scoped_rpc and token in settings.tokens_without_tuning_scope:
        raise _insufficient_scopes(_full_method(scoped_rpc, version))


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
