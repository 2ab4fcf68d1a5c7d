"""What differs per backend, and only that: how to start its emulator, write a
repository for it, connect to it, tap its requests, count what it holds, and
reach under its ownership marker as a person (or an attacker) would. The cases
drive every backend through the `Backend` protocol alone; a new backend adds a
Surface here and an entry in SURFACES."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from reconciler.apply.backend import Backend
from reconciler.backends.bedrock import BedrockBackend
from reconciler.backends.bedrock import tags as bedrock_tags
from reconciler.backends.bedrock.client import BedrockClient, tag_list
from reconciler.backends.bedrock.names import unmanaged_key
from reconciler.backends.bedrock.tags import TagMarker
from reconciler.backends.bedrock.tags import model_scope as bedrock_model_scope
from reconciler.backends.gemini import GeminiBackend
from reconciler.backends.gemini.client import GeminiClient
from reconciler.backends.gemini.settings import GeminiSettings
from reconciler.backends.gemini.trailer import UNKEYED, Marker, strip_trailer
from reconciler.backends.vertex import VertexBackend
from reconciler.backends.vertex.client import VertexClient
from reconciler.backends.vertex.labels import LabelMarker, model_scope
from reconciler.backends.vertex.lock import Locks
from reconciler.client.auth import Anonymous
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.loader import load
from reconciler.model.desired import DesiredModel
from reconciler.model.ownership import ownership_for
from reconciler.model.settings import Settings
from reconciler.model.signing import keys_from
from tests.backends.bedrock import flows as bedrock
from tests.backends.conformance.clock import VirtualClock
from tests.backends.conformance.taps import Dropped, Hook, requests_tap
from tests.backends.vertex import helpers as vertex
from tests.integration import helpers_apply as gemini
from tests.integration.helpers_apply import CliResult, wait_until


class Held(Protocol):
    """A request the emulator holds (`EmulatorServer.hold`)."""

    def wait_arrived(self, count: int = 1, timeout: float = 10.0) -> None: ...

    def release(self) -> None: ...


class Surface(Protocol):
    name: str
    # Cases this backend fails, each a finding reported with its reason, by test
    # function name (or `name[ids]`: one parametrized case, the surface's id left
    # out): run as xfail(strict=True), so a fix shows at once.
    known_failures: Mapping[str, str]

    def start(self, clock: VirtualClock | None = None, *, step_seconds: float = 0.0) -> EmulatorServer:
        """Its emulator, started and ready for a repository (the caller stops it)."""

    def reset(self, emulator: EmulatorServer) -> None:
        """Nothing live any more, as just started."""

    def repo(self, root: Path, ids: list[str]) -> Path:
        """A repository declaring these model ids (manifests, datasets, settings)."""

    def connect(self, emulator: EmulatorServer, settings: Settings, clock: VirtualClock, **env: str) -> Backend:
        """A backend on the emulator, as a new process would make it, whose every
        wait, retry and lock reads `clock`."""

    def tap(self, hook: Hook) -> AbstractContextManager[None]:
        """Call `hook` around every request the backend sends meanwhile."""

    def models(self, emulator: EmulatorServer) -> set[str]:
        """Every tuned model live, managed or not, by resource name."""

    def runs(self, emulator: EmulatorServer) -> set[str]:
        """Every tuning run ever started (the ones that cost money), by name."""

    def hold_create(self, emulator: EmulatorServer, *, answered: bool) -> Held:
        """Hold the next request that starts a tuning run: before the service
        sees it, or with `answered` once it has made the run."""

    def strip_marker(self, emulator: EmulatorServer, key: str) -> str | None:
        """Remove the ownership marker from `key`'s model by hand: it stays live,
        unmanaged, for an adopt to take back. Returns the key it is live under
        now: None for `key` itself; where the backend keys a model without a
        marker by its own name (Bedrock: `model-<name>`), that key, which an
        adopt takes as its `live_key`."""

    # --- through the CLI: markers copied and forged ---------------------------------------

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult: ...

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        """A hand-made model carrying a copy of `key`'s marker; its name."""

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        """A hand-made model carrying a valid unsigned marker for the manifest `key`."""


