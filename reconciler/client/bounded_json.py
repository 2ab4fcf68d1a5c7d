"""JSON from a server parsed in bounded memory and depth.

- A body is parsed only when it can hold at most `MAX_JSON_VALUES` values
  (counted from its separators, before parsing): a value takes up to about a
  hundred bytes once parsed, so a body of tiny values (`[[],[],...]`) cannot
  grow to gigabytes in memory.
- Nesting deeper than `MAX_JSON_DEPTH` is refused: no answer of these APIs
  nests more than a dozen levels, and deeper data would exhaust the stack of
  whatever walks it later.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_VALUES = 2_000_000
MAX_JSON_DEPTH = 64


def json_object(text: str) -> tuple[dict[str, Any] | None, str]:
    """`text` as a JSON object, or None and why not: "invalid JSON: ...", "a JSON
    array", "nested deeper than 64 levels", ... (never parsed past the bounds)."""
    values = 1 + sum(text.count(c) for c in ",:[{")
    if values > MAX_JSON_VALUES:
        return None, f"more than {MAX_JSON_VALUES} JSON values"
    try:
        parsed = json.loads(text)
    except RecursionError:
        return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
    except ValueError as exc:
        return None, f"invalid JSON: {exc}"
    if not isinstance(parsed, dict):
        return None, f"a JSON {_kind(parsed)}"
    if _depth_over(parsed, MAX_JSON_DEPTH):
        return None, f"nested deeper than {MAX_JSON_DEPTH} levels"
    return parsed, ""


def _kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _depth_over(value: Any, limit: int) -> bool:
    """Whether `value` nests deeper than `limit` (a loop, not recursion)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = current.values() if isinstance(current, dict) else current if isinstance(current, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False
