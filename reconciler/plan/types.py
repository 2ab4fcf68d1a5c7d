"""The Plan and its parts: frozen pydantic values, so a plan is data that
serializes to a file and back unchanged.

`Change.reason` only explains; apply decides from `Change.action` alone.
"""

from __future__ import annotations

import json
from collections import Counter
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_serializer, field_validator

from reconciler.model.compact import Compact
from reconciler.model.errors import UserError
from reconciler.plan.rules import ReplaceOrder

# The minor grows when fields are added, the major for any other change. A
# saved plan must be executed exactly, so a reader refuses a plan with fields it
# does not know (a newer minor) as well as another major.
# 1.1: address_template; 1.2: blocked, the verify action, Change.to_default, replace_order; 1.3: backend, serving;
# 1.4: the clean_up action; 1.5: the evaluate action (docs/promotion-gates.md) and notices; 1.6: Change.gate
# 1.7: measured estimates and their upper bound (Estimate.measured, tokens_per_pass, tokens_upper)
# 1.8: the training cost where the backend knows a price (Estimate.usd_per_1k_tokens, cost_usd;
# Totals.cost_usd, priced_models)
FORMAT_VERSION = "1.9"
# Keys render_json adds to the saved form; a saved plan may carry them.
DERIVED_KEYS = ("summary", "has_changes", "has_errors", "in_sync")


class PlanValue(Compact):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"  # a new tuning run in place of the live model (order: PlanRules.replace_order)
    DELETE = "delete"
    FORGET = "forget"  # remove the ownership marker, leave the model live
    IMPORT = "import"  # write the ownership marker onto a live model an exported manifest describes
    WAIT = "wait"  # still CREATING from an earlier run: never create it twice
    VERIFY = "verify"  # run smoke tests that have not passed yet (failed, skipped, interrupted)
    CLEAN_UP = "clean_up"  # remove earlier models of the id that serve nobody (a replace that stopped)
    EVALUATE = "evaluate"  # score the model serving on a changed evaluation, record it; never tunes or deletes
    NOOP = "noop"
    PERMISSION_ADD = "permission_add"
    PERMISSION_UPDATE = "permission_update"
    PERMISSION_REMOVE = "permission_remove"

    @property
    def is_change(self) -> bool:
        """Whether apply would change anything live (waiting and no-ops do not)."""
        return self not in (Action.WAIT, Action.NOOP)

    @property
    def is_permission(self) -> bool:
        return self.value.startswith("permission_")


class FieldDiff(PlanValue):
    """One field's value before (live) and after (manifest); None means unset."""

    path: str
    before: Any = None
    after: Any = None


class Estimate(PlanValue):
    """What a tuning run costs: see docs/plan-json.md for the formulas."""

    examples: int
    tokens: int  # estimated training tokens: dataset tokens x epochs
    total_steps: int  # ceil(examples * epochs / batch size)
    epochs: int
    batch_size: int | None = None  # None where the service has no batch size (Vertex AI)
    # From the figures the service reported for a run on the same dataset
    # (tokens a pass x epochs), rather than characters / 4.
    measured: bool = False
    tokens_per_pass: int = 0
    # What a budget counts: `tokens` when measured, else the estimate's upper bound.
    tokens_upper: int = 0
    # The backend's training price for the base model (PlanRules.training_price),
    # and `tokens` at that price: an estimate, None where no price is known.
    usd_per_1k_tokens: float | None = None
    cost_usd: float | None = None


class GatePlan(PlanValue):
    """The promotion gate a create or replace must pass (docs/promotion-gates.md):
    thresholds, counts and digests only, never an example or an answer."""

    metric: str
    at_least: float | None = None
    not_worse_than: str | None = None  # "live"
    tolerance: float = 0.0
    on_failure: str = "hold"
    examples: int  # in the evaluation set
    digest: str  # the evaluation digest the decision will be recorded under
    # The live model's last recorded score on the gate metric (the one serving,
    # not a candidate beside it), and the evaluation digest it was recorded under.
    live_score: float | None = None
    live_digest: str | None = None
    # False where a replace deletes the old model before creating the new one
    # (the Gemini API): a failed gate cannot keep it.
    old_model_kept: bool = True


class Totals(PlanValue):
    models: int = 0  # tuning runs: creates plus replaces
    examples: int = 0
    tokens: int = 0
    total_steps: int = 0
    tokens_upper: int = 0  # the sum a budget counts (see Estimate.tokens_upper)
    # The sum of the estimates that have a cost, and how many do (None, 0: none).
    cost_usd: float | None = None
    priced_models: int = 0
    # reconciler.yaml's budget, for the PR comment (None: no limit)
    max_training_tokens: int | None = None
    max_training_tokens_per_model: int | None = None


def _absent_as_none(value: Any) -> Any:
    """The JSON convention: null where a value is absent, never an empty string."""
    return None if value == "" else value


class PermissionChange(PlanValue):
    grantee_type: str  # USER | GROUP | EVERYONE
    email_address: str | None = None  # None for EVERYONE
    role_before: str | None = None
    role_after: str | None = None
    name: str | None = None  # the live permission's resource name (update, remove)

    _email = field_validator("email_address", mode="before")(_absent_as_none)


class Change(PlanValue):
    action: Action
    model_id: str
    reason: str
    paths: tuple[str, ...] = ()  # the manifest field paths that drove the action
    diffs: tuple[FieldDiff, ...] = ()
    update_mask: tuple[str, ...] = ()
    # The paths of `diffs` the manifest leaves out: they go back to the
    # backend's default (the base model's), which is their `after`.
    to_default: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()  # model ids whose changes must finish first
    estimate: Estimate | None = None
    gate: GatePlan | None = None  # a create or replace with spec.evaluation
    permission: PermissionChange | None = None
    file: str | None = None  # the manifest, when there is one


