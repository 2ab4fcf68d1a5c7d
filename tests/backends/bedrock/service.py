"""The service the Bedrock backend's flow tests run against: moto's server (its
Bedrock and S3) on 127.0.0.1, with what moto lacks added in front of it.

The flow tests see only `Service`: a URL the backend connects to as an
emulator (`connect(..., emulator=url)`), and controls. `MotoService` is the
one today; the project's own emulator gets a `Service` of its own at merge
(the tests take whichever the `service` fixture gives).

What moto 5.2 covers: customization jobs (create, get, list with nameContains
and nextToken, stop), custom models (get, list, delete by name), tags on
those, and S3 (PUT with If-None-Match, HEAD with checksums, multipart).
What it does not, and `_Shim` adds in front of it, as botocore's service
models shape them: custom model deployments (create with its token, get,
list, delete; `Creating` until the clock moves), their tags, and Converse on
a deployment (it answers the text it is given).

Where moto differs from the AWS documentation (for docs/emulator.md):
- a job stays InProgress for ever (`tick` completes it here, through moto's
  own backend objects);
- the custom model is listed from the job's create, not from its completion;
- a second create with the same clientRequestToken and jobName is refused
  (ResourceInUseException, HTTP 400) instead of answering the first job;
  with the same token and another name it makes a second job;
- GetModelCustomizationJob's outputModelName and outputModelArn are
  `<customModelName>-<jobName>`, not the model it made;
- a job or model is found by its name only, not by its ARN (the backend asks
  by name, which Bedrock accepts too);
- timestamps are whole seconds (the tests give moto a clock a second a call,
  so that creation order is the order of the calls).
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

import requests
from moto.bedrock.models import bedrock_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

REGION = "us-east-1"
ACCOUNT = DEFAULT_ACCOUNT_ID
BUCKET = "my-bucket"
LOSS = 0.125


class Service(Protocol):
    url: str

    def tick(self) -> None:
        """Move the service's clock: running jobs complete, deployments become Active."""

    def jobs(self) -> list[dict[str, Any]]:
        """Every customization job ever made (name, status, tags)."""

    def models(self) -> dict[str, dict[str, str]]:
        """Every custom model live: name -> its tags."""

    def hand_made_model(
        self, name: str, hyperparameters: dict[str, str] | None = None, base_model: str = "amazon.titan-text-lite-v1"
    ) -> str:
        """A custom model made by hand (a job of a person's, not the reconciler's); its name."""
        self._bedrock.create_model_customization_job(
            job_name=f"{name}-job",
            custom_model_name=name,
            role_arn="arn:aws:iam::123456789012:role/someone",
            base_model_identifier=base_model,
            training_data_config={"s3Uri": f"s3://{BUCKET}/their-data.jsonl"},
            output_data_config={"s3Uri": f"s3://{BUCKET}/their-output"},
            hyper_parameters=hyperparameters or {"epochCount": "1"},
            client_request_token=None,
            customization_type="FINE_TUNING",
            custom_model_kms_key_id=None,
            job_tags=None,
            custom_model_tags=None,
            validation_data_config=None,
            vpc_config=None,
        )
        return name

    def delete_model_of(self, name: str) -> None:
        """Remove a custom model moto made at its job's create (the job failed: Bedrock makes none)."""
        self._bedrock.delete_custom_model(name)

    def put_object(self, key: str, data: bytes, bucket: str = BUCKET) -> None:
        s3_backends[ACCOUNT]["aws"].put_object(bucket, key, data)

    def deployments(self) -> dict[str, dict[str, Any]]:
        """Every deployment live: name -> {arn, modelArn, status, tags}."""

    def objects(self, bucket: str = BUCKET) -> dict[str, bytes]:
        """The objects of a bucket: key -> bytes."""

    def requests(self) -> Counter[str]:
        """How many of each call the service received (`ListTagsForResource`, ...)."""

    def fail_next_tick(self, job_name: str, message: str) -> None:
        """The job ends Failed at the next tick."""


class _FrozenClock:
    """moto's `datetime` in its Bedrock models: a second later each time it is asked."""

    def __init__(self) -> None:
        self._now = datetime(2026, 1, 1, 12, 0, 0)
        self._lock = threading.Lock()

    def now(self, tz: Any = None) -> datetime:
        with self._lock:
            self._now += timedelta(seconds=1)
            return self._now


