"""The plan as a pull-request comment.

Always visible: the summary line, the errors, and every replace and delete;
the rest is folded in <details>. The comment stays under `limit` characters
(GitHub's 65,536) for any plan size: sections are filled in that order of
importance, and each says how many items it had to leave out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from reconciler.plan.types import Action, Change, Plan, PlanError
from reconciler.render.common import (
    budget_text,
    detail_lines,
    endpoint_change,
    extra_counts,
    headline,
    listed_changes,
    plan_headline,
    plural,
    subject,
    summary_line,
    symbol,
    totals_text,
)

GITHUB_COMMENT_LIMIT = 65536
# Long values (descriptions have no documented limit) are cut in the comment.
VALUE_LIMIT = 300
# Room kept for the closing of the folded section and the final line.
_CLOSING_RESERVE = 400
_DESTRUCTIVE = (Action.REPLACE, Action.DELETE)
_FULL_PLAN = "run `reconciler plan` (or see the JSON plan) for all of it"


def code(text: str) -> str:
    """An inline code span that survives backticks in the text."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fenced(lines: list[str]) -> str:
    body = "\n".join(lines)
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}diff\n{body}\n{fence}\n\n"


def _fit(items: list[str], budget: int, cut_notice: Callable[[int], str]) -> tuple[list[str], int]:
    """The items that fit in `budget` characters, plus a notice of how many did
    not; returns them with the characters used."""
    taken: list[str] = []
    used = 0
    reserve = len(cut_notice(len(items)))
    for index, item in enumerate(items):
        if used + len(item) + reserve > budget:
            notice = cut_notice(len(items) - index)
            return [*taken, notice], used + len(notice)
        taken.append(item)
        used += len(item)
    return taken, used


def _error_item(error: PlanError) -> str:
    hint = f" _Fix:_ {error.hint.rstrip('.')}." if error.hint else ""
    return f"> - {error.message.rstrip('.')}.{hint}\n"


def _destructive_item(plan: Plan, change: Change) -> str:
    """A replace or delete, always shown: a replace says when callers' endpoint changes."""
    moved = ""
    if endpoint_change(plan, change):
        endpoint = plan.serving[change.model_id]["endpoint"]
        moved = f"; **the endpoint changes**: {code(endpoint)} -> a new one, known after apply"
    return f"- {code(symbol(plan, change))} {code(plan.address(change.model_id))}: {change.reason}{moved}\n"


def _details_item(plan: Plan, change: Change) -> str:
    lines = [f"# {headline(plan, change)}", f"{symbol(plan, change)} {subject(plan, change)}"]
    lines += ["    " + line for line in detail_lines(plan, change, VALUE_LIMIT)]
    return _fenced(lines)


def _cut(noun: str) -> Callable[[int], str]:
    def notice(count: int) -> str:
        return (
            f"\n_... {count:,} more {noun} not shown: the comment is limited to "
            f"{GITHUB_COMMENT_LIMIT:,} characters; {_FULL_PLAN}._\n"
        )

    return notice


def _facts(plan: Plan) -> str:
    lines = []
    if plan.totals.models:
        lines.append(f"**Cost:** {totals_text(plan.totals)}.")
        if budget_text(plan.totals):
            lines.append(f"**Budget:** {budget_text(plan.totals)}.")
    extras = extra_counts(plan)
    if extras:
        lines.append("**Also:** " + "; ".join(extras) + ".")
    kept = len(plan.needs_pruning)
    if kept:
        lines.append(
            f"**Out of sync, prune is off:** {plural(kept, 'managed model')} without a manifest "
            "kept (requires pruning)."
        )
    return "".join(line + "\n\n" for line in lines)


def _errors_section(plan: Plan, budget: int) -> str:
    title = f"{plural(len(plan.errors), 'error')}: this plan cannot be applied."
    return _alert("CAUTION", title, plan.errors, budget, "errors")


def _blocked_section(plan: Plan, budget: int) -> str:
    title = f"{len(plan.blocked)} blocked: left as they are; the rest of the plan applies."
    return _alert("WARNING", title, plan.blocked, budget, "blocked models")


def _notices_section(plan: Plan, budget: int) -> str:
    """Notices before the details: the PR comment and the drift issue never fold them away."""
    if not plan.notices:
        return ""
    head = f"> [!WARNING]\n> **{plural(len(plan.notices), 'notice')} to act on (apply changes nothing):**\n>\n"
    items, _ = _fit([f"> - {notice}\n" for notice in plan.notices], budget - len(head), _cut("notices"))
    return head + "".join(items) + "\n"


def _alert(kind: str, title: str, errors: tuple[PlanError, ...], budget: int, noun: str) -> str:
    """A GitHub alert box listing `errors`, cut to the budget; empty when there are none."""
    if not errors:
        return ""
    head = f"> [!{kind}]\n> **{title}**\n>\n"
    items, _ = _fit([_error_item(e) for e in errors], budget - len(head), _cut(noun))
    return head + "".join(items) + "\n"


def _destructive_section(plan: Plan, budget: int) -> str:
    changes = [c for c in plan.changes if c.action in _DESTRUCTIVE]
    if not changes:
        return ""
    head = f"**Replaces and deletes ({len(changes):,}):**\n\n"
    items, _ = _fit([_destructive_item(plan, c) for c in changes], budget - len(head), _cut("replaces and deletes"))
    return head + "".join(items) + "\n"


def _details_section(plan: Plan, budget: int) -> str:
    changes = listed_changes(plan)
    if not changes:
        return ""
    head = f"<details><summary>Details of {plural(len(changes), 'change')}</summary>\n\n"
    tail = "\n</details>\n"
    items, _ = _fit([_details_item(plan, c) for c in changes], budget - len(head) - len(tail), _cut("changes"))
    return head + "".join(items) + tail


def _kept_section(plan: Plan, budget: int) -> str:
    kept = [f"- {code(plan.address(m))} (would delete)\n" for m in plan.would_delete]
    kept += [f"- {code(plan.address(m))} (would forget)\n" for m in plan.would_forget]
    if not kept:
        return ""
    head = "<details><summary>Kept because prune is off</summary>\n\n"
    tail = "\n</details>\n"
    items, _ = _fit(kept, budget - len(head) - len(tail), _cut("models"))
    return head + "".join(items) + tail


def render_markdown(plan: Plan, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    title = f"**Shard:** `{plan.shard.key}` ({plan.shard.label})\n\n" if plan.shard is not None else ""
    title += f"### {summary_line(plan)}\n\n"
    if not listed_changes(plan) and not plan.has_errors:
        title += plan_headline(plan) + "\n\n"
    notes = "".join(f"> [!NOTE]\n> {note}\n\n" for note in plan.notes[:5])
    text = title + _facts(plan)
    budget = limit - len(text) - _CLOSING_RESERVE
    # Errors may take half of what is left, so the deletes always have room.
    text += _errors_section(plan, budget // 2)
    text += _blocked_section(plan, (limit - len(text) - _CLOSING_RESERVE) // 2)
    text += _notices_section(plan, (limit - len(text) - _CLOSING_RESERVE) // 2)
    for section in (_destructive_section, _details_section, _kept_section):
        text += section(plan, limit - len(text) - len(notes) - _CLOSING_RESERVE)
    return text + notes
