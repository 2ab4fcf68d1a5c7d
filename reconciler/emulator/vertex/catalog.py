"""The base models Vertex AI tunes, in one place: which adapter sizes each
allows, and the defaults the service fills into a job."""

from __future__ import annotations

from dataclasses import dataclass

GEMINI_ADAPTER_SIZES = frozenset({"ADAPTER_SIZE_ONE", "ADAPTER_SIZE_TWO", "ADAPTER_SIZE_FOUR",
                                  "ADAPTER_SIZE_EIGHT", "ADAPTER_SIZE_SIXTEEN"})


@dataclass(frozen=True)
class TunableModel:
    name: str  # the bare id a job names, e.g. "gemini-2.5-flash"
    adapter_sizes: frozenset[str]
    default_adapter_size: str = "ADAPTER_SIZE_FOUR"  # [infer] the middle of the range
    default_epochs: int = 5  # [infer] the docs say only "adjusted to the dataset size"
    default_learning_rate_multiplier: float = 1.0


# Adapter sizes 1, 2, 4, 8, 16 are documented for 2.5 Flash and Flash-Lite; 32 is refused
# (python-genai#908). For the other models the docs were not captured: the same set [infer].
BASE_MODELS = (
    TunableModel("gemini-2.5-flash", GEMINI_ADAPTER_SIZES),
    TunableModel("gemini-2.5-flash-lite", GEMINI_ADAPTER_SIZES),
    TunableModel("gemini-2.5-pro", GEMINI_ADAPTER_SIZES),
    TunableModel("gemini-2.0-flash-001", GEMINI_ADAPTER_SIZES),
    TunableModel("gemini-2.0-flash-lite-001", GEMINI_ADAPTER_SIZES),
)
_BY_NAME = {model.name: model for model in BASE_MODELS}
PUBLISHER_PREFIX = "publishers/google/models/"


def find_tunable(name: str) -> TunableModel | None:
    """A job's `baseModel`: a bare id, or a `[projects/…/locations/…/]publishers/google/models/` name."""
    bare = name.rsplit(PUBLISHER_PREFIX, 1)[-1] if PUBLISHER_PREFIX in name else name
    return _BY_NAME.get(bare)
