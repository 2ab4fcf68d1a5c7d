"""Deleting a model that serves from endpoints with several deployments
(`VertexBackend._delete_endpoint`): the order of the undeploys, the traffic
the others get back, and the endpoints that go or stay. The deployments are
made by hand on the emulator (DeployModel, CreateEndpoint), as a user would;
the delete is a prune through the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import PARENT, jobs_of, listed, manifest, model_names, vertex_cli, write_repo
from tests.emulator.vertex_helpers import job_body, upload


def _tuned(emulator: EmulatorServer, key: str) -> dict[str, str]:
    """The Model (`name@1`) and the endpoint the id's job made."""
    tuned = jobs_of(emulator, key)[-1]["tunedModel"]
    return {"model": tuned["model"], "endpoint": tuned["endpoint"]}


def _endpoint(emulator: EmulatorServer, name: str) -> requests.Response:
    return requests.get(f"{emulator.url}/v1/{name}", timeout=10)


def _deploy(emulator: EmulatorServer, endpoint: str, model: str, split: dict[str, int] | None = None) -> str:
    """Deploy `model` on `endpoint` (`split` names the new deployment "0"); its id."""
    body: dict[str, Any] = {"deployedModel": {"model": model}}
    if split is not None:
        body["trafficSplit"] = split
    answer = requests.post(f"{emulator.url}/v1/{endpoint}:deployModel", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"]["deployedModel"]["id"])


def _own_endpoint(emulator: EmulatorServer, labels: dict[str, str]) -> str:
    """An endpoint someone made by hand."""
    body = {"displayName": "my endpoint", "labels": labels}
    answer = requests.post(f"{emulator.url}/{PARENT}/endpoints", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["response"]["name"])


def _prune(repo: Path, emulator: EmulatorServer, key: str) -> None:
    (repo / "manifests" / f"{key}.yaml").unlink()
    result = vertex_cli(repo, emulator, "apply", "--yes", "--allow-empty")
    assert result.code == 0, result.text
    assert "1 deleted" in result.text, result.text


def test_a_deployment_without_traffic_is_undeployed_before_the_one_with_it(tmp_path: Path, make_emulator: Any) -> None:
    # The endpoint lists the serving deployment first. Undeployed first, it would
    # still have all the traffic (or leave a split of 0 % to the other): refused.
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    tuned = _tuned(emulator, "numbers")
    serving_id = _endpoint(emulator, tuned["endpoint"]).json()["deployedModels"][0]["id"]
    idle_id = _deploy(emulator, tuned["endpoint"], tuned["model"])  # no split: no traffic
    before = _endpoint(emulator, tuned["endpoint"]).json()
    assert [d["id"] for d in before["deployedModels"]] == [serving_id, idle_id]
    assert before["trafficSplit"] == {serving_id: 100}

    _prune(repo, emulator, "numbers")

    assert _endpoint(emulator, tuned["endpoint"]).status_code == 404
    assert tuned["model"].partition("@")[0] not in model_names(emulator)


def test_the_traffic_of_an_undeployed_model_goes_to_the_others_in_proportion(
    tmp_path: Path, make_emulator: Any
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers"), manifest("keep")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    numbers, keep = _tuned(emulator, "numbers"), _tuned(emulator, "keep")
    shared = numbers["endpoint"]
    ours = _endpoint(emulator, shared).json()["deployedModels"][0]["id"]
    first = _deploy(emulator, shared, keep["model"], {ours: 65, "0": 35})
    second = _deploy(emulator, shared, keep["model"], {ours: 40, first: 35, "0": 25})

    _prune(repo, emulator, "numbers")

    left = _endpoint(emulator, shared).json()  # it serves another model: it stays
    assert [d["id"] for d in left["deployedModels"]] == [first, second]
    # 35:25 of the 60 % left, scaled to 100: 58.3 and 41.7, whole percentages adding
    # up to 100 (the first takes what rounding down left over).
    assert left["trafficSplit"] == {first: 59, second: 41}
    assert numbers["model"].partition("@")[0] not in model_names(emulator)
    assert keep["model"].partition("@")[0] in model_names(emulator)


def test_a_users_own_endpoint_is_emptied_of_the_model_and_left(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    tuned = _tuned(emulator, "numbers")
    mine = _own_endpoint(emulator, {"team": "ml"})
    _deploy(emulator, mine, tuned["model"], {"0": 100})

    _prune(repo, emulator, "numbers")

    left = _endpoint(emulator, mine)
    assert left.status_code == 200, left.text
    assert "deployedModels" not in left.json() and "trafficSplit" not in left.json()
    assert left.json()["labels"] == {"team": "ml"}
    assert _endpoint(emulator, tuned["endpoint"]).status_code == 404  # the one its tuning made goes
    assert tuned["model"].partition("@")[0] not in model_names(emulator)
    assert any(e["name"] == mine for e in listed(emulator, "endpoints"))


def test_an_endpoint_labelled_as_the_reconcilers_goes_once_emptied(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    tuned = _tuned(emulator, "numbers")
    labelled = _own_endpoint(emulator, {"managed-by": "reconciler"})
    _deploy(emulator, labelled, tuned["model"], {"0": 100})

    _prune(repo, emulator, "numbers")

    assert _endpoint(emulator, labelled).status_code == 404
    assert tuned["model"].partition("@")[0] not in model_names(emulator)


def test_an_imported_model_takes_the_endpoint_its_tuning_made_and_leaves_the_users_own(
    tmp_path: Path, make_emulator: Any
) -> None:
    # Its tuning job was made by hand: not the reconciler's, so not in the managed
    # lists; what it made is read from the job the Model's own label names.
    emulator = make_emulator(seed=0, step_seconds=0)
    upload(emulator.url)
    made = requests.post(f"{emulator.url}/{PARENT}/tuningJobs", json=job_body(labels={"team": "ml"}), timeout=10)
    assert made.status_code == 200, made.text
    tuned = requests.get(f"{emulator.url}/v1/{made.json()['name']}", timeout=10).json()["tunedModel"]
    mine = _own_endpoint(emulator, {"team": "ml"})
    _deploy(emulator, mine, tuned["model"], {"0": 100})
    repo = write_repo(tmp_path, [])
    exported = vertex_cli(repo, emulator, "export", "--out", "manifests")
    assert exported.code == 0, exported.text
    key = next((repo / "manifests").glob("*.yaml")).stem
    imported = vertex_cli(repo, emulator, "import", key, "--manifest", f"manifests/{key}.yaml")
    assert imported.code == 0, imported.text

    _prune(repo, emulator, key)

    assert _endpoint(emulator, tuned["endpoint"]).status_code == 404
    left = _endpoint(emulator, mine)
    assert left.status_code == 200, left.text
    assert "deployedModels" not in left.json()
    assert tuned["model"].partition("@")[0] not in model_names(emulator)
