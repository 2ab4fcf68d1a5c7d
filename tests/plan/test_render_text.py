"""The terminal rendering: colour only when asked, and the summary line last."""

from __future__ import annotations

from test_render_golden import scenario_plan

from reconciler.plan import Plan
from reconciler.render import render_text


def test_no_colour_unless_asked() -> None:
    assert "\x1b[" not in render_text(scenario_plan("full"))


def test_colour_when_asked_changes_only_the_styling() -> None:
    plan = scenario_plan("full")
    coloured = render_text(plan, colour=True)
    assert "\x1b[32m  +\x1b[0m" in coloured
    assert "\x1b[35m-/+\x1b[0m" in coloured
    plain = coloured
    for code in ("\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[35m", "\x1b[36m", "\x1b[1m", "\x1b[0m"):
        plain = plain.replace(code, "")
    assert plain == render_text(plan)


def test_the_last_line_is_the_terraform_style_summary() -> None:
    assert render_text(scenario_plan("full")).splitlines()[-1] == (
        "Plan: 0 to create, 1 to update, 2 to replace, 1 to delete."
    )


def test_an_empty_plan_says_there_are_no_changes() -> None:
    assert render_text(Plan()) == (
        "No changes. The live models match the manifests.\n\n"
        "Plan: 0 to create, 0 to update, 0 to replace, 0 to delete.\n"
    )


def test_dataset_contents_never_appear() -> None:
    # The builders give every example set a digest but no contents; the plan
    # can only carry counts and hashes, which is what a reviewer sees.
    text = render_text(scenario_plan("full"))
    assert "examples" in text and "textInput" not in text
