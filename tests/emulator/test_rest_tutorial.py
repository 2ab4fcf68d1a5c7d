"""The tutorial's raw REST flow: snake_case body, polling `GET /v1/{operation}`,
the model read back with string and with integer enums."""

from __future__ import annotations

import re

from reconciler.emulator import EmulatorServer
from tests.emulator.helpers import INT_ENUMS, call


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_snake_case_create_and_poll_v1(make_emulator) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    server: EmulatorServer = make_emulator(clock=clock, step_seconds=1.0)
    body = {
        "display_name": "number generator model",
        "base_model": "models/gemini-1.0-pro-001",
        "tuning_task": {
            "hyperparameters": {"batch_size": 2, "learning_rate": 0.001, "epoch_count": 5},
            "training_data": {
                "examples": {"examples": [{"text_input": str(n), "output": str(n + 1)} for n in range(15)]}
            },
        },
    }
    created = call(server.url, "POST", "v1beta/tunedModels", body).json()
    assert created["metadata"] == {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.CreateTunedModelMetadata",
        "tunedModel": created["metadata"]["tunedModel"],
        "totalSteps": 38,  # ceil(15 * 5 / 2), as recorded
    }
    assert "done" not in created
    model_name = created["metadata"]["tunedModel"]
    assert model_name.startswith("tunedModels/number-generator-model-")

    clock.now += 8.5  # eight steps done
    running = call(server.url, "GET", f"v1/{created['name']}").json()
    assert running["metadata"]["completedSteps"] == 8
    assert running["metadata"]["completedPercent"] == round(100 * 8 / 38, 4)
    assert [s.get("epoch", 0) for s in running["metadata"]["snapshots"]] == [
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
    ]  # floor(step * 2 / 15)
    assert "epoch" not in running["metadata"]["snapshots"][0]  # zero is omitted

    clock.now += 100
    finished = call(server.url, "GET", f"v1/{created['name']}").json()
    assert finished["done"] is True
    assert finished["response"]["@type"].endswith("v1beta.TunedModel")
    assert finished["response"]["state"] == "ACTIVE"

    as_names = call(server.url, "GET", f"v1beta/{model_name}").json()
    as_ints = call(server.url, "GET", f"v1beta/{model_name}", **INT_ENUMS).json()
    assert (as_names["state"], as_ints["state"]) == ("ACTIVE", 2)
    # As recorded: updateTime == completeTime once done, both in µs; computeTime in ns.
    task = as_names["tuningTask"]
    assert as_names["updateTime"] == task["completeTime"]
    assert re.fullmatch(r"\S+T\d\d:\d\d:\d\d\.\d{6}Z", task["completeTime"])
    assert re.fullmatch(r"\S+T\d\d:\d\d:\d\d\.\d{9}Z", task["snapshots"][-1]["computeTime"])
    assert task["completeTime"][:26] == task["snapshots"][-1]["computeTime"][:26]
    assert as_names["temperature"] == 0.9  # gemini-1.0-pro-001's default
    assert "trainingData" not in as_names["tuningTask"]  # input only, never returned
