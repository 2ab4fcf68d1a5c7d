"""The emulator against Google's discovery documents (the copies
google-api-python-client ships: aiplatform.v1.json, aiplatform.v1beta1.json,
storage.v1.json), an oracle nobody here wrote:

(a) every route the emulator serves for Vertex AI and Cloud Storage is a
    method of that API version, with the same verb and path template;
(b) every response body of a full lifecycle (the CLI's apply, replace and
    delete, on v1 and v1beta1) validates against its method's response
    schema: no unknown field, the JSON types of proto3 JSON, enum values of
    the document;
(c) every request body the backend sends validates against the method's
    request schema.
"""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatorServer
from reconciler.emulator.server import EmulatorOptions
from tests.backends.vertex.helpers import BUCKET, manifest, vertex_cli, write_manifest, write_repo

googleapiclient = pytest.importorskip("googleapiclient")
DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"
VERTEX_VERSIONS = ("v1", "v1beta1")
# Not a method: the PUTs of a resumable upload session go to the session URL
# the upload's POST answered (the discovery document's `resumable` protocol).
RESUMABLE_SESSION = ("PUT", "/upload/storage/v1/b/{}/o")
# Not methods either: what the real service answers there is recorded, and the
# emulator answers the same refusal (400 for generateContent on a Model name,
# python-genai#1679); no lifecycle sends it.
RECORDED_REFUSALS = frozenset(
    {("POST", f"/{v}/projects/{{}}/locations/{{}}/models/{{}}:generateContent") for v in VERTEX_VERSIONS}
)


# Parsed once: the Vertex documents are 3-4 MB each, and every exchange of a
# lifecycle looks its method up in one (parsing them per exchange took a minute).
@functools.cache
def _document(name: str) -> dict[str, Any]:
    return json.loads((DOCUMENTS / f"{name}.json").read_text("utf-8"))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Method:
    verb: str
    template: str  # "/v1/projects/{}/locations/{}/tuningJobs/{}:cancel", placeholders emptied
    body: dict[str, Any]
    schemas: dict[str, Any]
    media_download: bool = False

    def matches(self, verb: str, path: str) -> bool:
        return verb == self.verb and self.pattern.fullmatch(path) is not None

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        # Compiled once a method: a lookup tries every method of a document,
        # thousands of patterns, more than `re` keeps compiled.
        pattern = re.escape(self.template).replace(r"\{\}", "[^/:]+")  # `:verb` follows a name
        return re.compile(pattern.replace("/o/[^/:]+", "/o/.+", 1))  # an object name may hold slashes