def _started(clock: VirtualClock | None, step_seconds: float) -> EmulatorServer:
    options = EmulatorOptions(seed=0, step_seconds=step_seconds)
    if clock is None:
        return EmulatorServer(options).start()
    return EmulatorServer(options, clock=clock, sleep=clock.sleep).start()


def _retries(clock: VirtualClock) -> RetryPolicy:
    return RetryPolicy(sleep=clock.sleep, clock=clock)


@dataclass
class Gemini:
    name: str = "gemini"
    known_failures: Mapping[str, str] = field(default_factory=dict)

    def start(self, clock: VirtualClock | None = None, *, step_seconds: float = 0.0) -> EmulatorServer:
        return _started(clock, step_seconds)

    def reset(self, emulator: EmulatorServer) -> None:
        _reset(emulator)

    def repo(self, root: Path, ids: list[str]) -> Path:
        return gemini.write_repo(root, [gemini.manifest(i) for i in ids])

    def connect(self, emulator: EmulatorServer, settings: Settings, clock: VirtualClock, **env: str) -> Backend:
        client = GeminiClient(
            endpoint=emulator.url,
            api_version=GeminiSettings.of(settings).api_version,
            credentials=Anonymous(),
            retry=_retries(clock),
        )
        return GeminiBackend(client, settings.concurrency, Marker(keys_from(env)))

    def tap(self, hook: Hook) -> AbstractContextManager[None]:
        return requests_tap(hook)

    def models(self, emulator: EmulatorServer) -> set[str]:
        return {m["name"] for m in _listed(f"{emulator.url}/v1beta/tunedModels", "tunedModels")}

    runs = models  # the Gemini API's tuned model is its run: one cannot outlive the other

    def hold_create(self, emulator: EmulatorServer, *, answered: bool) -> Held:
        return emulator.hold("POST", r"/tunedModels$", after=answered)

    def strip_marker(self, emulator: EmulatorServer, key: str) -> str | None:
        (model,) = [
            m for m in _listed(f"{emulator.url}/v1beta/tunedModels", "tunedModels") if m["name"].endswith(f"/{key}")
        ]
        description = strip_trailer(model["description"])
        _patch(f"{emulator.url}/v1beta/tunedModels/{key}", "description", {"description": description})
        return None  # a tuned model's name is its id

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
        return gemini.run_cli(repo, emulator, *args, **env)

    def _hand_made(self, emulator: EmulatorServer, name: str, description: str) -> str:
        body = {
            "baseModel": "models/gemini-1.5-flash-001-tuning",
            "description": description,
            "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}] * 20}}},
        }
        requests.post(
            f"{emulator.url}/v1beta/tunedModels", params={"tunedModelId": name}, json=body, timeout=10
        ).raise_for_status()
        wait_until(lambda: gemini.live_models(emulator)[name]["state"] == "ACTIVE", "the hand-made model")
        return f"tunedModels/{name}"

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        return self._hand_made(emulator, "stranger", gemini.live_models(emulator)[key]["description"])

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        name = self._hand_made(emulator, "forged", "")
        live = gemini.live_models(emulator)["forged"]
        description = UNKEYED.description(desired(repo, key), name, created=live["createTime"])
        _patch(f"{emulator.url}/v1beta/{name}", "description", {"description": description})
        return name


def _is_marker_label(key: str) -> bool:
    return key.startswith("reconciler-") or key == "managed-by"


