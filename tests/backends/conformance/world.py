"""One case's world: a backend's emulator on a virtual clock, a repository
declaring the models, and backends made on it as new processes would make
them. Everything a case asks of the live state it asks through the `Backend`
protocol (observe, find, the pure planner), except what the protocol cannot
say: how many models and tuning runs exist, which the Surface counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from reconciler.apply.backend import Backend
from reconciler.apply.executor import ApplyOptions, ApplyResult, Executor
from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import Waiter
from reconciler.loader import load
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.live import LiveModel
from reconciler.plan import PlanOptions, plan
from reconciler.plan.types import Plan
from tests.backends.conformance.clock import StopAtOnce, VirtualClock
from tests.backends.conformance.surfaces import Surface
from tests.backends.conformance.taps import Fault

KEY = "alpha"
# Seconds of the emulator's clock a tuning step takes: a run lasts some
# virtual seconds, so it is seen running, and waiting for it costs a few polls.
STEP_SECONDS = 1.0
# A crashed apply is run again this much later (virtual): a lock it held has gone
# stale by then (waiting out a live one is the lock's own tests' business).
RESTART_SECONDS = 120.0
# What changes between two equal reads of a model: not part of an outcome.
VOLATILE = {"update_time", "step", "losses", "reported"}


class World:
    """Use as a context manager; `reset()` starts over on the same emulator."""

    def __init__(
        self,
        surface: Surface,
        root: Path,
        *,
        ids: tuple[str, ...] = (KEY,),
        step_seconds: float = STEP_SECONDS,
        env: dict[str, str] | None = None,
    ) -> None:
        """`step_seconds`: 0 for a case that waits in real time (the CLI, a
        hand-made run), so runs end at once; `env`: what backends see (an
        ownership key)."""
        self.surface, self.root, self.ids = surface, root, ids
        self.env = env or {}
        self.clock = VirtualClock()
        self.emulator = surface.start(self.clock, step_seconds=step_seconds)
        self.repo = surface.repo(root, list(ids))
        self._desired: Desired | None = None
        self._backends: list[Backend] = []
        self._observer: Backend | None = None

    def __enter__(self) -> World:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._close_backends()
        self.emulator.stop()

    def reset(self) -> None:
        """Nothing live, the repository as first written, no process running."""
        self._close_backends()
        self.surface.reset(self.emulator)
        self.repo = self.surface.repo(self.root, list(self.ids))
        self._desired = None

    def _close_backends(self) -> None:
        for backend in self._backends:
            backend.close()
        self._backends.clear()
        self._observer = None

    # --- the repository -----------------------------------------------------------------

    def desired(self) -> Desired:
        if self._desired is None:
            result = load(self.repo, cwd=self.repo)
            assert result.desired is not None, [p.message for p in result.problems]
            self._desired = result.desired
        return self._desired

    def model(self, key: str = KEY) -> DesiredModel:
        return self.desired().by_id()[key]

    def edit(self, key: str = KEY, **spec: Any) -> None:
        """Change fields of a manifest's spec."""
        path = self.repo / "manifests" / f"{key}.yaml"
        document = yaml.safe_load(path.read_text("utf-8"))
        document["spec"].update(spec)
        path.write_text(yaml.safe_dump(document, sort_keys=False), "utf-8")
        self._desired = None

    def remove(self, key: str = KEY) -> None:
        (self.repo / "manifests" / f"{key}.yaml").unlink()
        self._desired = None

    # --- backends, as processes ----------------------------------------------------------

    def backend(self) -> Backend:
        """A backend as a new apply process makes it (nothing remembered from another)."""
        backend = self.surface.connect(self.emulator, self.desired().settings, self.clock, **self.env)
        self._backends.append(backend)
        return backend

    def waiter(self, *, stopped: bool = False) -> Waiter:
        """Waits on the virtual clock; `stopped`: Ctrl-C came before the first wait."""
        stop = StopAtOnce() if stopped else self.clock
        return Waiter(
            interval=1.0,
            timeout=3600.0,
            reporter=RecordingReporter(),
            max_interval=30.0,
            stop=stop,  # type: ignore[arg-type]
            clock=self.clock,
        )

    def restart(self) -> None:
        """Time passes before a stopped apply is run again."""
        self.clock.advance(RESTART_SECONDS)

    @contextmanager
    def fault(self, kind: str, at: int) -> Iterator[Fault]:
        """`Fault(kind, at)` on every request a backend sends meanwhile."""
        fault = Fault(kind, at)
        with self.surface.tap(fault):
            yield fault

    # --- what is live ---------------------------------------------------------------------

    def _looker(self) -> Backend:
        """The backend the case reads the live state with (it only reads)."""
        if self._observer is None:
            self._observer = self.backend()
        return self._observer

    def find(self, key: str = KEY) -> LiveModel | None:
        return self._looker().find(key)

    def observed(self, key: str) -> LiveModel | None:
        """A live model under any key, as a plan observes it (one no manifest declares too)."""
        return next((m for m in self._looker().observe(self.desired()).models if m.key == key), None)

    def plan(self) -> Plan:
        desired = self.desired()
        looker = self._looker()
        return plan(desired, looker.observe(desired), looker.rules, PlanOptions(prune=True))

    def apply(self) -> ApplyResult:
        """Plan (pruning) and apply it, as `reconciler apply --prune` does: the
        executor drives a backend through the protocol alone."""
        desired, backend = self.desired(), self.backend()
        planned = plan(desired, backend.observe(desired), backend.rules, PlanOptions(prune=True))
        assert not planned.errors, planned.errors
        reporter = RecordingReporter()
        return Executor(backend, desired, reporter, self.waiter(), ApplyOptions(concurrency=1)).run(planned)

    def outcome(self) -> dict[str, Any]:
        """The live state as observed, and what exists underneath: two equal
        outcomes are the same world whatever request timestamps differ."""
        observed = self._looker().observe(self.desired())
        return {
            "observed": sorted((m.model_dump(exclude=VOLATILE) for m in observed.models), key=lambda m: m["key"]),
            "models": len(self.surface.models(self.emulator)),
            "runs": len(self.surface.runs(self.emulator)),
        }
