"""The HTTP layer: the route tables of the Google surfaces (`gemini/`,
`vertex/`, `gcs/`) and of the control endpoints joined into one, and one
adapter that parses a request, calls the handler and serializes its
`(status, body)` or its `ApiError` as the real `google.rpc.Status` envelope.

The AWS surfaces (`bedrock/`, `s3/`) have a table each, chosen by the service
of the request's SigV4 credential scope (S3's path-style paths would shadow
every other route), and an adapter of their own (`_respond_aws`) that checks
the signature's shape and lets each service render its errors.

Every surface shares the store, the ids, the clock, the tuning settings, the
faults, the holds and the control endpoints."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import ClientDisconnected, HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from reconciler.emulator import sigv4
from reconciler.emulator.auth import AuthSettings, check_caller
from reconciler.emulator.aws import AwsError, AwsSurface, RequestIds
from reconciler.emulator.bedrock.surface import BedrockSurface
from reconciler.emulator.calls import AnswerLost, Call, RawReply, Reply
from reconciler.emulator.control import Control
from reconciler.emulator.errors import ApiError, invalid_argument, not_found
from reconciler.emulator.faults import FaultSettings, pick_fault, rate_limited, unavailable
from reconciler.emulator.fields import FieldMask, mask_of, parse_mask
from reconciler.emulator.gcs.surface import StorageSurface
from reconciler.emulator.gemini.surface import GeminiSurface
from reconciler.emulator.ids import IdMaker
from reconciler.emulator.json_input import parse_json
from reconciler.emulator.quota import SubmissionQuota
from reconciler.emulator.routing import Endpoint, RouteTable
from reconciler.emulator.s3.surface import S3Surface
from reconciler.emulator.settings import TuningSettings
from reconciler.emulator.store import Store
from reconciler.emulator.vertex.surface import VertexSurface
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


class EmulatorApp:
    """The WSGI application: the surfaces, what they share, and the dispatch."""

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
        quota: SubmissionQuota | None = None,
    ) -> None:
        self.store = store
        self.ids = ids
        self.auth = auth
        self.latency_seconds = latency_seconds
        self.clock = clock
        self.sleep = sleep
        self.gemini = GeminiSurface(store, ids, tuning)
        # One quota on tuning-job submissions, each surface counting its own scopes.
        self.quota = quota or SubmissionQuota()
        self.vertex = VertexSurface(store, ids, tuning, self.quota)
        # The datasets' faults (upload_corruptions, broken_chunks) are armed with the
        # Vertex ones: they exist for its uploads.
        self.gcs = StorageSurface(store, ids, self.vertex.faults)
        self.bedrock = BedrockSurface(store, ids, tuning, self.quota)
        self.s3 = S3Surface(store, ids)
        self.control = Control(
            store, tuning, faults, resets=[self.vertex.faults.reset, self.bedrock.faults.reset], quota=self.quota
        )
        self.routes = RouteTable(
            (
                *self.gemini.routes(),
                *self.vertex.routes(),
                *self.gcs.routes(),
                *self.control.routes(),
                *self.bedrock.control_routes(),
            )
        )
        # The AWS surfaces by the service their requests are signed for.
        self.aws: dict[str, tuple[AwsSurface, RouteTable]] = {
            surface.service: (surface, RouteTable(surface.routes())) for surface in (self.bedrock, self.s3)
        }
        self.request_ids = RequestIds()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.respond(request)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        aws = self._aws_surface(request)
        if aws is not None:
            return self._respond_aws(request, *aws)
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
        try:
            route, args = self.routes.match(request.environ)
        except (NotFound, MethodNotAllowed):
            bedrock = self.aws["bedrock"]
            if _matches(bedrock[1], request):  # a Bedrock path without a signature: Bedrock refuses it
                return self._respond_aws(request, *bedrock)
            self.control.count(f"{request.method} (no route)")
            raise not_found(f"Method not found: {request.method} {request.path[:200]}") from None
        except HTTPException as exc:  # e.g. a redirect; nothing here should need one
            raise not_found(f"Method not found: {request.path[:200]}") from exc
        endpoint = route.endpoint
        if not endpoint.control:
            self.control.count(f"{request.method} {route.template}")
            self.control.holds.pause(request.method, request.path, after=False)
            fault = self._before_api_call(request, endpoint, args.get("version", ""))
            if fault:
                return fault
        mask = None if endpoint.control else _field_mask(request, endpoint)
        result = self._handle(request, endpoint, args, mask)
        if not endpoint.control:  # served: the change is committed whatever the client hears
            self.control.holds.pause(request.method, request.path, after=True)
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
        faults = self.control.faults
        fault = pick_fault(faults, request.path, self.ids)
        if fault == "drop":
            _drop_connection(request)
            return Response(b"", status=200)
        if fault == "429":
            raise rate_limited(faults)
        if fault == "503":
            raise unavailable()
        if fault == "slow":
            self.sleep(faults.slow_seconds)
        if not endpoint.anonymous:
            has_api_key = bool(request.headers.get("x-goog-api-key") or request.args.get("key"))
            authorization = request.headers.get("Authorization", "")
            check_caller(self.auth, authorization, has_api_key, endpoint.scoped_rpc, version)
        return None

    def _lose_answer(self, request: Request) -> None:
        lost = self.control.lost_answers.take(request.method, request.path)
        if lost == "drop":
            raise AnswerLost
        if lost == "503":
            raise unavailable()

    def _handle(self, request: Request, endpoint: Endpoint, args: dict[str, str], mask: FieldMask | None) -> Reply:
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
        return endpoint.handler(call, **args)

    # --- the AWS surfaces --------------------------------------------------------------------

    def _aws_surface(self, request: Request) -> tuple[AwsSurface, RouteTable] | None:
        """The AWS surface a request is for, by its credential scope's service; None
        for the Google surfaces and the control endpoints (which carry no signature).
        A signature for a service not served here goes to the surface whose path
        it names (Bedrock's, else S3's), which refuses it as that service would."""
        if request.path.startswith("/_internal/"):
            return None
        service = sigv4.service_of(_lower_headers(request), request.args)
        if service is None:
            return None
        if service in self.aws:
            return self.aws[service]
        bedrock = self.aws["bedrock"]
        return bedrock if _matches(bedrock[1], request) else self.aws["s3"]

    def _respond_aws(self, request: Request, surface: AwsSurface, table: RouteTable) -> Response:
        request_id = self.request_ids.next()
        try:
            return self._dispatch_aws(request, surface, table, request_id)
        except AnswerLost:
            _drop_connection(request)
            return Response(b"", status=200)
        except AwsError as error:
            return _raw_response(error.reply(request_id), surface.request_headers(request_id))
        except Exception:  # a bug in the emulator: the service's own 500
            log.exception("internal error serving %s %s", request.method, request.path)
            return _raw_response(surface.internal().reply(request_id), surface.request_headers(request_id))

    def _dispatch_aws(self, request: Request, surface: AwsSurface, table: RouteTable, request_id: str) -> Response:
        try:
            route, args = table.match(request.environ)
        except (NotFound, MethodNotAllowed, HTTPException):
            self.control.count(f"{request.method} (no route)")
            raise surface.no_route(request.method, request.path) from None
        self.control.count(f"{request.method} {route.template}")
        self.control.holds.pause(request.method, request.path, after=False)
        fault = self._before_aws_call(request, surface)
        if fault:
            return fault
        headers = _lower_headers(request)
        query = {key: value for key, value in request.args.items()}
        credential = _signed(surface, headers, query)
        call = Call(
            version="",
            body=_read_aws_body(request, surface),
            query=query,
            enums=Enums(),
            now=self.clock(),
            headers=headers,
            host_url=request.host_url,
            method=request.method,
            credential=credential,
        )
        result = route.endpoint.handler(call, **args)
        self.control.holds.pause(request.method, request.path, after=True)
        lost = self.control.lost_answers.take(request.method, request.path)
        if lost == "drop":
            raise AnswerLost
        if lost == "503":
            raise surface.unavailable()
        if isinstance(result, RawReply):
            return _raw_response(result, surface.request_headers(request_id))
        status, body = result
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return Response(
            text, status=status, headers=surface.request_headers(request_id), content_type="application/json"
        )

    def _before_aws_call(self, request: Request, surface: AwsSurface) -> Response | None:
        """Latency and the shared faults, in the service's own words."""
        if self.latency_seconds:
            self.sleep(self.latency_seconds)
        faults = self.control.faults
        fault = pick_fault(faults, request.path, self.ids)
        if fault == "drop":
            _drop_connection(request)
            return Response(b"", status=200)
        if fault == "429":
            raise surface.throttled(faults.retry_after_seconds)
        if fault == "503":
            raise surface.unavailable()
        if fault == "slow":
            self.sleep(faults.slow_seconds)
        return None


