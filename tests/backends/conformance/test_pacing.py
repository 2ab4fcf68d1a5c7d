"""Creates paced to the service's quota (issue 26), through the real apply path
(the planner, the Executor with four workers, the backend) against the
emulator, all on one virtual clock: the emulator's, the Waiter's and so the
Pacer's. What the service saw is read from it: each run's create time on its
own clock, and its count of requests and of quota refusals."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from reconciler.apply.backend import Backend
from reconciler.apply.executor import ApplyOptions, ApplyResult, Executor
from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import Waiter
from reconciler.emulator import EmulatorServer
from reconciler.loader import load
from reconciler.model.desired import Desired
from reconciler.plan import PlanOptions, plan
from tests.backends.conformance.clock import VirtualClock
from tests.backends.conformance.surfaces import SURFACES, Bedrock, Vertex
from tests.backends.conformance.world import World
from tests.backends.vertex import helpers as vertex

PACED = ("bedrock", "vertex")  # the backends with a submission quota (Gemini: one shard, no figure)
OTHER_PROJECT = "other-project"
CREATES = ("/tuningJobs", "/model-customization-jobs")
IDS = tuple(f"m{n:02d}" for n in range(12))
WAITING_FOR_QUOTA = "waiting for quota"


@pytest.fixture(params=PACED)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _world(name: str, root: Path, ids: tuple[str, ...] = IDS, **block: Any) -> World:
    """A World of these models whose backend block says `block` (maxCreatesPerMinute)."""
    world = World(SURFACES[name](), root, ids=ids)
    path = world.repo / "reconciler.yaml"
    settings = yaml.safe_load(path.read_text("utf-8"))
    settings[name].update(block)
    settings["concurrency"] = 4
    path.write_text(yaml.safe_dump(settings, sort_keys=False), "utf-8")
    return world


@pytest.fixture
def paced(name: str, tmp_path: Path) -> Iterator[World]:
    with _world(name, tmp_path, maxCreatesPerMinute=6) as world:
        yield world


def _apply(world: World, timeout: float = 3600.0) -> tuple[ApplyResult, RecordingReporter]:
    """`reconciler apply`: plan, then the Executor with four workers on the world's clock."""
    return _run(world.desired(), world.backend(), world.clock, timeout)


def _run(
    desired: Desired, backend: Backend, clock: VirtualClock, timeout: float = 3600.0
) -> tuple[ApplyResult, RecordingReporter]:
    planned = plan(desired, backend.observe(desired), backend.rules, PlanOptions(prune=True))
    assert not planned.errors, planned.errors
    reporter = RecordingReporter()
    waiter = Waiter(
        interval=1.0,
        timeout=timeout,
        reporter=reporter,
        max_interval=30.0,
        stop=clock,  # type: ignore[arg-type]
        clock=clock,
    )
    result = Executor(backend, desired, reporter, waiter, ApplyOptions(concurrency=4)).run(planned)
    return result, reporter


def _instant(text: str) -> float:
    """An RFC 3339 time (nanoseconds allowed) as Unix seconds."""
    whole, _, fraction = text.removesuffix("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float(f"0.{fraction or 0}")


def _created(world: World) -> list[float]:
    """When the service made each tuning run, on its own clock, sorted."""
    emulator = world.emulator
    if isinstance(world.surface, Vertex):
        jobs = vertex.listed(emulator, "tuningJobs")
        return sorted(_instant(job["createTime"]) for job in jobs)
    assert isinstance(world.surface, Bedrock)
    return sorted(job["creationTime"].timestamp() for job in world.surface._jobs(emulator))


def _most_in_a_minute(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 60.0) for start in times)


def _submissions(emulator: EmulatorServer) -> int:
    counts = requests.get(f"{emulator.url}/_internal/requests", timeout=10).json()["counts"]
    # The route templates of CreateTuningJob and CreateModelCustomizationJob.
    return sum(n for key, n in counts.items() if key.startswith("POST") and key.endswith(CREATES))


def _quota(emulator: EmulatorServer, per_minute: int) -> None:
    response = requests.post(
        f"{emulator.url}/_internal/quota", json={"tuning_submissions_per_minute": per_minute}, timeout=10
    )
    response.raise_for_status()


def _refused(emulator: EmulatorServer) -> int:
    return int(requests.get(f"{emulator.url}/_internal/quota", timeout=10).json()["refused"])


def test_twelve_creates_at_six_a_minute_reach_the_service_at_most_six_a_minute(paced: World) -> None:
    """The issue's test. The emulator enforces no quota here: the window is the
    Pacer's alone (without it the four workers send all twelve in seconds)."""
    result, reporter = _apply(paced)
    assert all(o.ok for o in result.outcomes) and result.counts()["created"] == 12
    created = _created(paced)
    assert len(created) == 12 and len(paced.surface.runs(paced.emulator)) == 12
    assert _most_in_a_minute(created) <= 6
    assert created[6] - created[0] >= 60.0 and created[-1] - created[0] < 180.0  # paced, not serialized
    assert _submissions(paced.emulator) == 12  # no create was refused, none sent twice
    stages = {p.stage for p in reporter.progresses if p.stage and p.stage.startswith(WAITING_FOR_QUOTA)}
    assert stages == {f"waiting for quota: at most 6 creates a minute, {paced.surface.name}.maxCreatesPerMinute"}


