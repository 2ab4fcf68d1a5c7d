"""The shapes of the Gemini tuned-model surface's answers, which a partial
response (`fields`) is checked against: a name the message does not have is a
400 even when one answer happens to omit the field (see `fields.py`). Each
route names its answer's shape (`gemini/surface.py`)."""

from __future__ import annotations

from reconciler.emulator.fields import ANY, Shape

_SNAPSHOT = {"step": None, "epoch": None, "meanLoss": None, "computeTime": None}
_HYPERPARAMETERS = {"learningRate": None, "learningRateMultiplier": None, "epochCount": None, "batchSize": None}
_EXAMPLES = {"examples": {"examples": {"textInput": None, "output": None}}, "multiturnExamples": {"examples": ANY}}
TUNED_MODEL: Shape = {
    "name": None,
    "baseModel": None,
    "tunedModelSource": {"tunedModel": None, "baseModel": None},
    "displayName": None,
    "description": None,
    "temperature": None,
    "topP": None,
    "topK": None,
    "state": None,
    "createTime": None,
    "updateTime": None,
    "tuningTask": {
        "startTime": None,
        "completeTime": None,
        "snapshots": _SNAPSHOT,
        "trainingData": _EXAMPLES,
        "hyperparameters": _HYPERPARAMETERS,
    },
    "readerProjectNumbers": None,
}
_METADATA = {
    "@type": None,
    "tunedModel": None,
    "totalSteps": None,
    "completedSteps": None,
    "completedPercent": None,
    "snapshots": _SNAPSHOT,
}
OPERATION: Shape = {
    "name": None,
    "metadata": _METADATA,
    "done": None,
    "error": {"code": None, "message": None, "details": ANY},
    "response": {"@type": None, **TUNED_MODEL},
}
PERMISSION: Shape = {"name": None, "granteeType": None, "emailAddress": None, "role": None}
BASE_MODEL: Shape = dict.fromkeys(
    (
        "name",
        "baseModelId",
        "version",
        "displayName",
        "description",
        "inputTokenLimit",
        "outputTokenLimit",
        "supportedGenerationMethods",
        "temperature",
        "maxTemperature",
        "topP",
        "topK",
    )
)
EMPTY: Shape = {}


def page(key: str, item: Shape) -> Shape:
    """A list answer: its items under `key`, and the next page's token."""
    return {key: item, "nextPageToken": None}
