"""What the plan-shaped commands share: load the repository, connect, observe, plan.

With the global `--emulator`, an emulator is started inside this process, its
state kept under `.reconciler/` at the repository root, so a fresh clone can
run the whole loop with no account and no network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.apply.backend import Backend
from reconciler.apply.progress import Reporter
from reconciler.apply.waiting import Waiter
from reconciler.backends import backend_class
from reconciler.cli.annotations import print_problem
from reconciler.cli.app import App
from reconciler.cli.state import STATE_DIR, make_state_folder
from reconciler.loader import load
from reconciler.model.desired import Desired
from reconciler.model.errors import UserError
from reconciler.model.live import Observed
from reconciler.model.settings import Settings
from reconciler.plan import PlanOptions, plan
from reconciler.plan.types import Plan

EMULATOR_DIR = STATE_DIR
# The embedded emulator tunes fast, so the README's first command shows a whole
# tuning run with live progress in seconds.
EMULATOR_STEP_SECONDS = 0.1
EMULATOR_POLL_SECONDS = 0.25


def load_desired(app: App, path: str) -> Desired:
    """The desired state, or every problem printed and a UserError."""
    result = load(path, checks_for=lambda settings: backend_class(settings).manifest_problems)
    for problem in result.problems:
        print_problem(app.console, problem)
    if result.desired is None:
        errors = sum(1 for p in result.problems if p.severity != "warning")
        raise UserError(f"{errors} problem(s) in the manifests; nothing was planned or changed")
    return result.desired


def start_embedded_emulator(root: str) -> str:
    """Start the emulator on a free loopback port for this process; returns its URL."""
    from reconciler.emulator.server import EmulatorOptions, EmulatorServer

    state = Path(root) / EMULATOR_DIR / "emulator.sqlite"
    make_state_folder(state.parent)
    server = EmulatorServer(
        EmulatorOptions(host="127.0.0.1", port=0, state=str(state), step_seconds=EMULATOR_STEP_SECONDS)
    )
    server.start()
    click.get_current_context().call_on_close(server.stop)
    return server.url


def connect(app: App, settings: Settings, root: str) -> tuple[Backend, float]:
    """The backend reconciler.yaml chooses, connected to its API (or to the
    embedded emulator), and the poll interval to use."""
    backend = backend_class(settings)
    if app.emulator:
        return backend.connect(settings, start_embedded_emulator(root)), EMULATOR_POLL_SECONDS
    return backend.connect(settings), settings.poll_interval_seconds


@dataclass
class Session:
    app: App
    desired: Desired
    backend: Backend
    poll_interval: float

    @classmethod
    def open(cls, app: App, path: str) -> Session:
        desired = load_desired(app, path)
        backend, poll_interval = connect(app, desired.settings, desired.root)
        return cls(app, desired, backend, poll_interval)

    def observe(self) -> Observed:
        return self.backend.observe(self.desired)

    def plan(
        self, *, prune: bool | None, targets: Iterable[str] = (), allow_empty: bool = False
    ) -> tuple[Plan, Observed]:
        prune = self.desired.settings.prune if prune is None else prune
        if prune and not self.desired.models and not allow_empty:
            raise UserError(
                "no manifests were found, and prune would delete every managed model; "
                "refusing (pass --allow-empty if that is what you want)"
            )
        observed = self.observe()
        options = PlanOptions(prune=prune, targets=frozenset(targets) or None)
        return plan(self.desired, observed, self.backend.rules, options), observed

    def waiter(self, reporter: Reporter) -> Waiter:
        return Waiter(
            interval=self.poll_interval,
            timeout=self.desired.settings.operation_timeout_seconds,
            reporter=reporter,
        )
