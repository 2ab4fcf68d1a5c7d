"""The Gemini resources in proto3 JSON (tuned models, their operations,
permissions): camelCase, default values omitted, int64 as strings; enums and
timestamps as `wire` writes them. Built from store records, never stored."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from reconciler.emulator.errors import RPC_CODE
from reconciler.emulator.gemini.tuning import MAX_TOTAL_STEPS, Progress, progress, snapshots
from reconciler.emulator.records import PermissionRecord, TunedModelRecord
from reconciler.emulator.wire import Enums, timestamp

JsonDict = dict[str, Any]
TYPE_PREFIX = "type.googleapis.com/google.ai.generativelanguage"


def _omit_defaults(values: JsonDict) -> JsonDict:
    return {key: value for key, value in values.items() if not _is_default(value)}


def _is_default(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    return value in ("", [], {})


def tuned_model(record: TunedModelRecord, now: float, enums: Enums, *, snapshots: bool = True) -> JsonDict:
    """The TunedModel message; `snapshots=False` when a partial response drops
    them (rendering a long run's snapshots is most of the cost of a list)."""
    run = progress(record, now)
    body: JsonDict = {"name": record.name}
    if record.source_model:
        body["tunedModelSource"] = {"tunedModel": record.source_model, "baseModel": record.base_model}
    else:
        body["baseModel"] = record.base_model
    body.update(_omit_defaults({"displayName": record.display_name, "description": record.description}))
    # proto3 `optional` fields: present whenever set, even to 0.
    for key, value in (("temperature", record.temperature), ("topP", record.top_p), ("topK", record.top_k)):
        if value is not None:
            body[key] = value
    body["state"] = enums("State", run.state)
    body["createTime"] = timestamp(record.create_time)
    body["updateTime"] = timestamp(_update_time(record, run))
    body["tuningTask"] = _tuning_task(record, run, snapshots)
    if record.reader_project_numbers:
        body["readerProjectNumbers"] = [str(n) for n in record.reader_project_numbers]
    return body


def _update_time(record: TunedModelRecord, run: Progress) -> float:
    # When a run ends, updateTime == completeTime (as recorded); a later patch moves it on.
    if run.complete_time is None:
        return record.update_time
    return max(record.update_time, run.complete_time)


def _tuning_task(record: TunedModelRecord, run: Progress, with_snapshots: bool) -> JsonDict:
    task: JsonDict = {"startTime": timestamp(record.create_time, nanos=True)}
    if run.complete_time is not None:
        task["completeTime"] = timestamp(run.complete_time)  # µs, as recorded (== updateTime)
    shots = _snapshots(record, run) if with_snapshots else []
    if shots:
        task["snapshots"] = shots
    task["hyperparameters"] = dict(record.hyperparameters)
    return task


def _snapshots(record: TunedModelRecord, run: Progress) -> list[JsonDict]:
    # The bound also holds for a run stored before creates were bounded.
    completed = min(run.completed_steps, MAX_TOTAL_STEPS)
    return list(
        _rendered_snapshots(
            record.model_id,
            record.create_time,
            record.step_seconds,
            record.total_steps,
            int(record.hyperparameters["batchSize"]),
            record.example_count,
            completed,
        )
    )


# Rendered snapshots are kept for at most this many snapshots in all (a few
# hundred bytes each), not a number of runs: a cap on runs made every page of
# an account with more models than the cap render cold, since a list walks
# them all in order and each least recently used entry was the next one wanted.
SNAPSHOT_CACHE_BUDGET = 1_000_000


class _RenderedRuns:
    """The rendered snapshots of recent runs, least recently used dropped first."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._runs: OrderedDict[tuple[Any, ...], tuple[JsonDict, ...]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], render: Callable[[], tuple[JsonDict, ...]]) -> tuple[JsonDict, ...]:
        with self._lock:
            found = self._runs.get(key)
            if found is not None:
                self._runs.move_to_end(key)
                return found
        rendered = render()  # outside the lock: two threads may render one run, harmlessly
        with self._lock:
            if key not in self._runs and len(rendered) <= self.budget:
                self._runs[key] = rendered
                self._held += len(rendered)
                while self._held > self.budget:
                    _, dropped = self._runs.popitem(last=False)
                    self._held -= len(dropped)
        return rendered


_RENDERED = _RenderedRuns(SNAPSHOT_CACHE_BUDGET)


def _rendered_snapshots(
    model_id: str, create_time: float, step_seconds: float, total: int, batch_size: int, examples: int, completed: int
) -> tuple[JsonDict, ...]:
    # A run's snapshots never change once made, and rendering them (hashes and
    # timestamps) is most of the cost of a long list; so they are rendered once.
    def render() -> tuple[JsonDict, ...]:
        return tuple(
            _omit_defaults(
                {
                    "step": shot.step,
                    "epoch": shot.epoch,
                    "meanLoss": shot.mean_loss,
                    "computeTime": timestamp(shot.compute_time, nanos=True),
                }
            )
            for shot in snapshots(model_id, create_time, step_seconds, total, batch_size, examples, completed)
        )

    key = (model_id, create_time, step_seconds, total, batch_size, examples, completed)
    return _RENDERED.get(key, render)


def operation(
    record: TunedModelRecord, now: float, enums: Enums, *, snapshots: bool = True, model_snapshots: bool = True
) -> JsonDict:
    """The create operation; `snapshots` and `model_snapshots` (those of the
    finished model in `response`) may be left out when a partial response drops them."""
    run = progress(record, now)
    metadata: JsonDict = {
        "@type": f"{TYPE_PREFIX}.{record.api_version}.CreateTunedModelMetadata",
        "tunedModel": record.name,
        "totalSteps": run.total_steps,
    }
    metadata.update(
        _omit_defaults(
            {
                "completedSteps": run.completed_steps,
                "completedPercent": round(run.completed_percent, 4),
                "snapshots": _snapshots(record, run) if snapshots else [],
            }
        )
    )
    body: JsonDict = {"name": record.operation_name, "metadata": metadata}
    if not run.done:
        return body
    body["done"] = True
    if run.cancelled:
        body["error"] = {"code": RPC_CODE["CANCELLED"], "message": "Operation cancelled."}
    elif run.failed:
        body["error"] = {
            "code": RPC_CODE["INTERNAL"],
            "message": f"Tuning failed at step {run.completed_steps} of {run.total_steps}.",
        }
    else:
        model = tuned_model(record, now, enums, snapshots=model_snapshots)
        body["response"] = {"@type": f"{TYPE_PREFIX}.{record.api_version}.TunedModel", **model}
    return body


def permission(record: TunedModelRecord, grant: PermissionRecord, enums: Enums) -> JsonDict:
    body: JsonDict = {
        "name": f"{record.name}/permissions/{grant.permission_id}",
        "granteeType": enums("GranteeType", grant.grantee_type),
    }
    if grant.email_address:
        body["emailAddress"] = grant.email_address
    body["role"] = enums("Role", grant.role)
    return body
