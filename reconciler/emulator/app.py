"""The HTTP layer: one route table, and one adapter that parses a request,
calls the handler and serializes its `(status, body)` or its `ApiError` as the
real `google.rpc.Status` envelope."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from werkzeug.exceptions import ClientDisconnected, HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from reconciler.emulator.auth import AuthSettings, check_caller
from reconciler.emulator.calls import AnswerLost, Call, RawReply, Reply
from reconciler.emulator.catalog import BASE_MODELS, find_base_model
from reconciler.emulator.errors import ApiError, invalid_argument, not_found
from reconciler.emulator.faults import (
    FaultSettings,
    LostAnswers,
    pick_fault,
    rate_limited,
    unavailable,
)
from reconciler.emulator.fields import RESPONSES, FieldMask, mask_of, parse_mask
from reconciler.emulator.gcs.service import StorageService
from reconciler.emulator.generation import GenerationService
from reconciler.emulator.holds import MAX_WAIT_SECONDS, Hold, Holds
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.json_input import parse_json
from reconciler.emulator.paging import encode_token, page_request
from reconciler.emulator.permissions import PermissionService
from reconciler.emulator.service import VERTEX_FAILURES, TunedModelService, TuningSettings
from reconciler.emulator.store import Store
from reconciler.emulator.vertex.jobs import TuningJobService
from reconciler.emulator.vertex.registry import RegistryService
from reconciler.emulator.vertex.resources import Vertex
from reconciler.emulator.wire import Enums

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 20 * 1024 * 1024  # our choice; the real limit is not documented
MAX_DRAIN_BYTES = 4 * MAX_BODY_BYTES  # how much of a refused body is read before hanging up
# Standard parameters every Google API accepts; never part of a request message.
SYSTEM_PARAMS = frozenset(
    {
        "$alt",
        "alt",
        "key",
        "prettyPrint",
        "$prettyPrint",
        "fields",
        "$fields",
        "quotaUser",
        "$quotaUser",
        "access_token",
        "callback",
        "$callback",
        "upload_protocol",
        "uploadType",
        "$.xgafv",
        "xgafv",
        "oauth_token",
    }
)


class IdConverter(BaseConverter):
    """One path segment up to a `:verb` suffix."""

    regex = r"[^/:]+"


@dataclass(frozen=True)
class Endpoint:
    handler: str  # "<service>.<method>" on the Emulator's services
    query: tuple[str, ...] = ()  # the API query parameters it accepts (camelCase)
    control: bool = False  # /_internal/: no faults, auth or counting
    raw_body: bool = False  # the body is media bytes (uploads), not JSON
    anonymous: bool = False  # served without credentials (Cloud Storage emulator clients)


ALL = "<any(v1,v1beta,v1alpha,v1beta3):version>"
TUNING = "<any(v1beta,v1alpha,v1beta3):version>"  # the full tuned-model surface
GEMINI = "<any(v1,v1beta,v1alpha):version>"
PALM = "<any(v1beta,v1beta3):version>"
MODEL = "tunedModels/<id:model_id>"
PAGED = ("pageSize", "pageToken")
OPS = (*PAGED, "filter", "returnPartialSuccess")


# Vertex AI: /{v1,v1beta1}/projects/{project}/locations/{location}/…
VERTEX = "<any(v1,v1beta1):version>/projects/<id:project>/locations/<id:location>"
JOB = f"{VERTEX}/tuningJobs/<id:job_id>"
VMODEL = f"{VERTEX}/models/<id:model_id>"
VENDPOINT = f"{VERTEX}/endpoints/<id:endpoint_id>"
VLIST = (*PAGED, "filter", "orderBy", "readMask")
# Cloud Storage JSON API
BUCKET = "/storage/v1/b/<id:bucket>"
OBJECT = f"{BUCKET}/o/<path:object_name>"
UPLOAD = "/upload/storage/v1/b/<id:bucket>/o"
GCS_COMMON = (
    "userProject",
    "projection",
    "generation",
    "ifGenerationMatch",
    "ifGenerationNotMatch",
    "ifMetagenerationMatch",
    "ifMetagenerationNotMatch",
    "softDeleted",
)
GCS_UPLOAD = (*GCS_COMMON, "name", "uploadId", "predefinedAcl", "kmsKeyName", "contentEncoding")
GCS_LIST = (
    "prefix",
    "delimiter",
    "maxResults",
    "pageToken",
    "projection",
    "versions",
    "userProject",
    "includeTrailingDelimiter",
    "startOffset",
    "endOffset",
    "matchGlob",
    "softDeleted",
    "includeFoldersAsPrefixes",
)


def _api(method: str, path: str, handler: str, *query: str) -> Rule:
    return Rule(path, methods=[method], endpoint=Endpoint(handler, tuple(query)))


def _storage(method: str, path: str, handler: str, *query: str, raw: bool = False) -> Rule:
    endpoint = Endpoint(handler, tuple(query), raw_body=raw, anonymous=True)
    return Rule(path, methods=[method], endpoint=endpoint)


def _control(method: str, path: str, handler: str, *query: str) -> Rule:
    return Rule(path, methods=[method], endpoint=Endpoint(handler, tuple(query), control=True))


ROUTES = Map(
    [
        # tuned models
        _api("POST", f"/{TUNING}/tunedModels", "models.create_tuned_model", "tunedModelId"),
        _api("GET", f"/{TUNING}/tunedModels", "models.list_tuned_models", *PAGED, "filter"),
        _api("GET", f"/{TUNING}/{MODEL}", "models.get_tuned_model"),
        _api("PATCH", f"/{TUNING}/{MODEL}", "models.update_tuned_model", "updateMask"),
        _api("DELETE", f"/{TUNING}/{MODEL}", "models.delete_tuned_model"),
        _api("POST", f"/{TUNING}/{MODEL}:transferOwnership", "permissions.transfer_ownership"),
        _api("POST", f"/{GEMINI}/{MODEL}:generateContent", "generation.generate_content_tuned"),
        _api("POST", f"/{PALM}/{MODEL}:generateText", "generation.generate_text_tuned"),
        # long-running operations
        _api("GET", f"/{ALL}/{MODEL}/operations/<id:operation_id>", "models.get_operation"),
        _api("POST", f"/{ALL}/{MODEL}/operations/<id:operation_id>:cancel", "models.cancel_operation"),
        _api("GET", f"/{ALL}/{MODEL}/operations", "models.list_model_operations", *OPS),
        _api("GET", f"/{ALL}/operations", "models.list_operations", *OPS),
        # permissions
        _api("POST", f"/{TUNING}/{MODEL}/permissions", "permissions.create_permission"),
        _api("GET", f"/{TUNING}/{MODEL}/permissions", "permissions.list_permissions", *PAGED),
        _api("GET", f"/{TUNING}/{MODEL}/permissions/<id:permission_id>", "permissions.get_permission"),
        _api(
            "PATCH", f"/{TUNING}/{MODEL}/permissions/<id:permission_id>", "permissions.update_permission", "updateMask"
        ),
        _api("DELETE", f"/{TUNING}/{MODEL}/permissions/<id:permission_id>", "permissions.delete_permission"),
        # base models
        _api("GET", f"/{ALL}/models", "emulator.list_base_models", *PAGED),
        _api("GET", f"/{ALL}/models/<id:base_id>", "emulator.get_base_model"),
        _api("POST", f"/{GEMINI}/models/<id:base_id>:generateContent", "generation.generate_content_base"),
        _api("POST", f"/{PALM}/models/<id:base_id>:generateText", "generation.generate_text_base"),
        # Vertex AI: tuning jobs
        _api("POST", f"/{VERTEX}/tuningJobs", "jobs.create_tuning_job"),
        _api("GET", f"/{VERTEX}/tuningJobs", "jobs.list_tuning_jobs", *PAGED, "filter"),
        _api("GET", f"/{JOB}", "jobs.get_tuning_job"),
        _api("POST", f"/{JOB}:cancel", "jobs.cancel_tuning_job"),
        _api("GET", f"/{VERTEX}/metadataStores/<id:store>/contexts/<id:context_id>", "jobs.get_experiment_context"),
        # Vertex AI: Model Registry
        _api("GET", f"/{VERTEX}/models", "registry.list_models", *VLIST),
        _api("GET", f"/{VMODEL}", "registry.get_model"),
        _api("PATCH", f"/{VMODEL}", "registry.update_model", "updateMask"),
        _api("DELETE", f"/{VMODEL}", "registry.delete_model"),
        _api("GET", f"/{VMODEL}:listVersions", "registry.list_model_versions", *VLIST),
        _api("POST", f"/{VMODEL}:mergeVersionAliases", "registry.merge_version_aliases"),
        _api("POST", f"/{VMODEL}:generateContent", "registry.generate_on_model"),
        # Vertex AI: endpoints
        _api("GET", f"/{VERTEX}/endpoints", "registry.list_endpoints", *VLIST),
        _api("GET", f"/{VENDPOINT}", "registry.get_endpoint"),
        _api("PATCH", f"/{VENDPOINT}", "registry.update_endpoint", "updateMask"),
        _api("DELETE", f"/{VENDPOINT}", "registry.delete_endpoint"),
        _api("POST", f"/{VENDPOINT}:undeployModel", "registry.undeploy_model"),
        _api("POST", f"/{VENDPOINT}:generateContent", "registry.generate_content"),
        # Vertex AI: long-running operations
        _api(
            "GET",
            f"/{VERTEX}/<any(tuningJobs,models,endpoints):collection>/<id:resource_id>/operations/<id:operation_id>",
            "registry.get_operation",
        ),
        # Cloud Storage
        _storage(
            "POST",
            "/storage/v1/b",
            "gcs.insert_bucket",
            "project",
            "predefinedAcl",
            "predefinedDefaultObjectAcl",
            "projection",
            "userProject",
            "enableObjectRetention",
        ),
        _storage("GET", BUCKET, "gcs.get_bucket", *GCS_COMMON),
        _storage("GET", f"{BUCKET}/o", "gcs.list_objects", *GCS_LIST),
        _storage("GET", OBJECT, "gcs.get_object", *GCS_COMMON),
        _storage("DELETE", OBJECT, "gcs.delete_object", *GCS_COMMON),
        _storage("GET", f"/download{OBJECT}", "gcs.download_object", *GCS_COMMON),
        _storage("POST", UPLOAD, "gcs.upload", *GCS_UPLOAD, raw=True),
        _storage("PUT", UPLOAD, "gcs.resume", *GCS_UPLOAD, raw=True),
        # control
        _control("GET", "/_internal/health", "emulator.health"),
        _control("POST", "/_internal/reset", "emulator.reset"),
        _control("GET", "/_internal/faults", "emulator.get_faults"),
        _control("POST", "/_internal/faults", "emulator.set_faults"),
        _control("GET", "/_internal/tuning", "emulator.get_tuning"),
        _control("POST", "/_internal/tuning", "emulator.set_tuning"),
        _control("GET", "/_internal/requests", "emulator.get_requests"),
        _control("DELETE", "/_internal/requests", "emulator.reset_requests"),
        _control("GET", "/_internal/vertex/faults", "emulator.get_vertex_faults"),
        _control("POST", "/_internal/vertex/faults", "emulator.set_vertex_faults"),
        _control("GET", "/_internal/holds", "emulator.list_holds"),
        _control("POST", "/_internal/holds", "emulator.add_hold"),
        _control("GET", "/_internal/holds/<id:hold_id>", "emulator.get_hold", "arrived", "waitSeconds"),
        _control("POST", "/_internal/holds/<id:hold_id>:release", "emulator.release_hold"),
        _control("GET", "/_internal/lost-answers", "emulator.get_lost_answers"),
        _control("POST", "/_internal/lost-answers", "emulator.add_lost_answer"),
        _control("DELETE", "/_internal/lost-answers", "emulator.clear_lost_answers"),
    ],
    converters={"id": IdConverter},
    strict_slashes=False,
    merge_slashes=False,
)


def route_template(rule: Rule) -> str:
    """`/<any(...):version>/tunedModels/<id:model_id>` → `/{version}/tunedModels/{model_id}`."""
    return re.sub(r"<(?:[^:>]*:)?([^>]+)>", r"{\1}", rule.rule)


class EmulatorApp:
    """The WSGI application: state, services, faults and request counts."""

    def __init__(
        self,
        store: Store,
        ids: IdMaker,
        tuning: TuningSettings,
        faults: FaultSettings,
        auth: AuthSettings,
        latency_seconds: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.store = store
        self.ids = ids
        self.tuning = tuning
        self.faults = faults
        self._initial_faults = faults
        self._initial_tuning = replace(tuning)
        self.auth = auth
        self.latency_seconds = latency_seconds
        self.clock = clock
        self.sleep = sleep
        self.vertex = Vertex(store, ids, tuning)
        self.services: dict[str, Any] = {
            "models": TunedModelService(store, ids, tuning),
            "permissions": PermissionService(store, ids),
            "generation": GenerationService(store),
            "jobs": TuningJobService(self.vertex),
            "registry": RegistryService(self.vertex),
            "gcs": StorageService(store, ids, self.vertex.faults),
            "emulator": self,
        }
        self._counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self.holds = Holds()
        self.lost_answers = LostAnswers()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        # The real API pretty-prints unless prettyPrint=false; no client depends on the
        # whitespace, and compact output uses the C encoder (several times faster), so
        # here indentation is only on request.
        pretty = request.args.get("prettyPrint") == "true"
        try:
            return self._dispatch(request, pretty)
        except AnswerLost:  # committed; the client never hears back
            _drop_connection(request)
            return Response(b"", status=200)
        except ApiError as error:
            return _json_response(error.http_code, error.envelope(), pretty, error.headers)
        except Exception:  # a bug in the emulator: answer as the real API's 500 would
            log.exception("internal error serving %s %s", request.method, request.path)
            internal = ApiError("INTERNAL", "Internal error encountered.")
            return _json_response(500, internal.envelope(), pretty)

    def _dispatch(self, request: Request, pretty: bool) -> Response:
        adapter = ROUTES.bind_to_environ(request.environ)
        try:
            rule, args = adapter.match(return_rule=True)
        except (NotFound, MethodNotAllowed):
            self._count(f"{request.method} (no route)")
            raise not_found(f"Method not found: {request.method} {request.path[:200]}") from None
        except HTTPException as exc:  # e.g. a redirect; nothing here should need one
            raise not_found(f"Method not found: {request.path[:200]}") from exc
        endpoint: Endpoint = rule.endpoint
        if not endpoint.control:
            self._count(f"{request.method} {route_template(rule)}")
            self.holds.pause(request.method, request.path, after=False)
            fault = self._before_api_call(request, endpoint, args.get("version", ""))
            if fault:
                return fault
        mask = None if endpoint.control else _field_mask(request, endpoint)
        result = self._handle(request, endpoint, dict(args), mask)
        if not endpoint.control:  # served: the change is committed whatever the client hears
            self.holds.pause(request.method, request.path, after=True)
            self._lose_answer(request)
        if isinstance(result, RawReply):
            return Response(result.data, status=result.status, headers=result.headers, content_type=result.content_type)
        status, body = result
        if mask is not None:
            body = mask.apply(body)
        return _json_response(status, body, pretty)

    def _before_api_call(self, request: Request, endpoint: Endpoint, version: str) -> Response | None:
        """Latency, faults and auth, in that order; a response when one cuts in."""
        if self.latency_seconds:
            self.sleep(self.latency_seconds)
        fault = pick_fault(self.faults, request.path, self.ids)
        if fault == "drop":
            _drop_connection(request)
            return Response(b"", status=200)
        if fault == "429":
            raise rate_limited(self.faults)
        if fault == "503":
            raise unavailable()
        if fault == "slow":
            self.sleep(self.faults.slow_seconds)
        if not endpoint.anonymous:
            has_api_key = bool(request.headers.get("x-goog-api-key") or request.args.get("key"))
            check_caller(self.auth, request.headers.get("Authorization", ""), has_api_key, endpoint.handler, version)
        return None

    def _lose_answer(self, request: Request) -> None:
        lost = self.lost_answers.take(request.method, request.path)
        if lost == "drop":
            raise AnswerLost
        if lost == "503":
            raise unavailable()

    def _handle(self, request: Request, endpoint: Endpoint, args: dict[str, str], mask: FieldMask | None) -> Reply:
        service_name, method_name = endpoint.handler.split(".")
        handler = getattr(self.services[service_name], method_name)
        call = Call(
            version=args.pop("version", ""),
            body=_read_raw_body(request) if endpoint.raw_body else _read_body(request),
            query=_api_query(request, endpoint),
            enums=Enums(as_int="enum-encoding=int" in request.args.get("$alt", "") + request.args.get("alt", "")),
            now=self.clock(),
            headers={key.lower(): value for key, value in request.headers.items()},
            host_url=request.host_url,
            system={key: value for key, value in request.args.items() if key in SYSTEM_PARAMS},
            fields=mask,
        )
        result: Reply = handler(call, **args)
        return result

    def _count(self, key: str) -> None:
        with self._counts_lock:
            self._counts[key] += 1

    # --- base models ---------------------------------------------------------------------

    def list_base_models(self, call: Call) -> Reply:
        page = page_request(call.query, default_size=50, max_size=1000)
        chosen = BASE_MODELS[page.position : page.position + page.size]
        body: dict[str, Any] = {"models": [model.to_json(call.version) for model in chosen]}
        if page.position + page.size < len(BASE_MODELS):
            body["nextPageToken"] = encode_token(page.position + page.size, page.filter)
        return 200, body

    def get_base_model(self, call: Call, base_id: str) -> Reply:
        model = find_base_model(f"models/{base_id}")
        if model is None:
            raise not_found(
                f"models/{base_id[:200]} is not found for API version {call.version}, or is not supported for getModel."
            )
        return 200, model.to_json(call.version)

    # --- control (/_internal/) -----------------------------------------------------------

    def health(self, call: Call) -> Reply:
        return 200, {"status": "ok"}

    def reset(self, call: Call) -> Reply:
        """Forget every model, count and fault set at run time."""
        self.store.clear()
        self.faults = self._initial_faults
        self.vertex.faults.reset()
        self.holds.release_all()
        self.lost_answers.clear()
        for name, value in vars(self._initial_tuning).items():
            setattr(self.tuning, name, value)
        self.reset_requests(call)
        return 200, {}

    def get_faults(self, call: Call) -> Reply:
        return 200, self.faults.to_json()

    def set_faults(self, call: Call) -> Reply:
        self.faults = FaultSettings.from_json(call.body)
        return 200, self.faults.to_json()

    def get_tuning(self, call: Call) -> Reply:
        return 200, _tuning_json(self.tuning)

    def set_tuning(self, call: Call) -> Reply:
        """Change how new tuning runs go: step_seconds, fail_rate, fail_ids, vertex_failure."""
        body = call.body
        if not isinstance(body, dict) or set(body) - set(TUNING_FIELDS):
            raise invalid_argument(f"Expected an object with {', '.join(TUNING_FIELDS)}.")
        step = body.get("step_seconds", self.tuning.step_seconds)
        rate = body.get("fail_rate", self.tuning.fail_rate)
        fail_ids = body.get("fail_ids", sorted(self.tuning.fail_ids))
        vertex_failure = body.get("vertex_failure", self.tuning.vertex_failure)
        if not (
            _number_in(step, 0, 86400)
            and _number_in(rate, 0, 1)
            and isinstance(fail_ids, list)
            and all(isinstance(i, str) for i in fail_ids)
            and vertex_failure in VERTEX_FAILURES
        ):
            raise invalid_argument(
                "step_seconds 0..86400, fail_rate 0..1, fail_ids a list "
                "of model ids (Vertex: manifest ids or display names), "
                f"vertex_failure one of {', '.join(VERTEX_FAILURES)}."
            )
        self.tuning.step_seconds = float(step)
        self.tuning.fail_rate = float(rate)
        self.tuning.fail_ids = frozenset(fail_ids)
        self.tuning.vertex_failure = vertex_failure
        return 200, _tuning_json(self.tuning)

    def get_vertex_faults(self, call: Call) -> Reply:
        return 200, self.vertex.faults.to_json()

    def set_vertex_faults(self, call: Call) -> Reply:
        """Arm Vertex faults: create_errors, create_answers_lost, endpoint_failures,
        delete_model_refusals, upload_corruptions, broken_chunks (counts) and
        pending_seconds; fields left out are kept."""
        self.vertex.faults.update(call.body)
        return 200, self.vertex.faults.to_json()

    def list_holds(self, call: Call) -> Reply:
        return 200, {"holds": [hold.to_json() for hold in self.holds.all()]}

    def add_hold(self, call: Call) -> Reply:
        """Hold requests: {method, path_regex, times (1; 0 every one), after (false)}."""
        return 200, self.holds.from_json(call.body).to_json()

    def get_hold(self, call: Call, hold_id: str) -> Reply:
        """The hold; with `arrived=N`, waits up to `wait_seconds` (at most 60) for N
        requests to have been caught (the answer says how many were)."""
        hold = self._hold(hold_id)
        if "arrived" in call.query:
            count = _whole_number(call.query["arrived"], "arrived", 1000)
            wait = min(
                float(_whole_number(call.query.get("waitSeconds", "10"), "wait_seconds", int(MAX_WAIT_SECONDS))),
                MAX_WAIT_SECONDS,
            )
            with contextlib.suppress(TimeoutError):
                hold.wait_arrived(count, wait)
        return 200, hold.to_json()

    def release_hold(self, call: Call, hold_id: str) -> Reply:
        hold = self._hold(hold_id)
        hold.release()
        return 200, hold.to_json()

    def _hold(self, hold_id: str) -> Hold:
        hold = self.holds.get(hold_id)
        if hold is None:
            raise not_found(f"No hold {hold_id[:50]}.")
        return hold

    def get_lost_answers(self, call: Call) -> Reply:
        return 200, {"rules": self.lost_answers.to_json()}

    def add_lost_answer(self, call: Call) -> Reply:
        """Arm {method, path_regex, count (1), answer ("drop" or "503")}."""
        self.lost_answers.arm_json(call.body)
        return 200, {"rules": self.lost_answers.to_json()}

    def clear_lost_answers(self, call: Call) -> Reply:
        self.lost_answers.clear()
        return 200, {"rules": []}

    def get_requests(self, call: Call) -> Reply:
        with self._counts_lock:
            counts = dict(sorted(self._counts.items()))
        return 200, {"counts": counts, "total": sum(counts.values())}

    def reset_requests(self, call: Call) -> Reply:
        with self._counts_lock:
            self._counts.clear()
        return 200, {}


TUNING_FIELDS = ("step_seconds", "fail_rate", "fail_ids", "vertex_failure")


def _tuning_json(tuning: TuningSettings) -> dict[str, Any]:
    return {
        "step_seconds": tuning.step_seconds,
        "fail_rate": tuning.fail_rate,
        "fail_ids": sorted(tuning.fail_ids),
        "vertex_failure": tuning.vertex_failure,
    }


def _whole_number(text: str, name: str, high: int) -> int:
    if not text.isdigit() or int(text) > high:
        raise invalid_argument(f"{name} must be a whole number from 0 to {high}.")
    return int(text)


def _number_in(value: Any, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _field_mask(request: Request, endpoint: Endpoint) -> FieldMask | None:
    """The partial response asked for, checked against the method's answer before it runs."""
    text = mask_of(request.args, {key.lower(): value for key, value in request.headers.items()})
    if text is None:
        return None
    return parse_mask(text, RESPONSES.get(endpoint.handler))


