"""Resource ids the way the real service makes them.

A tuned model created without `tunedModelId` gets the words of its display
name joined by hyphens plus a random suffix (`number generator` →
`number-generator-wl1qr34x2py`), or a fully random id without a display name.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
import threading

MODEL_ID = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")
MAX_ID_LENGTH = 40
SUFFIX_LENGTH = 12
ALPHABET = string.ascii_lowercase + string.digits


class IdMaker:
    """Random ids from one seeded generator, safe to share between threads."""

    def __init__(self, seed: int | None) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def token(self, length: int) -> str:
        with self._lock:
            first = self._random.choice(string.ascii_lowercase)
            rest = "".join(self._random.choice(ALPHABET) for _ in range(length - 1))
        return first + rest

    def chars(self, count: int, alphabet: str) -> str:
        """`count` characters of `alphabet`; the first is never "0" (no leading zero)."""
        with self._lock:
            first = self._random.choice(alphabet.lstrip("0") or alphabet)
            rest = "".join(self._random.choice(alphabet) for _ in range(count - 1))
        return first + rest

    def chance(self, rate: float) -> bool:
        with self._lock:
            return self._random.random() < rate

    def model_id(self, display_name: str) -> str:
        words = _words(display_name)
        if not words:
            return self.token(11)
        room = MAX_ID_LENGTH - SUFFIX_LENGTH - 1
        stem = "-".join(words)[:room].strip("-")
        return f"{stem}-{self.token(SUFFIX_LENGTH)}"


def _words(display_name: str) -> list[str]:
    # `test_number_generator` → `testnumbergenerator`: characters outside
    # [a-z0-9] are dropped, whitespace separates words.
    words = ("".join(ch for ch in word if ch in ALPHABET) for word in display_name.lower().split())
    kept = [word for word in words if word]
    while kept and not kept[0][0].isalpha():  # an id starts with a letter
        kept[0] = kept[0].lstrip(string.digits)
        if not kept[0]:
            kept.pop(0)
    return kept


def project_number(project: str) -> str:
    """A project number as given, or a fixed 12-digit one derived from the project id.

    The real service answers with the number even when the request used the id; the
    number of a given id is stable here (a hash) so that names survive restarts."""
    if project.isdigit():
        return project
    digest = int.from_bytes(hashlib.sha256(project.encode()).digest()[:8], "big")
    return str(100_000_000_000 + digest % 900_000_000_000)
