"""Tuned models and their long-running operations: the rules of create, get,
list, patch and delete, and of operations get, list and cancel."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.errors import (
    ApiError,
    failed_precondition,
    invalid_argument,
    not_found,
)
from reconciler.emulator.gemini import render
from reconciler.emulator.gemini.catalog import BaseModel, find_base_model
from reconciler.emulator.gemini.tuning import MAX_TOTAL_STEPS, progress, total_steps
from reconciler.emulator.ids import MODEL_ID, IdMaker
from reconciler.emulator.paging import page_body, page_of_models, page_request
from reconciler.emulator.records import Example, PermissionRecord, TunedModelRecord
from reconciler.emulator.schema import TUNED_MODEL, parse
from reconciler.emulator.settings import TuningSettings
from reconciler.emulator.store import Store, require

MAX_DISPLAY_NAME = 40
# The documented limits of a tuning example (Gemini 1.5 Flash), applied to every base model.
MAX_EXAMPLE_INPUT_CHARS = 40_000
MAX_EXAMPLE_OUTPUT_CHARS = 5_000
MUTABLE_FIELDS = ("displayName", "description", "temperature", "topP", "topK", "readerProjectNumbers")
IMMUTABLE_PATHS = frozenset(
    {
        "baseModel",
        "tunedModelSource",
        "tunedModelSource.tunedModel",
        "tuningTask",
        "tuningTask.trainingData",
        "tuningTask.hyperparameters",
        "tuningTask.hyperparameters.learningRate",
        "tuningTask.hyperparameters.epochCount",
        "tuningTask.hyperparameters.batchSize",
        "tuningTask.hyperparameters.learningRateMultiplier",
    }
)
OUTPUT_ONLY_FIELDS = ("name", "state", "createTime", "updateTime")


class TunedModelService:
    def __init__(self, store: Store, ids: IdMaker, settings: TuningSettings) -> None:
        self.store = store
        self.ids = ids
        self.settings = settings

    # --- tuned models --------------------------------------------------------------------

    def create_tuned_model(self, call: Call) -> Reply:
        body = parse(call.body, TUNED_MODEL, "tuned_model")
        model_id = call.query.get("tunedModelId", "")
        if model_id and not MODEL_ID.fullmatch(model_id):
            raise invalid_argument(
                f'tuned_model_id "{model_id[:100]}" must be up to 40 characters, start with a '
                "letter, end with a letter or a number, and contain only lowercase letters, "
                "numbers and hyphens.",
                "tuned_model_id",
            )
        base, source = self._source(body, call.now)
        record = self._new_record(call, body, base, source, model_id)
        self._insert(record, generated=not model_id)
        return 200, render.operation(record, call.now, call.enums)

    def _insert(self, record: TunedModelRecord, generated: bool) -> None:
        for _ in range(5):
            try:
                self.store.insert(record)
                return
            except ApiError:
                if not generated:  # a taken id the caller chose: 409, as the real API
                    raise
                record.model_id = self.ids.model_id(record.display_name)
        raise ApiError("INTERNAL", "Could not generate a unique tuned model id.")

    def _source(self, body: dict[str, Any], now: float) -> tuple[BaseModel, str]:
        source = body.get("tunedModelSource", {}).get("tunedModel", "")
        if source:
            record = self._record(_model_id(source, "tuned_model_source.tuned_model"))
            if progress(record, now).state != "ACTIVE":
                raise failed_precondition(f"Tuned model {source} is not ACTIVE.")
            base_name = record.base_model
        else:
            base_name = body.get("baseModel", "")
            if not base_name:
                raise invalid_argument("base_model or tuned_model_source is required.", "tuned_model.base_model")
        base = find_base_model(base_name)
        if base is None:
            raise not_found(f"Base model {base_name[:200]} does not exist.")
        if not base.tunable:
            raise invalid_argument(f"Base model {base.name} does not support tuning.", "tuned_model.base_model")
        return base, source

    def _new_record(
        self, call: Call, body: dict[str, Any], base: BaseModel, source: str, model_id: str
    ) -> TunedModelRecord:
        display_name = _display_name(body.get("displayName", ""))
        task = body.get("tuningTask", {})
        examples = _examples(task.get("trainingData", {}))
        hyperparameters = _hyperparameters(task.get("hyperparameters", {}), base, len(examples))
        steps = _bounded_total_steps(len(examples), hyperparameters)
        record = TunedModelRecord(
            model_id=model_id or self.ids.model_id(display_name),
            api_version=call.version,
            base_model=base.name,
            source_model=source,
            display_name=display_name,
            description=body.get("description", ""),
            temperature=base.temperature,
            top_p=base.top_p,
            top_k=base.top_k,
            reader_project_numbers=[],
            hyperparameters=hyperparameters,
            examples=examples,
            create_time=call.now,
            update_time=call.now,
            operation_id=self.ids.token(12),
            step_seconds=self.settings.step_seconds,
            total_steps=steps,
            permissions=[PermissionRecord(self.ids.token(12), "OWNER", "USER", self.settings.owner_email)],
        )
        _apply_mutable(record, body, [name for name in MUTABLE_FIELDS if name in body], base)
        record.fail_at_step = self._fail_at_step(record)
        return record

    def _fail_at_step(self, record: TunedModelRecord) -> int | None:
        chosen = record.model_id in self.settings.fail_ids
        if chosen or (self.settings.fail_rate and self.ids.chance(self.settings.fail_rate)):
            return max(1, record.total_steps // 2)  # fail halfway through
        return None

    def get_tuned_model(self, call: Call, model_id: str) -> Reply:
        snapshots = call.wants("tuningTask", "snapshots")
        return 200, render.tuned_model(self._record(model_id), call.now, call.enums, snapshots=snapshots)

    def list_tuned_models(self, call: Call) -> Reply:
        page = page_request(call.query, default_size=10, max_size=1000)
        matches = _text_filter(page.filter)
        records, next_token = page_of_models(self.store, page, matches)
        snapshots = call.wants("tunedModels", "tuningTask", "snapshots")
        models = [render.tuned_model(r, call.now, call.enums, snapshots=snapshots) for r in records]
        return 200, page_body("tunedModels", models, next_token)

    def update_tuned_model(self, call: Call, model_id: str) -> Reply:
        body = parse(call.body, TUNED_MODEL, "tuned_model")
        paths = _update_paths(call.query.get("updateMask"), body)

        def change(record: TunedModelRecord) -> TunedModelRecord:
            base = find_base_model(record.base_model)
            assert base is not None  # records are only made from known base models
            _apply_mutable(record, body, paths, base)
            record.update_time = call.now
            return record

        record = self.store.mutate(model_id, change)
        model = render.tuned_model(record, call.now, call.enums)
        if call.version == "v1beta3":  # as recorded there: only the fields the patch set
            return 200, {name: value for name, value in model.items() if name in paths}
        return 200, model

    def delete_tuned_model(self, call: Call, model_id: str) -> Reply:
        self.store.delete(model_id)
        return 200, {}

    # --- operations ----------------------------------------------------------------------

    def get_operation(self, call: Call, model_id: str, operation_id: str) -> Reply:
        record = self._operation_record(model_id, operation_id)
        return 200, render.operation(
            record,
            call.now,
            call.enums,
            snapshots=call.wants("metadata", "snapshots"),
            model_snapshots=call.wants("response", "tuningTask", "snapshots"),
        )

    def list_model_operations(self, call: Call, model_id: str) -> Reply:
        page_request(call.query, default_size=10, max_size=1000)  # validates the parameters
        record = self._record(model_id)
        return 200, {"operations": [render.operation(record, call.now, call.enums)]}

    def list_operations(self, call: Call) -> Reply:
        page = page_request(call.query, default_size=10, max_size=1000)
        records, next_token = page_of_models(self.store, page, _text_filter(""))
        operations = [render.operation(r, call.now, call.enums) for r in records]
        return 200, page_body("operations", operations, next_token)

    def cancel_operation(self, call: Call, model_id: str, operation_id: str) -> Reply:
        self._operation_record(model_id, operation_id)

        def cancel(record: TunedModelRecord) -> TunedModelRecord:
            run = progress(record, call.now)
            if run.done:
                raise failed_precondition(
                    f"Operation {record.operation_name} has already completed and cannot be cancelled."
                )
            return replace(record, cancel_time=call.now, cancelled_at_step=run.completed_steps)

        self.store.mutate(model_id, cancel)
        return 200, {}

    # --- lookups -------------------------------------------------------------------------

    def _record(self, model_id: str) -> TunedModelRecord:
        return require(self.store, model_id)

    def _operation_record(self, model_id: str, operation_id: str) -> TunedModelRecord:
        record = self.store.get(model_id)
        if record is None or record.operation_id != operation_id:
            name = f"tunedModels/{model_id}/operations/{operation_id}"
            raise not_found(f"Operation {name} does not exist.")
        return record


def _model_id(name: str, field_path: str) -> str:
    if not name.startswith("tunedModels/"):
        raise invalid_argument(f"{field_path} must look like tunedModels/{{id}}.", field_path)
    return name.removeprefix("tunedModels/")


def _display_name(name: str) -> str:
    if len(name) > MAX_DISPLAY_NAME:
        raise invalid_argument(
            f"display_name is {len(name)} characters; it may be at most {MAX_DISPLAY_NAME}.", "tuned_model.display_name"
        )
    return name


def _examples(dataset: dict[str, Any]) -> list[Example]:
    raw = dataset.get("examples", {}).get("examples", [])
    raw = raw or [_from_multiturn(item) for item in dataset.get("multiturnExamples", {}).get("examples", [])]
    if not raw:
        raise invalid_argument(
            "Training data is required: tuning_task.training_data has no examples.",
            "tuned_model.tuning_task.training_data",
        )
    examples = []
    for index, item in enumerate(raw):
        where = f"tuned_model.tuning_task.training_data.examples.examples[{index}]"
        if not item.get("output"):
            raise invalid_argument(f"{where}.output is required.", f"{where}.output")
        example = Example(item.get("textInput", ""), item["output"])
        _within_limit(example.text_input, MAX_EXAMPLE_INPUT_CHARS, f"{where}.text_input")
        _within_limit(example.output, MAX_EXAMPLE_OUTPUT_CHARS, f"{where}.output")
        examples.append(example)
    return examples


def _within_limit(text: str, limit: int, where: str) -> None:
    if len(text) > limit:
        raise invalid_argument(f"{where} is {len(text)} characters; the limit is {limit}.", where)


def _from_multiturn(example: dict[str, Any]) -> dict[str, str]:
    # A multiturn example (v1alpha) counts as: everything before the last turn → its last turn.
    turns = [
        "".join(part.get("text", "") for part in content.get("parts", [])) for content in example.get("contents", [])
    ]
    return {"textInput": "\n".join(turns[:-1]), "output": turns[-1] if turns else ""}


def _hyperparameters(sent: dict[str, Any], base: BaseModel, examples: int) -> dict[str, Any]:
    for name in ("epochCount", "batchSize", "learningRate", "learningRateMultiplier"):
        if name in sent and not (sent[name] > 0 and math.isfinite(sent[name])):
            path = f"tuned_model.tuning_task.hyperparameters.{_snake(name)}"
            raise invalid_argument(f"{path} must be positive.", path)
    defaults = base.tuning
    chosen: dict[str, Any] = {
        "epochCount": sent.get("epochCount", defaults.epoch_count),
        "batchSize": sent.get("batchSize", defaults.batch_size(examples)),
    }
    if "learningRateMultiplier" in sent:
        chosen["learningRateMultiplier"] = sent["learningRateMultiplier"]
    else:
        chosen["learningRate"] = sent.get("learningRate", defaults.learning_rate(examples))
    return chosen


def _bounded_total_steps(examples: int, hyperparameters: dict[str, Any]) -> int:
    epochs, batch = int(hyperparameters["epochCount"]), int(hyperparameters["batchSize"])
    steps = total_steps(examples, epochs, batch)
    if steps > MAX_TOTAL_STEPS:
        raise invalid_argument(
            f"The tuning run would take {steps} steps (examples {examples} x epoch_count "
            f"{epochs} / batch_size {batch}); the emulator runs at most {MAX_TOTAL_STEPS}.",
            "tuned_model.tuning_task.hyperparameters.epoch_count",
        )
    return steps


def _snake(name: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in name)


def _update_paths(mask: str | None, body: dict[str, Any]) -> list[str]:
    """The fields a patch changes: the mask's paths, or without a mask those in the body."""
    if mask is None or mask == "":
        return [name for name in body if name not in OUTPUT_ONLY_FIELDS]
    paths = []
    for raw in mask.split(","):
        path = ".".join(_camel(part) for part in raw.strip().split("."))
        if path in IMMUTABLE_PATHS or path in OUTPUT_ONLY_FIELDS:
            raise invalid_argument(
                f'update_mask path "{raw.strip()}" names a field that cannot be updated.', "update_mask"
            )
        if path not in MUTABLE_FIELDS:
            raise invalid_argument(
                f'update_mask path "{raw.strip()[:100]}" is not a field of TunedModel.', "update_mask"
            )
        paths.append(path)
    return paths


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _apply_mutable(record: TunedModelRecord, body: dict[str, Any], paths: list[str], base: BaseModel) -> None:
    """Set each path from the body; a path the body lacks is reset, as a field mask means."""
    for path in paths:
        if path not in MUTABLE_FIELDS:
            raise invalid_argument(f'Field "{_snake(path)}" cannot be updated.', f"tuned_model.{_snake(path)}")
        _SETTERS[path](record, body.get(path), base)


