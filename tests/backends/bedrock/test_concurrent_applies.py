"""Applies at once on the project's emulator (its Bedrock and S3 on the
conformance suite's virtual clock: no real sleep), deterministic, never a race:

- three whole applies (plan and executor) of two models, every create of all
  three held by the emulator before the service sees it, until all six have
  arrived, then let go together: one job, one custom model and one deployment
  per model (issue 24's "three concurrent applies making one job per model").
  (A create held once the service has answered lets the others find its job
  by name instead: the conformance suite's `held_at_the_create[answered]`);
- two creates of one id, the first paused before each of its writes in turn:
  what the conformance case checks, less which apply says it made the run (a
  known failure there: a create deduplicated by its clientRequestToken is
  answered as a new one), so its later writes are checked too.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from reconciler.apply.executor import ApplyOptions, ApplyResult, Executor
from reconciler.apply.progress import RecordingReporter
from reconciler.model.live import LiveState
from reconciler.plan import PlanOptions, plan
from reconciler.plan.types import Action
from tests.backends.conformance.interleave import paused_at_each_write
from tests.backends.conformance.scenarios import in_sync
from tests.backends.conformance.surfaces import Bedrock
from tests.backends.conformance.world import World

IDS = ("alpha", "beta")
APPLIES = 3


def _applies_at_once(world: World) -> list[ApplyResult]:
    """Three applies, each planned before any has made anything, each creating
    both models at once (concurrency 2)."""
    desired = world.desired()
    runs = []
    for _ in range(APPLIES):
        backend = world.backend()
        planned = plan(desired, backend.observe(desired), backend.rules, PlanOptions(prune=True))
        assert [(c.model_id, c.action) for c in planned.changes] == [(i, Action.CREATE) for i in IDS]
        executor = Executor(backend, desired, RecordingReporter(), world.waiter(), ApplyOptions(concurrency=2))
        runs.append((executor, planned))
    with ThreadPoolExecutor(APPLIES) as pool:
        return [f.result(timeout=60) for f in [pool.submit(e.run, p) for e, p in runs]]


def test_three_applies_at_once_make_one_job_per_model(tmp_path: Path) -> None:
    surface = Bedrock()
    with World(surface, tmp_path, ids=IDS) as world:
        held = surface.hold_create(world.emulator, answered=False, times=APPLIES * len(IDS))
        with ThreadPoolExecutor(1) as starter:
            applied = starter.submit(_applies_at_once, world)
            held.wait_arrived(APPLIES * len(IDS), timeout=30)
            held.release()
            results = applied.result(timeout=60)
        made = [sorted((o.model_id, o.action, o.status) for o in r.outcomes) for r in results]
        assert made == [[(i, Action.CREATE, "done") for i in IDS]] * APPLIES
        assert len(surface.runs(world.emulator)) == len(IDS)
        assert len(surface.models(world.emulator)) == len(IDS)
        assert len(surface.deployments(world.emulator)) == len(IDS)
        for key in IDS:
            live = world.find(key)
            assert live is not None and live.managed and live.state is LiveState.ACTIVE, live
        in_sync(world)


def test_two_creates_make_one_job_whichever_write_the_first_is_paused_before(tmp_path: Path) -> None:
    surface = Bedrock()
    with World(surface, tmp_path) as world:
        paused_at_each_write(world, surface, "before", lambda _said: None)
