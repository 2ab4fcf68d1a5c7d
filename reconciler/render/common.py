"""What every renderer says the same way: symbols, verbs, values and the lines
that describe one change. Pure functions of plan values."""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan.types import Action, Change, Estimate, Plan, Totals

SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.FORGET: "~",
    Action.IMPORT: "<=",
    Action.WAIT: "...",
    Action.VERIFY: "?",
    Action.NOOP: "=",
    Action.PERMISSION_ADD: "+",
    Action.PERMISSION_UPDATE: "~",
    Action.PERMISSION_REMOVE: "-",
}

VERBS = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.REPLACE: "must be replaced (re-tuned)",
    Action.DELETE: "will be deleted",
    Action.FORGET: "will be forgotten (left live, no longer managed)",
    Action.IMPORT: "will be imported (adopted as it is, not re-tuned)",
    Action.WAIT: "is still being created",
    Action.VERIFY: "will be smoke-tested again (not re-tuned)",
    Action.NOOP: "is up to date",
}

# The order the counts are listed in, after the model actions of the summary line.
EXTRA_COUNTS = (
    (Action.FORGET, "to forget"),
    (Action.IMPORT, "to import"),
    (Action.WAIT, "still creating"),
    (Action.VERIFY, "to smoke-test again"),
    (Action.NOOP, "unchanged"),
)


def value_text(value: Any, limit: int | None = None) -> str:
    """A field value as JSON (so strings show their quotes and escapes)."""
    if value is None:
        return "(unset)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if limit is not None and len(text) > limit:
        return f"{text[:limit]}... ({len(text) - limit} more characters)"
    return text


def subject(plan: Plan, change: Change) -> str:
    """What the change is about: the model, or one grant on it."""
    name = plan.address(change.model_id)
    permission = change.permission
    if permission is None:
        return name
    grantee = f"{permission.grantee_type} {permission.email_address}".rstrip()
    roles = [role for role in (permission.role_before, permission.role_after) if role]
    return f"{name} grant {' -> '.join(roles)} to {grantee}"


def headline(plan: Plan, change: Change) -> str:
    name = plan.address(change.model_id)
    if change.action.is_permission:
        return f"{name}: {change.reason}"
    return f"{name} {VERBS[change.action]}: {change.reason}"


def estimate_text(estimate: Estimate) -> str:
    return (
        f"{estimate.examples:,} examples, ~{estimate.tokens:,} training tokens, "
        f"{estimate.total_steps:,} steps "
        f"({estimate.epochs} epochs, batch size {estimate.batch_size})"
    )


def totals_text(totals: Totals) -> str:
    runs = "run" if totals.models == 1 else "runs"
    return (
        f"{totals.models} tuning {runs}: {totals.examples:,} examples, "
        f"~{totals.tokens:,} training tokens, {totals.total_steps:,} steps"
    )


def detail_lines(plan: Plan, change: Change, value_limit: int | None = None) -> list[str]:
    """The indented lines under a change's symbol line: diffs, mask, order, cost."""
    lines = [
        f"~ {diff.path}: {value_text(diff.before, value_limit)} -> "
        f"{value_text(diff.after, value_limit)}"
        for diff in change.diffs
    ]
    if change.update_mask:
        lines.append(f"updateMask: {','.join(change.update_mask)}")
    if change.depends_on:
        lines.append("after: " + ", ".join(plan.address(m) for m in change.depends_on))
    if change.estimate is not None:
        lines.append("estimate: " + estimate_text(change.estimate))
    return lines


def extra_counts(plan: Plan) -> list[str]:
    """Counts the Terraform-style summary line does not carry, when not zero
    (joined with "; " by the renderers)."""
    summary = plan.summary
    parts = [f"{summary[action]:,} {label}" for action, label in EXTRA_COUNTS if summary[action]]
    grants = (summary[Action.PERMISSION_ADD], summary[Action.PERMISSION_UPDATE],
              summary[Action.PERMISSION_REMOVE])
    if any(grants):
        parts.append("grants: {} to add, {} to change, {} to remove".format(*grants))
    if plan.unmanaged_count:
        parts.append(f"{plan.unmanaged_count:,} unmanaged left alone")
    return parts


def listed_changes(plan: Plan) -> list[Change]:
    """The changes worth a block of their own: everything but no-ops."""
    return [change for change in plan.changes if change.action is not Action.NOOP]
