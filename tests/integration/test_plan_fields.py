"""The plan's list asks only for what the plan reads (a partial response), and
decodes only that even from a server that ignores the mask and sends everything."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from reconciler.backends.gemini import RULES, GeminiBackend
from reconciler.backends.gemini.client import GeminiClient
from reconciler.backends.gemini.requests import create_body
from reconciler.client.auth import Anonymous
from reconciler.emulator import EmulatorServer
from reconciler.emulator.calls import Call
from reconciler.emulator.wire import Enums
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.live import LiveState, Observed
from reconciler.plan import PlanOptions, plan
from reconciler.render.json import render_json
from tests.integration.helpers_plan import load_desired, seed_unmanaged, write_manifest, write_repo

NOW = 1_800_000_000.0
STEPS = 10  # a run of the helpers' manifests


class Recording(requests.Session):
    """Keeps every answer's text; `ignore_fields` drops the mask before sending,
    as a server that does not honour it would answer."""

    def __init__(self, ignore_fields: bool = False) -> None:
        super().__init__()
        self.ignore_fields = ignore_fields
        self.answers: list[str] = []
        self.masks: list[str | None] = []

    def request(self, method: str, url: str, params: Any = None, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        params = dict(params or {})
        self.masks.append(params.get("fields"))
        if self.ignore_fields:
            params.pop("fields", None)
        response = super().request(method, url, params=params, **kwargs)
        self.answers.append(response.text)
        return response


def seed_at(server: EmulatorServer, model: DesiredModel, started: float) -> None:
    call = Call(version="v1beta", body=create_body(model), query={"tunedModelId": model.id}, enums=Enums(), now=started)
    server.app.gemini.models.create_tuned_model(call)


def account(tmp_path: Path, make_emulator: Callable[..., EmulatorServer]) -> tuple[EmulatorServer, Desired]:
    """Finished models (one drifted), one still running at step 5, one unmanaged."""
    server = make_emulator(clock=lambda: NOW, step_seconds=1)
    root = write_repo(tmp_path / "repo", ["alpha", "bravo", "running"], with_permissions=["bravo"])
    desired = load_desired(root)
    for model in desired.models:
        seed_at(server, model, NOW - 5 if model.id == "running" else NOW - 1000)
    seed_unmanaged(server, "by-hand")
    write_manifest(root, "alpha", display_name="Renamed in git")
    return server, load_desired(root)


def observe_with(server: EmulatorServer, desired: Desired, session: Recording, *, progress: bool = False) -> Observed:
    client = GeminiClient(endpoint=server.url, credentials=Anonymous(), session=session)
    return GeminiBackend(client).observe_models(progress=progress)(desired)


def test_the_plan_list_asks_for_no_snapshots(tmp_path: Path, make_emulator: Callable[..., EmulatorServer]) -> None:
    server, desired = account(tmp_path, make_emulator)
    session = Recording()
    observe_with(server, desired, session)
    list_mask = session.masks[0]
    assert list_mask is not None and "snapshots" not in list_mask and "trainingData" not in list_mask
    assert "snapshots" not in session.answers[0] and '"name":"tunedModels/alpha"' in session.answers[0]


def test_a_plan_against_a_server_that_ignores_fields_is_the_same(
    tmp_path: Path, make_emulator: Callable[..., EmulatorServer]
) -> None:
    server, desired = account(tmp_path, make_emulator)
    masked, ignored = Recording(), Recording(ignore_fields=True)
    observed = observe_with(server, desired, masked)
    unmasked = observe_with(server, desired, ignored)
    assert '"snapshots"' in ignored.answers[0]  # the server really sent them
    assert observed == unmasked
    options = PlanOptions(prune=False)
    first, second = plan(desired, observed, RULES, options), plan(desired, unmasked, RULES, options)
    assert render_json(first) == render_json(second)
    assert first.has_changes  # alpha was renamed: the comparison is not of two empty plans
    running = observed.by_id()["running"]
    assert (running.state, running.step, running.losses) == (LiveState.CREATING, 0, ())


def test_status_reads_the_last_step_and_loss_whatever_the_server_sends(
    tmp_path: Path, make_emulator: Callable[..., EmulatorServer]
) -> None:
    server, desired = account(tmp_path, make_emulator)
    masked = observe_with(server, desired, Recording(), progress=True).by_id()
    unmasked = observe_with(server, desired, Recording(ignore_fields=True), progress=True).by_id()
    assert masked == unmasked
    assert masked["running"].step == 5 and len(masked["running"].losses) == 1
    assert masked["alpha"].step == STEPS and masked["alpha"].last_loss is not None
