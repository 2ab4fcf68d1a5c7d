"""What every renderer says the same way: symbols, verbs, values and the lines
that describe one change. Pure functions of plan values."""

from __future__ import annotations

import json
from typing import Any

from reconciler.plan.types import Action, Change, Estimate, GatePlan, Plan, Totals

SYMBOLS = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.FORGET: "~",
    Action.IMPORT: "<=",
    Action.WAIT: "...",
    Action.VERIFY: "?",
    Action.CLEAN_UP: "-",
    Action.EVALUATE: "?",
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
    Action.CLEAN_UP: "keeps serving; its superseded models will be deleted",
    Action.EVALUATE: "keeps serving; it will be scored on its changed evaluation",
    Action.NOOP: "is up to date",
}

# Terraform's create_before_destroy: the new model is made, then the old one
# removed (Vertex AI: the server names the new one, the old one serves meanwhile).
CREATE_FIRST_SYMBOL = "+/-"

NO_CHANGES = "No changes. The live models match the manifests."
# What a replace costs on a backend that frees the id first: nothing answers
# under it from the delete until the new run ends.
REPLACE_OUTAGE = (
    "the model answers nothing from the delete until the new tuning run ends, which can take "
    "hours; set lifecycle.preventDestroy to refuse replaces"
)

# The order the counts are listed in, after the model actions of the summary line.
EXTRA_COUNTS = (
    (Action.WAIT, "still creating"),
    (Action.VERIFY, "to smoke-test again"),
    (Action.CLEAN_UP, "to clean up"),
    (Action.EVALUATE, "to evaluate"),
    (Action.NOOP, "unchanged"),
)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 error`, `2 errors` (`many` for irregular plurals)."""
    return f"{count:,} {noun if count == 1 else (many or noun + 's')}"


def shard_line(plan: Plan) -> str:
    """Which shard a plan is of (a repository with several targets, or `--shard`)."""
    return f"Shard {plan.shard.key} ({plan.shard.label})" if plan.shard is not None else ""


def plan_headline(plan: Plan) -> str:
    """The first thing said about a plan: it failed, it changes something, only
    pruning is pending, or the live models match. Never a match above errors or
    next to models that would be pruned."""
    if plan.has_errors:
        return summary_line(plan)
    if listed_changes(plan):
        return "reconciler will perform the following actions:"
    if plan.blocked:
        return f"Out of sync: {plural(len(plan.blocked), 'model')} blocked (below); nothing else changes."
    if plan.needs_pruning:
        return (
            f"Out of sync: {plural(len(plan.needs_pruning), 'managed model')} without a manifest "
            "(requires pruning); prune is off, so nothing changes."
        )
    if plan.notices:
        return f"Out of sync: {plural(len(plan.notices), 'notice')} to act on (below); apply changes nothing."
    return NO_CHANGES


def summary_line(plan: Plan) -> str:
    """The last line: the counts, or that the plan failed."""
    if not plan.has_errors:
        return plan.summary.line()
    failed = f"Plan failed: {plural(len(plan.errors), 'error')}; nothing can be applied"
    if not plan.has_changes:
        return failed + "."
    return f"{failed} (planned: {plan.summary.line().removeprefix('Plan: ').rstrip('.')})."


def symbol(plan: Plan, change: Change) -> str:
    """The change's symbol; a replace shows its order as Terraform does:
    `-/+` destroys first, `+/-` creates first."""
    if change.action is Action.REPLACE and not plan.replace_outage:
        return CREATE_FIRST_SYMBOL
    return SYMBOLS[change.action]


def endpoint_change(plan: Plan, change: Change) -> str:
    """What a replace does to the endpoint callers use, where the backend serves
    from one: "" when it has none (the Gemini API serves under the model's name)."""
    endpoint = plan.serving.get(change.model_id, {}).get("endpoint")
    if change.action is not Action.REPLACE or not endpoint:
        return ""
    return f"the endpoint changes: {endpoint} -> (new, known after apply; the old one serves until then)"


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
    grantee = f"{permission.grantee_type} {permission.email_address or ''}".rstrip()
    roles = [role for role in (permission.role_before, permission.role_after) if role]
    return f"{name} grant {' -> '.join(roles)} to {grantee}"


def headline(plan: Plan, change: Change) -> str:
    name = plan.address(change.model_id)
    if change.action.is_permission:
        return f"{name}: {change.reason}"
    return f"{name} {VERBS[change.action]}: {change.reason}"


def estimate_text(estimate: Estimate) -> str:
    batch = f", batch size {estimate.batch_size}" if estimate.batch_size is not None else ""
    tokens = (
        f"measured: {estimate.tokens_per_pass:,} tokens a pass x {plural(estimate.epochs, 'epoch')} = "
        f"{estimate.tokens:,} training tokens"
        if estimate.measured
        else f"~{estimate.tokens:,} training tokens (all epochs)"
    )
    cost = f", {dollars(estimate.cost_usd)} {PRICE_NOTE}" if estimate.cost_usd is not None else ""
    return (
        f"{plural(estimate.examples, 'example')}, {tokens}, "
        f"{plural(estimate.total_steps, 'step')} ({plural(estimate.epochs, 'epoch')}{batch}){cost}"
    )


# Where a cost comes from, said every time one is shown: never a quote or a bill.
PRICE_NOTE = "(estimate, from the catalogue's price)"


def dollars(usd: float) -> str:
    """`~$12.34`; a cost that rounds to no cent is `under $0.01`, never `~$0.00`."""
    if 0 < usd < 0.005:
        return "under $0.01"
    return f"~${usd:,.2f}"


def cost_text(totals: Totals) -> str:
    """The plan's training cost where the backend priced its runs; "" where it priced none."""
    if totals.cost_usd is None:
        return ""
    share = "" if totals.priced_models == totals.models else f" for {totals.priced_models} of {totals.models} runs"
    return f", {dollars(totals.cost_usd)}{share} {PRICE_NOTE}"


def _all_measured(totals: Totals) -> bool:
    """Every run's tokens come from figures a run on the same data reported."""
    return totals.tokens_upper == totals.tokens > 0


def budget_text(totals: Totals) -> str:
    """The plan's tokens against reconciler.yaml's budget; "" without one."""
    limits = [
        f"{totals.max_training_tokens:,} a plan" if totals.max_training_tokens else "",
        f"{totals.max_training_tokens_per_model:,} a model" if totals.max_training_tokens_per_model else "",
    ]
    shown = " and ".join(limit for limit in limits if limit)
    if not shown:
        return ""
    bound = "" if totals.tokens_upper == totals.tokens else " (the upper bound of estimates not measured)"
    return f"{totals.tokens_upper:,} training tokens{bound} against a budget of {shown}"


def totals_text(totals: Totals) -> str:
    runs = "run" if totals.models == 1 else "runs"
    return (
        f"{totals.models} tuning {runs}: {plural(totals.examples, 'example')}, "
        f"~{totals.tokens:,} training tokens (all epochs{', measured' if _all_measured(totals) else ''}), "
        f"{plural(totals.total_steps, 'step')}{cost_text(totals)}"
    )


def detail_lines(plan: Plan, change: Change, value_limit: int | None = None) -> list[str]:
    """The indented lines under a change's symbol line: diffs, mask, order, cost."""
    lines = [
        f"~ {diff.path}: {value_text(diff.before, value_limit)} -> "
        f"{value_text(diff.after, value_limit)}" + (" (base model default)" if diff.path in change.to_default else "")
        for diff in change.diffs
    ]
    if change.update_mask:
        lines.append(f"updateMask: {','.join(change.update_mask)}")
    if change.depends_on:
        lines.append("after: " + ", ".join(plan.address(m) for m in change.depends_on))
    if change.estimate is not None:
        lines.append("estimate: " + estimate_text(change.estimate))
    if change.gate is not None:
        lines += gate_lines(change)
    if change.action is Action.REPLACE and plan.replace_outage:
        lines.append("outage: " + REPLACE_OUTAGE)
    endpoint = endpoint_change(plan, change)
    if endpoint:
        lines.append("endpoint: " + endpoint.removeprefix("the endpoint changes: "))
    return lines


def gate_text(gate: GatePlan) -> str:
    """`exactMatch atLeast 0.80, not worse than live - 0.02, on 10 examples
    (evaluation 1a2b3c4d5e6f); on failure: hold`"""
    thresholds = [f"atLeast {gate.at_least:.2f}"] if gate.at_least is not None else []
    if gate.not_worse_than:
        minus = f" - {gate.tolerance:.2f}" if gate.tolerance else ""
        thresholds.append(f"not worse than {gate.not_worse_than}{minus}")
    return (
        f"{gate.metric} {', '.join(thresholds)}, on {plural(gate.examples, 'example')} "
        f"(evaluation {gate.digest}); on failure: {gate.on_failure}"
    )


def live_score_text(gate: GatePlan) -> str:
    """The serving model's last recorded score, and whether it is for this evaluation."""
    if gate.live_score is None:
        return "none recorded"
    same = "this evaluation" if gate.live_digest == gate.digest else f"evaluation {gate.live_digest or 'unknown'}"
    return f"{gate.metric} {gate.live_score:.3f} (recorded for {same})"


# A destroy-first replace cannot keep the old model while the new one is judged.
OLD_MODEL_NOT_KEPT = (
    "the old model cannot be kept: it is deleted before the new one is tuned, so a failed gate leaves "
    "the new model marked untested (the plan shows verify until it passes), not the old one serving"
)


def gate_lines(change: Change) -> list[str]:
    """The promotion gate of a create or replace: thresholds, counts, digests; never an answer."""
    gate = change.gate
    if gate is None:
        return []
    lines = ["gate: " + gate_text(gate)]
    if change.action is Action.REPLACE:
        lines.append("live score: " + live_score_text(gate))
        if not gate.old_model_kept:
            lines.append("gate: " + OLD_MODEL_NOT_KEPT)
    return lines


def extra_counts(plan: Plan) -> list[str]:
    """Counts the Terraform-style summary line does not carry, when not zero
    (joined with "; " by the renderers)."""
    summary = plan.summary
    parts = [f"{summary[action]:,} {label}" for action, label in EXTRA_COUNTS if summary[action]]
    grants = (summary[Action.PERMISSION_ADD], summary[Action.PERMISSION_UPDATE], summary[Action.PERMISSION_REMOVE])
    if any(grants):
        parts.append("grants: {} to add, {} to change, {} to remove".format(*grants))
    if plan.unmanaged_count:
        parts.append(f"{plan.unmanaged_count:,} unmanaged left alone")
    return parts


def listed_changes(plan: Plan) -> list[Change]:
    """The changes worth a block of their own: everything but no-ops."""
    return [change for change in plan.changes if change.action is not Action.NOOP]
