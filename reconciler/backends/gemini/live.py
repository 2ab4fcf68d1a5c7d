"""Tuned models and permissions as the Gemini API returns them (proto3 JSON:
camelCase, defaults omitted; enums as names, or as numbers when asked for with
enum-encoding=int), decoded into the neutral live state."""

from __future__ import annotations

from enum import Enum
from typing import Any

from reconciler.backends.gemini.names import ADDRESS_TEMPLATE, key_of, tuned_key
from reconciler.backends.gemini.trailer import UNKEYED, Marker, strip_trailer
from reconciler.model.live import LiveModel, LivePermission, LiveState, Reported

STATE_NAMES = {0: "STATE_UNSPECIFIED", 1: "CREATING", 2: "ACTIVE", 3: "FAILED"}
ROLE_NAMES = {0: "ROLE_UNSPECIFIED", 1: "OWNER", 2: "WRITER", 3: "READER"}
GRANTEE_NAMES = {0: "GRANTEE_TYPE_UNSPECIFIED", 1: "USER", 2: "GROUP", 3: "EVERYONE"}
_STATES = {"CREATING": LiveState.CREATING, "FAILED": LiveState.FAILED}  # anything else: ACTIVE


def enum_name(value: Any, names: dict[int, str]) -> str:
    """An enum's name whether it came as a string or as its number."""
    if isinstance(value, int):
        return names.get(value, str(value))
    return str(value)


# What the plan reads of a tuned model: never its snapshots (one a training
# step, so a long run's are most of a list's bytes) nor its training data. The
# fields system parameter selects them; `live_model` reads no more even when a
# server ignores the mask and sends everything.
PLAN_FIELDS = (
    "name,baseModel,tunedModelSource,displayName,description,temperature,topP,topK,"
    "state,createTime,updateTime,tuningTask/hyperparameters"
)
# `status` shows each run's last step and loss: the snapshots, two fields each.
PROGRESS_FIELDS = f"{PLAN_FIELDS},tuningTask/snapshots(step,meanLoss,epoch)"


class Snapshots(Enum):
    """How much of a model's loss curve a caller needs."""

    NONE = "none"  # the plan: step 0 and no losses, whatever the server sent
    LAST = "last"  # status: the last step and the last loss
    ALL = "all"  # a finished or adopted run: the whole curve (for the apply summary)


def live_model(body: dict[str, Any], marker: Marker = UNKEYED, snapshots: Snapshots = Snapshots.ALL) -> LiveModel:
    task = body.get("tuningTask") or {}
    source = body.get("tunedModelSource") or {}
    step, losses = _progress(task.get("snapshots") or (), snapshots)
    description = body.get("description", "")
    tuned_from = source.get("tunedModel", "")
    key = key_of(body["name"])
    reading = marker.read(description, body["name"], body.get("createTime", ""))
    state = _STATES.get(enum_name(body.get("state", 0), STATE_NAMES), LiveState.ACTIVE)
    return LiveModel(
        key=key,
        address=ADDRESS_TEMPLATE.format(key=key),
        ownership=reading.ownership,
        ownership_note=reading.note,
        state=state,
        source=tuned_from or body.get("baseModel", ""),
        source_key=tuned_key(tuned_from),
        base_model=body.get("baseModel") or source.get("baseModel", ""),
        fields={
            "spec.displayName": body.get("displayName", ""),
            "spec.description": strip_trailer(description),
            "spec.generation.temperature": body.get("temperature"),
            "spec.generation.topP": body.get("topP"),
            "spec.generation.topK": body.get("topK"),
        },
        hyperparameters=dict(task.get("hyperparameters") or {}),
        create_time=body.get("createTime", ""),
        update_time=body.get("updateTime", ""),
        step=step,
        losses=losses,
        # only where the caller asked for the snapshots: a plan reads none, even when a server sends them
        reported=reported_of(task, reading.ownership.data)
        if reading.ownership and state is LiveState.ACTIVE and snapshots is not Snapshots.NONE
        else None,
        handle=body["name"],
    )


def reported_of(task: Any, data: str) -> Reported | None:
    """What a finished run reports of itself: the steps and epoch of its last
    snapshot (the epochs from its hyperparameters when the snapshot has none).
    The Gemini API reports no tokens. None where no snapshot was read."""
    snapshots = (task or {}).get("snapshots") or ()
    if not snapshots:
        return None
    last = snapshots[-1]
    epochs = last.get("epoch") or ((task.get("hyperparameters") or {}).get("epochCount"))
    return Reported(data=data, steps=int(last.get("step", 0)) or None, epochs=int(epochs) if epochs else None)


def _progress(snapshots: Any, wanted: Snapshots) -> tuple[int, tuple[float, ...]]:
    """The last step and the losses `wanted` asks for, without touching the rest."""
    if wanted is Snapshots.NONE or not snapshots:
        return 0, ()
    last = snapshots[-1]
    step = int(last.get("step", 0))
    if wanted is Snapshots.LAST:
        return step, (float(last["meanLoss"]),) if "meanLoss" in last else ()
    return step, tuple(float(s["meanLoss"]) for s in snapshots if "meanLoss" in s)


def live_permission(body: dict[str, Any]) -> LivePermission:
    return LivePermission(
        name=body["name"],
        role=enum_name(body.get("role", 0), ROLE_NAMES),
        grantee_type=enum_name(body.get("granteeType", 0), GRANTEE_NAMES),
        email_address=body.get("emailAddress", ""),
    )
