"""The terminal rendering: colour only when asked, and the summary line last."""

from __future__ import annotations

from test_render_golden import scenario_plan

from reconciler.plan import Plan
from reconciler.plan.types import Action, Change, FieldDiff, PlanError
from reconciler.render import render_markdown, render_text


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
    plan = scenario_plan("full").model_copy(update={"errors": ()})
    assert render_text(plan).splitlines()[-1] == (
        "Plan: 0 to create, 1 to update, 2 to replace, 1 to delete, 1 to forget."
    )


def test_a_plan_with_errors_says_it_failed_first_and_last_never_no_changes() -> None:
    plan = Plan(errors=(PlanError(model_id="a", message="broken"),))
    lines = render_text(plan).splitlines()
    assert lines[0] == lines[-1] == "Plan failed: 1 error; nothing can be applied."
    assert "No changes" not in render_text(plan)
    markdown = render_markdown(plan)
    assert markdown.startswith("### Plan failed: 1 error; nothing can be applied.\n")
    assert "No changes" not in markdown and "Plan: 0 to create" not in markdown


def test_a_model_that_would_be_pruned_is_out_of_sync_not_no_changes() -> None:
    plan = Plan(would_delete=("old",))
    assert not plan.in_sync and not plan.has_changes
    text = render_text(plan)
    assert text.startswith("Out of sync: 1 managed model without a manifest (requires pruning)")
    assert "No changes" not in text and "No changes" not in render_markdown(plan)


def test_imports_and_forgets_are_counted_in_the_plan_line() -> None:
    changes = (
        Change(action=Action.IMPORT, model_id="a", reason="r"),
        Change(action=Action.FORGET, model_id="b", reason="r"),
    )
    assert Plan(changes=changes).summary.line() == (
        "Plan: 1 to import, 0 to create, 0 to update, 0 to replace, 0 to delete, 1 to forget."
    )


def test_a_field_going_back_to_its_default_says_so() -> None:
    change = Change(
        action=Action.UPDATE,
        model_id="a",
        reason="r",
        update_mask=("temperature",),
        diffs=(FieldDiff(path="spec.generation.temperature", before=0.6, after=0.9),),
        to_default=("spec.generation.temperature",),
    )
    assert "~ spec.generation.temperature: 0.6 -> 0.9 (base model default)" in render_text(Plan(changes=(change,)))


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