def _api_query(request: Request, endpoint: Endpoint) -> dict[str, str]:
    """The API's own query parameters in camelCase; an unknown one is a 400, as upstream."""
    query: dict[str, str] = {}
    for key, values in request.args.lists():
        if key in SYSTEM_PARAMS:
            continue
        # A repeated filter ANDs its terms (google-genai sends its own beside the caller's).
        value = " AND ".join(values) if key == "filter" else values[0]
        name = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
        if name not in endpoint.query:
            raise invalid_argument(
                f'Invalid JSON payload received. Unknown name "{key[:100]}": Cannot bind query '
                f"parameter. Field '{key[:100]}' could not be found in request message."
            )
        query[name] = value
    return query


def _read_raw_body(request: Request) -> bytes:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise _too_large(request)
    try:
        raw = request.stream.read(MAX_BODY_BYTES + 1)
    except (OSError, ClientDisconnected) as exc:  # a malformed, oversized or cut chunked body
        raise invalid_argument(f"Invalid request body: {exc}.") from None
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large(request)
    return raw


def _read_body(request: Request) -> Any:
    if request.method not in ("POST", "PATCH", "PUT"):
        return {}
    raw = _read_raw_body(request)
    if not raw.strip():
        return {}
    return parse_json(raw)


def _too_large(request: Request) -> ApiError:
    _drain(request)  # so that the client reads our answer instead of a reset connection
    return invalid_argument(f"Request payload size exceeds the limit: {MAX_BODY_BYTES} bytes.")


def _drain(request: Request) -> None:
    """Read and drop what is left of the body, up to a bound: a client that keeps
    sending past it gets a closed connection instead of our time."""
    left = MAX_DRAIN_BYTES
    with contextlib.suppress(OSError, ClientDisconnected):
        while left > 0 and (chunk := request.stream.read(min(left, 1024 * 1024))):
            left -= len(chunk)


def _drop_connection(request: Request) -> None:
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):  # already gone
            connection.shutdown(socket.SHUT_RDWR)


def _json_response(status: int, body: dict[str, Any], pretty: bool, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, indent=2 if pretty else None, ensure_ascii=False, separators=None if pretty else (",", ":"))
    return Response(text + "\n", status=status, headers=headers, content_type="application/json; charset=UTF-8")
