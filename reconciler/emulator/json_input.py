"""Request bodies as Google's JSON front end reads them.

The real API accepted the tuning tutorial's curl bodies, which have trailing
commas (`{"output": "2",}`): curl's recorded upload size is exactly that body
and the recorded answer is the operation. So a comma before `}` or `]` is
accepted here too. Everything else is strict JSON: NaN and Infinity literals,
comments, single quotes and a doubled comma are refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reconciler.emulator.errors import invalid_argument

# A string literal (kept as it is), or a comma that follows a value and that only
# whitespace separates from the `}` or `]` after it (dropped): `{,}` and `[1,,]`
# stay invalid. The closing quote is optional so that an unterminated string is
# consumed to the end in one pass, not retried from each quote inside it
# (which would be quadratic).
_STRING_OR_TRAILING_COMMA = re.compile(r'"(?:[^"\\]|\\.)*"?|(?<=[^\s{\[,])\s*,(?=\s*[}\]])', re.DOTALL)


def parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _unexpected_token() from None
    try:
        return _loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return _loads(_STRING_OR_TRAILING_COMMA.sub(_keep_strings, text))
    except (ValueError, RecursionError):
        raise _unexpected_token() from None


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_reject_constant)


def _keep_strings(match: re.Match[str]) -> str:
    token = match.group(0)
    return token if token.startswith('"') else ""


def _reject_constant(name: str) -> Any:
    # proto3 JSON spells NaN and Infinity as strings; bare literals are not JSON.
    raise ValueError(name)


def _unexpected_token() -> Exception:
    return invalid_argument("Invalid JSON payload received. Unexpected token.")