def _set_display_name(record: TunedModelRecord, value: Any, base: BaseModel) -> None:
    record.display_name = _display_name(value or "")


def _set_description(record: TunedModelRecord, value: Any, base: BaseModel) -> None:
    record.description = value or ""


def _set_temperature(record: TunedModelRecord, value: Any, base: BaseModel) -> None:
    record.temperature = _in_range(value, 0.0, base.max_temperature, "temperature", base.temperature)


def _set_top_p(record: TunedModelRecord, value: Any, base: BaseModel) -> None:
    record.top_p = _in_range(value, 0.0, 1.0, "top_p", base.top_p)


def _set_top_k(record: TunedModelRecord, value: Any, base: BaseModel) -> None:
    record.top_k = int(_in_range(value, 0, 2**31 - 1, "top_k", base.top_k))


def _set_readers(record: TunedModelRecord, value: Any, base: BaseModel) -> None:
    numbers = value or []
    if any(number <= 0 for number in numbers):
        raise invalid_argument(
            "reader_project_numbers must be positive project numbers.", "tuned_model.reader_project_numbers"
        )
    record.reader_project_numbers = list(numbers)


def _in_range(value: Any, low: float, high: float, name: str, default: float) -> float:
    if value is None:
        return default  # unset: the base model's value, as on create
    if not (math.isfinite(value) and low <= value <= high):
        raise invalid_argument(f"{name} must be between {low} and {high}, not {value}.", f"tuned_model.{name}")
    return float(value)


_SETTERS: dict[str, Callable[[TunedModelRecord, Any, BaseModel], None]] = {
    "displayName": _set_display_name,
    "description": _set_description,
    "temperature": _set_temperature,
    "topP": _set_top_p,
    "topK": _set_top_k,
    "readerProjectNumbers": _set_readers,
}


def _text_filter(text: str) -> Callable[[TunedModelRecord], bool]:
    """The list filter: every word must appear in the display name or description.

    `owner:me`, `writers:me` and `readers:me` match everything (the caller owns
    every model here); `readers:everyone` keeps models shared with EVERYONE.
    """
    terms = text.lower().split()
    everyone = "readers:everyone" in terms
    words = [t for t in terms if t not in ("owner:me", "writers:me", "readers:me", "readers:everyone")]

    def keep(record: TunedModelRecord) -> bool:
        haystack = f"{record.display_name}\n{record.description}".lower()
        if everyone and not any(p.grantee_type == "EVERYONE" for p in record.permissions):
            return False
        return all(word in haystack for word in words)

    return keep
