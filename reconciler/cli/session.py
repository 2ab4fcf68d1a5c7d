"""What the plan-shaped commands share: load the repository, connect, observe, plan.

With the global `--emulator`, an emulator is started inside this process, its
state kept under `.reconciler/` at the repository root, so a fresh clone can
run the whole loop with no account and no network.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from reconciler.apply.backend import Backend
from reconciler.apply.progress import Reporter
from reconciler.apply.waiting import Waiter
from reconciler.backends import backend_checks, backend_class, backend_shards
from reconciler.cli.annotations import print_problem
from reconciler.cli.app import App
from reconciler.cli.repository import check_repository, command_hint
from reconciler.cli.state import STATE_DIR, make_state_folder
from reconciler.loader import Problem, load, load_settings
from reconciler.model.desired import Desired
from reconciler.model.errors import ReconcilerError, UserError
from reconciler.model.live import Observed
from reconciler.model.secrets import secrets_in_env
from reconciler.model.settings import Settings
from reconciler.model.shards import Shard, Shards
from reconciler.plan import PlanOptions, plan
from reconciler.plan.types import Plan, PlanError, PlanShard

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


def load_desired(app: App, path: str, on_manifests: Callable[[], None] | None = None) -> Desired:
    """The desired state, or every problem printed and ManifestsInvalid."""
    check_repository(path)
    result = load(path, checks_for=backend_checks, on_manifests=on_manifests)
    for problem in result.problems:
        print_problem(app.console, problem)
    if result.desired is None:
        errors = sum(1 for p in result.problems if p.severity != "warning")
        noun = "problem" if errors == 1 else "problems"
        raise ManifestsInvalid(f"{errors} {noun} in the manifests; nothing was planned or changed", result.problems)
    return result.desired


def start_embedded_emulator(root: str, fixtures: Mapping[str, Any]) -> str:
    """Start the emulator on a free loopback port for this process, holding the
    backend's `fixtures` (what a real account has already: `EmulatorOptions`
    fields, e.g. its datasets bucket); returns its URL."""
    from reconciler.emulator.server import EmulatorOptions, EmulatorServer
    from reconciler.emulator.store import StateFileError

    state = Path(root) / EMULATOR_DIR / EMULATOR_STATE
    make_state_folder(state.parent)
    try:
        # Another `--emulator` run may use the same file at the same time: the store
        # shares it safely (see reconciler/emulator/store.py).
        server = EmulatorServer(
            EmulatorOptions(host="127.0.0.1", port=0, state=str(state), step_seconds=EMULATOR_STEP_SECONDS, **fixtures)
        )
    except StateFileError as exc:
        raise UserError(f"--emulator: {exc}") from None
    server.start()
    click.get_current_context().call_on_close(server.stop)
    return server.url


def connect(app: App, settings: Settings, root: str) -> tuple[Backend, float]:
    """The backend reconciler.yaml chooses, connected to its API (or to the
    embedded emulator), and the poll interval to use. Says on stderr, in one
    line, where it points: `--emulator` is the only difference between the
    emulator and a real account, so it must be visible which one is used."""
    connection = _Connection.open(app, settings, root)
    app.console.info(connection.target)
    return connection.backend, connection.poll_interval


@dataclass(frozen=True)
class _Connection:
    backend: Backend
    poll_interval: float
    target: str  # the "Target: ..." line
    settings: Settings

    @classmethod
    def open(cls, app: App, settings: Settings, root: str) -> _Connection:
        backend = backend_class(settings)
        app.console.add_secrets(secrets_in_env(os.environ, backend.secret_variables))
        if app.emulator:
            url = start_embedded_emulator(root, backend.emulator_fixtures(settings))
            connected = backend.connect(settings, emulator=url)
            state = Path(root) / EMULATOR_DIR / EMULATOR_STATE
            return cls(
                connected,
                EMULATOR_POLL_SECONDS,
                f"Target: the embedded emulator (--emulator), state in {_shown(state)}",
                settings,
            )
        connected = backend.connect(settings)
        return cls(connected, settings.poll_interval_seconds, f"Target: {connected.describe_target()}", settings)


class _Listing:
    """The live models, listed on a thread of their own while the manifests load:
    the two are independent until the planner joins them. A daemon thread, so a
    run whose manifests fail to load exits without waiting for the list."""

    def __init__(self, backend: Backend, progress: bool) -> None:
        self._done = threading.Event()
        self._taken = False
        self._lock = threading.Lock()
        self._finish: Callable[[Desired], Observed] | None = None
        self._error: BaseException | None = None
        thread = threading.Thread(target=self._list, args=(backend, progress), name="observe", daemon=True)
        thread.start()

    def _list(self, backend: Backend, progress: bool) -> None:
        try:
            self._finish = backend.observe_models(progress=progress)
        except BaseException as error:  # re-raised where the observe is asked for
            self._error = error
        finally:
            self._done.set()

    def take(self) -> Callable[[Desired], Observed] | None:
        """The list's result, once: a later observe (the next pass of a watch,
        a saved plan's check) must list again, not reuse this one."""
        with self._lock:
            if self._taken:
                return None
            self._taken = True
        self._done.wait()
        if self._error is not None:
            raise self._error
        finish, self._finish = self._finish, None  # held by the caller only, as long as it needs it
        return finish


