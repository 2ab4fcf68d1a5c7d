"""What the store keeps: plain dataclasses, independent of the wire format.

A tuned model's operation and tuning progress are not stored: they are
computed from these fields and the clock (see `tuning.py`), so a persisted
store resumes correctly after a restart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PermissionRecord:
    permission_id: str
    role: str  # OWNER | WRITER | READER
    grantee_type: str  # USER | GROUP | EVERYONE
    email_address: str = ""


@dataclass
class Example:
    text_input: str
    output: str


@dataclass
class TunedModelRecord:
    model_id: str
    api_version: str  # the version the model was created through; names the @type
    base_model: str
    source_model: str  # tunedModels/<id> when tuned from a tuned model, else ""
    display_name: str
    description: str
    temperature: float | None
    top_p: float | None
    top_k: int | None
    reader_project_numbers: list[int]
    hyperparameters: dict[str, float | int]  # camelCase, as echoed by GET
    examples: list[Example]
    create_time: float
    update_time: float
    operation_id: str
    step_seconds: float
    total_steps: int
    fail_at_step: int | None = None
    cancel_time: float | None = None
    cancelled_at_step: int | None = None
    permissions: list[PermissionRecord] = field(default_factory=list)
    # len(examples), kept apart: a listed record comes without its examples.
    example_count: int = -1

    def __post_init__(self) -> None:
        if self.example_count < 0:
            self.example_count = len(self.examples)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TunedModelRecord:
        values = dict(data)
        values["examples"] = [Example(**example) for example in data.get("examples", ())]
        values["permissions"] = [PermissionRecord(**p) for p in data["permissions"]]
        return cls(**values)

    @property
    def name(self) -> str:
        return f"tunedModels/{self.model_id}"

    @property
    def operation_name(self) -> str:
        return f"{self.name}/operations/{self.operation_id}"
