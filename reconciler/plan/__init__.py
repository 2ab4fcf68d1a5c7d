"""plan layer: the pure diff between Desired and Observed, the Plan types, and
ownership (the description trailer) and fingerprints.

Public surface: `plan`, the types, saved-plan helpers and the trailer functions.
"""

from reconciler.plan.ownership import (
    Ownership,
    adopt,
    description_with_trailer,
    parse_ownership,
    strip_trailer,
    trailer_for,
    user_description,
)
from reconciler.plan.planner import plan
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
    "Ownership",
    "PermissionChange",
    "Plan",
    "PlanError",
    "PlanOptions",
    "Summary",
    "Totals",
    "adopt",
    "compare_saved",
    "description_with_trailer",
    "load_plan",
    "observed_digest",
    "parse_ownership",
    "plan",
    "save_plan",
    "strip_trailer",
    "trailer_for",
    "user_description",
]