def test_the_service_refusing_for_quota_is_waited_out_not_failed(name: str, tmp_path: Path) -> None:
    """Pacing off (0), the emulator's quota on at 6 a minute: the creates over it
    are answered 429, each waits and is sent again, and the apply converges,
    every model created once, shown as waiting for quota and never as failed."""
    with _world(name, tmp_path, maxCreatesPerMinute=0) as world:
        _quota(world.emulator, 6)
        result, reporter = _apply(world)
        assert all(o.ok for o in result.outcomes) and result.counts()["created"] == 12
        assert not [e for e in reporter.events if e.kind == "failed"]
        refused = _refused(world.emulator)
        assert refused > 0
        assert _submissions(world.emulator) == 12 + refused  # each refusal sent again, nothing else
        created = _created(world)
        assert len(created) == 12 and _most_in_a_minute(created) <= 6
        waiting = [p for p in reporter.progresses if p.stage and p.stage.startswith(WAITING_FOR_QUOTA)]
        refusals = [p for p in waiting if p.stage and "the service refused the create (429" in p.stage]
        assert refusals and not [p for p in waiting if p.stage and "creates a minute" in p.stage]  # pacing off
        assert len(world.surface.runs(world.emulator)) == 12


def test_pacing_at_the_quota_meets_no_refusal(paced: World) -> None:
    """The emulator's quota at the same 6 a minute: the paced creates never meet it."""
    _quota(paced.emulator, 6)
    result, _ = _apply(paced)
    assert all(o.ok for o in result.outcomes)
    assert _refused(paced.emulator) == 0 and _submissions(paced.emulator) == 12


def test_a_quota_exhausted_past_the_operation_timeout_fails_the_create_saying_so(name: str, tmp_path: Path) -> None:
    with _world(name, tmp_path, ids=("m00", "m01"), maxCreatesPerMinute=0) as world:
        _quota(world.emulator, 1)
        result, reporter = _apply(world, timeout=30.0)
        failed = [o for o in result.outcomes if not o.ok]
        assert len(failed) == 1 and len(world.surface.runs(world.emulator)) == 1
        (event,) = [e for e in reporter.events if e.kind == "failed"]
        assert "kept refusing the create for quota" in event.message
        assert "operation timeout (30s, operationTimeoutSeconds)" in event.message
        assert "nothing was created" in event.message


def test_two_targets_do_not_share_a_window(tmp_path: Path) -> None:
    """Two Vertex AI projects, two backends (one a target, as one shard's run
    connects one), applied at once on one clock: each paced to 6 a minute, so
    the twelve creates all go in the first minute, six a project, and neither
    waits on the other's. The emulator's quota, per project, refuses none.
    (With one Pacer shared by both, the last six would wait a minute.)"""
    with _world("vertex", tmp_path / "a", ids=tuple(f"a{n}" for n in range(6)), maxCreatesPerMinute=6) as world:
        _quota(world.emulator, 6)
        other = vertex.write_repo(tmp_path / "b", [vertex.manifest(f"b{n}") for n in range(6)], concurrency=4)
        settings = yaml.safe_load((other / "reconciler.yaml").read_text("utf-8"))
        settings["vertex"].update(project=OTHER_PROJECT, maxCreatesPerMinute=6)
        (other / "reconciler.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), "utf-8")
        loaded = load(other, cwd=other).desired
        assert loaded is not None
        backend = world.surface.connect(world.emulator, loaded.settings, world.clock)
        runs = [
            lambda: _apply(world)[0],
            lambda: _run(loaded, backend, world.clock)[0],
        ]
        with ThreadPoolExecutor(2) as pool:
            results = [future.result(timeout=120) for future in [pool.submit(run) for run in runs]]
        backend.close()
        assert all(o.ok for result in results for o in result.outcomes)
        times = {project: _created_in(world.emulator, project) for project in (vertex.PROJECT, OTHER_PROJECT)}
        assert [len(t) for t in times.values()] == [6, 6]
        every = sorted(times[vertex.PROJECT] + times[OTHER_PROJECT])
        assert every[-1] - every[0] < 60.0  # nobody waited for a window
        assert _refused(world.emulator) == 0


def _created_in(emulator: EmulatorServer, project: str) -> list[float]:
    parent = f"v1/projects/{project}/locations/{vertex.LOCATION}"
    response = requests.get(f"{emulator.url}/{parent}/tuningJobs", params={"pageSize": 100}, timeout=10)
    response.raise_for_status()
    return sorted(_instant(job["createTime"]) for job in response.json()["tuningJobs"])
