"""Observed state: tuned models and permissions as the API returns them.

Built from proto3 JSON (camelCase, defaults omitted) with `from_api`.
Enums arrive as strings, or as integers when asked for with enum-encoding=int.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

STATE_NAMES = {0: "STATE_UNSPECIFIED", 1: "CREATING", 2: "ACTIVE", 3: "FAILED"}
ROLE_NAMES = {0: "ROLE_UNSPECIFIED", 1: "OWNER", 2: "WRITER", 3: "READER"}
GRANTEE_NAMES = {0: "GRANTEE_TYPE_UNSPECIFIED", 1: "USER", 2: "GROUP", 3: "EVERYONE"}


class State(str, Enum):
    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    CREATING = "CREATING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"


def enum_name(value: Any, names: dict[int, str]) -> str:
    """An enum's name whether it came as a string or as its number."""
    if isinstance(value, int):
        return names.get(value, str(value))
    return str(value)


class Live(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Snapshot(Live):
    step: int = 0
    epoch: int = 0
    mean_loss: float | None = None


class LiveModel(Live):
    name: str  # tunedModels/<id>
    display_name: str = ""
    description: str = ""
    base_model: str = ""
    source_model: str = ""  # tunedModelSource.tunedModel
    state: State = State.STATE_UNSPECIFIED
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    reader_project_numbers: tuple[str, ...] = ()
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    create_time: str = ""
    update_time: str = ""
    snapshots: tuple[Snapshot, ...] = ()

    @property
    def id(self) -> str:
        return self.name.removeprefix("tunedModels/")

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> LiveModel:
        task = body.get("tuningTask") or {}
        source = body.get("tunedModelSource") or {}
        snapshots = [
            Snapshot(step=s.get("step", 0), epoch=s.get("epoch", 0), mean_loss=s.get("meanLoss"))
            for s in task.get("snapshots") or ()
        ]
        return cls(
            name=body["name"],
            display_name=body.get("displayName", ""),
            description=body.get("description", ""),
            base_model=body.get("baseModel") or source.get("baseModel", ""),
            source_model=source.get("tunedModel", ""),
            state=State(enum_name(body.get("state", 0), STATE_NAMES)),
            temperature=body.get("temperature"),
            top_p=body.get("topP"),
            top_k=body.get("topK"),
            reader_project_numbers=tuple(str(n) for n in body.get("readerProjectNumbers") or ()),
            hyperparameters=dict(task.get("hyperparameters") or {}),
            create_time=body.get("createTime", ""),
            update_time=body.get("updateTime", ""),
            snapshots=tuple(snapshots),
        )


class LivePermission(Live):
    name: str  # tunedModels/<id>/permissions/<p>
    role: str  # OWNER | WRITER | READER
    grantee_type: str = ""  # USER | GROUP | EVERYONE
    email_address: str = ""

    @property
    def grantee(self) -> tuple[str, str]:
        return (self.grantee_type, self.email_address.lower())

    @classmethod
    def from_api(cls, body: dict[str, Any]) -> LivePermission:
        return cls(
            name=body["name"],
            role=enum_name(body.get("role", 0), ROLE_NAMES),
            grantee_type=enum_name(body.get("granteeType", 0), GRANTEE_NAMES),
            email_address=body.get("emailAddress", ""),
        )


class Observed(Live):
    """Everything read from the API for one plan, read whole or not at all."""

    models: tuple[LiveModel, ...]
    # Permissions of the models whose manifests declare permissions, by model id.
    permissions: dict[str, tuple[LivePermission, ...]] = Field(default_factory=dict)

    def by_id(self) -> dict[str, LiveModel]:
        return {m.id: m for m in self.models}
