"""Simulated tuning as seen through operations: progress from the clock,
injected failures, cancel, and a SQLite store that resumes after a restart."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.emulator.gemini.tuning import mean_loss
from tests.emulator.helpers import call, create


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_run_goes_from_creating_to_active(make_emulator) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    server = make_emulator(clock=clock, step_seconds=2.0)
    operation = create(server.url)  # 20 examples, 5 epochs, batch 4 → 25 steps
    assert operation["metadata"]["totalSteps"] == 25
    model = call(server.url, "GET", "v1beta/tunedModels/number-generator").json()
    assert model["state"] == "CREATING"
    assert "snapshots" not in model["tuningTask"] and "completeTime" not in model["tuningTask"]

    clock.now += 50
    model = call(server.url, "GET", "v1beta/tunedModels/number-generator").json()
    assert model["state"] == "ACTIVE"
    assert len(model["tuningTask"]["snapshots"]) == 25
    assert model["tuningTask"]["snapshots"][-1]["epoch"] == 5


def test_loss_trends_down() -> None:
    losses = [mean_loss("m", step, 100) for step in range(1, 101)]
    assert sum(losses[:10]) > 2 * sum(losses[-10:])
    assert losses != sorted(losses, reverse=True)  # noisy, not a smooth curve


def test_operations_under_every_version(emulator: EmulatorServer) -> None:
    operation = create(emulator.url)
    for version in ("v1", "v1beta", "v1alpha"):
        got = call(emulator.url, "GET", f"{version}/{operation['name']}")
        assert got.status_code == 200 and got.json()["done"] is True
    listed = call(emulator.url, "GET", "v1/tunedModels/number-generator/operations").json()
    assert [op["name"] for op in listed["operations"]] == [operation["name"]]
    assert call(emulator.url, "GET", "v1/operations").json()["operations"][0]["name"] == (operation["name"])
    missing = call(emulator.url, "GET", "v1/tunedModels/number-generator/operations/nope")
    assert missing.status_code == 404


def test_injected_failure(make_emulator) -> None:  # type: ignore[no-untyped-def]
    server = make_emulator(fail_tuning=frozenset({"doomed"}))
    operation = create(server.url, model_id="doomed")
    assert operation["done"] is True
    assert operation["error"]["code"] == 13
    assert "response" not in operation
    model = call(server.url, "GET", "v1beta/tunedModels/doomed").json()
    assert model["state"] == "FAILED"
    assert len(model["tuningTask"]["snapshots"]) == 12  # half of 25 steps


def test_failure_rate_set_at_run_time(emulator: EmulatorServer) -> None:
    call(emulator.url, "POST", "_internal/tuning", {"fail_rate": 1.0})
    assert create(emulator.url)["error"]["code"] == 13


def test_cancel_gives_error_code_1(make_emulator) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    server = make_emulator(clock=clock, step_seconds=1.0)
    operation = create(server.url)
    clock.now += 3.5
    assert call(server.url, "POST", f"v1/{operation['name']}:cancel").json() == {}
    clock.now += 100
    cancelled = call(server.url, "GET", f"v1beta/{operation['name']}").json()
    assert cancelled["done"] is True
    assert cancelled["error"]["code"] == 1
    assert cancelled["metadata"]["completedSteps"] == 3
    again = call(server.url, "POST", f"v1/{operation['name']}:cancel")
    assert again.status_code == 400


def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    state = str(tmp_path / "state.sqlite")
    with EmulatorServer(EmulatorOptions(state=state, step_seconds=10.0), clock=clock) as first:
        create(first.url)
    clock.now += 1000  # the run finished while nothing was serving
    with EmulatorServer(EmulatorOptions(state=state), clock=clock) as second:
        model = call(second.url, "GET", "v1beta/tunedModels/number-generator").json()
        assert model["state"] == "ACTIVE"
        assert call(second.url, "POST", "_internal/reset").status_code == 200
        assert call(second.url, "GET", "v1beta/tunedModels").json() == {}
