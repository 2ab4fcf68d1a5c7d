"""The plan for a terminal: Terraform-like symbols, colour only when asked.

The CLI decides `colour` (a TTY and no NO_COLOR); this module never looks.
"""

from __future__ import annotations

from reconciler.plan.types import Action, Change, Plan, PlanError
from reconciler.render.common import (
    budget_text,
    detail_lines,
    extra_counts,
    headline,
    listed_changes,
    plan_headline,
    plural,
    shard_line,
    subject,
    summary_line,
    symbol,
    totals_text,
)

_ANSI = {"green": "32", "yellow": "33", "red": "31", "magenta": "35", "cyan": "36", "bold": "1"}
_ACTION_COLOURS = {
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "magenta",
    Action.DELETE: "red",
    Action.FORGET: "yellow",
    Action.IMPORT: "cyan",
    Action.WAIT: "cyan",
    Action.VERIFY: "yellow",
    Action.CLEAN_UP: "red",
    Action.EVALUATE: "cyan",
    Action.NOOP: "cyan",
    Action.PERMISSION_ADD: "green",
    Action.PERMISSION_UPDATE: "yellow",
    Action.PERMISSION_REMOVE: "red",
}
_INDENT = "      "
BLOCKING = "{count}: this plan cannot be applied."
BLOCKED = "{blocked} blocked: left as they are; the rest of the plan applies."


def _paint(text: str, colour: str, enabled: bool) -> str:
    return f"\x1b[{_ANSI[colour]}m{text}\x1b[0m" if enabled else text


def change_block(plan: Plan, change: Change, colour: bool = False) -> list[str]:
    """A comment line saying why, the symbol line, then the details."""
    shown = _paint(f"{symbol(plan, change):>3}", _ACTION_COLOURS[change.action], colour)
    lines = [f"  # {headline(plan, change)}", f"{shown} {subject(plan, change)}"]
    lines += [_INDENT + line for line in detail_lines(plan, change)]
    return lines


def _error_lines(errors: tuple[PlanError, ...], colour: bool, title: str = BLOCKING) -> list[str]:
    lines = [_paint(title.format(count=plural(len(errors), "error"), blocked=len(errors)), "red", colour)]
    for error in errors:
        lines.append(f"  x {error.message}")
        if error.hint:
            lines.append(f"    {error.hint}")
    return lines


def _kept_lines(plan: Plan) -> list[str]:
    lines = []
    if plan.would_delete:
        lines.append("Out of sync, would delete with --prune: " + ", ".join(plan.would_delete))
    if plan.would_forget:
        lines.append("Out of sync, would forget with --prune: " + ", ".join(plan.would_forget))
    return lines


def _footer(plan: Plan, colour: bool) -> list[str]:
    lines = [f"Note: {note}" for note in plan.notes] + [f"Notice: {notice}" for notice in plan.notices]
    lines += _kept_lines(plan)
    if plan.totals.models:
        lines.append("Cost: " + totals_text(plan.totals) + ".")
        if budget_text(plan.totals):
            lines.append("Budget: " + budget_text(plan.totals) + ".")
    extras = extra_counts(plan)
    if extras:
        lines.append("Also: " + "; ".join(extras) + ".")
    if plan.blocked:
        lines += ["", *_error_lines(plan.blocked, colour, BLOCKED)]
    if plan.errors:
        lines += ["", *_error_lines(plan.errors, colour)]
    return lines


def render_text(plan: Plan, colour: bool = False) -> str:
    lines = [_paint(shard_line(plan), "bold", colour), ""] if plan.shard is not None else []
    lines += [_paint(plan_headline(plan), "red", colour) if plan.has_errors else plan_headline(plan), ""]
    for change in listed_changes(plan):
        lines += [*change_block(plan, change, colour), ""]
    footer = _footer(plan, colour)
    if footer:
        lines += [*footer, ""]
    lines.append(_paint(summary_line(plan), "bold", colour))
    return "\n".join(lines) + "\n"
