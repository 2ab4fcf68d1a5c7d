"""The limits a backend's service puts on a dataset, as one typed object.

Each backend's rules own their values (reconciler/backends/<name>/rules.py);
the loader applies the chosen backend's, and only those. Without a backend
(`load` called alone) only what every service shares is checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

GIB = 2**30
CHARACTERS_PER_TOKEN = 4  # the rule of thumb DatasetSummary.estimated_tokens uses too


class ExampleFormat(Protocol):
    """How a service writes one training example, where its format cannot hold
    every example the reconciler reads (prompt/completion pairs hold no
    conversation, say). An implementation is frozen, hashable and has a stable
    repr: a dataset's checked result is cached under it."""

    def pair_problem(self, text_input: str, output: str) -> tuple[str, str] | None:
        """Why a text_input/output example cannot be written: ("input" or "output", the reason); None if it can."""
        ...

    def contents_problem(self, canonical: bytes) -> tuple[str, str] | None:
        """Why an example in the `contents` format (its canonical line) cannot be written:
        (its field, the reason); None if it can."""
        ...


@dataclass(frozen=True)
class DatasetLimits:
    """What one service accepts; None: the service sets no such limit."""

    service: str = "the API"  # how messages name the service: "the Gemini API", "Vertex AI"
    min_examples: int = 1
    max_examples: int | None = None
    max_input_characters: int | None = None
    max_output_characters: int | None = None
    max_example_tokens: int | None = None  # input and output (and system instruction) of one example
    # Every example travels in the create request's body (the Gemini API).
    max_request_bytes: int | None = None
    warn_file_bytes: int | None = None  # a warning above this size, no error
    warn_file_reason: str = ""
    # A file larger than this is refused without being read.
    max_file_bytes: int = GIB
    max_validation_examples: int | None = None
    # Rows in Vertex AI's own `contents` format; None accepts them, else why not.
    contents_refused: str | None = None
    # The service's format, where some examples cannot be written in it (training and validation data).
    example_format: ExampleFormat | None = None

    def example_characters_limit(self) -> int | None:
        """The characters one example may hold under `max_example_tokens` (estimated, ~4 a token)."""
        return None if self.max_example_tokens is None else self.max_example_tokens * CHARACTERS_PER_TOKEN


# What `load` checks when no backend is named.
NO_LIMITS = DatasetLimits()