def _early_connection(app: App, path: str, shard: str | None) -> _Connection | None:
    """A connection from reconciler.yaml alone, before the manifests load, when
    the run is on one shard; None when the settings have problems or connecting
    fails, which the ordinary path then reports in its usual order (manifest
    problems first)."""
    settings, root, problems = load_settings(path)
    if problems:
        return None
    try:
        chosen = chosen_shards(backend_shards(settings), shard)
        if len(chosen) != 1:
            return None
        return _Connection.open(app, chosen[0].settings, str(root))
    except ReconcilerError:  # e.g. no credentials: said after the manifest problems, if any
        return None


def chosen_shards(shards: Shards, key: str | None) -> tuple[Shard, ...]:
    """The shards a run touches: `--shard KEY`'s, or every one."""
    if key is None:
        return shards.all
    try:
        return (shards.select(key),)
    except KeyError as exc:
        raise UserError(exc.args[0]) from None


def in_shard(desired: Desired, shards: Shards, shard: Shard) -> Desired:
    """The models of one shard, with the settings of a run on it: everything
    else is another shard's, never planned, pruned or counted here."""
    models = tuple(m for m in desired.models if shards.of(m.manifest.spec.target) == shard)
    return desired.model_copy(update={"models": models, "settings": shard.settings})