@dataclass
class Vertex:
    name: str = "vertex"
    known_failures: Mapping[str, str] = field(default_factory=dict)

    def start(self, clock: VirtualClock | None = None, *, step_seconds: float = 0.0) -> EmulatorServer:
        emulator = _started(clock, step_seconds)
        self._seed(emulator)
        return emulator

    def reset(self, emulator: EmulatorServer) -> None:
        _reset(emulator)
        self._seed(emulator)

    @staticmethod
    def _seed(emulator: EmulatorServer) -> None:
        """A real project has its datasets bucket already; an emulator starts empty."""
        made = _SESSION.post(
            f"{emulator.url}/storage/v1/b", params={"project": vertex.PROJECT}, json={"name": vertex.BUCKET}, timeout=10
        )
        if made.status_code != 409:  # seeded by the emulator already
            made.raise_for_status()

    def repo(self, root: Path, ids: list[str]) -> Path:
        return vertex.write_repo(root, [vertex.manifest(i) for i in ids])

    def connect(self, emulator: EmulatorServer, settings: Settings, clock: VirtualClock, **env: str) -> Backend:
        where = VertexBackend.block_of(settings)
        client = VertexClient(
            emulator.url,
            emulator.url,
            where.project,
            where.location,
            api_version=where.api_version,
            credentials=Anonymous(),
            retry=_retries(clock),
        )
        locks = Locks(client, where.bucket, where.prefix, clock=clock, sleep=clock.sleep)
        return VertexBackend(client, where, marker=LabelMarker(keys_from(env)), locks=locks)

    def tap(self, hook: Hook) -> AbstractContextManager[None]:
        return requests_tap(hook)

    def models(self, emulator: EmulatorServer) -> set[str]:
        return {m["name"].partition("@")[0] for m in _listed(f"{emulator.url}/{vertex.PARENT}/models", "models")}

    def runs(self, emulator: EmulatorServer) -> set[str]:
        return {job["name"] for job in _listed(f"{emulator.url}/{vertex.PARENT}/tuningJobs", "tuningJobs")}

    def hold_create(self, emulator: EmulatorServer, *, answered: bool) -> Held:
        return emulator.hold("POST", r"/tuningJobs$", after=answered)

    def strip_marker(self, emulator: EmulatorServer, key: str) -> str | None:
        models = _listed(f"{emulator.url}/{vertex.PARENT}/models", "models")
        model = next(m for m in models if m["labels"].get("reconciler-id") == key)
        labels = {k: v for k, v in model["labels"].items() if not _is_marker_label(k)}
        _patch(f"{emulator.url}/v1/{model['name'].partition('@')[0]}", "labels", {"labels": labels})
        return None  # its tuning job's labels still name the id

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
        return vertex.vertex_cli(repo, emulator, *args, **env)

    def _hand_made(self, emulator: EmulatorServer, display: str) -> dict[str, Any]:
        dataset = vertex.listed(emulator, "tuningJobs")[0]["supervisedTuningSpec"]["trainingDatasetUri"]
        job = {
            "baseModel": vertex.BASE_MODEL,
            "tunedModelDisplayName": display,
            "supervisedTuningSpec": {"trainingDatasetUri": dataset},
        }
        response = requests.post(f"{emulator.url}/{vertex.PARENT}/tuningJobs", json=job, timeout=10)
        response.raise_for_status()
        made = response.json()
        wait_until(lambda: self._job(emulator, made["name"]).get("tunedModel", {}).get("model"), "the hand-made job")
        model = self._job(emulator, made["name"])["tunedModel"]["model"]
        return dict(requests.get(f"{emulator.url}/v1/{model}", timeout=10).json())

    @staticmethod
    def _job(emulator: EmulatorServer, name: str) -> dict[str, Any]:
        return dict(requests.get(f"{emulator.url}/v1/{name}", timeout=10).json())

    def _set_labels(self, emulator: EmulatorServer, model: dict[str, Any], owned: dict[str, str]) -> str:
        name = model["name"].partition("@")[0]
        _patch(f"{emulator.url}/v1/{name}", "labels", {"labels": {**model.get("labels", {}), **owned}})
        return str(name)

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        ours = next(m for m in vertex.listed(emulator, "models") if m["labels"].get("reconciler-id") == key)
        copied = {k: v for k, v in ours["labels"].items() if _is_marker_label(k)}
        return self._set_labels(emulator, self._hand_made(emulator, "stranger"), copied)

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        model = self._hand_made(emulator, "forged")
        labels = LabelMarker().labels(key, ownership_for(desired(repo, key)), model_scope(model))
        return self._set_labels(emulator, model, labels)


