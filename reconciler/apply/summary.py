"""What an apply did, for people: a terminal summary and a Markdown one for
GitHub's job summary, with each new model's loss curve (a sparkline in the
terminal, a Mermaid xychart GitHub renders). Pure functions of an ApplyResult.
"""

from __future__ import annotations

from reconciler.apply.evaluation import format_score
from reconciler.apply.executor import ApplyResult, GateResult, Outcome
from reconciler.apply.progress import one_line
from reconciler.apply.smoke import SmokeResult
from reconciler.apply.usage import usage_notes, usage_text

SPARK = "▁▂▃▄▅▆▇█"
CHART_POINTS = 60  # Mermaid charts stay readable (and small) below this


def downsample(values: tuple[float, ...] | list[float], points: int) -> list[float]:
    """At most `points` values, evenly spaced, keeping the first and the last."""
    if len(values) <= points:
        return list(values)
    last = len(values) - 1
    return [values[round(i * last / (points - 1))] for i in range(points)]


def sparkline(values: tuple[float, ...] | list[float], width: int = 30) -> str:
    sample = downsample(values, width)
    if not sample:
        return ""
    low, high = min(sample), max(sample)
    span = (high - low) or 1.0
    return "".join(SPARK[round((v - low) / span * (len(SPARK) - 1))] for v in sample)


def mermaid_loss_chart(outcome: Outcome) -> str:
    sample = downsample(outcome.losses, CHART_POINTS)
    values = ", ".join(f"{v:.4g}" for v in sample)
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{outcome.model_id}: mean loss"',
            f'    x-axis "step" 1 --> {len(outcome.losses)}',
            '    y-axis "mean loss"',
            f"    line [{values}]",
            "```",
        ]
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def smoke_table(results: list[SmokeResult]) -> list[tuple[str, str, str, str]]:
    return [(r.model_id, r.input, r.expected, r.error or r.got) for r in results if not r.passed]


QUALITY_GATE_COLUMNS = ("model", "metric", "live", "candidate", "threshold", "decision")


def quality_gate_rows(gates: list[GateResult]) -> list[tuple[str, ...]]:
    """One row a promotion gate decided in this apply: scores and thresholds, never an answer."""
    return [
        (
            gate.model_id,
            gate.metric,
            "-" if gate.live is None else format_score(gate.live, 3),
            format_score(gate.candidate, 3),
            gate.threshold,
            gate.decision,
        )
        for gate in gates
    ]


def quality_gate_text(gates: list[GateResult]) -> list[str]:
    """The "Quality gate" table for a terminal; no lines when no gate was decided."""
    rows = quality_gate_rows(gates)
    if not rows:
        return []
    widths = [max(len(row[i]) for row in (QUALITY_GATE_COLUMNS, *rows)) for i in range(len(QUALITY_GATE_COLUMNS))]
    return ["Quality gate:"] + [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (QUALITY_GATE_COLUMNS, *rows)
    ]


def quality_gate_markdown(gates: list[GateResult]) -> list[str]:
    """The "Quality gate" table for the PR and job summary; no lines when no gate was decided."""
    rows = quality_gate_rows(gates)
    if not rows:
        return []
    lines = [
        "#### Quality gate",
        "",
        "| " + " | ".join(QUALITY_GATE_COLUMNS) + " |",
        "|" + "---|" * len(QUALITY_GATE_COLUMNS),
    ]
    lines += [f"| `{row[0]}` | " + " | ".join(_cell(cell) for cell in row[1:]) + " |" for row in rows]
    return [*lines, ""]


def render_apply_text(result: ApplyResult) -> str:
    lines = []
    for outcome in result.outcomes:
        if outcome.status != "done":
            lines.append(f"{outcome.model_id}: {outcome.action.value} {outcome.status}: {one_line(outcome.message)}")
        elif outcome.losses:
            first, last = outcome.losses[0], outcome.losses[-1]
            lines.append(f"{outcome.model_id}: loss {sparkline(outcome.losses)} {first:.3f} -> {last:.3f}")
    lines += usage_lines(result)
    failed = smoke_table(result.smoke)
    if failed:
        lines.append("Smoke tests failed:")
        lines.append(f"  {'model':<24} {'input':<20} {'expected':<24} got")
        for model_id, text, expected, got in failed:
            text, expected, got = one_line(text[:20]), one_line(expected[:24]), one_line(got[:60])
            lines.append(f"  {model_id:<24} {text:<20} {expected:<24} {got}")
    lines += quality_gate_text(result.gates)
    lines.append(result.summary_line())
    return "\n".join(lines) + "\n"


def render_apply_markdown(result: ApplyResult) -> str:
    parts = [f"### {result.summary_line()}", ""]
    if result.outcomes:
        parts += ["| model | action | result | message |", "|---|---|---|---|"]
        parts += [f"| `{o.model_id}` | {o.action.value} | {o.status} | {_cell(o.message)} |" for o in result.outcomes]
        parts.append("")
    parts += usage_markdown(result)
    failed = smoke_table(result.smoke)
    if failed:
        parts += ["#### Failed smoke tests", "", "| model | input | expected | got |", "|---|---|---|---|"]
        parts += [f"| `{m}` | {_cell(i)} | {_cell(e)} | {_cell(g)} |" for m, i, e, g in failed]
        parts.append("")
    parts += quality_gate_markdown(result.gates)
    for outcome in result.outcomes:
        if outcome.ok and outcome.losses:
            parts += [mermaid_loss_chart(outcome), ""]
    return "\n".join(parts)


def usage_lines(result: ApplyResult) -> list[str]:
    """Each new model's estimate against what the service reported, and a note
    for a figure more than usage.THRESHOLD apart."""
    lines = []
    for outcome in result.outcomes:
        text = usage_text(outcome.model_id, outcome.estimate, outcome.reported) if outcome.ok else ""
        if text:
            lines.append(text)
            lines += [f"note: {note}" for note in usage_notes(outcome.model_id, outcome.estimate, outcome.reported)]
    return lines


def usage_markdown(result: ApplyResult) -> list[str]:
    lines = usage_lines(result)
    if not lines:
        return []
    return ["#### Estimated -> reported", "", *(f"- {_cell(line)}" for line in lines), ""]
