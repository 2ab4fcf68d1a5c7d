"""Training data as Amazon Bedrock reads it: canonical JSONL in S3, one object a dataset.

Each example is one line in its base model's format (`formats`), written from
the canonical `contents` form the fingerprint hashes. Lines are sorted by the
fingerprint's own example hash, as the Vertex AI backend sorts them, so one
dataset digest maps to exactly one byte string: its SHA-256 names the object
(`{prefix}{sha256}.jsonl`), reordering the source uploads nothing and re-tunes
nothing, and a second apply finds the object already there.
"""

from __future__ import annotations

import hashlib

from reconciler.backends.bedrock.catalogue import ModelEntry
from reconciler.backends.bedrock.formats import example_format
from reconciler.loader import read_canonical_lines
from reconciler.model.desired import DesiredModel

CONTENT_TYPE = "application/jsonl"


def canonical_jsonl(model: DesiredModel, entry: ModelEntry, *, validation: bool = False) -> bytes:
    """The model's training (or validation) data in `entry`'s format for its customization:
    `entry` is the base model at the root of its chain. Raises UserError if the data no
    longer reads cleanly, or holds an example the format cannot (validate refuses both first)."""
    written = example_format(entry, model.manifest.spec.customization)
    lines = sorted(
        (digest, written.line(canonical)) for digest, canonical in read_canonical_lines(model, validation=validation)
    )
    return b"".join(line for _, line in lines)


def object_name(prefix: str, data: bytes) -> str:
    return f"{prefix}{hashlib.sha256(data).hexdigest()}.jsonl"