def _lower_headers(request: Request) -> dict[str, str]:
    return {key.lower(): value for key, value in request.headers.items()}


def _matches(table: RouteTable, request: Request) -> bool:
    try:
        table.match(request.environ)
    except HTTPException:  # NotFound, MethodNotAllowed
        return False
    return True


def _signed(surface: AwsSurface, headers: dict[str, str], query: dict[str, str]) -> sigv4.Credential:
    try:
        return sigv4.check(headers, query, surface.service)
    except sigv4.Problem as problem:
        raise surface.unauthorized(problem) from None


def _read_aws_body(request: Request, surface: AwsSurface) -> bytes:
    """The raw body: each AWS surface parses its own (JSON, XML or media)."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        _drain(request)
        raise surface.refuse_body("too_large")
    try:
        raw = request.stream.read(MAX_BODY_BYTES + 1)
    except (OSError, ClientDisconnected):  # a malformed, oversized or cut chunked body
        raise surface.refuse_body("incomplete") from None
    if len(raw) > MAX_BODY_BYTES:
        _drain(request)
        raise surface.refuse_body("too_large")
    return raw


def _raw_response(reply: RawReply, extra_headers: dict[str, str]) -> Response:
    return Response(
        reply.data, status=reply.status, headers={**extra_headers, **reply.headers}, content_type=reply.content_type
    )


def _field_mask(request: Request, endpoint: Endpoint) -> FieldMask | None:
    """The partial response asked for, checked against the method's answer before it runs."""
    text = mask_of(request.args, {key.lower(): value for key, value in request.headers.items()})
    if text is None:
        return None
    return parse_mask(text, endpoint.response)


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
