"""plan layer: the pure diff between Desired and Observed, and the Plan types.

`plan(desired, observed, rules, options)` knows no backend: `PlanRules` says
what it needs to know about the one it plans for.
"""

from reconciler.plan.planner import plan
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder
from reconciler.plan.saved import compare_saved, observed_digest
from reconciler.plan.types import (
    FORMAT_VERSION,
    Action,
    Change,
    Estimate,
    FieldDiff,
    PermissionChange,
    Plan,
    PlanError,
    PlanOptions,
    Summary,
    Totals,
    load_plan,
    save_plan,
)

__all__ = [
    "FORMAT_VERSION",
    "Action",
    "Change",
    "Estimate",
    "FieldDiff",
    "MutableField",
    "PermissionChange",
    "Plan",
    "PlanError",
    "PlanOptions",
    "PlanRules",
    "ReplaceOrder",
    "Summary",
    "Totals",
    "compare_saved",
    "load_plan",
    "observed_digest",
    "plan",
    "save_plan",
]
