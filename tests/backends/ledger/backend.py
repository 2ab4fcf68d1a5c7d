"""The ledger backend: every model is one entry of a JSON file (`ledger.file`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import Field

from reconciler.apply.backend import CannotAdopt, Tuned
from reconciler.apply.waiting import Waiter
from reconciler.loader.checks import BackendChecks
from reconciler.loader.limits import DatasetLimits
from reconciler.model.desired import Desired, DesiredModel
from reconciler.model.errors import UserError
from reconciler.model.live import LiveModel, Observed
from reconciler.model.manifest import Strict, TunedModelManifest
from reconciler.model.ownership import Ownership, gated, ownership_for
from reconciler.model.settings import Settings
from reconciler.model.shards import Shards, one_shard
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder
from reconciler.plan.types import PermissionChange

NAME = "ledger"
RULES = PlanRules(
    mutable_fields=(
        MutableField("spec.displayName", "displayName"),
        MutableField("spec.description", "description"),
    ),
    marker_mask="ownership",
    no_marker="it has no ownership entry",
    tuning=TuningDefaults(epoch_count=3, batch_size=4),
    replace_order=ReplaceOrder.DESTROY_FIRST,
    address_template=NAME + "/{key}",
    backend=NAME,
)
LIMITS = DatasetLimits(service="the ledger", min_examples=1)


class LedgerSettings(Strict):
    """The `ledger:` block: the file the service keeps its models in."""

    file: str = Field(description="The ledger's JSON file, relative to the working folder.")


def manifest_problems(manifest: TunedModelManifest) -> Iterable[tuple[tuple[str, ...], str]]:
    if manifest.spec.hyperparameters.batch_size is not None:
        yield ("spec", "hyperparameters", "batchSize"), "the ledger chooses the batch size itself"


class LedgerBackend:
    name = NAME
    rules = RULES
    settings_block = LedgerSettings
    settings_inline = False
    secret_variables = ("LEDGER_TOKEN",)
    target_block = None
    manifest_problems = staticmethod(manifest_problems)

    def __init__(self, path: Path) -> None:
        self.path = path

    # --- before connecting ------------------------------------------------------------

    @classmethod
    def checks(cls, settings: Settings) -> BackendChecks:
        return BackendChecks(manifest_problems, LIMITS)

    @classmethod
    def shards(cls, settings: Settings) -> Shards:
        return one_shard(settings, "ledger", "the ledger file")

    @classmethod
    def emulator_fixtures(cls, settings: Settings) -> Mapping[str, Any]:
        return {}

    @classmethod
    def connect(
        cls, settings: Settings, *, emulator: str | None = None, env: Mapping[str, str] | None = None
    ) -> LedgerBackend:
        block = settings.block()
        if not isinstance(block, LedgerSettings):
            raise UserError("backend: ledger needs a `ledger:` block")
        return cls(Path(block.file))

    def describe_target(self) -> str:
        return f"the ledger in {self.path}"

    def close(self) -> None:
        pass

    # --- the service: a JSON file -------------------------------------------------------

    def _entries(self) -> dict[str, dict[str, Any]]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        self.path.write_text(json.dumps(entries, indent=2, sort_keys=True))

    def _change(self, key: str, **values: Any) -> None:
        entries = self._entries()
        entries[key].update(values)
        self._write(entries)

    def _live(self, key: str, entry: Mapping[str, Any]) -> LiveModel:
        marker = entry.get("ownership")
        return LiveModel(
            key=key,
            address=RULES.address(key),
            ownership=None if marker is None else Ownership(**marker),
            source=entry["source"],
            base_model=entry["baseModel"],
            fields={"spec.displayName": entry["displayName"], "spec.description": entry["description"]},
            hyperparameters=entry["hyperparameters"],
            create_time=entry["createTime"],
            evaluation=entry.get("evaluation", {}),
        )

    # --- observe -------------------------------------------------------------------------

    def observe(self, desired: Desired) -> Observed:
        return self.observe_models()(desired)

    def observe_models(self, *, progress: bool = False) -> Callable[[Desired], Observed]:
        models = tuple(self._live(key, entry) for key, entry in self._entries().items())
        return lambda desired: Observed(models=models)

    def find(self, key: str) -> LiveModel | None:
        entry = self._entries().get(key)
        return None if entry is None else self._live(key, entry)

    # --- actions -----------------------------------------------------------------------

    def create(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        entries = self._entries()
        if model.id in entries:  # an earlier, interrupted apply made it
            return Tuned(found=True)
        spec = model.manifest.spec
        entries[model.id] = {
            "displayName": spec.display_name,
            "description": spec.description,
            "source": spec.source,
            "baseModel": spec.base_model or "",
            "hyperparameters": spec.hyperparameters.as_sent(),
            "createTime": f"{len(entries):04d}",
            "ownership": asdict(ownership_for(model, untested=gated(model))),
        }
        self._write(entries)
        return Tuned()

    def wait(self, model: DesiredModel, waiter: Waiter) -> Tuned:
        return Tuned(found=True)

    def update(self, model: DesiredModel, update_mask: tuple[str, ...], *, untested: bool = False) -> None:
        spec = model.manifest.spec
        values = {"displayName": spec.display_name, "description": spec.description}
        changed: dict[str, Any] = {mask: values[mask] for mask in update_mask if mask in values}
        if RULES.marker_mask in update_mask:
            changed["ownership"] = asdict(ownership_for(model, untested=untested))
        self._change(model.id, **changed)

    def mark_tested(self, model: DesiredModel, evaluation: Mapping[str, str] | None = None) -> None:
        self._change(model.id, ownership=asdict(ownership_for(model)), evaluation=dict(evaluation or {}))

    def hold(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        self._change(model.id, evaluation=dict(evaluation))

    def record_evaluation(self, model: DesiredModel, evaluation: Mapping[str, str]) -> None:
        self._change(model.id, evaluation=dict(evaluation))

    def delete(self, live: LiveModel, waiter: Waiter) -> None:
        entries = self._entries()
        entries.pop(live.key, None)
        self._write(entries)

    def remove_superseded(self, live: LiveModel, waiter: Waiter) -> None:
        pass  # it deletes before a replace: nothing is ever superseded

    def forget(self, live: LiveModel) -> None:
        self._change(live.key, ownership=None)

    def adopt(self, model: DesiredModel, live_key: str | None = None) -> LiveModel:
        live = self.find(live_key or model.id)
        if live is None or live.ownership is not None or live.key != model.id:
            raise CannotAdopt(f"{RULES.address(model.id)}: no unmanaged model of that id")
        self._change(model.id, ownership=asdict(ownership_for(model)))
        return live

    def generate(self, key: str, base_model: str, text: str) -> str:
        return text  # the ledger's models answer with what they are asked

    def generate_serving(self, key: str, base_model: str, text: str) -> str:
        return text

    def grant(self, key: str, grant: PermissionChange) -> None:
        raise UserError("the ledger has no permissions")

    update_grant = revoke = grant

    def export(self, keys: Collection[str] = ()) -> dict[str, dict[str, Any]]:
        entries = self._entries()
        return {key: {"metadata": {"name": key}} for key in entries if not keys or key in keys}
