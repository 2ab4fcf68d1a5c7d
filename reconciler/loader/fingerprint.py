"""The canonical fingerprint of a set of training examples.

What it must and must not depend on:

- Not the file format, key order, quoting or whitespace of the file: those
  are syntax. The same examples as CSV, JSONL, JSON or inline YAML give the
  same fingerprint.
- Not the order of the examples. Training data is input-only and immutable,
  so a changed fingerprint forces a replace: a delete and a new tuning run
  that costs quota and hours. Sorting a dataset file must not cost that. The
  API shuffles examples into batches anyway. So the examples are hashed as a
  multiset: each example gets its own SHA-256, and the sorted list of those
  digests (32 bytes an example, never the texts) is hashed again.
- Every character of every example's input and output, including leading and
  trailing spaces: they are what the model is trained on.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterable

from reconciler.model.manifest import Example

# Bumped if the canonical form ever changes, so old and new never compare equal.
_DOMAIN = b"reconciler/examples/v1\n"


_LENGTH = struct.Struct(">Q").pack  # 8 bytes, big-endian: int.to_bytes(8, "big"), faster


def example_hash(text_input: str, output: str) -> bytes:
    """SHA-256 of one example; the input's byte length makes the split unambiguous."""
    encoded_input = text_input.encode("utf-8")
    return hashlib.sha256(_LENGTH(len(encoded_input)) + encoded_input + output.encode("utf-8")).digest()


def example_hashes(inputs: list[str], outputs: list[str]) -> list[bytes]:
    """`example_hash` of each pair, in one comprehension (no call a row)."""
    sha256, length = hashlib.sha256, _LENGTH
    return [
        sha256(length(len(encoded := text_input.encode("utf-8"))) + encoded + output.encode("utf-8")).digest()
        for text_input, output in zip(inputs, outputs, strict=True)
    ]


class Fingerprint:
    """Accumulates example hashes one at a time (datasets are streamed)."""

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        # The list's own append: the loader calls this once an example.
        self.add_hash: Callable[[bytes], None] = self._hashes.append
        self.add_hashes: Callable[[Iterable[bytes]], None] = self._hashes.extend

    def add(self, text_input: str, output: str) -> bytes:
        digest = example_hash(text_input, output)
        self._hashes.append(digest)
        return digest

    def hexdigest(self) -> str:
        total = hashlib.sha256(_DOMAIN)
        total.update(len(self._hashes).to_bytes(8, "big"))
        total.update(b"".join(sorted(self._hashes)))  # one call, not one a digest
        return "sha256:" + total.hexdigest()


def example_digest(examples: Iterable[Example]) -> str:
    """The fingerprint of `examples` ("sha256:<hex>"), whatever their order."""
    fingerprint = Fingerprint()
    for example in examples:
        fingerprint.add(example.text_input, example.output)
    return fingerprint.hexdigest()
