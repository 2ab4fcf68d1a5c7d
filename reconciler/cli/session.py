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
from reconciler.cli.repository import check_repository, command_hint
from reconciler.cli.state import STATE_DIR, make_state_folder
from reconciler.loader import Problem, load
from reconciler.model.desired import Desired
from reconciler.model.errors import UserError
from reconciler.model.live import Observed
from reconciler.model.settings import Settings
from reconciler.plan import PlanOptions, plan
from reconciler.plan.types import Plan, PlanError

EMULATOR_DIR = STATE_DIR
EMULATOR_STATE = "emulator.sqlite"
# The embedded emulator tunes fast, so the README's first command shows a whole
# tuning run with live progress in seconds.
EMULATOR_STEP_SECONDS = 0.1
EMULATOR_POLL_SECONDS = 0.25


class ManifestsInvalid(UserError):
    """The manifests did not load; `problems` says why (for a JSON document)."""

    def __init__(self, message: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(message)
        self.problems = problems


def load_desired(app: App, path: str) -> Desired:
    """The desired state, or every problem printed and ManifestsInvalid."""
    check_repository(path)
    result = load(path, checks_for=lambda settings: backend_class(settings).manifest_problems)
    for problem in result.problems:
        print_problem(app.console, problem)
    if result.desired is None:
        errors = sum(1 for p in result.problems if p.severity != "warning")
        noun = "problem" if errors == 1 else "problems"
        raise ManifestsInvalid(f"{errors} {noun} in the manifests; nothing was planned or changed",
                               result.problems)
    return result.desired


def start_embedded_emulator(root: str) -> str:
    """Start the emulator on a free loopback port for this process; returns its URL."""
    from reconciler.emulator.server import EmulatorOptions, EmulatorServer

    state = Path(root) / EMULATOR_DIR / EMULATOR_STATE
    make_state_folder(state.parent)
    server = EmulatorServer(
        EmulatorOptions(host="127.0.0.1", port=0, state=str(state), step_seconds=EMULATOR_STEP_SECONDS)
    )
    server.start()
    click.get_current_context().call_on_close(server.stop)
    return server.url


def connect(app: App, settings: Settings, root: str) -> tuple[Backend, float]:
    """The backend reconciler.yaml chooses, connected to its API (or to the
    embedded emulator), and the poll interval to use. Says on stderr, in one
    line, where it points: `--emulator` is the only difference between the
    emulator and a real account, so it must be visible which one is used."""
    backend = backend_class(settings)
    if app.emulator:
        connected = backend.connect(settings, start_embedded_emulator(root))
        state = Path(root) / EMULATOR_DIR / EMULATOR_STATE
        app.console.info(f"Target: the embedded emulator (--emulator), state in {_shown(state)}")
        return connected, EMULATOR_POLL_SECONDS
    connected = backend.connect(settings)
    app.console.info(f"Target: {connected.describe_target()}")
    return connected, settings.poll_interval_seconds


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Session:
    app: App
    desired: Desired
    backend: Backend
    poll_interval: float
    path: str = "."  # the repository as given (-C), for the commands hints name

    @classmethod
    def open(cls, app: App, path: str) -> Session:
        desired = load_desired(app, path)
        backend, poll_interval = connect(app, desired.settings, desired.root)
        return cls(app, desired, backend, poll_interval, path)

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
        return self._in_context(plan(self.desired, observed, self.backend.rules, options)), observed

    def _in_context(self, planned: Plan) -> Plan:
        """The plan's hints name `reconciler import`; the command to copy must reach
        the same API and repository as this one (--emulator, -C)."""
        command = command_hint(self.app.emulator, "import", self.path)
        if command == "reconciler import":
            return planned

        def fixed(errors: tuple[PlanError, ...]) -> tuple[PlanError, ...]:
            return tuple(e.model_copy(update={"hint": e.hint.replace("reconciler import ", command + " ")})
                         if e.hint else e for e in errors)

        return planned.model_copy(update={"errors": fixed(planned.errors), "blocked": fixed(planned.blocked)})

    def waiter(self, reporter: Reporter) -> Waiter:
        return Waiter(
            interval=self.poll_interval,
            timeout=self.desired.settings.operation_timeout_seconds,
            reporter=reporter,
        )
