"""Training data as Vertex AI reads it: canonical JSONL in Cloud Storage.

Each example is one line of the Gemini `contents` format, a user turn then a
model turn, compact UTF-8 with a fixed key order. Lines are sorted by the
fingerprint's own example hash, so one dataset digest maps to exactly one
byte string: its SHA-256 names the object, reordering the source uploads
nothing, and a second apply finds the object already there.
"""

from __future__ import annotations

import hashlib
import json

from reconciler.loader import read_examples
from reconciler.loader.fingerprint import example_hash
from reconciler.model.desired import DesiredModel

CONTENT_TYPE = "application/jsonl"


def example_line(text_input: str, output: str) -> bytes:
    contents = [
        {"role": "user", "parts": [{"text": text_input}]},
        {"role": "model", "parts": [{"text": output}]},
    ]
    return json.dumps({"contents": contents}, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def canonical_jsonl(model: DesiredModel, *, validation: bool = False) -> bytes:
    examples = sorted(read_examples(model, validation=validation), key=lambda e: example_hash(e.text_input, e.output))
    return b"".join(example_line(e.text_input, e.output) for e in examples)


def object_name(prefix: str, data: bytes) -> str:
    return f"{prefix}{hashlib.sha256(data).hexdigest()}.jsonl"
