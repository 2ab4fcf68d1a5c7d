"""Endpoints made by hand, and models deployed on them with a traffic split
(EndpointService CreateEndpoint, DeployModel, UndeployModel as the aiplatform
v1 discovery document describes them): through the aiplatform_v1 GAPIC client,
over plain HTTP, and with the operation faults."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.vertex_helpers import PARENT, ManualClock, create_job, short, upload, vertex

v1 = pytest.importorskip("google.cloud.aiplatform_v1")
from google.api_core.client_options import ClientOptions  # noqa: E402
from google.auth.credentials import AnonymousCredentials  # noqa: E402


def _tuned(url: str) -> tuple[dict[str, Any], str]:
    """A finished job's Model (its default version, three checkpoints) and its endpoint."""
    upload(url)
    spec = {"trainingDatasetUri": "gs://tuning-data/datasets/numbers.jsonl", "hyperParameters": {"epochCount": 3}}
    job = vertex(url, "GET", short(create_job(url, supervisedTuningSpec=spec)["name"])).json()
    model = vertex(url, "GET", short(job["tunedModel"]["model"])).json()
    return model, job["tunedModel"]["endpoint"]


def _create_endpoint(url: str, display_name: str = "Mine", **query: str) -> dict[str, Any]:
    made = vertex(url, "POST", f"{PARENT}/endpoints", {"displayName": display_name}, **query)
    assert made.status_code == 200, made.text
    return made.json()  # type: ignore[no-any-return]


def _deploy(url: str, endpoint: str, body: dict[str, Any]) -> requests.Response:
    return vertex(url, "POST", short(endpoint) + ":deployModel", body)


def _arm(url: str, **faults: Any) -> None:
    requests.post(f"{url}/_internal/vertex/faults", json=faults, timeout=5).raise_for_status()


def test_the_gapic_client_creates_deploys_splits_and_undeploys(emulator: EmulatorServer) -> None:
    model, _ = _tuned(emulator.url)
    name = model["name"].split("@")[0]
    endpoints = v1.EndpointServiceClient(
        transport="rest", credentials=AnonymousCredentials(), client_options=ClientOptions(api_endpoint=emulator.url)
    )
    created = endpoints.create_endpoint(parent=PARENT.removeprefix("v1/"), endpoint=v1.Endpoint(display_name="Mine"))
    endpoint = created.result(timeout=10)
    assert endpoint.display_name == "Mine" and not endpoint.deployed_models and not endpoint.traffic_split

    first = endpoints.deploy_model(
        endpoint=endpoint.name, deployed_model=v1.DeployedModel(model=name), traffic_split={"0": 100}
    ).result(timeout=10)
    assert first.deployed_model.model == name and first.deployed_model.model_version_id == "1"
    second = endpoints.deploy_model(
        endpoint=endpoint.name,
        deployed_model=v1.DeployedModel(model=f"{name}@1", id="42", display_name="canary"),
        traffic_split={"0": 30, first.deployed_model.id: 70},
    ).result(timeout=10)
    assert second.deployed_model.id == "42"

    read = endpoints.get_endpoint(name=endpoint.name)
    assert [d.id for d in read.deployed_models] == [first.deployed_model.id, "42"]
    assert dict(read.traffic_split) == {first.deployed_model.id: 70, "42": 30}
    deployed_on = {ref["endpoint"] for ref in vertex(emulator.url, "GET", short(name)).json()["deployedModels"]}
    assert endpoint.name in deployed_on

    undeployed = endpoints.undeploy_model(
        endpoint=endpoint.name, deployed_model_id=first.deployed_model.id, traffic_split={"42": 100}
    )
    assert isinstance(undeployed.result(timeout=10), v1.UndeployModelResponse)
    endpoints.undeploy_model(endpoint=endpoint.name, deployed_model_id="42").result(timeout=10)
    emptied = endpoints.get_endpoint(name=endpoint.name)
    assert not emptied.deployed_models and not emptied.traffic_split
    endpoints.delete_endpoint(name=endpoint.name).result(timeout=10)


def test_a_deploy_without_a_split_gets_no_traffic_and_names_its_checkpoint(emulator: EmulatorServer) -> None:
    model, tuned = _tuned(emulator.url)
    before = vertex(emulator.url, "GET", short(tuned)).json()
    done = _deploy(emulator.url, tuned, {"deployedModel": {"model": model["name"], "checkpointId": "1"}}).json()
    assert done["done"] is True
    assert done["response"]["@type"].endswith("aiplatform.v1.DeployModelResponse")
    added = done["response"]["deployedModel"]
    assert added["checkpointId"] == "1" and added["displayName"] == model["displayName"]
    after = vertex(emulator.url, "GET", short(tuned)).json()
    assert after["trafficSplit"] == before["trafficSplit"]  # the new deployment gets none
    assert [d["id"] for d in after["deployedModels"]][-1] == added["id"]


