"""In-memory stand-ins for the executor's collaborators: a clock whose waits
advance time instead of sleeping, a backend of no real API, and manifests to
load desired models from.

`FakeBackend` implements `reconciler.apply.backend.Backend` whole (mypy checks
it where the tests hand it to the executor) with rules and an ownership record
of its own: the client names each model after its manifest id, so a replace
deletes first (as on an API where the id must be free again), a create of an
id already taken adopts what another run made from the same manifest, and
tuning runs last a set number of polls. `label_backend.LabelBackend` is the
other shape: server-chosen ids, ownership in labels, create-then-destroy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.apply.backend import CannotAdopt, ChangeFailed, Tuned
from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import Waiter
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.live import LiveModel, LivePermission, LiveState, Observed
from reconciler.model.manifest import TunedModelManifest
from reconciler.model.ownership import Ownership, ownership_for
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder
from reconciler.plan.types import PermissionChange
from tests.integration.helpers_apply import load_repo, write_repo

BASE_MODEL = "base-model-1"
# Never reached by a run of these tests: a run that would exceed it is a hang.
WAIT_TIMEOUT = 100


def manifest(
    model_id: str,
    *,
    display_name: str | None = None,
    temperature: float = 0.5,
    source_model: str | None = None,
    smoke: tuple[tuple[str, str], ...] = (),
    prevent_destroy: bool = False,
    reader: str | None = None,
) -> dict[str, Any]:
    """A TunedModel document whose data is `../datasets/<id>.jsonl` (20 examples)."""
    spec: dict[str, Any] = {
        "displayName": display_name or model_id,
        "description": f"The {model_id} model.",
        "trainingData": {"file": f"../datasets/{model_id}.jsonl"},
        "hyperparameters": {"epochCount": 2, "batchSize": 4},
        "generation": {"temperature": temperature},
        "lifecycle": {"preventDestroy": prevent_destroy},
    }
    if source_model:
        spec["sourceModel"] = source_model  # the other manifest's id
    else:
        spec["baseModel"] = BASE_MODEL
    if smoke:
        spec["smokeTests"] = [{"input": given, "expect": {"equals": want}} for given, want in smoke]
    if reader:
        spec["permissions"] = [{"role": "READER", "granteeType": "USER", "emailAddress": reader}]
    return {"apiVersion": "reconciler/v1", "kind": "TunedModel", "metadata": {"name": model_id}, "spec": spec}


def desired_for(root: Path, documents: list[dict[str, Any]], **settings: Any) -> Desired:
    """The desired state of a repository with these manifests, loaded with the
    checks every backend shares (no backend's own)."""
    return load_repo(write_repo(root, documents, **settings))


class FakeClock(threading.Event):
    """A clock and a stop event in one: waiting advances time instead of sleeping.
    `stop_at_wait`: the stop is asked for as that wait (1: the first) begins,
    as a Ctrl-C during it would."""

    def __init__(self, stop_at_wait: int | None = None) -> None:
        super().__init__()
        self.now = 0.0
        self.waits: list[float] = []
        self.stop_at_wait = stop_at_wait

    def __call__(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        seconds = timeout or 0.0
        self.waits.append(seconds)
        if self.stop_at_wait is not None and len(self.waits) >= self.stop_at_wait:
            self.set()
        self.now += seconds
        return self.is_set()


def waiter_for(clock: FakeClock, interval: float = 1) -> Waiter:
    return Waiter(interval=interval, timeout=WAIT_TIMEOUT, reporter=RecordingReporter(), stop=clock, clock=clock)


RULES = PlanRules(
    mutable_fields=(
        MutableField("spec.displayName", "title"),
        MutableField("spec.description", "notes"),
        MutableField("spec.generation.temperature", "temperature"),
    ),
    marker_mask="record",
    no_marker="it carries no fake ownership record",
    tuning=TuningDefaults(epoch_count=3, batch_size=2),
    replace_order=ReplaceOrder.DESTROY_FIRST,
    address_template="fake/{key}",
    backend="fake",
)


@dataclass
class FakeModel:
    """One model of the fake service. `record` is its ownership record (None:
    unmanaged), kept beside the model as the fake's marker."""

    key: str
    title: str
    notes: str
    temperature: float | None
    source: str
    source_key: str | None
    hyperparameters: dict[str, Any]
    record: Ownership | None
    state: LiveState = LiveState.CREATING
    polls_left: int = 0  # polls of its run until it ends
    evaluation: dict[str, str] = field(default_factory=dict)

    @classmethod
    def made_from(cls, model: DesiredModel, *, untested: bool = False) -> FakeModel:
        spec = model.manifest.spec
        return cls(
            key=model.id,
            title=spec.display_name or "",
            notes=spec.description,
            temperature=spec.generation.temperature,
            source=spec.source,
            source_key=spec.source_id,
            hyperparameters=spec.hyperparameters.as_sent(),
            record=ownership_for(model, untested=untested),
        )


class FakeBackend:
    """A tuning service in a dict, with every call recorded as (verb, model id).

    `polls_per_run`: polls before a run ends; `running`: runs never end;
    `failing`: ids whose runs fail."""

    name = "fake"
    rules = RULES

    def __init__(self, *, polls_per_run: int = 0, running: bool = False, failing: frozenset[str] = frozenset()) -> None:
        self.models: dict[str, FakeModel] = {}
        self.grants: dict[str, list[LivePermission]] = {}
        self.calls: list[tuple[str, str]] = []
        self.polls_per_run = polls_per_run
        self.running = running
        self.failing = failing
        self._granted = 0

    # --- what a plan reads --------------------------------------------------------

    def manifest_problems(self, manifest: TunedModelManifest) -> Iterator[tuple[tuple[str, ...], str]]:
        if manifest.spec.hyperparameters.adapter_size is not None:
            yield ("spec", "hyperparameters", "adapterSize"), "the fake service has no adapter size"

    def describe_target(self) -> str:
        return "an in-memory fake service"

    def observe(self, desired: Desired) -> Observed:
        return self.observe_models()(desired)

    def observe_models(self, *, progress: bool = False) -> Callable[[Desired], Observed]:
        models = tuple(self._live(model) for model in self.models.values())

        def with_grants(desired: Desired) -> Observed:
            wanted = {m.id for m in desired.models if m.manifest.spec.permissions}
            grants = {key: tuple(self.grants.get(key, ())) for key in wanted if key in self.models}
            return Observed(models=models, permissions=grants)

        return with_grants

    def _live(self, model: FakeModel) -> LiveModel:
        return LiveModel(
            key=model.key,
            address=self.rules.address(model.key),
            ownership=model.record,
            state=model.state,
            source=model.source,
            source_key=model.source_key,
            base_model=model.source if model.source_key is None else "",
            fields={
                "spec.displayName": model.title,
                "spec.description": model.notes,
                "spec.generation.temperature": model.temperature,
            },
            hyperparameters=dict(model.hyperparameters),
            evaluation=dict(model.evaluation),
            handle=model.key,
        )

    def find(self, key: str) -> LiveModel | None:
        self.calls.append(("find", key))
        model = self.models.get(key)
        return None if model is None else self._live(model)

    # --- tuning ---------------------------------------------------------------------

    def put(self, model: DesiredModel, state: LiveState = LiveState.ACTIVE) -> FakeModel:
        """A model made from this manifest by someone else (another run), unrecorded."""
        made = FakeModel.made_from(model)
        made.state = state
        self.models[model.id] = made
        return made

    def create(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        self.calls.append(("create", model.id))
        existing = self.models.get(model.id)
        if existing is not None:
            # The id is taken: by a run of this manifest (concurrent, or one that
            # crashed before it could wait), or by another model altogether.
            if existing.record is None or existing.record.inputs != ownership_for(model).inputs:
                raise ChangeFailed(f"{self.rules.address(model.id)} exists and was not made from this manifest")
            tuned = self._wait_for(existing, waiter)
            return Tuned(tuned.losses, found=True)
        made = FakeModel.made_from(model, untested=bool(model.manifest.spec.smoke_tests))
        made.polls_left = self.polls_per_run
        self.models[model.id] = made
        return self._wait_for(made, waiter)

    def wait(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        self.calls.append(("wait", model.id))
        existing = self.models.get(model.id)
        if existing is None:
            raise ChangeFailed(f"{self.rules.address(model.id)} is gone")
        return self._wait_for(existing, waiter)

    def _wait_for(self, model: FakeModel, waiter: Waiter) -> Tuned:
        def look(_elapsed: float) -> bool:
            self.calls.append(("poll", model.key))
            if model.key in self.failing:
                model.state = LiveState.FAILED
                raise ChangeFailed("tuning failed: the fake run failed at step 1")
            if self.running or model.polls_left > 0:
                model.polls_left -= 1
                return False
            model.state = LiveState.ACTIVE
            return True

        if model.state is not LiveState.ACTIVE:
            waiter.poll(look, f"run of {self.rules.address(model.key)}")
        return Tuned((0.5, 0.25))

    # --- changes in place -----------------------------------------------------------

    def _existing(self, key: str) -> FakeModel:
        model = self.models.get(key)
        if model is None:
            raise ChangeFailed(f"{self.rules.address(key)} does not exist")
        return model

    def update(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        self.calls.append(("update", model.id))
        live = self._existing(model.id)
        spec = model.manifest.spec
        if "title" in update_mask:
            live.title = spec.display_name or ""
        if "notes" in update_mask:
            live.notes = spec.description
        if "temperature" in update_mask:
            live.temperature = spec.generation.temperature
        if "record" in update_mask:
            live.record = ownership_for(model, untested=untested)

    def mark_tested(self, model: DesiredModel, evaluation: Mapping[str, str] | None = None) -> None:
        self.calls.append(("mark_tested", model.id))
        live = self._existing(model.id)
        live.record = ownership_for(model)
        live.evaluation = dict(evaluation or {})

    def hold(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        # The old model is gone (destroy-first): the new one stays untested.
        self.calls.append(("hold", model.id))
        self._existing(model.id).evaluation = {**evaluation, "held": "true"}

    def record_evaluation(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        self.calls.append(("record_evaluation", model.id))
        self._existing(model.id).evaluation = dict(evaluation)

    def delete(self, live: LiveModel, waiter: Waiter) -> None:
        self.calls.append(("delete", live.key))
        self.models.pop(live.key, None)
        self.grants.pop(live.key, None)

    def remove_superseded(self, live: LiveModel, waiter: Waiter) -> None:
        # Destroy-first: the id is freed before a replace, so nothing is ever superseded.
        self.calls.append(("remove_superseded", live.key))

    def forget(self, live: LiveModel) -> None:
        self.calls.append(("forget", live.key))
        self._existing(live.key).record = None

    def adopt(self, model: DesiredModel, live_key: str | None = None) -> LiveModel:
        self.calls.append(("adopt", model.id))
        existing = self.models.get(model.id)
        if existing is None or existing.record is not None:
            raise CannotAdopt(f"{self.rules.address(model.id)}: no unmanaged model to adopt")
        before = self._live(existing)
        existing.record = ownership_for(model)
        return before

    # --- answers and grants ---------------------------------------------------------

    def generate(self, key: str, base_model: str, text: str) -> str:
        """The fake model counts: it answers the number after the one it is given."""
        self.calls.append(("generate", key))
        return str(int(text) + 1)

    def generate_serving(self, key: str, base_model: str, text: str) -> str:
        self.calls.append(("generate_serving", key))
        return str(int(text) + 1)

    def grant(self, key: str, grant: PermissionChange) -> None:
        self.calls.append(("grant", key))
        self._granted += 1
        permission = LivePermission(
            name=f"{key}/grants/g{self._granted}",
            role=grant.role_after or "",
            grantee_type=grant.grantee_type,
            email_address=grant.email_address or "",
        )
        self.grants.setdefault(key, []).append(permission)

    def update_grant(self, key: str, grant: PermissionChange) -> None:
        self.calls.append(("update_grant", grant.name or ""))
        self.grants[key] = [
            p.model_copy(update={"role": grant.role_after}) if p.name == grant.name else p for p in self.grants[key]
        ]

    def revoke(self, key: str, grant: PermissionChange) -> None:
        self.calls.append(("revoke", grant.name or ""))
        self.grants[key] = [p for p in self.grants.get(key, []) if p.name != grant.name]

    def export(self, keys: Collection[str] = ()) -> dict[str, dict[str, Any]]:
        return {
            key: {"metadata": {"name": key}, "spec": {"displayName": model.title, "trainingData": {"unknown": True}}}
            for key, model in self.models.items()
            if not keys or key in keys
        }

    def close(self) -> None:
        self.calls.append(("close", ""))