# --- Amazon Bedrock: boto3, tapped through botocore's events ----------------------------

# Calls sent as POST that change nothing: the tap counts them as reads (a crash
# before one leaves the service as a crash before the next write does).
BEDROCK_READS = frozenset({"ListTagsForResource", "Converse", "InvokeModel"})
AWS_REGION = bedrock.SETTINGS["bedrock"]["region"]
AWS_BUCKET = bedrock.SETTINGS["bedrock"]["datasets"].removeprefix("s3://").partition("/")[0]  # outputs too
# What a person's boto3 signs with, and what the CLI finds in its environment.
AWS_DUMMY_KEYS = {"AWS_ACCESS_KEY_ID": "conformance", "AWS_SECRET_ACCESS_KEY": "conformance-not-a-secret"}
# The person's hand-made models (copy_marker, forge_unsigned) are tuned with
# the role, data and output the reconciler's jobs use, as anyone in the account can.
HAND_MADE_JOB = ("roleArn", "trainingDataConfig", "outputDataConfig", "hyperParameters")


@functools.cache
def _aws_session() -> Any:
    """A person's boto3 session: one a process, so botocore reads its service models once."""
    import boto3

    return boto3.session.Session(
        aws_access_key_id=AWS_DUMMY_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_DUMMY_KEYS["AWS_SECRET_ACCESS_KEY"],
        region_name=AWS_REGION,
    )


