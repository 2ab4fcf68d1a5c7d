"""Faults of the Bedrock surface, set through `/_internal/bedrock/faults`.

Counts, not rates, as the Vertex ones, so that a test gets exactly the fault
it arms; each is used up by the calls it hits. A job also fails when the
shared tuning settings choose it (`fail_ids`: its `reconciler-id` tag, its job
name or its custom model name; `fail_rate`), as every surface's runs do."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.errors import invalid_argument
from reconciler.emulator.faults import check_settings_object


@dataclass
class BedrockFaults:
    job_failures: int = 0  # the next N jobs end Failed halfway through training: no custom model
    create_throttles: int = 0  # the next N job creates answer ThrottlingException and create nothing
    create_quota_refusals: int = 0  # the next N job creates answer ServiceQuotaExceededException
    create_errors: int = 0  # the next N job creates answer InternalServerException and create nothing
    create_errors_after_commit: int = 0  # the next N job creates make the job, then answer 500
    create_answers_lost: int = 0  # the next N job creates make the job, then the connection drops
    deployment_failures: int = 0  # the next N deployments end Failed
    deployment_creates_lost: int = 0  # the next N deployment creates commit, then the connection drops

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def update(self, data: Any) -> None:
        """Set the fields given; the others keep their values."""
        check_settings_object(self, data, "Bedrock fault settings")
        for name, value in data.items():
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1_000_000:
                raise invalid_argument(f"{name} must be a whole number from 0 to 1000000.")
        with self._lock:
            for name, value in data.items():
                setattr(self, name, value)

    def take(self, name: str) -> bool:
        """Use up one of a count: True when it was armed."""
        with self._lock:
            left = getattr(self, name)
            if left <= 0:
                return False
            setattr(self, name, left - 1)
            return True

    def reset(self) -> None:
        with self._lock:
            for f in dataclasses.fields(self):
                setattr(self, f.name, f.default)
