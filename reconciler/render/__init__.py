"""render layer: pure functions from a Plan to text, Markdown or JSON."""

from reconciler.render.json import json_chunks, plan_document, render_json
from reconciler.render.markdown import GITHUB_COMMENT_LIMIT, render_markdown
from reconciler.render.text import render_text

__all__ = [
    "GITHUB_COMMENT_LIMIT",
    "json_chunks",
    "plan_document",
    "render_json",
    "render_markdown",
    "render_text",
]
