"""The immutable inputs of a tuning run, compared once for every purpose.

Source model and hyperparameters are compared with what the backend reads back
from the live model; training data, which no API returns, with the fingerprint
its ownership records. The same comparison decides a replace, explains it row
by row, checks an exported manifest and says whether a running model will be
replaced later.

Hyperparameters are compared within the scope the manifest declares (as kopf's
DiffScope does): a declared key against its live value, an undeclared one only
where the server's default is fixed (epochCount on Gemini) and otherwise left
to the server. So the rows shown are exactly the values that change. A
declared key the server does not echo can only be checked through the
fingerprint its ownership records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.model.desired import DesiredModel
from reconciler.model.live import LiveModel
from reconciler.model.ownership import Ownership, hyperparameters_hash, ownership_for
from reconciler.plan.diff import same
from reconciler.plan.types import FieldDiff

SOURCE_PATHS = ("spec.baseModel", "spec.sourceModel")
CUSTOMIZATION_PATH = "spec.customization"
TEACHER_MODEL_PATH = "spec.teacherModel"
HYPERPARAMETERS_PATH = "spec.hyperparameters"
TRAINING_DATA_PATH = "spec.trainingData"
VALIDATION_DATA_PATH = "spec.validationData"


def source_diff(model: DesiredModel, live: LiveModel) -> FieldDiff | None:
    wanted = model.manifest.spec.source
    if live.source == wanted:
        return None
    path = SOURCE_PATHS[0] if model.manifest.spec.base_model else SOURCE_PATHS[1]
    return FieldDiff(path=path, before=live.source or None, after=wanted)


def customization_diffs(model: DesiredModel, live: LiveModel) -> tuple[FieldDiff, ...]:
    """How the live model was made, against the manifest: fine-tuned, distilled
    (and from which teacher) or pre-trained further, each a different model."""
    spec = model.manifest.spec
    pairs = (
        (CUSTOMIZATION_PATH, live.customization, spec.customization.value),
        (TEACHER_MODEL_PATH, live.teacher_model, spec.teacher_model),
    )
    return tuple(FieldDiff(path=path, before=before, after=after) for path, before, after in pairs if before != after)


def hyperparameter_diffs(model: DesiredModel, live: LiveModel, defaults: Mapping[str, Any]) -> tuple[FieldDiff, ...]:
    declared = model.manifest.spec.hyperparameters.as_sent()
    echoed = live.hyperparameters
    wanted = {**{k: v for k, v in defaults.items() if k in echoed}, **declared}
    fingerprint_differs = live.ownership is not None and live.ownership.hyperparameters != hyperparameters_hash(model)
    return tuple(
        FieldDiff(path=f"{HYPERPARAMETERS_PATH}.{key}", before=echoed.get(key), after=value)
        for key, value in sorted(wanted.items())
        if (not same(echoed[key], value) if key in echoed else fingerprint_differs)
    )


def data_diffs(ownership: Ownership, model: DesiredModel) -> tuple[FieldDiff, ...]:
    """The training data's and the validation data's diffs, each only where it
    changed. The fingerprint covers both together; a marker that records them
    apart (`parts`) tells which. Without `parts`, a live data part equal to
    the manifest's training data alone means the live run had no validation
    data; otherwise which of the two changed is unknown, and the diff is the
    combined data's, under spec.trainingData as before."""
    wanted = ownership_for(model)
    if (wanted.data, wanted.examples) == (ownership.data, ownership.examples):
        return ()
    live_training = ownership.parts.training if ownership.parts else ownership.data
    wanted_training = wanted.parts.training if wanted.parts else wanted.data
    if ownership.parts is None and wanted.parts is not None and live_training != wanted_training:
        return (_counted(TRAINING_DATA_PATH, ownership.data, ownership.examples, wanted.data, wanted.examples),)
    diffs = []
    if (live_training, ownership.examples) != (wanted_training, wanted.examples):
        diffs.append(_counted(TRAINING_DATA_PATH, live_training, ownership.examples, wanted_training, wanted.examples))
    if ownership.parts != wanted.parts:
        diffs.append(FieldDiff(path=VALIDATION_DATA_PATH, before=_validation(ownership), after=_validation(wanted)))
    return tuple(diffs)


def _counted(path: str, before_hash: str, before: int, after_hash: str, after: int) -> FieldDiff:
    return FieldDiff(
        path=path, before={"examples": before, "hash": before_hash}, after={"examples": after, "hash": after_hash}
    )


def _validation(ownership: Ownership) -> dict[str, Any] | None:
    parts = ownership.parts
    return None if parts is None else {"examples": parts.validation_examples, "hash": parts.validation}


def data_reason(diff: FieldDiff, ambiguous: bool = False) -> str:
    """What the counts and the hashes show, and no more: the count's net change,
    and that the multiset of examples differs. Which examples were added,
    removed or edited is unknown (the ownership records a hash, and no API
    returns training data): 20 -> 21 may be one added, or two added, one
    removed and one edited."""
    before, after = diff.before, diff.after
    if diff.path == VALIDATION_DATA_PATH and (before is None or after is None):
        return (
            f"validation data added ({after['examples']} examples, hash {after['hash']})"
            if before is None
            else f"validation data removed (was {before['examples']} examples, hash {before['hash']})"
        )
    what = "validation data" if diff.path == VALIDATION_DATA_PATH else "training data"
    if ambiguous:
        what = "training or validation data (its labels predate recording them apart)"
    delta = after["examples"] - before["examples"]
    counted = f"a net {abs(delta)} {'more' if delta > 0 else 'fewer'}" if delta else "the same count"
    return (
        f"the {what} changed ({before['examples']} -> {after['examples']} examples: {counted}; "
        f"data hash {before['hash']} -> {after['hash']}: the examples differ)"
    )


def input_changes(
    model: DesiredModel, live: LiveModel, defaults: Mapping[str, Any]
) -> tuple[list[str], list[str], list[FieldDiff]]:
    """(reasons, paths, diffs) for every immutable input that differs; empty when none does."""
    reasons: list[str] = []
    paths: list[str] = []
    diffs: list[FieldDiff] = []
    source = source_diff(model, live)
    if source is not None:
        reasons.append("the source model changed")
        paths.append(source.path)
        diffs.append(source)
    customization = customization_diffs(model, live)
    if customization:
        reasons.append("the customization changed")
        paths.extend(diff.path for diff in customization)
        diffs.extend(customization)
    hyperparameters = hyperparameter_diffs(model, live, defaults)
    if hyperparameters:
        reasons.append("the hyperparameters changed")
        paths.append(HYPERPARAMETERS_PATH)
        diffs.extend(hyperparameters)
    data = data_diffs(live.ownership, model) if live.ownership and model.dataset.known else ()
    ambiguous = bool(live.ownership and live.ownership.parts is None and model.validation is not None)
    for diff in data:
        reasons.append(data_reason(diff, ambiguous and diff.path == TRAINING_DATA_PATH))
        paths.append(diff.path)
        diffs.append(diff)
    return reasons, paths, diffs


def mismatch_lines(diffs: list[FieldDiff]) -> list[str]:
    """`path: manifest X, live Y` for an exported manifest's immutable differences."""
    return [f"{d.path}: manifest {d.after!r}, live {d.before!r}" for d in diffs]
