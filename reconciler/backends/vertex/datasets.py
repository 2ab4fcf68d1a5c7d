"""Training data as Vertex AI reads it: canonical JSONL in Cloud Storage.

Each example is one line of the Gemini `contents` format, compact UTF-8 with
a fixed key order (`reconciler.loader.contents`): a text_input/output pair
as a user turn then a model turn, with `spec.systemInstruction` when the
manifest has one; an example written in the `contents` format as its
canonical form. Lines are sorted by the fingerprint's own example hash, so
one dataset digest maps to exactly one byte string: its SHA-256 names the
object, reordering the source uploads nothing, and a second apply finds the
object already there.
"""

from __future__ import annotations

import hashlib

from reconciler.loader import read_canonical_lines
from reconciler.loader.contents import pair_line
from reconciler.model.desired import DesiredModel

CONTENT_TYPE = "application/jsonl"


def canonical_jsonl(model: DesiredModel, *, validation: bool = False) -> bytes:
    lines = sorted(read_canonical_lines(model, validation=validation))
    return b"".join(line for _, line in lines)


def object_name(prefix: str, data: bytes) -> str:
    return f"{prefix}{hashlib.sha256(data).hexdigest()}.jsonl"


def example_line(text_input: str, output: str) -> bytes:
    """One text_input/output example as its canonical line (no system instruction)."""
    return pair_line(text_input, output)