def test_a_chosen_endpoint_id_names_it(emulator: EmulatorServer) -> None:
    made = _create_endpoint(emulator.url, endpointId="my-endpoint")
    assert made["name"].endswith("/endpoints/my-endpoint/operations/" + made["name"].rsplit("/", 1)[1])
    assert made["response"]["displayName"] == "Mine"
    assert vertex(emulator.url, "GET", f"{PARENT}/endpoints/my-endpoint").json()["displayName"] == "Mine"
    taken = vertex(emulator.url, "POST", f"{PARENT}/endpoints", {"displayName": "x"}, endpointId="my-endpoint")
    assert taken.status_code == 409
    bad = vertex(emulator.url, "POST", f"{PARENT}/endpoints", {"displayName": "x"}, endpointId="0123")
    assert bad.status_code == 400
    assert vertex(emulator.url, "POST", f"{PARENT}/endpoints", {}).status_code == 400  # displayName is required


@pytest.mark.parametrize(
    "body, status",
    [
        ({"deployedModel": {}}, 400),  # no model
        ({"deployedModel": {"model": "projects/my-project/locations/us-central1/models/1"}}, 404),
        ({"deployedModel": {"model": "MODEL", "checkpointId": "9"}}, 400),
        ({"deployedModel": {"model": "MODEL", "id": "12345678901"}}, 400),  # 11 digits
        ({"deployedModel": {"model": "MODEL"}, "trafficSplit": {"0": 50}}, 400),  # not 100
        ({"deployedModel": {"model": "MODEL"}, "trafficSplit": {"0": 50, "7": 50}}, 400),  # no such deployment
    ],
)
def test_a_deploy_is_checked(emulator: EmulatorServer, body: dict[str, Any], status: int) -> None:
    model, _ = _tuned(emulator.url)
    endpoint = _create_endpoint(emulator.url)["response"]["name"]
    if body["deployedModel"].get("model") == "MODEL":
        body["deployedModel"]["model"] = model["name"]
    refused = _deploy(emulator.url, endpoint, body)
    assert refused.status_code == status, refused.text
    assert "deployedModels" not in vertex(emulator.url, "GET", short(endpoint)).json()


def test_a_chosen_deployed_model_id_is_one_per_endpoint(emulator: EmulatorServer) -> None:
    model, _ = _tuned(emulator.url)
    endpoint = _create_endpoint(emulator.url)["response"]["name"]
    body = {"deployedModel": {"model": model["name"], "id": "7"}, "trafficSplit": {"0": 100}}
    assert _deploy(emulator.url, endpoint, body).status_code == 200
    assert _deploy(emulator.url, endpoint, body).status_code == 409


def test_a_deploy_stays_in_progress_then_ends(make_emulator: Any) -> None:
    clock = ManualClock()
    server = make_emulator(seed=1, clock=clock)
    model, _ = _tuned(server.url)
    endpoint = _create_endpoint(server.url)["response"]["name"]
    _arm(server.url, operation_seconds=60)
    started = _deploy(server.url, endpoint, {"deployedModel": {"model": model["name"]}, "trafficSplit": {"0": 100}})
    operation = started.json()
    assert "done" not in operation
    assert operation["metadata"]["@type"].endswith("aiplatform.v1.DeployModelOperationMetadata")
    clock.advance(60)
    ended = vertex(server.url, "GET", short(operation["name"])).json()
    assert ended["done"] is True and ended["response"]["deployedModel"]["model"] == model["name"].split("@")[0]


def test_a_deploy_whose_operation_fails_deploys_nothing(emulator: EmulatorServer) -> None:
    model, _ = _tuned(emulator.url)
    endpoint = _create_endpoint(emulator.url)["response"]["name"]
    _arm(emulator.url, operation_errors=1)
    failed = _deploy(emulator.url, endpoint, {"deployedModel": {"model": model["name"]}, "trafficSplit": {"0": 100}})
    assert failed.json()["error"]["code"] == 13 and "response" not in failed.json()
    assert "deployedModels" not in vertex(emulator.url, "GET", short(endpoint)).json()
    assert endpoint not in {
        r["endpoint"] for r in vertex(emulator.url, "GET", short(model["name"])).json()["deployedModels"]
    }


def test_an_endpoint_create_whose_operation_fails_makes_none(emulator: EmulatorServer) -> None:
    _arm(emulator.url, operation_errors=1)
    failed = _create_endpoint(emulator.url)
    assert failed["error"]["code"] == 13
    assert vertex(emulator.url, "GET", f"{PARENT}/endpoints").json() == {}