def _error(status: int, kind: str, message: str) -> Response:
    body = json.dumps({"__type": kind, "message": message})
    return Response(body, status=status, headers={"x-amzn-ErrorType": kind}, content_type="application/json")


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class Fault:
    """An error answered instead of the next `times` calls of one operation;
    `after`: once the service has done the call (its answer is lost)."""

    status: int
    code: str
    times: int = 1
    after: bool = False

    def response(self) -> Response:
        return _error(self.status, self.code, f"injected {self.code}")


class _Shim:
    """Custom model deployments, their tags and Converse, in front of moto's app."""

    DEPLOYMENTS = "/model-customization/custom-model-deployments"

    def __init__(self, app: Callable[..., Any], service: MotoService) -> None:
        self.app = app
        self.service = service

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.service.latency:  # benchmarks only: a region's round trip
            time.sleep(self.service.latency)
        request = Request(environ)
        body = request.get_data()  # read once; moto reads it again from a fresh stream
        self.service.count(_operation(request, body))
        fault = self.service.fault_for(_operation(request, body))
        if fault is not None and not fault.after:
            return fault.response()(environ, start_response)  # type: ignore[no-any-return]
        response = self._route(request, body)
        if response is None:
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            if fault is not None:  # the request is served, and its answer lost
                b"".join(self.app(environ, lambda *_args: None))
                return fault.response()(environ, start_response)  # type: ignore[no-any-return]
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        if fault is not None:
            return fault.response()(environ, start_response)  # type: ignore[no-any-return]
        return response(environ, start_response)  # type: ignore[no-any-return]

    def _route(self, request: Request, body: bytes) -> Response | None:
        path = unquote(request.path)
        service = self.service
        if path == self.DEPLOYMENTS and request.method == "POST":
            return service.create_deployment(json.loads(body or b"{}"))
        if path == self.DEPLOYMENTS and request.method == "GET":
            return service.list_deployments(parse_qs(request.query_string.decode()))
        if path.startswith(self.DEPLOYMENTS + "/"):
            identifier = path.removeprefix(self.DEPLOYMENTS + "/")
            return (
                service.get_deployment(identifier) if request.method == "GET" else service.delete_deployment(identifier)
            )
        if path in ("/tagResource", "/untagResource", "/listTagsForResource"):
            parsed = json.loads(body or b"{}")
            if ":custom-model-deployment/" in str(parsed.get("resourceARN", "")):
                return service.deployment_tags(path, parsed)
            return None
        if path.startswith("/model/") and path.endswith("/converse"):
            return service.converse(path.removeprefix("/model/").removesuffix("/converse"), json.loads(body or b"{}"))
        return None


def _operation(request: Request, body: bytes = b"") -> str:
    """The operation a request is, in the service model's words (S3 by method)."""
    path = unquote(request.path)
    if path in ("/tagResource", "/untagResource", "/listTagsForResource"):
        return path.strip("/")[0].upper() + path.strip("/")[1:]
    if path.startswith(_Shim.DEPLOYMENTS):
        if path == _Shim.DEPLOYMENTS:
            return "CreateCustomModelDeployment" if request.method == "POST" else "ListCustomModelDeployments"
        return ("Get" if request.method == "GET" else "Delete") + "CustomModelDeployment"
    if path.startswith("/model/") and path.endswith("/converse"):
        return "Converse"
    if path.startswith("/model-customization-jobs"):
        rest = path.removeprefix("/model-customization-jobs")
        if not rest:
            return "CreateModelCustomizationJob" if request.method == "POST" else "ListModelCustomizationJobs"
        return "StopModelCustomizationJob" if rest.endswith("/stop") else "GetModelCustomizationJob"
    if path.startswith("/custom-models"):
        if path == "/custom-models":
            return "ListCustomModels"
        return "DeleteCustomModel" if request.method == "DELETE" else "GetCustomModel"
    return f"S3 {request.method}"


