"""Estimate against reported: which figures a backend's report gives, and when
a difference is off (the budget's arithmetic). Each backend's own reports,
through the CLI, are tested under tests/backends/."""

from __future__ import annotations

from reconciler.apply.usage import THRESHOLD, Figure, figures
from reconciler.model.live import Reported
from reconciler.plan.types import Estimate


def _estimate(per_pass: int, steps: int) -> Estimate:
    return Estimate(
        examples=10,
        tokens=per_pass * 2,
        total_steps=steps,
        epochs=2,
        batch_size=4,
        tokens_per_pass=per_pass,
        tokens_upper=per_pass * 3,
    )


def test_a_difference_over_the_threshold_is_off() -> None:
    shown = figures(_estimate(100, 10), Reported(data="0" * 12, tokens=126, steps=10))
    assert [(f.name, f.off) for f in shown] == [("tokens a pass", True), ("steps", False)]
    assert Figure("steps", 100, 100 + round(100 * THRESHOLD)).off is False
    assert shown[0].text() == "tokens a pass 100 -> 126 (+26%)"
