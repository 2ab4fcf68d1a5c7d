"""What an apply says at the end, and how progress lines read."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply.executor import ApplyResult, Outcome, details_of
from reconciler.apply.progress import Event, Progress
from reconciler.apply.smoke import SmokeResult
from reconciler.apply.summary import downsample, mermaid_loss_chart, render_apply_markdown, render_apply_text, sparkline
from reconciler.cli.progress import event_line, progress_line
from reconciler.cli.status_cmd import progress_percent
from reconciler.model.live import LiveModel, LiveState
from reconciler.plan.types import Action, Change, PermissionChange

from .fakes import RULES, desired_for, manifest


def result() -> ApplyResult:
    return ApplyResult(
        outcomes=[
            Outcome("a", Action.CREATE, "done", losses=(4.0, 2.0, 1.0)),
            Outcome("b", Action.CREATE, "done"),
            Outcome("c", Action.UPDATE, "done"),
            Outcome("d", Action.REPLACE, "done"),
        ],
        smoke=[SmokeResult("a", "3", "equals '4'", "4", True)] * 5,
    )


def test_the_summary_line_counts_each_kind() -> None:
    assert result().summary_line() == (
        "Apply complete: 2 created, 1 updated, 1 replaced, 0 deleted; smoke tests 5/5 passed."
    )


def test_models_created_by_another_run_are_counted_apart_from_those_this_run_created() -> None:
    counted = ApplyResult(
        outcomes=[
            Outcome("a", Action.CREATE, "done"),
            Outcome("b", Action.CREATE, "done", found=True),  # a concurrent apply created it
            Outcome("c", Action.WAIT, "done"),  # an earlier, interrupted apply created it
            Outcome("d", Action.IMPORT, "done"),
            Outcome("e", Action.FORGET, "done"),
        ]
    )
    assert counted.summary_line() == (
        "Apply complete: 1 created, 2 created by another run and waited for, 0 updated, 0 replaced, "
        "0 deleted, 1 imported, 1 forgotten."
    )
    assert counted.counts()["created"] == 1 and counted.counts()["waited_for"] == 2


def test_a_grant_event_names_the_grantee_not_the_action() -> None:
    grant = Change(
        action=Action.PERMISSION_ADD,
        model_id="a",
        reason="r",
        permission=PermissionChange(grantee_type="USER", email_address="analyst@example.com", role_after="READER"),
    )
    event = Event("done", "a", grant.action.value, details=details_of(grant))
    assert event_line(event) == "a: grant READER to USER analyst@example.com done"
    revoke = grant.model_copy(
        update={
            "action": Action.PERMISSION_REMOVE,
            "permission": PermissionChange(grantee_type="EVERYONE", role_before="READER"),
        }
    )
    assert event_line(Event("start", "a", "permission_remove", details=details_of(revoke))) == (
        "a: revoke READER from EVERYONE started"
    )


def test_no_smoke_tests_say_nothing_and_skipped_ones_say_so() -> None:
    assert "smoke" not in ApplyResult(outcomes=[Outcome("a", Action.UPDATE, "done")]).summary_line()
    skipped = ApplyResult(smoke_tests_skipped=True)
    assert skipped.summary_line().endswith("; smoke tests skipped.")


def test_a_failed_smoke_test_is_a_table_row_and_fails_the_apply() -> None:
    failed = result()
    failed.smoke = [SmokeResult("a", "7", "equals 'nine'", "8", False)]
    text = render_apply_text(failed)
    assert not failed.ok
    assert "Smoke tests failed:" in text
    assert text.splitlines()[-2].split() == ["a", "7", "equals", "'nine'", "8"]
    assert text.endswith("Apply failed: 2 created, 1 updated, 1 replaced, 0 deleted; smoke tests 0/1 passed.\n")


def test_loss_curves_are_sparklines_and_mermaid_charts() -> None:
    assert sparkline([4.0, 2.0, 1.0]) == "█▃▁"
    assert downsample(list(range(100)), 5) == [0, 25, 50, 74, 99]
    chart = mermaid_loss_chart(result().outcomes[0])
    assert chart.splitlines() == [
        "```mermaid",
        "xychart-beta",
        '    title "a: mean loss"',
        '    x-axis "step" 1 --> 3',
        '    y-axis "mean loss"',
        "    line [4, 2, 1]",
        "```",
    ]
    markdown = render_apply_markdown(result())
    assert markdown.startswith("### Apply complete: 2 created")
    assert markdown.count("xychart-beta") == 1  # only models with a loss curve


def test_progress_and_event_lines() -> None:
    progress = Progress("alpha", completed_steps=5, total_steps=20, percent=25.0, epoch=1, mean_loss=0.5, elapsed=75)
    assert progress_line(progress, bar=False) == "alpha   25.0%  step 5/20  epoch 1  loss 0.5000  01m15s"
    assert progress_line(progress, bar=True).startswith("alpha  [#####...............]")
    assert event_line(Event("failed", "alpha", "create", "tuning failed")) == "alpha: create FAILED: tuning failed"


def test_status_shows_a_running_model_as_a_share_of_its_manifests_run(tmp_path: Path) -> None:
    declared = desired_for(tmp_path, [manifest("alpha")]).by_id()  # 20 examples, 2 epochs, batch 4: 10 steps
    running = LiveModel(key="alpha", address="fake/alpha", state=LiveState.CREATING, step=3)
    assert progress_percent(running, declared, RULES.tuning) == 30
    assert progress_percent(running, {}, RULES.tuning) is None  # shown as "tuning"
    assert progress_percent(running.model_copy(update={"state": LiveState.ACTIVE}), declared, RULES.tuning) == 100
