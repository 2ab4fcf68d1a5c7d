"""The seam between the core and the APIs it drives.

A `Backend` is everything one tuning service needs to provide: the rules the
pure planner reads, the checks `validate` runs, observing the live state, and
the actions the executor takes. plan/, render/ and apply/ use only this
interface; `reconciler.backends.<name>` implements it, and only the CLI chooses
one (from `backend:` in reconciler.yaml).

Every action is safe to repeat after a crash: the backend finds what an
earlier, interrupted attempt left behind instead of making a second model.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from reconciler.apply.waiting import Waiter
from reconciler.loader.checks import BackendChecks
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.errors import ReconcilerError
from reconciler.model.live import LiveModel, Observed, Reported
from reconciler.model.manifest import Strict, TunedModelManifest
from reconciler.model.settings import Settings
from reconciler.model.shards import Shards
from reconciler.plan.rules import PlanRules
from reconciler.plan.types import PermissionChange


class ChangeFailed(ReconcilerError):
    """One change could not be made; its model's later changes are skipped."""


class CannotAdopt(ReconcilerError):
    """The live model is not what the manifest describes, or is managed already."""


@dataclass(frozen=True)
class Tuned:
    """A tuning run that succeeded, and its loss curve (for the apply summary).

    `found`: the model was already there (a concurrent or crashed apply created
    it), and this run only waited for it; the summary does not count it as
    created by this run.
    """

    losses: tuple[float, ...] = ()
    found: bool = False
    # What the service reported for the run (tokens, steps, epochs, truncated
    # examples), where the backend reads it: the apply summary sets it beside the estimate.
    reported: Reported | None = None


class Backend(Protocol):
    name: str  # as reconciler.yaml's `backend:` names it
    rules: PlanRules

    def manifest_problems(self, manifest: TunedModelManifest) -> Iterable[tuple[tuple[str, ...], str]]:
        """What this backend cannot honour in a valid manifest: (field path, message)."""
        ...

    def describe_target(self) -> str:
        """One line for people: which API and account this backend talks to,
        and how it authenticates (never a secret)."""
        ...

    def observe(self, desired: Desired) -> Observed:
        """The whole live state a plan needs, read with paged lists; never partial."""
        ...

    def observe_models(self, *, progress: bool = False) -> Callable[[Desired], Observed]:
        """`observe` in two steps, for a caller that loads the manifests meanwhile:
        read the live models now (what needs no manifest; with `progress`, also
        each run's last step and loss, for `status`), and return what completes
        the observe for a desired state (e.g. the permissions it declares)."""
        ...

    def find(self, key: str) -> LiveModel | None:
        """The live model under a manifest id now, or None."""
        ...

    def create(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        """Start tuning and wait until the run ends (raises ChangeFailed if it
        failed). The marker says `untested` while the manifest has smoke tests."""
        ...

    def wait(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        """Wait for a run an earlier apply started."""
        ...

    def update(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        """Patch the fields the mask names to the manifest's; a marker it rewrites
        keeps `untested` while the model's smoke tests are still to pass."""
        ...

    def mark_tested(self, model: DesiredModel, evaluation: Mapping[str, str] | None = None) -> None:
        """Record in the ownership marker that the smoke tests and the gate passed
        (the model may serve), with the gate's result ({"digest", "score"}) where
        the backend records one."""
        ...

    def hold(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """Record that the current model failed its gate: it never serves until
        promoted (create-first), or stays `untested` (a backend that deletes first)."""
        ...

    def record_evaluation(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """Record a gate result on the model serving (an `evaluate`)."""
        ...

    def delete(self, live: LiveModel, waiter: Waiter) -> None:
        """Delete a managed model (and whatever serves it); gone already is done.
        Whatever it waits for (operations, refusals) it waits for through `waiter`."""
        ...

    def remove_superseded(self, live: LiveModel, waiter: Waiter) -> None:
        """Remove `live.superseded`: earlier models of the id that serve nobody now
        (`live` read after the new one serves), waiting through `waiter`. A backend
        that frees the id before a replace never has any."""
        ...

    def forget(self, live: LiveModel) -> None:
        """Remove the ownership marker and leave the model live."""
        ...

    def adopt(self, model: DesiredModel, live_key: str | None = None) -> LiveModel:
        """Write the ownership marker onto an unmanaged live model the manifest
        describes (the one under `live_key`, where the service names models and
        a model is imported under an id of the user's choosing; by default the
        model's own id); returns it as it was. Raises CannotAdopt."""
        ...

    def generate(self, key: str, base_model: str, text: str) -> str:
        """One smoke-test answer from the tuned model (base_model: its chain's root);
        a candidate beside a serving model is the one asked."""
        ...

    def generate_serving(self, key: str, base_model: str, text: str) -> str:
        """One answer from the model serving now, not a candidate beside it."""
        ...

    def grant(self, key: str, grant: PermissionChange) -> None: ...

    def update_grant(self, key: str, grant: PermissionChange) -> None: ...

    def revoke(self, key: str, grant: PermissionChange) -> None: ...

    def export(self, keys: Collection[str] = ()) -> dict[str, dict[str, Any]]:
        """Manifests describing the live models (all, or those keys), by key;
        training data is marked unknown. Raises UserError for a key not live."""
        ...

    def close(self) -> None: ...


class BackendClass(Protocol):
    """What is true of a backend before it connects: the class registered in the
    `reconciler.backends` entry-point group (reconciler.model.registry)."""

    name: ClassVar[str]  # as reconciler.yaml's `backend:` names it, and the entry point
    rules: ClassVar[PlanRules]  # the planner's data: fields, defaults, replace order, address template
    # Its block of reconciler.yaml (a pydantic model: the settings schema is composed
    # from it), under its name, or its keys at the top level where `settings_inline`.
    settings_block: ClassVar[type[Strict] | None]
    settings_inline: ClassVar[bool]
    # Environment variables whose values are secrets (scrubbed from every output).
    secret_variables: ClassVar[tuple[str, ...]]
    # The type of one entry of reconciler.yaml's `targets:` (a quota boundary
    # besides the block's); None for a backend with one target.
    target_block: ClassVar[type[Strict] | None]

    @classmethod
    def shards(cls, settings: Settings) -> Shards:
        """Its targets (the block's first, then `targets:`), each a shard with the
        settings of a run there (reconciler.model.shards); ValueError for a target
        listed twice."""
        ...

    @classmethod
    def checks(cls, settings: Settings) -> BackendChecks:
        """What it checks on the manifests and datasets before anything is sent: its
        manifest rules, dataset formats and limits."""
        ...

    @classmethod
    def connect(
        cls, settings: Settings, *, emulator: str | None = None, env: Mapping[str, str] | None = None
    ) -> Backend:
        """A backend for the settings: at `emulator` (a base URL of the embedded
        emulator, no credentials), or the service itself with the credentials it
        discovers in `env` (default: the process's); a CredentialsError says how to give them."""
        ...

    @classmethod
    def emulator_fixtures(cls, settings: Settings) -> Mapping[str, Any]:
        """What the embedded emulator must hold before a first run that a real account
        already has (e.g. the datasets bucket): EmulatorOptions fields."""
        ...
