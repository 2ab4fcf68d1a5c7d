"""Progress of a Gemini tuning run, from its operation or from the model."""

from __future__ import annotations

from typing import Any

from reconciler.apply.progress import Progress


def from_operation(model_id: str, operation: dict[str, Any], elapsed: float) -> Progress:
    """From a create operation's CreateTunedModelMetadata."""
    metadata = operation.get("metadata") or {}
    snapshots = metadata.get("snapshots") or []
    last = snapshots[-1] if snapshots else {}
    total = int(metadata.get("totalSteps", 0))
    succeeded = bool(operation.get("done")) and "error" not in operation
    steps = int(metadata.get("completedSteps", last.get("step", 0)))
    # completedPercent is omitted at 0 (proto3 defaults); the steps say as much.
    percent = float(metadata.get("completedPercent", 100.0 * steps / total if total else 0.0))
    return Progress(
        model_id=model_id,
        completed_steps=total if succeeded else steps,
        total_steps=total,
        percent=100.0 if succeeded else percent,
        epoch=int(last.get("epoch", 0)),
        mean_loss=last.get("meanLoss"),
        elapsed=elapsed,
    )


def from_model(model_id: str, body: dict[str, Any], total_steps: int, elapsed: float) -> Progress:
    """From a TunedModel's snapshots (a run picked up from an earlier apply): the
    model carries no run length, so `total_steps` comes from the manifest."""
    snapshots = (body.get("tuningTask") or {}).get("snapshots") or []
    last = snapshots[-1] if snapshots else {}
    steps = int(last.get("step", 0))
    percent = min(100.0, 100.0 * steps / total_steps) if total_steps else 0.0
    return Progress(
        model_id=model_id,
        completed_steps=steps,
        total_steps=total_steps,
        percent=percent,
        epoch=int(last.get("epoch", 0)),
        mean_loss=last.get("meanLoss"),
        elapsed=elapsed,
    )