class PlanError(PlanValue):
    """A problem that makes the plan unsafe to apply, with what to do about it."""

    model_id: str | None
    message: str
    hint: str | None = None

    _hint = field_validator("hint", mode="before")(_absent_as_none)


class PlanOptions(PlanValue):
    prune: bool = False
    # Limit the plan to these ids and the models they are tuned from.
    targets: frozenset[str] | None = None

    @field_serializer("targets")
    def _sorted_targets(self, targets: frozenset[str] | None) -> list[str] | None:
        return None if targets is None else sorted(targets)


class ObservedModel(PlanValue):
    """The live state one model had when the plan was made (for stale-plan checks)."""

    model_id: str
    update_time: str
    model_digest: str
    permissions_digest: str


class Summary(PlanValue):
    counts: dict[Action, int]

    def __getitem__(self, action: Action) -> int:
        return self.counts.get(action, 0)

    def line(self) -> str:
        """Terraform's line: imports first, forgets last, each only when there are any."""
        parts = [f"{self[Action.IMPORT]} to import"] if self[Action.IMPORT] else []
        parts += [
            f"{self[Action.CREATE]} to create",
            f"{self[Action.UPDATE]} to update",
            f"{self[Action.REPLACE]} to replace",
            f"{self[Action.DELETE]} to delete",
        ]
        if self[Action.FORGET]:
            parts.append(f"{self[Action.FORGET]} to forget")
        return "Plan: " + ", ".join(parts) + "."


class PlanShard(PlanValue):
    """The shard a plan is of (reconciler/model/shards.py): a saved plan applies to it alone."""

    key: str
    label: str


class Plan(PlanValue):
    format_version: str = FORMAT_VERSION
    # How people address a model of the backend planned for (the Gemini
    # resource name), so a saved plan renders without knowing the backend.
    address_template: str = "{key}"
    # How the backend replaces: destroy-first leaves the id answering nothing
    # until the new run ends, which the plan tells before a replace.
    replace_order: ReplaceOrder = ReplaceOrder.DESTROY_FIRST
    backend: str = ""  # which backend planned it ("" in plans older than 1.3)
    # The shard planned, where the repository has several targets or the run
    # named one (1.9); None: the repository's one target.
    shard: PlanShard | None = None
    # What callers use to reach each live model, where the backend serves it
    # apart from the model (Vertex AI: its Model and Endpoint), by model id.
    # A replace there changes the endpoint: the new one is known after apply.
    serving: dict[str, dict[str, str]] = Field(default_factory=dict)
    options: PlanOptions = PlanOptions()
    changes: tuple[Change, ...] = ()  # in the order apply must follow
    errors: tuple[PlanError, ...] = ()
    # Models this plan leaves as they are because what they need is not the
    # reconciler's to change (an unmanaged model in the way, a protected model
    # without a manifest); the rest of the plan still applies.
    blocked: tuple[PlanError, ...] = ()
    notes: tuple[str, ...] = ()
    # What needs a person although no apply changes it (a base model that
    # retires soon): out of sync until acted on, as the drift check reports.
    notices: tuple[str, ...] = ()
    unmanaged_count: int = 0
    would_delete: tuple[str, ...] = ()  # managed, no manifest, kept because prune is off
    would_forget: tuple[str, ...] = ()  # the same, with deletionPolicy Orphan
    totals: Totals = Totals()
    desired_digest: str = ""
    observed_digest: str = ""
    observed_models: tuple[ObservedModel, ...] = ()

    @property
    def summary(self) -> Summary:
        return Summary(counts=dict(Counter(change.action for change in self.changes)))

    @property
    def has_changes(self) -> bool:
        return any(change.action.is_change for change in self.changes)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors)

    @property
    def replace_outage(self) -> bool:
        return self.replace_order is ReplaceOrder.DESTROY_FIRST

    @property
    def needs_pruning(self) -> tuple[str, ...]:
        """Managed models no manifest describes that this plan leaves alone
        (prune is off): out of sync all the same, as Argo CD's "requires pruning"."""
        return (*self.would_delete, *self.would_forget)

    @property
    def in_sync(self) -> bool:
        """Whether the live models match the manifests: nothing to change, nothing
        to prune, nothing blocked, no notice to act on (a model still being
        created is on its way, not drift)."""
        return not (self.has_changes or self.needs_pruning or self.has_errors or self.blocked or self.notices)

    def address(self, model_id: str) -> str:
        return self.address_template.format(key=model_id)

    def changes_for(self, model_id: str) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.model_id == model_id)

    def to_file(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def from_file(cls, path: str | Path) -> Plan:
        """Read a saved plan (or a `--output json` plan); bad files are a UserError."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"{path}: cannot read the saved plan: {exc}") from None
        return cls.from_data(data, str(path))

    @classmethod
    def from_data(cls, data: Any, source: str = "plan") -> Plan:
        if not isinstance(data, dict):
            raise UserError(f"{source}: a saved plan is a JSON object")
        version = str(data.get("format_version", ""))
        if version.split(".")[0] != FORMAT_VERSION.split(".")[0]:
            raise UserError(
                f"{source}: plan format_version {version or '(none)'} is not readable "
                f"by this reconciler (reads {FORMAT_VERSION}); make the plan again"
            )
        saved = {key: value for key, value in data.items() if key not in DERIVED_KEYS}
        try:
            return cls.model_validate(saved)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise UserError(f"{source}: not a valid saved plan: {where}: {first['msg']}") from None


def save_plan(plan: Plan, path: str | Path) -> None:
    plan.to_file(path)


def load_plan(path: str | Path) -> Plan:
    return Plan.from_file(path)