# A create a second apply sends while the first apply's create of the same id is
# on its way (or held) carries the same clientRequestToken (issue 24 derives it
# from the id, the inputs and the attempt): Bedrock answers it with the job the
# first made, just as it answers a new job, so each apply believes it made the
# run. One job and one model all the same (tests/backends/bedrock/
# test_concurrent_applies.py); only Tuned.found, the apply summary's "created by
# another run and waited for", is wrong for one of them.
@dataclass
class Bedrock:
    name: str = "bedrock"
    known_failures: Mapping[str, str] = field(default_factory=dict)
    # The hook of the tap in force, which the backends' clients call (`_send`).
    _hook: Hook | None = None
    _wire: Any = None  # the HTTP session a tapped request is sent through
    _boto3: dict[str, BedrockClient] = field(default_factory=dict)  # emulator URL -> the backends' clients
    _person: dict[str, dict[str, Any]] = field(default_factory=dict)  # emulator URL -> a person's boto3 clients

    def start(self, clock: VirtualClock | None = None, *, step_seconds: float = 0.0) -> EmulatorServer:
        """With the datasets bucket an AWS account has before its first apply."""
        options = EmulatorOptions(seed=0, step_seconds=step_seconds, s3_buckets=(AWS_BUCKET,), aws_region=AWS_REGION)
        if clock is None:
            return EmulatorServer(options).start()
        return EmulatorServer(options, clock=clock, sleep=clock.sleep).start()

    def reset(self, emulator: EmulatorServer) -> None:
        _reset(emulator)  # forgets the bucket too: made again as the account has it
        self._s3(emulator).create_bucket(Bucket=AWS_BUCKET)

    def repo(self, root: Path, ids: list[str]) -> Path:
        return bedrock.write_repo(root, [bedrock.manifest(i) for i in ids])

    def connect(self, emulator: EmulatorServer, settings: Settings, clock: VirtualClock, **env: str) -> Backend:
        """A new backend each time, on boto3 clients made once an emulator: they keep
        nothing of a backend's, and botocore builds each client's class anew (a
        tenth of the suite's time, made at every connect)."""
        block = BedrockBackend.block_of(settings)
        made = self._boto3.get(emulator.url)
        if made is None:
            made = self._boto3[emulator.url] = BedrockBackend.connect(settings, emulator=emulator.url, env={}).client
            for client in (made.bedrock, made.runtime, made.s3):
                # botocore's retries would resend on real sleeps, and hide a lost answer from ours
                assert client.meta.config.retries["total_max_attempts"] == 1, client.meta.config.retries
                client.meta.events.register("before-send", self._send)
        client = BedrockClient(
            made.bedrock, made.runtime, made.s3, region=made.region, retry=_retries(clock), credentials=made.credentials
        )
        return BedrockBackend(client, block, marker=TagMarker(keys_from(env)), concurrency=settings.concurrency)

    @contextmanager
    def tap(self, hook: Hook) -> Iterator[None]:
        """Every request of the backends' clients goes through `_send` meanwhile."""
        from botocore.httpsession import URLLib3Session

        self._hook, self._wire = hook, URLLib3Session()
        try:
            yield
        finally:
            self._hook = None
            self._wire.close()

    def _send(self, request: Any, event_name: str, **kwargs: Any) -> Any:
        """botocore's `before-send`: an answer returned here is the one botocore
        reads, so the request is sent here, between the hook's two calls; a crash
        raised is no Exception, so botocore lets it through as it would a SIGKILL."""
        hook, wire = self._hook, self._wire
        if hook is None:
            return None  # botocore sends it itself
        method = "GET" if event_name.rpartition(".")[2] in BEDROCK_READS else request.method
        hook.before(method)
        response = wire.send(request)
        try:
            hook.after(method, response.raw.close)
        except Dropped as dropped:
            from botocore.exceptions import ConnectionClosedError

            raise ConnectionClosedError(endpoint_url=request.url, error=str(dropped)) from None
        return response

    # --- a person's view, through unmodified boto3 ----------------------------------------

    def _clients(self, emulator: EmulatorServer) -> dict[str, Any]:
        if emulator.url not in self._person:
            session = _aws_session()
            self._person[emulator.url] = {
                name: session.client(name, endpoint_url=emulator.url) for name in ("bedrock", "s3")
            }
        return self._person[emulator.url]

    def _bedrock(self, emulator: EmulatorServer) -> Any:
        return self._clients(emulator)["bedrock"]

    def _s3(self, emulator: EmulatorServer) -> Any:
        return self._clients(emulator)["s3"]

    def _jobs(self, emulator: EmulatorServer) -> list[dict[str, Any]]:
        listed = self._bedrock(emulator).list_model_customization_jobs(maxResults=1000)
        return list(listed["modelCustomizationJobSummaries"])

    def _custom_models(self, emulator: EmulatorServer) -> list[dict[str, Any]]:
        return list(self._bedrock(emulator).list_custom_models(maxResults=1000)["modelSummaries"])

    def _tags(self, emulator: EmulatorServer, arn: str) -> dict[str, str]:
        listed = self._bedrock(emulator).list_tags_for_resource(resourceARN=arn)["tags"]
        return {t["key"]: t["value"] for t in listed}

    def _model_of(self, emulator: EmulatorServer, key: str) -> dict[str, Any]:
        """The custom model whose tags name `key`."""
        models = self._custom_models(emulator)
        return next(m for m in models if self._tags(emulator, m["modelArn"]).get(bedrock_tags.ID) == key)

    def models(self, emulator: EmulatorServer) -> set[str]:
        return {m["modelName"] for m in self._custom_models(emulator)}

    def runs(self, emulator: EmulatorServer) -> set[str]:
        return {j["jobName"] for j in self._jobs(emulator)}

    def hold_create(self, emulator: EmulatorServer, *, answered: bool, times: int = 1) -> Held:
        """`times`: the next so many creates (several applies at once)."""
        return emulator.hold("POST", r"/model-customization-jobs$", times=times, after=answered)

    def deployments(self, emulator: EmulatorServer) -> set[str]:
        listed = self._bedrock(emulator).list_custom_model_deployments(maxResults=1000)["modelDeploymentSummaries"]
        return {d["customModelDeploymentName"] for d in listed}

    def strip_marker(self, emulator: EmulatorServer, key: str) -> str | None:
        """The owned tags removed from the custom model and from the job that made it
        (the job's would claim its untouched output). A custom model without a
        marker is keyed by its own name, whatever id that name was made for."""
        model = self._model_of(emulator, key)
        job = next(j for j in self._jobs(emulator) if j["jobName"] == model["modelName"])
        for arn in (model["modelArn"], job["jobArn"]):
            owned = [k for k in self._tags(emulator, arn) if k in bedrock_tags.OWNED]
            self._bedrock(emulator).untag_resource(resourceARN=arn, tagKeys=owned)
        return unmanaged_key(model["modelName"])

    def cli(self, repo: Path, emulator: EmulatorServer, *args: str, **env: str) -> CliResult:
        """Where botocore's own variables point it: AWS_ENDPOINT_URL, dummy keys,
        no profile or instance metadata of the machine running the tests."""
        aws = {
            **AWS_DUMMY_KEYS,
            "AWS_ENDPOINT_URL": emulator.url,
            "AWS_DEFAULT_REGION": AWS_REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(repo / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(repo / "no-aws-credentials"),
        }
        return gemini.run_cli(repo, emulator, *args, **aws, **env)

    def _hand_made(self, emulator: EmulatorServer, name: str) -> dict[str, Any]:
        """A job of a person's (their names, no token, no tags), run to its end."""
        client = self._bedrock(emulator)
        ours = client.get_model_customization_job(jobIdentifier=self._jobs(emulator)[0]["jobArn"])
        request = {k: ours[k] for k in HAND_MADE_JOB if k in ours}
        request["baseModelIdentifier"] = ours["baseModelArn"]
        client.create_model_customization_job(jobName=f"{name}-job", customModelName=name, **request)
        wait_until(lambda: name in self.models(emulator), "the hand-made model")
        return dict(client.get_custom_model(modelIdentifier=name))

    def copy_marker(self, emulator: EmulatorServer, key: str) -> str:
        ours = self._tags(emulator, self._model_of(emulator, key)["modelArn"])
        copied = {k: v for k, v in ours.items() if k in bedrock_tags.OWNED}
        made = self._hand_made(emulator, "stranger")
        self._bedrock(emulator).tag_resource(resourceARN=made["modelArn"], tags=tag_list(copied))
        return str(made["modelName"])

    def forge_unsigned(self, emulator: EmulatorServer, repo: Path, key: str) -> str:
        made = self._hand_made(emulator, "forged")
        tags = TagMarker().tags(key, ownership_for(desired(repo, key)), bedrock_model_scope(made["modelName"]))
        self._bedrock(emulator).tag_resource(resourceARN=made["modelArn"], tags=tag_list(tags))
        return str(made["modelName"])


# The suite's own reads and writes under the backend: one session, so each is
# not a new connection.
_SESSION = requests.Session()


def _listed(url: str, kind: str) -> list[dict[str, Any]]:
    response = _SESSION.get(url, params={"pageSize": 1000}, timeout=10)
    response.raise_for_status()
    return list(response.json().get(kind) or [])


def _patch(url: str, mask: str, body: dict[str, Any]) -> None:
    _SESSION.patch(url, params={"updateMask": mask}, json=body, timeout=10).raise_for_status()


def _reset(emulator: EmulatorServer) -> None:
    _SESSION.post(f"{emulator.url}/_internal/reset", timeout=10).raise_for_status()


def desired(repo: Path, key: str) -> DesiredModel:
    result = load(repo, cwd=repo)
    assert result.desired is not None
    return result.desired.by_id()[key]


SURFACES: dict[str, Callable[[], Surface]] = {"bedrock": Bedrock, "gemini": Gemini, "vertex": Vertex}
