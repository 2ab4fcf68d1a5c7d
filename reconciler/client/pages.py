"""Following a paged list to its end, and no further.

A list stops with an `UnexpectedResponse` naming the request, never with a
partial list, when the server:

- repeats a page token (it would loop for ever), or sends one that is not a
  string or is longer than `MAX_PAGE_TOKEN_CHARS` (Google's are a few hundred);
- sends more than `MAX_PAGES` pages (a hundred thousand entries at a thousand
  a page: far more tuned models than a project holds, and a bound on what a
  server that mints ever-new tokens can make a plan read);
- sends a page whose list is not an array, holds more entries than the page
  size asked for, or has an entry that is not the shape the backend decodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from reconciler.client.errors import UnexpectedResponse
from reconciler.client.shapes import ListOf, Shape, shape_problem

MAX_PAGES = 100
MAX_PAGE_TOKEN_CHARS = 8192

Fetch = Callable[[str], dict[str, Any]]  # a page token ("" for the first) -> the page


def pages(fetch: Fetch, key: str, *, what: str, page_size: int, shape: Shape) -> Iterator[list[dict[str, Any]]]:
    """The entries under `key` of every page, a page at a time; `what` names
    the request ("GET /v1beta/tunedModels") in every error."""
    seen: set[str] = set()
    token = ""
    for number in range(1, MAX_PAGES + 1):
        page = fetch(token)
        problem = _entries_problem(page, key, shape, page_size) or _token_problem(page, seen)
        if problem is not None:
            raise UnexpectedResponse(f"page {number}: {problem}", request=what)
        yield page.get(key, [])
        token = page.get("nextPageToken") or ""
        if not token:
            return
        seen.add(token)
    raise UnexpectedResponse(f"more than {MAX_PAGES} pages; stopped (a list that never ends?)", request=what)


def _entries_problem(page: dict[str, Any], key: str, shape: Shape, page_size: int) -> str | None:
    entries = page.get(key, [])
    problem = shape_problem(entries, ListOf(shape), key)
    if problem is None and len(entries) > page_size:
        problem = f"{key} holds {len(entries)} entries, more than the {page_size} asked for"
    return problem


def _token_problem(page: dict[str, Any], seen: set[str]) -> str | None:
    token = page.get("nextPageToken") or ""
    if not isinstance(token, str):
        return "nextPageToken is not a string"
    if len(token) > MAX_PAGE_TOKEN_CHARS:
        return f"nextPageToken is longer than {MAX_PAGE_TOKEN_CHARS} characters"
    if token in seen:
        return "repeated page token; stopped (the list would never end)"
    return None
