"""The pull-request comment stays under GitHub's limit whatever the plan's size,
and says what it had to leave out."""

from __future__ import annotations

import pytest

from reconciler.plan import Action, Change, FieldDiff, Plan, PlanError
from reconciler.render import GITHUB_COMMENT_LIMIT, render_markdown

ACTIONS = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)


def big_plan(changes: int, errors: int = 0) -> Plan:
    return Plan(
        address_template="fake/{key}",
        changes=tuple(
            Change(
                action=ACTIONS[i % len(ACTIONS)],
                model_id=f"model-{i:05d}",
                reason=f"reason number {i} " + "x" * 40,
                diffs=(FieldDiff(path="spec.description", before="a" * 500, after="b" * 500),),
            )
            for i in range(changes)
        ),
        errors=tuple(
            PlanError(model_id=f"bad-{i}", message=f"problem {i} " + "y" * 80, hint="fix it") for i in range(errors)
        ),
    )


def test_a_5000_change_plan_fits_and_says_what_was_cut() -> None:
    comment = render_markdown(big_plan(5000))
    assert len(comment) <= GITHUB_COMMENT_LIMIT
    assert comment.startswith("### Plan: 1250 to create, 1250 to update, 1250 to replace, 1250 to delete.")
    assert "more replaces and deletes not shown" in comment
    assert "more changes not shown" in comment
    assert comment.rstrip().endswith("</details>")


def test_the_deletes_and_replaces_come_before_the_details() -> None:
    comment = render_markdown(big_plan(5000))
    assert comment.index("`-/+` `fake/model-00002`") < comment.index("<details>")


@pytest.mark.parametrize("limit", [4000, 20000, GITHUB_COMMENT_LIMIT])
def test_errors_cannot_crowd_out_the_summary(limit: int) -> None:
    comment = render_markdown(big_plan(2000, errors=3000), limit=limit)
    assert len(comment) <= limit
    assert "more errors not shown" in comment
    assert "**Replaces and deletes (1,000):**" in comment


def test_a_small_plan_is_not_cut() -> None:
    comment = render_markdown(big_plan(8))
    assert "not shown" not in comment
    assert comment.count("```diff") == 8


def test_long_values_are_shortened_in_the_comment() -> None:
    comment = render_markdown(big_plan(1))
    assert "more characters)" in comment
    assert "a" * 400 not in comment
