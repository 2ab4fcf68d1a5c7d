"""The base models Vertex AI tunes, in one place: which adapter sizes each
allows, and the defaults the service fills into a job."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

GEMINI_ADAPTER_SIZES = frozenset(
    {"ADAPTER_SIZE_ONE", "ADAPTER_SIZE_TWO", "ADAPTER_SIZE_FOUR", "ADAPTER_SIZE_EIGHT", "ADAPTER_SIZE_SIXTEEN"}
)


@dataclass(frozen=True)
class TunableModel:
    name: str  # the bare id a job names, e.g. "gemini-2.5-flash"
    adapter_sizes: frozenset[str]
    default_adapter_size: str = "ADAPTER_SIZE_FOUR"  # [infer] the middle of the range
    default_epochs: int = 5  # [infer] the docs say only "adjusted to the dataset size"
    default_learning_rate_multiplier: float = 1.0


# The same catalogue the reconciler ships (backends/vertex/base_models.json),
# read as data: the emulator tunes exactly the models validate accepts.
CATALOGUE = Path(__file__).resolve().parents[2] / "backends" / "vertex" / "base_models.json"
SIZE_NAMES = {
    1: "ADAPTER_SIZE_ONE",
    2: "ADAPTER_SIZE_TWO",
    4: "ADAPTER_SIZE_FOUR",
    8: "ADAPTER_SIZE_EIGHT",
    16: "ADAPTER_SIZE_SIXTEEN",
    32: "ADAPTER_SIZE_THIRTY_TWO",
}


def _catalogue() -> tuple[TunableModel, ...]:
    models = json.loads(CATALOGUE.read_text(encoding="utf-8"))["models"]
    return tuple(
        TunableModel(name, frozenset(SIZE_NAMES[size] for size in entry["adapterSizes"]))
        for name, entry in models.items()
    )


BASE_MODELS = _catalogue()
_BY_NAME = {model.name: model for model in BASE_MODELS}
PUBLISHER_PREFIX = "publishers/google/models/"


def find_tunable(name: str) -> TunableModel | None:
    """A job's `baseModel`: a bare id, or a `[projects/…/locations/…/]publishers/google/models/` name."""
    bare = name.rsplit(PUBLISHER_PREFIX, 1)[-1] if PUBLISHER_PREFIX in name else name
    return _BY_NAME.get(bare)
