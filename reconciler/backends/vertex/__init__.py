"""Vertex AI supervised tuning: everything specific to it lives in this package.

- `client`: the HTTP calls (Vertex AI and Cloud Storage); `datasets`: the canonical JSONL;
- `labels`: ownership in labels; `live`: the join of jobs, Models and Endpoints;
- `rules`: what the planner and `validate` need; `lock`: the per-model lock object;
- `backend`: `VertexBackend`, the actions; `export`: manifests from live models.
"""

from reconciler.backends.vertex.backend import VertexBackend
from reconciler.backends.vertex.rules import RULES, manifest_problems

__all__ = ["RULES", "VertexBackend", "manifest_problems"]
