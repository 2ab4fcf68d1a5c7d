"""A second backend, in memory, to prove the seam: it keeps ownership in
labels, the server chooses ids, and a replace creates the new model before it
deletes the old one. Nothing in plan/ or apply/ knows it exists; it implements
`reconciler.apply.backend.Backend` whole (mypy checks it where the tests hand it
to the executor)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.apply.backend import CannotAdopt, ChangeFailed, Tuned
from reconciler.apply.waiting import Waiter
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.live import LiveModel, LiveState, Observed
from reconciler.model.manifest import TunedModelManifest
from reconciler.model.ownership import Ownership, ownership_for
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder
from reconciler.plan.types import PermissionChange

RULES = PlanRules(
    mutable_fields=(MutableField("spec.displayName", "display_name"), MutableField("spec.description", "description")),
    marker_mask="labels",
    no_marker="it has no managed-by=reconciler label",
    tuning=TuningDefaults(epoch_count=3, batch_size=8),
    replace_order=ReplaceOrder.CREATE_FIRST,
    address_template="labelled/{key}",
)


@dataclass
class Resource:
    server_id: str
    display_name: str
    description: str
    source: str
    hyperparameters: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)
    source_key: str | None = None  # the manifest id of the tuned model it was tuned from
    state: LiveState = LiveState.CREATING
    polls_left: int = 0  # polls until a run ends


def labels_for(model: DesiredModel, untested: bool = False) -> dict[str, str]:
    ownership = ownership_for(model, untested=untested)
    return {
        "managed-by": "reconciler",
        "reconciler-id": model.id,
        "fingerprint": ownership.fingerprint,
        "examples": str(ownership.examples),
        "orphan": str(ownership.orphan).lower(),
        "protect": str(ownership.protect).lower(),
        "untested": str(ownership.untested).lower(),
    }


def ownership_of(labels: dict[str, str]) -> Ownership | None:
    if labels.get("managed-by") != "reconciler":
        return None
    version, _, parts = labels["fingerprint"].partition(":")
    source, hyperparameters, data = parts.split(".")
    return Ownership(
        source=source,
        hyperparameters=hyperparameters,
        data=data,
        examples=int(labels["examples"]),
        orphan=labels["orphan"] == "true",
        protect=labels["protect"] == "true",
        untested=labels["untested"] == "true",
        version=version,
    )


class LabelBackend:
    name = "labelled"
    rules = RULES

    def __init__(self, polls_per_run: int = 0) -> None:
        self.resources: dict[str, Resource] = {}
        self.events: list[tuple[str, str]] = []  # (verb, server id), in order
        self.polls_per_run = polls_per_run
        self._ids = (f"{n:019d}" for n in itertools.count(1_000_000_000_000_000_001))

    # --- what the planner reads -------------------------------------------------

    def describe_target(self) -> str:
        return "an in-memory labelled service"

    def manifest_problems(self, manifest: TunedModelManifest) -> Iterator[tuple[tuple[str, ...], str]]:
        if manifest.spec.permissions:
            yield ("spec", "permissions"), "this backend has no per-model grants"

    @staticmethod
    def _key(resource: Resource) -> str:
        return resource.labels.get("reconciler-id") or f"unmanaged-{resource.server_id}"

    def _live(self, resource: Resource, superseded: tuple[str, ...] = ()) -> LiveModel:
        return LiveModel(
            key=self._key(resource),
            address=f"labelled/{resource.server_id}",
            ownership=ownership_of(resource.labels),
            state=resource.state,
            source=resource.source,
            source_key=resource.source_key,
            fields={"spec.displayName": resource.display_name, "spec.description": resource.description},
            hyperparameters=resource.hyperparameters,
            superseded=superseded,
            evaluation={key: resource.labels[key] for key in ("digest", "score", "held") if key in resource.labels},
            handle=resource.server_id,
        )

    def _current(self) -> dict[str, LiveModel]:
        """The newest resource of each key is its current model (server ids grow);
        the newest tested one serves, and the others are superseded."""
        by_key: dict[str, list[Resource]] = {}
        for server_id in sorted(self.resources):
            by_key.setdefault(self._key(self.resources[server_id]), []).append(self.resources[server_id])
        current = {}
        for key, resources in by_key.items():
            tested = [r for r in resources if r.labels.get("untested") != "true" and r.state is LiveState.ACTIVE]
            serving = (tested or resources)[-1]
            superseded = tuple(r.server_id for r in resources[:-1] if r is not serving)
            current[key] = self._live(resources[-1], superseded)
        return current

    def observe(self, desired: Desired) -> Observed:
        return self.observe_models()(desired)

    def observe_models(self, *, progress: bool = False) -> Callable[[Desired], Observed]:
        models = tuple(self._current().values())
        return lambda desired: Observed(models=models)

    def find(self, key: str) -> LiveModel | None:
        return self._current().get(key)

    # --- actions ------------------------------------------------------------------

    def create(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        spec = model.manifest.spec
        resource = Resource(
            server_id=next(self._ids),
            display_name=spec.display_name or "",
            description=spec.description,
            source=spec.source,
            source_key=spec.source_id,
            hyperparameters=spec.hyperparameters.as_sent(),
            labels=labels_for(model, untested=bool(spec.smoke_tests)),
            polls_left=self.polls_per_run,
        )
        self.resources[resource.server_id] = resource
        self.events.append(("create", resource.server_id))
        return self._wait_for(resource, waiter)

    def wait(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        live = self.find(model.id)
        if live is None:
            raise ChangeFailed(f"{model.id} is gone")
        return self._wait_for(self.resources[live.handle], waiter)

    def _wait_for(self, resource: Resource, waiter: Waiter) -> Tuned:
        def look(_elapsed: float) -> bool:
            self.events.append(("poll", resource.server_id))
            if resource.polls_left > 0:
                resource.polls_left -= 1
                return False
            resource.state = LiveState.ACTIVE
            return True

        waiter.poll(look, f"run {resource.server_id}")
        return Tuned((0.5, 0.25))

    def mark_tested(self, model: DesiredModel, evaluation: Mapping[str, str] | None = None) -> None:
        self.update(model, ("labels",))
        if evaluation:
            self.record_evaluation(model, evaluation)

    def hold(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        """The candidate keeps its `untested` label, so it never serves."""
        self.record_evaluation(model, {**evaluation, "held": "true"})

    def record_evaluation(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        live = self.find(model.id)
        assert live is not None
        self.events.append(("record_evaluation", live.handle))
        self.resources[live.handle].labels.update(evaluation)

    def update(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        live = self.find(model.id)
        assert live is not None
        resource = self.resources[live.handle]
        self.events.append(("update", resource.server_id))
        if "display_name" in update_mask:
            resource.display_name = model.manifest.spec.display_name or ""
        if "description" in update_mask:
            resource.description = model.manifest.spec.description
        if "labels" in update_mask:
            resource.labels = labels_for(model, untested=untested)

    def delete(self, live: LiveModel, waiter: Waiter) -> None:
        for server_id in [s for s, r in self.resources.items() if self._key(r) == live.key]:
            self.events.append(("delete", server_id))
            self.resources.pop(server_id)

    def remove_superseded(self, live: LiveModel, waiter: Waiter) -> None:
        for server_id in live.superseded:
            self.events.append(("delete", server_id))
            self.resources.pop(server_id, None)

    def forget(self, live: LiveModel) -> None:
        self.resources[live.handle].labels = {}

    def adopt(self, model: DesiredModel, live_key: str | None = None) -> LiveModel:
        live = self.find(model.id)
        if live is None or live.ownership is not None:
            raise CannotAdopt(f"{model.id}: nothing to adopt")
        self.resources[live.handle].labels = labels_for(model)
        return live

    def generate(self, key: str, base_model: str, text: str) -> str:
        return text.upper()

    def generate_serving(self, key: str, base_model: str, text: str) -> str:
        return text.upper()

    def grant(self, key: str, grant: PermissionChange) -> None:
        raise ChangeFailed("no grants here")

    update_grant = revoke = grant

    def export(self, keys: Collection[str] = ()) -> dict[str, dict[str, Any]]:
        return {}

    def close(self) -> None:
        pass
