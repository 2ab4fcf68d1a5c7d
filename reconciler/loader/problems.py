"""Problems found while loading: collected, never raised, and reported together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as the input allows.

    `line` is 1-based; 0 means the problem concerns the whole file.
    `field` is a manifest field path (`spec.hyperparameters.batchSize`), a
    dataset column (`output`), or "" when no single field is to blame.
    """

    file: str
    line: int
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


def error(file: str, line: int, field: str, message: str) -> Problem:
    return Problem(file, line, field, message, "error")


def warning(file: str, line: int, field: str, message: str) -> Problem:
    return Problem(file, line, field, message, "warning")
