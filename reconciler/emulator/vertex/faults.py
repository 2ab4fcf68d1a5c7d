"""Faults of the Vertex surface, set through `/_internal/vertex/faults`.

Counts, not rates, so that a test gets exactly the fault it asks for: each
count is used up by the calls it hits. Recorded in the wild: 500 on create
(generative-ai#873), FAILED code 13 with a Model and no Endpoint (a job JSON in
mscraftsman/generative-ai), DeleteModel still refused after an undeploy
(python-aiplatform#2807), jobs that wait for hours (generative-ai#656).
Operations that take a while and may end in an error are what the
long-running-operation contract allows [infer: none recorded for these methods].
"""

from __future__ import annotations

import dataclasses
import math
import threading
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.errors import invalid_argument
from reconciler.emulator.faults import check_settings_object

COUNT_FIELDS = (
    "create_errors",
    "create_answers_lost",
    "endpoint_failures",
    "delete_model_refusals",
    "model_delete_refusals",
    "endpoint_delete_refusals",
    "operation_errors",
    "upload_corruptions",
    "broken_chunks",
    "label_filter_refusals",
    "model_changes_before_patch",
    "max_example_tokens",
)


@dataclass
class VertexFaults:
    create_errors: int = 0  # the next N creates answer 500 and create nothing
    create_answers_lost: int = 0  # the next N creates commit, then the connection drops
    endpoint_failures: int = 0  # the next N jobs end FAILED code 13: a Model, no Endpoint
    pending_seconds: float = 0.0  # new jobs stay PENDING this long (0: one step)
    delete_model_refusals: int = 0  # after each undeploy, DeleteModel is refused N times
    model_delete_refusals: int = 0  # the next N DeleteModel calls are refused (400)
    endpoint_delete_refusals: int = 0  # the next N DeleteEndpoint calls are refused (400)
    operation_seconds: float = 0.0  # new operations stay in progress this long (0: one step)
    operation_errors: int = 0  # the next N operations end in error; their change is not made
    label_filter_refusals: int = 0  # the next N lists whose filter names labels answer 400
    model_changes_before_patch: int = 0  # the next N Model PATCHes find it changed since it was read
    # Cloud Storage, where the datasets live:
    upload_corruptions: int = 0  # the next N objects written keep one byte changed
    broken_chunks: int = 0  # the next N resumable chunks keep their first half; the answer is lost
    # The truncation switch: new jobs cut an example over this many tokens (0: no limit)
    # and report it in truncatedExampleIndices.
    max_example_tokens: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def update(self, data: Any) -> None:
        """Set the fields given; the others keep their values."""
        check_settings_object(self, data, "Vertex fault settings")
        for name, value in data.items():
            _check(name, value)
        with self._lock:
            for name, value in data.items():
                setattr(self, name, value)

    def take(self, name: str) -> bool:
        """Use up one of a count fault: True when it was armed."""
        with self._lock:
            left = getattr(self, name)
            if left <= 0:
                return False
            setattr(self, name, left - 1)
            return True

    def refuse_label_filter(self, text: str) -> None:
        """The `label_filter_refusals` fault: the v1 reference does not promise a
        `labels.` filter on ListTuningJobs, so a service may refuse it [infer: wording]."""
        if "labels" in text and self.take("label_filter_refusals"):
            raise invalid_argument(
                f'Unsupported filter: "{text[:200]}". Filtering by labels is not supported for this list.', "filter"
            )

    def reset(self) -> None:
        with self._lock:
            for f in dataclasses.fields(self):
                setattr(self, f.name, f.default)


def _check(name: str, value: Any) -> None:
    if name in COUNT_FIELDS:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 1_000_000:
            raise invalid_argument(f"{name} must be a whole number from 0 to 1000000.")
    elif not (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 86400 * 7
    ):
        raise invalid_argument(f"{name} must be a number of seconds from 0 to 604800.")