class MotoService:
    """moto's server with the shim, on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clear()
        shim = self

        class _Server(ThreadedMotoServer):
            def _server_entry(self) -> None:
                from moto.moto_server.werkzeug_app import (
                    DomainDispatcherApplication,
                    MotoRequestHandler,
                    create_backend_app,
                )

                app = _Shim(DomainDispatcherApplication(create_backend_app), shim)
                self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
                self._server_ready_event.set()
                self._server.serve_forever(0.01)  # stop() waits for a poll

        self._server = _Server(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""
        self.latency = 0.0  # seconds added to every request (benchmarks; tests never sleep)

    def start(self) -> MotoService:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Nothing live any more, as just started."""
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        self._clear()

    def _clear(self) -> None:
        with self._lock:
            self._counts: Counter[str] = Counter()
            self._deployments: dict[str, dict[str, Any]] = {}  # arn -> deployment
            self._deployment_tags: dict[str, dict[str, str]] = {}
            self._tokens: dict[str, str] = {}  # clientRequestToken -> deployment arn
            self._failing: dict[str, str] = {}
            self._faults: dict[str, Fault] = {}

    def fail_next(self, operation: str, fault: Fault) -> None:
        with self._lock:
            self._faults[operation] = fault

    def fault_for(self, operation: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get(operation)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times <= 0:
                del self._faults[operation]
            return fault

    def count(self, operation: str) -> None:
        with self._lock:
            self._counts[operation] += 1

    # --- moto's own objects ----------------------------------------------------------------

    @property
    def _bedrock(self) -> Any:
        return bedrock_backends[ACCOUNT][REGION]

    def make_bucket(self, name: str = BUCKET) -> None:
        s3_backends[ACCOUNT]["aws"].create_bucket(name, REGION)

    def tick(self) -> None:
        with self._lock:
            for job in self._bedrock.model_customization_jobs.values():
                if job.status == "InProgress":
                    message = self._failing.pop(job.job_name, None)
                    job.status = "Failed" if message else "Completed"
                    job.failure_message = message or ""
                    job.training_metrics = {"trainingLoss": LOSS}
                elif job.status == "Stopping":
                    job.status = "Stopped"
            for deployment in self._deployments.values():
                if deployment["status"] == "Creating":
                    deployment["status"] = "Active"

    def fail_next_tick(self, job_name: str, message: str) -> None:
        self._failing[job_name] = message

    def jobs(self) -> list[dict[str, Any]]:
        bedrock = self._bedrock
        return [
            {
                "jobName": job.job_name,
                "status": job.status,
                "jobArn": job.job_arn,
                "token": job.client_request_token,
                "tags": _tags_of(bedrock, job.job_arn),
                "request": {"hyperParameters": job.hyper_parameters, "customizationType": job.customization_type},
            }
            for job in bedrock.model_customization_jobs.values()
        ]

    def models(self) -> dict[str, dict[str, str]]:
        bedrock = self._bedrock
        return {name: _tags_of(bedrock, model.model_arn) for name, model in bedrock.custom_models.items()}

    def model_arn(self, name: str) -> str:
        return str(self._bedrock.custom_models[name].model_arn)

    def set_model_tags(self, name: str, tags: dict[str, str]) -> None:
        """Replace a custom model's tags, as a person with the console would."""
        arn = self.model_arn(name)
        bedrock = self._bedrock
        bedrock.tagger.delete_all_tags_for_resource(arn)
        if tags:
            bedrock.tagger.tag_resource(arn, [{"Key": k, "Value": v} for k, v in tags.items()])

    def hand_made_model(
        self, name: str, hyperparameters: dict[str, str] | None = None, base_model: str = "amazon.titan-text-lite-v1"
    ) -> str:
        """A custom model made by hand (a job of a person's, not the reconciler's); its name."""
        self._bedrock.create_model_customization_job(
            job_name=f"{name}-job",
            custom_model_name=name,
            role_arn="arn:aws:iam::123456789012:role/someone",
            base_model_identifier=base_model,
            training_data_config={"s3Uri": f"s3://{BUCKET}/their-data.jsonl"},
            output_data_config={"s3Uri": f"s3://{BUCKET}/their-output"},
            hyper_parameters=hyperparameters or {"epochCount": "1"},
            client_request_token=None,
            customization_type="FINE_TUNING",
            custom_model_kms_key_id=None,
            job_tags=None,
            custom_model_tags=None,
            validation_data_config=None,
            vpc_config=None,
        )
        return name

    def delete_model_of(self, name: str) -> None:
        """Remove a custom model moto made at its job's create (the job failed: Bedrock makes none)."""
        self._bedrock.delete_custom_model(name)

    def put_object(self, key: str, data: bytes, bucket: str = BUCKET) -> None:
        s3_backends[ACCOUNT]["aws"].put_object(bucket, key, data)

    def deployments(self) -> dict[str, dict[str, Any]]:
        return {
            d["customModelDeploymentName"]: {**d, "tags": dict(self._deployment_tags.get(arn, {}))}
            for arn, d in self._deployments.items()
        }

    def objects(self, bucket: str = BUCKET) -> dict[str, bytes]:
        keys = s3_backends[ACCOUNT]["aws"].get_bucket(bucket).keys
        return {name: keys[name].value for name in keys}

    def requests(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    # --- what the shim serves -----------------------------------------------------------------

    def _find(self, identifier: str) -> dict[str, Any] | None:
        return self._deployments.get(identifier) or next(
            (d for d in self._deployments.values() if d["customModelDeploymentName"] == identifier), None
        )

    def create_deployment(self, body: dict[str, Any]) -> Response:
        name, model_arn = str(body.get("modelDeploymentName", "")), str(body.get("modelArn", ""))
        token = str(body.get("clientRequestToken", ""))
        with self._lock:
            if token and token in self._tokens and self._tokens[token] in self._deployments:
                return _json({"customModelDeploymentArn": self._tokens[token]}, 202)
            if not any(m.model_arn == model_arn for m in self._bedrock.custom_models.values()):
                return _error(404, "ResourceNotFoundException", f"custom model {model_arn} not found")
            if self._find(name) is not None:
                return _error(400, "ConflictException", f"a deployment named {name} already exists")
            suffix = hashlib.sha256(f"{name}\n{model_arn}".encode()).hexdigest()[:12]
            arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/{suffix}"
            self._deployments[arn] = {
                "customModelDeploymentArn": arn,
                "customModelDeploymentName": name,
                "modelArn": model_arn,
                "createdAt": "2026-01-01T12:00:00Z",
                "status": "Creating",
            }
            self._deployment_tags[arn] = {str(t["key"]): str(t["value"]) for t in body.get("tags") or ()}
            if token:
                self._tokens[token] = arn
        return _json({"customModelDeploymentArn": arn}, 202)

    def list_deployments(self, query: dict[str, list[str]]) -> Response:
        model = (query.get("modelArnEquals") or [""])[0]
        size = int((query.get("maxResults") or ["1000"])[0])
        start = int((query.get("nextToken") or ["0"])[0])
        listed = [d for d in self._deployments.values() if not model or d["modelArn"] == model]
        page = listed[start : start + size]
        summaries = [{k: v for k, v in d.items() if k != "modelDeploymentName"} for d in page]
        more = {"nextToken": str(start + size)} if start + size < len(listed) else {}
        return _json({"modelDeploymentSummaries": summaries, **more})

    def get_deployment(self, identifier: str) -> Response:
        found = self._find(identifier)
        if found is None:
            return _error(404, "ResourceNotFoundException", f"deployment {identifier} not found")
        body = {**found, "modelDeploymentName": found["customModelDeploymentName"]}
        body.pop("customModelDeploymentName")
        return _json(body)

    def delete_deployment(self, identifier: str) -> Response:
        with self._lock:
            found = self._find(identifier)
            if found is None:
                return _error(404, "ResourceNotFoundException", f"deployment {identifier} not found")
            del self._deployments[found["customModelDeploymentArn"]]
        return _json({})

    def deployment_tags(self, path: str, body: dict[str, Any]) -> Response:
        arn = str(body["resourceARN"])
        if arn not in self._deployments:
            return _error(404, "ResourceNotFoundException", f"resource {arn} not found")
        tags = self._deployment_tags.setdefault(arn, {})
        if path == "/tagResource":
            tags.update({str(t["key"]): str(t["value"]) for t in body.get("tags") or ()})
        elif path == "/untagResource":
            for key in body.get("tagKeys") or ():
                tags.pop(key, None)
        else:
            return _json({"tags": [{"key": k, "value": v} for k, v in tags.items()]})
        return _json({})

    def converse(self, model_id: str, body: dict[str, Any]) -> Response:
        found = self._find(model_id)
        if found is None or found["status"] != "Active":
            return _error(400, "ValidationException", f"{model_id} is not an active deployment")
        text = "".join(
            str(block.get("text", "")) for message in body.get("messages") or () for block in message["content"]
        )
        answer = {"role": "assistant", "content": [{"text": text}]}
        usage = {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}
        return _json(
            {"output": {"message": answer}, "stopReason": "end_turn", "usage": usage, "metrics": {"latencyMs": 1}}
        )


def _tags_of(bedrock: Any, arn: str) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in bedrock.tagger.list_tags_for_resource(arn)["Tags"]}
