"""`GeminiClient`: the tuned-model surface of the Gemini API, one method a call.

Bodies in and out are proto3 JSON dicts (camelCase) exactly as the API speaks
them; turning them into typed values is the caller's business (see
`reconciler.model.live`). Methods take an id (`my-model`) or a full resource
name (`tunedModels/my-model`).

What may be sent twice (see `Resend`): reads, PATCH, DELETE, a create with a
`tunedModelId` (a second one answers ALREADY_EXISTS, never a second model),
and generateContent/generateText, which have no side effects, so a lost answer
costs one more generation and nothing else. A create without an id, a new
permission and an ownership transfer are resent only when the connection was
never made. Waiting for an operation is the caller's loop: `get_operation`
reads it once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import requests

from reconciler.backends.gemini.settings import DEFAULT_ENDPOINT, GeminiSettings
from reconciler.client.auth import (
    AdcLoader,
    Anonymous,
    Credentials,
    load_default_credentials,
    resolve_connection,
)
from reconciler.client.errors import NotFound
from reconciler.client.pages import pages
from reconciler.client.retry import RetryPolicy
from reconciler.client.shapes import ENUM, INTEGER, NUMBER, SCALAR, TEXT, ListOf, Obj, Shape
from reconciler.client.transport import Resend, Transport, new_session
from reconciler.model.errors import UserError
from reconciler.model.settings import Settings

PAGE_SIZE = 1000  # the most the API returns a page, for tuned models, permissions and models
OPERATIONS_FALLBACK_VERSION = "v1"  # official samples poll operations on v1 only
TEXT_API_VERSION = "v1beta3"  # generateText (PaLM) as the samples of its era call it
DEFAULT_POOL_SIZE = 10

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_NAME_PATTERNS = {
    "tunedModels": re.compile(rf"^tunedModels/{_SEGMENT}$"),
    "models": re.compile(rf"^models/{_SEGMENT}$"),
    "permissions": re.compile(rf"^tunedModels/{_SEGMENT}/permissions/{_SEGMENT}$"),
    "operations": re.compile(rf"^(tunedModels/{_SEGMENT}/)?operations/{_SEGMENT}$"),
}

# The JSON types of what the backend decodes from each list (live.py,
# defaults.py): a server that sends another type is refused at the list.
TUNED_MODEL: Shape = Obj(
    {
        "name": TEXT,
        "baseModel": TEXT,
        "displayName": TEXT,
        "description": TEXT,
        "state": ENUM,
        "temperature": NUMBER,
        "topP": NUMBER,
        "topK": NUMBER,
        "createTime": TEXT,
        "updateTime": TEXT,
        "tunedModelSource": Obj({"tunedModel": TEXT, "baseModel": TEXT}),
        "tuningTask": Obj(
            {
                "hyperparameters": Obj({}, rest=SCALAR),
                "snapshots": ListOf(Obj({"step": INTEGER, "epoch": INTEGER, "meanLoss": NUMBER})),
            }
        ),
    },
    required=("name",),
)
PERMISSION: Shape = Obj({"name": TEXT, "role": ENUM, "granteeType": ENUM, "emailAddress": TEXT}, required=("name",))
BASE_MODEL: Shape = Obj({"name": TEXT, "temperature": NUMBER, "topP": NUMBER, "topK": NUMBER})


class GeminiClient:
    """A client of the Gemini API's tuned models; safe to share across a thread pool."""

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        api_version: str = "v1beta",
        credentials: Credentials | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        quota_project: str | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.api_version = api_version
        self._transport = Transport(
            endpoint,
            credentials or Anonymous(),
            timeout=timeout,
            retry=retry or RetryPolicy(),
            session=session or new_session(pool_size),
            quota_project=quota_project,
        )
        # Where operations were last found; moves to v1 once v1beta answers 404.
        self._operations_version = api_version

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        env: Mapping[str, str] = os.environ,
        *,
        load_adc: AdcLoader = load_default_credentials,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ) -> GeminiClient:
        """A client for `reconciler.yaml`'s settings, with credentials from `env`."""
        gemini = GeminiSettings.of(settings)
        connection = resolve_connection(gemini.endpoint, settings.quota_project, env, load_adc)
        return cls(
            connection.endpoint,
            gemini.api_version,
            connection.credentials,
            timeout=settings.request_timeout_seconds,
            retry=retry,
            session=session,
            quota_project=connection.quota_project,
            pool_size=max(DEFAULT_POOL_SIZE, settings.concurrency),
        )

    @property
    def endpoint(self) -> str:
        return self._transport.endpoint

    @property
    def credentials(self) -> Credentials:
        return self._transport.credentials

    @property
    def quota_project(self) -> str | None:
        return self._transport.quota_project

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, every retry included (for benchmarks)."""
        return self._transport.request_count

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> GeminiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"GeminiClient(endpoint={self.endpoint!r}, api_version={self.api_version!r}, "
            f"credentials={self.credentials!r})"
        )

    # Tuned models

    def list_tuned_models(self, filter: str | None = None, fields: str | None = None) -> list[dict[str, Any]]:
        """Every tuned model the caller can see, all pages read."""
        return [model for page in self.tuned_model_pages(filter, fields) for model in page]

    def tuned_model_pages(self, filter: str | None = None, fields: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every tuned model, a page at a time (so a caller can decode a page and
        drop it). `fields` selects within each TunedModel (a partial response:
        `name,tuningTask/hyperparameters`); a server may ignore it and send more."""
        params = {"filter": filter} if filter else {}
        if fields:
            params["fields"] = f"tunedModels({fields}),nextPageToken"
        return self._pages(f"{self.api_version}/tunedModels", "tunedModels", TUNED_MODEL, params)

    def get_tuned_model(self, id_or_name: str, fields: str | None = None) -> dict[str, Any]:
        params = {"fields": fields} if fields else None
        return self._call("GET", self._versioned(tuned_model_name(id_or_name)), params=params)

    def create_tuned_model(self, body: Mapping[str, Any], tuned_model_id: str | None = None) -> dict[str, Any]:
        """Start tuning; returns the long-running operation (not the model)."""
        params = {"tunedModelId": tuned_model_id} if tuned_model_id else None
        resend = Resend.IF_TRANSIENT if tuned_model_id else Resend.IF_NEVER_PROCESSED
        path = f"{self.api_version}/tunedModels"
        return self._call("POST", path, params=params, body=body, resend=resend)

    def get_operation(self, name: str, fields: str | None = None) -> dict[str, Any]:
        """Read an operation once, on v1 when this API version does not serve it;
        `fields` asks for a partial response."""
        name = _checked("operations", name)
        version = self._operations_version
        params = {"fields": fields} if fields else None
        try:
            return self._call("GET", f"{version}/{name}", params=params)
        except NotFound:
            if version == OPERATIONS_FALLBACK_VERSION:
                raise
        operation = self._call("GET", f"{OPERATIONS_FALLBACK_VERSION}/{name}", params=params)
        self._operations_version = OPERATIONS_FALLBACK_VERSION
        return operation

    def update_tuned_model(
        self, id_or_name: str, body: Mapping[str, Any], update_mask: Sequence[str]
    ) -> dict[str, Any]:
        """Patch exactly the fields named in `update_mask` (camelCase paths)."""
        if not update_mask:
            raise ValueError("update_mask names no field: there is nothing to update")
        params = {"updateMask": ",".join(update_mask)}
        path = self._versioned(tuned_model_name(id_or_name))
        return self._call("PATCH", path, params=params, body=body)

    def delete_tuned_model(self, id_or_name: str) -> None:
        self._delete(self._versioned(tuned_model_name(id_or_name)))

    def transfer_ownership(self, id_or_name: str, email_address: str) -> None:
        """Make `email_address` the owner; the current owner becomes a writer."""
        path = f"{self._versioned(tuned_model_name(id_or_name))}:transferOwnership"
        body = {"emailAddress": email_address}
        self._call("POST", path, body=body, resend=Resend.IF_NEVER_PROCESSED)

    # Permissions

    def list_permissions(self, id_or_name: str) -> list[dict[str, Any]]:
        path = f"{self._versioned(tuned_model_name(id_or_name))}/permissions"
        return self._list_all(path, "permissions", PERMISSION)

    def create_permission(self, id_or_name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Grant a role; `body` is a Permission ({role, granteeType, emailAddress})."""
        path = f"{self._versioned(tuned_model_name(id_or_name))}/permissions"
        return self._call("POST", path, body=body, resend=Resend.IF_NEVER_PROCESSED)

    def update_permission(self, name: str, role: str) -> dict[str, Any]:
        path = self._versioned(_checked("permissions", name))
        return self._call("PATCH", path, params={"updateMask": "role"}, body={"role": role})

    def delete_permission(self, name: str) -> None:
        self._delete(self._versioned(_checked("permissions", name)))

    # Inference (smoke tests)

    def generate_content(self, model: str, text: str) -> dict[str, Any]:
        """One user turn of plain text to a tuned (or base) model."""
        body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
        path = f"{self._versioned(model_name(model))}:generateContent"
        return self._call("POST", path, body=body)

    def generate_text(self, model: str, text: str) -> dict[str, Any]:
        """A PaLM-era text prompt, always on v1beta3 where that method lives."""
        body = {"prompt": {"text": text}}
        return self._call("POST", f"{TEXT_API_VERSION}/{model_name(model)}:generateText", body=body)

    # Base models

    def list_base_models(self) -> list[dict[str, Any]]:
        return self._list_all(f"{self.api_version}/models", "models", BASE_MODEL)

    def get_base_model(self, name: str) -> dict[str, Any]:
        return self._call("GET", self._versioned(base_model_name(name)))

    # Shared plumbing

    def _versioned(self, name: str) -> str:
        return f"{self.api_version}/{name}"

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._transport.call(method, path, **kwargs)

    def _delete(self, path: str) -> None:
        try:
            self._call("DELETE", path)
        except NotFound as error:
            # A retried DELETE that finds nothing means an earlier attempt
            # deleted it and its answer was lost: the delete succeeded.
            if error.attempts == 1:
                raise

    def _list_all(
        self, path: str, key: str, shape: Shape, params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        return [item for page in self._pages(path, key, shape, params) for item in page]

    def _pages(
        self, path: str, key: str, shape: Shape, params: Mapping[str, str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Follow nextPageToken to the last page (or to a bound: `pages`); every
        other parameter stays the same."""

        def fetch(token: str) -> dict[str, Any]:
            page_params = {**(params or {}), "pageSize": str(PAGE_SIZE)}
            if token:
                page_params["pageToken"] = token
            return self._call("GET", path, params=page_params)

        return pages(fetch, key, what=f"GET /{path}", page_size=PAGE_SIZE, shape=shape)


def tuned_model_name(id_or_name: str) -> str:
    """`my-model` or `tunedModels/my-model` -> `tunedModels/my-model`."""
    return _checked("tunedModels", _prefixed("tunedModels", id_or_name))


def base_model_name(id_or_name: str) -> str:
    """`gemini-1.5-flash-001-tuning` or `models/...` -> `models/gemini-1.5-flash-001-tuning`."""
    return _checked("models", _prefixed("models", id_or_name))


def model_name(id_or_name: str) -> str:
    """A model to generate with: `models/...` or `tunedModels/...`; a bare id is a tuned model."""
    if id_or_name.startswith("models/"):
        return base_model_name(id_or_name)
    return tuned_model_name(id_or_name)


def _prefixed(collection: str, id_or_name: str) -> str:
    if "/" in id_or_name:
        return id_or_name
    return f"{collection}/{id_or_name}"


def _checked(kind: str, name: str) -> str:
    """`name` if it is a well-formed resource name of `kind`; it goes into a URL path."""
    if not _NAME_PATTERNS[kind].fullmatch(name):  # `$` alone would let "name\n" through
        raise UserError(f"{name!r} is not a valid {kind} resource name")
    return name
