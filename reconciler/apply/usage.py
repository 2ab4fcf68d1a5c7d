"""What a tuning run was estimated to cost against what the service reported.

Per model that tuned in this apply: `estimated -> reported (±%)` for tokens
(Vertex AI reports billable tokens of one pass; the estimate's figure a pass
is compared) and steps (both backends). A difference over THRESHOLD is a note:
the estimate, or the data, is not what it seemed. Pure functions of an
Outcome; the apply summary, its Markdown and the JSON summary show them.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.live import Reported
from reconciler.plan.types import Estimate

THRESHOLD = 0.25  # a difference over this share of the estimate is a note


@dataclass(frozen=True)
class Figure:
    """One figure, estimated and reported."""

    name: str  # "tokens" (one pass over the data) or "steps"
    estimated: int
    reported: int

    @property
    def difference(self) -> float:
        """The reported figure's difference from the estimate, as a share of it."""
        return (self.reported - self.estimated) / self.estimated if self.estimated else 0.0

    @property
    def off(self) -> bool:
        return abs(self.difference) > THRESHOLD

    def text(self) -> str:
        return f"{self.name} {self.estimated:,} -> {self.reported:,} ({self.difference:+.0%})"

    def as_json(self) -> dict[str, object]:
        return {
            "estimated": self.estimated,
            "reported": self.reported,
            "difference_percent": round(self.difference * 100, 1),
        }


def figures(estimate: Estimate | None, reported: Reported | None) -> list[Figure]:
    """The figures both sides have: tokens a pass where the service reports tokens, steps where it reports steps."""
    if estimate is None or reported is None:
        return []
    shown = []
    if reported.tokens is not None:
        shown.append(Figure("tokens a pass", estimate.tokens_per_pass, reported.tokens))
    if reported.steps is not None:
        shown.append(Figure("steps", estimate.total_steps, reported.steps))
    return shown


def usage_text(model_id: str, estimate: Estimate | None, reported: Reported | None) -> str:
    """`id: estimated -> reported: tokens a pass 350 -> 495 (+41%), steps 12 -> 12 (+0%)`, or ""."""
    shown = figures(estimate, reported)
    if not shown:
        return ""
    return f"{model_id}: estimated -> reported: " + ", ".join(f.text() for f in shown)


def usage_notes(model_id: str, estimate: Estimate | None, reported: Reported | None) -> list[str]:
    return [
        f"{model_id}: the service reported {f.reported:,} {f.name}, {f.difference:+.0%} from the estimate "
        f"of {f.estimated:,} (more than {THRESHOLD:.0%} apart)"
        for f in figures(estimate, reported)
        if f.off
    ]


def usage_json(estimate: Estimate | None, reported: Reported | None) -> dict[str, object] | None:
    shown = figures(estimate, reported)
    if not shown:
        return None
    return {("tokens" if f.name.startswith("tokens") else f.name): f.as_json() for f in shown}