def _walk(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from resource.get("methods", {}).values()
    for child in resource.get("resources", {}).values():
        yield from _walk(child)


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@functools.cache
def vertex_methods(version: str) -> tuple[Method, ...]:
    document = _document(f"aiplatform.{version}")
    return tuple(
        Method(m["httpMethod"], "/" + _template(m["flatPath"]), m, document["schemas"]) for m in _walk(document)
    )


@functools.cache
def storage_methods() -> tuple[Method, ...]:
    document = _document("storage.v1")
    found = []
    for m in _walk(document):
        found.append(Method(m["httpMethod"], "/storage/v1/" + _template(m["path"]), m, document["schemas"]))
        for protocol in (m.get("mediaUpload") or {}).get("protocols", {}).values():
            found.append(Method(m["httpMethod"], _template(protocol["path"]), m, document["schemas"]))
        if m.get("useMediaDownloadService"):
            found.append(
                Method(
                    m["httpMethod"],
                    "/download/storage/v1/" + _template(m["path"]),
                    m,
                    document["schemas"],
                    media_download=True,
                )
            )
    return tuple(found)


# --- (a) routes ----------------------------------------------------------------------------


def _expansions(rule: str) -> list[str]:
    """A werkzeug rule as path templates: `<any(a,b):x>` once per choice, other converters `{}`."""
    match = re.search(r"<any\(([^)]*)\):\w+>", rule)
    if match:
        return [
            path
            for choice in match.group(1).split(",")
            for path in _expansions(rule[: match.start()] + choice.strip() + rule[match.end() :])
        ]
    return [re.sub(r"<[^>]+>", "{}", rule)]


def _served() -> list[tuple[str, str]]:
    """The API routes of the Vertex AI and Cloud Storage tables (not their control endpoints)."""
    server = EmulatorServer(EmulatorOptions())  # never started: only its tables are read
    routes = (*server.app.vertex.routes(), *server.app.gcs.routes())
    server.stop()
    return [(r.method, path) for r in routes if not r.endpoint.control for path in _expansions(r.path)]


def test_the_emulator_serves_vertex_and_storage_routes() -> None:
    paths = {path for _, path in _served()}
    assert any(p.startswith("/v1beta1/") for p in paths) and any(p.startswith("/storage/v1/") for p in paths)


@pytest.mark.parametrize("verb, path", _served(), ids=lambda value: str(value))
def test_every_route_is_a_method_of_its_api_version(verb: str, path: str) -> None:
    if (verb, path) == RESUMABLE_SESSION or (verb, path) in RECORDED_REFUSALS:
        return
    vertex = path.startswith(("/v1/", "/v1beta1/"))
    methods = vertex_methods(path.split("/")[1]) if vertex else storage_methods()
    assert any(m.verb == verb and m.template == path for m in methods), f"{verb} {path} is no method"


# --- (b), (c) bodies ------------------------------------------------------------------------


class SchemaError(AssertionError):
    pass


def validate(value: Any, schema: dict[str, Any], schemas: dict[str, Any], where: str, *, sent: bool) -> None:
    """`value` against a discovery schema. Responses must be strict proto3 JSON
    (int64 as strings); a request may give an int64 as a number, as proto3 JSON
    parsing accepts."""
    if "$ref" in schema:
        validate(value, schemas[schema["$ref"]], schemas, where, sent=sent)
        return
    kind = schema.get("type", "any")
    if kind == "any":
        return
    if kind == "object":
        if not isinstance(value, dict):
            raise SchemaError(f"{where}: {value!r:.80} is not an object")
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                validate(item, properties[key], schemas, f"{where}.{key}", sent=sent)
            elif extra is not None:
                validate(item, extra, schemas, f"{where}.{key}", sent=sent)
            elif properties is not None:
                raise SchemaError(f"{where}.{key} is not a field of {schema.get('id', 'this object')}")
        return
    if kind == "array":
        if not isinstance(value, list):
            raise SchemaError(f"{where}: {value!r:.80} is not an array")
        for index, item in enumerate(value):
            validate(item, schema["items"], schemas, f"{where}[{index}]", sent=sent)
        return
    _scalar(value, schema, kind, where, sent=sent)


def _scalar(value: Any, schema: dict[str, Any], kind: str, where: str, *, sent: bool) -> None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        if schema.get("format") in ("int64", "uint64"):
            ok = (isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None) or (
                sent and isinstance(value, int) and not isinstance(value, bool)
            )
        else:
            ok = isinstance(value, str)
        if ok and "enum" in schema and value not in schema["enum"]:
            raise SchemaError(f"{where}: {value!r} is not one of the enum's values")
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = number or value in ("NaN", "Infinity", "-Infinity")
    elif kind == "boolean":
        ok = isinstance(value, bool)
    else:
        ok = True
    if not ok:
        raise SchemaError(f"{where}: {value!r:.80} is not a {schema.get('format') or kind}")


@dataclass
class Exchange:
    verb: str
    path: str
    query: str
    sent: Any
    status: int
    content_type: str
    answer: bytes


class Recorder:
    """Every request and answer through the app (a WSGI middleware)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.seen: list[Exchange] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        status: list[str] = []
        headers: list[tuple[str, str]] = []

        def record_start(code: str, response_headers: list[tuple[str, str]], *rest: Any) -> Any:
            status.append(code)
            headers.extend(response_headers)
            return start_response(code, response_headers, *rest)

        answer = b"".join(self.app(environ, record_start))
        content_type = dict((k.lower(), v) for k, v in headers).get("content-type", "")
        sent: Any = None
        media = "uploadType=media" in environ.get("QUERY_STRING", "")  # the body is the object's bytes
        if raw and not media and environ.get("CONTENT_TYPE", "").split(";")[0].strip() == "application/json":
            sent = json.loads(raw)
        self.seen.append(
            Exchange(
                environ["REQUEST_METHOD"],
                environ["PATH_INFO"],
                environ.get("QUERY_STRING", ""),
                sent,
                int(status[0].split()[0]),
                content_type,
                answer,
            )
        )
        return [answer]


def _method_of(exchange: Exchange, methods: Sequence[Method]) -> Method:
    found = [m for m in methods if m.matches(exchange.verb, exchange.path)]
    assert found, f"{exchange.verb} {exchange.path} is no method"
    return min(found, key=lambda m: m.template.count("{}"))  # the most literal template


@pytest.fixture(scope="module", params=VERTEX_VERSIONS)
def lifecycle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Exchange]]:
    """apply, plan, a change in place, a replace, a delete: through the CLI on one API version."""
    version = request.param
    tmp_path = tmp_path_factory.mktemp(f"lifecycle-{version}")
    server = EmulatorServer(EmulatorOptions(seed=0, step_seconds=0.02, buckets=(BUCKET,)))
    recorder = Recorder(server.app)
    server.app = recorder  # type: ignore[assignment]
    server.start()
    try:
        repo = write_repo(tmp_path, [manifest("numbers"), manifest("letters")])
        settings = repo / "reconciler.yaml"
        settings.write_text(
            settings.read_text("utf-8").replace("  datasets:", f"  apiVersion: {version}\n  datasets:"), "utf-8"
        )
        assert vertex_cli(repo, server, "apply", "--yes").code == 0
        assert vertex_cli(repo, server, "plan", "--detailed-exitcode").code == 0
        write_manifest(repo, manifest("numbers", display_name="Numbers, renamed"))
        assert vertex_cli(repo, server, "apply", "--yes").code == 0
        write_manifest(repo, manifest("numbers", epochs=3))
        assert vertex_cli(repo, server, "apply", "--yes").code == 0
        (repo / "manifests" / "letters.yaml").unlink()
        result = vertex_cli(repo, server, "apply", "--yes")
        assert result.code == 0, result.text
    finally:
        server.app = recorder.app  # type: ignore[assignment]
        server.stop()
    return version, recorder.seen


def _api_exchanges(seen: list[Exchange]) -> list[tuple[Exchange, Method]]:
    pairs = []
    storage = storage_methods()
    for exchange in seen:
        if exchange.path.startswith("/_internal/") or (exchange.verb, _template_of(exchange)) == RESUMABLE_SESSION:
            continue
        if exchange.path.startswith(("/v1/", "/v1beta1/")):
            pairs.append((exchange, _method_of(exchange, vertex_methods(exchange.path.split("/")[1]))))
        else:
            pairs.append((exchange, _method_of(exchange, storage)))
    return pairs


def _template_of(exchange: Exchange) -> str:
    match = re.fullmatch(r"/upload/storage/v1/b/[^/]+/o", exchange.path)
    return "/upload/storage/v1/b/{}/o" if match else exchange.path


def test_every_answer_of_a_lifecycle_validates(lifecycle: tuple[str, list[Exchange]]) -> None:
    version, seen = lifecycle
    checked = set()
    for exchange, method in _api_exchanges(seen):
        ref = (method.body.get("response") or {}).get("$ref")
        if not 200 <= exchange.status < 300 or not ref or "alt=media" in exchange.query or method.media_download:
            continue
        body = json.loads(exchange.answer)
        validate(body, {"$ref": ref}, method.schemas, f"{exchange.verb} {exchange.path} → {ref}", sent=False)
        checked.add(method.body["id"])
    assert {f"aiplatform.projects.locations.tuningJobs.{m}" for m in ("get", "list", "create")} <= checked
    assert {
        "aiplatform.projects.locations.models.list",
        "aiplatform.projects.locations.models.patch",
        "aiplatform.projects.locations.endpoints.get",
        "aiplatform.projects.locations.models.delete",
        "aiplatform.projects.locations.endpoints.undeployModel",
        "storage.objects.insert",
        "storage.objects.get",
    } <= checked
    assert any(e.path.startswith(f"/{version}/") for e, _ in _api_exchanges(seen))


def test_every_request_the_backend_sends_validates(lifecycle: tuple[str, list[Exchange]]) -> None:
    _, seen = lifecycle
    checked = set()
    for exchange, method in _api_exchanges(seen):
        if exchange.sent is None:
            continue
        ref = (method.body.get("request") or {}).get("$ref")
        assert ref, f"{exchange.verb} {exchange.path} sends a body its method does not take"
        validate(exchange.sent, {"$ref": ref}, method.schemas, f"{exchange.verb} {exchange.path} ← {ref}", sent=True)
        checked.add(method.body["id"])
    assert {
        "aiplatform.projects.locations.tuningJobs.create",
        "aiplatform.projects.locations.models.patch",
        "aiplatform.projects.locations.endpoints.patch",
    } <= checked


def test_the_validator_refuses_what_the_document_does_not_allow() -> None:
    schemas = _document("aiplatform.v1")["schemas"]
    job = {"$ref": "GoogleCloudAiplatformV1TuningJob"}
    validate({"name": "x", "state": "JOB_STATE_RUNNING"}, job, schemas, "job", sent=False)
    for wrong in (
        {"tuningJobState": "TUNING_JOB_STATE_TUNING"},
        {"state": "RUNNING"},
        {"supervisedTuningSpec": {"hyperParameters": {"epochCount": 3}}},
        {"labels": {"a": 1}},
    ):
        with pytest.raises(SchemaError):
            validate(wrong, job, schemas, "job", sent=False)
    beta = _document("aiplatform.v1beta1")["schemas"]
    validate(
        {"tuningJobState": "TUNING_JOB_STATE_TUNING"},
        {"$ref": "GoogleCloudAiplatformV1beta1TuningJob"},
        beta,
        "job",
        sent=False,
    )
