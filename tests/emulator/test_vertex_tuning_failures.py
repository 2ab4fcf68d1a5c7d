"""--fail-model / --fail-tuning (EmulatorOptions.fail_tuning) fail Vertex jobs too,
as they fail Gemini runs: at endpoint creation (the Model stays) or in tuning."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from reconciler.cli.emulator_cmd import _options
from reconciler.cli.emulator_cmd import emulator as emulator_command
from tests.emulator.vertex_helpers import PARENT, ManualClock, create_job, short, upload, vertex

FAILED_ENDPOINT = "Failed to create endpoint. Tuned model is uploaded and can be accessed through Model Registry."


def _job(url: str, name: str) -> dict[str, Any]:
    return vertex(url, "GET", short(name)).json()  # type: ignore[no-any-return]


def _models(url: str) -> list[dict[str, Any]]:
    return vertex(url, "GET", f"{PARENT}/models").json().get("models", [])  # type: ignore[no-any-return]


def test_a_listed_manifest_id_fails_at_endpoint_creation_and_leaves_its_model(make_emulator: Any) -> None:
    server = make_emulator(seed=1, fail_tuning=frozenset({"alpha"}))
    upload(server.url)
    failing = create_job(server.url, labels={"reconciler-id": "alpha"})
    passing = create_job(server.url, labels={"reconciler-id": "beta"})
    failed = _job(server.url, failing["name"])
    assert failed["state"] == "JOB_STATE_FAILED"
    assert failed["error"] == {"code": 13, "message": FAILED_ENDPOINT}
    assert "endpoint" not in failed["tunedModel"]
    model = vertex(server.url, "GET", short(failed["tunedModel"]["model"])).json()
    assert model["labels"]["reconciler-id"] == "alpha" and "deployedModels" not in model
    assert _job(server.url, passing["name"])["state"] == "JOB_STATE_SUCCEEDED"
    assert len(_models(server.url)) == 2


def test_a_listed_display_name_fails_in_tuning_with_no_model(make_emulator: Any) -> None:
    clock = ManualClock()
    server = make_emulator(
        seed=1, clock=clock, step_seconds=10, vertex_failure="tuning", fail_tuning=frozenset({"Number generator"})
    )
    upload(server.url)
    job = create_job(server.url)  # 3 epochs: fails after 1, in the second
    clock.advance(10 + 2 * 10 + 5)  # pending, quota, dataset, then into the first epoch
    running = _job(server.url, job["name"])
    assert running["state"] == "JOB_STATE_RUNNING"
    beta = vertex(server.url, "GET", "v1beta1/" + job["name"]).json()  # v1 has no tuningJobState
    assert beta["tuningJobState"] == "TUNING_JOB_STATE_TUNING"
    clock.advance(10)
    failed = _job(server.url, job["name"])
    assert failed["state"] == "JOB_STATE_FAILED"
    assert failed["error"] == {"code": 13, "message": "Tuning failed at epoch 2 of 3."}
    assert "tunedModel" not in failed and failed["endTime"]
    assert _models(server.url) == []
    assert vertex(server.url, "GET", f"{PARENT}/endpoints").json() == {}


def test_a_fail_rate_of_one_fails_every_vertex_job(make_emulator: Any) -> None:
    server = make_emulator(seed=3, fail_tuning=1.0)
    upload(server.url)
    job = create_job(server.url)
    assert _job(server.url, job["name"])["state"] == "JOB_STATE_FAILED"


def test_the_control_endpoint_sets_how_vertex_jobs_fail(make_emulator: Any) -> None:
    server = make_emulator(seed=1)
    upload(server.url)
    answer = requests.post(
        f"{server.url}/_internal/tuning", json={"fail_ids": ["alpha"], "vertex_failure": "tuning"}, timeout=5
    )
    assert answer.json()["vertex_failure"] == "tuning"
    job = create_job(server.url, labels={"reconciler-id": "alpha"})
    assert _job(server.url, job["name"])["error"]["message"].startswith("Tuning failed")
    bad = requests.post(f"{server.url}/_internal/tuning", json={"vertex_failure": "later"}, timeout=5)
    assert bad.status_code == 400 and "vertex_failure" in bad.json()["error"]["message"]
    requests.post(f"{server.url}/_internal/reset", timeout=5)
    assert requests.get(f"{server.url}/_internal/tuning", timeout=5).json()["vertex_failure"] == "endpoint"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--fail-model", "alpha"], "endpoint"),
        (["--fail-model", "alpha", "--vertex-failure", "tuning"], "tuning"),
    ],
)
def test_the_cli_options_reach_the_emulator_options(args: list[str], expected: str) -> None:
    context = emulator_command.make_context("emulator", [*args, "--state", ":memory:"])
    options = _options(context.params)
    assert options.fail_tuning == frozenset({"alpha"})
    assert options.vertex_failure == expected