def several_shards(sessions: list[Session]) -> str:
    keys = ", ".join(s.shard.key for s in sessions if s.shard is not None)
    return f"this repository has {len(sessions)} shards ({keys}); name one with --shard"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Session:
    """One shard's run: its models, and the backend connected to its target."""

    app: App
    desired: Desired
    backend: Backend
    poll_interval: float
    progress: bool = False  # observe each run's last step and loss too (status)
    listing: _Listing | None = None  # the first observe's list, begun while loading
    path: str = "."  # the repository as given (-C), for the commands hints name
    # The shard, where the repository has several or the run named one (recorded
    # in its plan); None for a repository with one target.
    shard: Shard | None = None

    @classmethod
    def open(
        cls, app: App, path: str, *, progress: bool = False, shard: str | None = None, model_id: str | None = None
    ) -> Session:
        """Load the repository and connect, for a run on one shard: the only one,
        `shard`, or the one `model_id`'s manifest chooses."""
        sessions = cls.open_shards(app, path, progress=progress, shard=shard, model_id=model_id)
        if len(sessions) != 1:
            raise UserError(several_shards(sessions))
        return sessions[0]

    @classmethod
    def open_shards(
        cls, app: App, path: str, *, progress: bool = False, shard: str | None = None, model_id: str | None = None
    ) -> list[Session]:
        """Load the repository and connect, a session for each shard the run
        touches (`shard`'s, or every one). On one shard, the model list runs while
        the datasets load, once the settings and manifests are valid (nothing is
        sent for bad ones)."""
        check_repository(path)
        early = _early_connection(app, path, shard)
        listings: list[_Listing] = []

        def begin_listing() -> None:
            if early is not None:
                listings.append(_Listing(early.backend, progress))

        desired = load_desired(app, path, begin_listing)
        shards = backend_shards(desired.settings)
        declared = desired.by_id().get(model_id or "")
        if shard is None and declared is not None and len(shards.all) > 1:
            shard = (shards.of(declared.manifest.spec.target) or shards.default).key
        chosen = chosen_shards(shards, shard)
        sessions = []
        for each in chosen:
            if early is not None and early.settings == each.settings:
                connection, listing = early, (listings[0] if listings else None)
            else:  # several shards, or reconciler.yaml changed while loading
                connection, listing = _Connection.open(app, each.settings, desired.root), None
            named = each if shard is not None or len(shards.all) > 1 else None
            app.console.info(connection.target + (f"; shard {each.key}" if named is not None else ""))
            part = in_shard(desired, shards, each)
            sessions.append(
                cls(app, part, connection.backend, connection.poll_interval, progress, listing, path, named)
            )
        return sessions

    def reloaded(self) -> Session:
        """This session with the manifests read again (a watch's next pass)."""
        desired = load_desired(self.app, self.path)
        shards = backend_shards(desired.settings)
        if self.shard is None:
            return replace(self, desired=in_shard(desired, shards, shards.default))
        shard = shards.get(self.shard.key)
        if shard is None:
            raise UserError(f"shard {self.shard.key} is no longer among reconciler.yaml's targets")
        return replace(self, desired=in_shard(desired, shards, shard))

    def observe(self) -> Observed:
        # Copies of a session (a watch pass's) share its listing: `take` hands it out once.
        finish = self.listing.take() if self.listing is not None else None
        if finish is None:
            finish = self.backend.observe_models(progress=self.progress)
        return finish(self.desired)

    def plan(
        self, *, prune: bool | None, targets: Iterable[str] = (), allow_empty: bool = False
    ) -> tuple[Plan, Observed]:
        prune = self.desired.settings.prune if prune is None else prune
        if prune and not self.desired.models and not allow_empty:
            found = "were found" if self.shard is None else f"for shard {self.shard.key}"
            there = "" if self.shard is None else " there"
            raise UserError(
                f"no manifests {found}, and prune would delete every managed model{there}; "
                "refusing (pass --allow-empty if that is what you want)"
            )
        observed = self.observe()
        options = PlanOptions(prune=prune, targets=frozenset(targets) or None)
        planned = plan(self.desired, observed, self.backend.rules, options)
        if self.shard is not None:
            planned = planned.model_copy(update={"shard": PlanShard(key=self.shard.key, label=self.shard.label)})
        return self._in_context(planned), observed

    def _in_context(self, planned: Plan) -> Plan:
        """The plan's hints name `reconciler import`; the command to copy must reach
        the same API and repository as this one (--emulator, -C)."""
        command = command_hint(self.app.emulator, "import", self.path)
        if command == "reconciler import":
            return planned

        def fixed(errors: tuple[PlanError, ...]) -> tuple[PlanError, ...]:
            return tuple(
                e.model_copy(update={"hint": e.hint.replace("reconciler import ", command + " ")}) if e.hint else e
                for e in errors
            )

        return planned.model_copy(update={"errors": fixed(planned.errors), "blocked": fixed(planned.blocked)})

    def waiter(self, reporter: Reporter) -> Waiter:
        return Waiter(
            interval=self.poll_interval,
            timeout=self.desired.settings.operation_timeout_seconds,
            reporter=reporter,
        )
