"""objects.list as the JSON API does it: in name order, with `prefix`,
`delimiter` (and `prefixes`), `includeTrailingDelimiter`, `startOffset`
(inclusive), `endOffset` (exclusive), `matchGlob`, `versions` (one live
generation each here) and `maxResults`/`pageToken` pages that go on after the
last name (or prefix) given."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.gcs import errors
from reconciler.emulator.gcs.conditions import check_common

MAX_RESULTS = 1000


@dataclass(frozen=True)
class Entry:
    key: str  # the object's name, or the prefix
    document: dict[str, Any] | None  # None: a prefix


@dataclass(frozen=True)
class Listing:
    prefix: str
    delimiter: str
    start: str
    end: str
    glob: re.Pattern[str] | None
    trailing: bool
    size: int
    after: str | None

    @classmethod
    def of(cls, query: Mapping[str, str]) -> Listing:
        check_common(query)
        if query.get("includeFoldersAsPrefixes", "false").lower() != "false":
            raise errors.bad_request("includeFoldersAsPrefixes is for buckets with hierarchical namespace: none here.")
        size_text = query.get("maxResults", str(MAX_RESULTS))
        if not re.fullmatch(r"\d{1,9}", size_text) or int(size_text) < 1:
            raise errors.bad_request(f"Invalid value for maxResults: {size_text[:30]!r}")
        for flag in ("versions", "includeTrailingDelimiter"):
            if query.get(flag, "false").lower() not in ("true", "false"):
                raise errors.bad_request(f"Invalid value for {flag}: {query[flag][:30]!r}")
        glob = query.get("matchGlob")
        return cls(
            prefix=query.get("prefix", ""),
            delimiter=query.get("delimiter", ""),
            start=query.get("startOffset", ""),
            end=query.get("endOffset", ""),
            glob=compile_glob(glob) if glob else None,
            trailing=query.get("includeTrailingDelimiter", "false").lower() == "true",
            size=min(int(size_text), MAX_RESULTS),
            after=_after(query.get("pageToken", "")),
        )

    def page(self, documents: Iterable[dict[str, Any]]) -> tuple[list[Entry], str]:
        """The entries of this page in name order, and the next page's token ("" at the end)."""
        prefixes: set[str] = set()
        objects: list[Entry] = []
        for document in documents:
            name = document["name"]
            if not self._wanted(name):
                continue
            rest = name[len(self.prefix) :]
            if self.delimiter and self.delimiter in rest:
                prefix = self.prefix + rest.split(self.delimiter, 1)[0] + self.delimiter
                prefixes.add(prefix)
                if not (self.trailing and name == prefix):
                    continue  # listed through its prefix (a trailing-delimiter name is both)
            objects.append(Entry(name, document))
        ordered = sorted([Entry(p, None) for p in prefixes] + objects, key=_position_of)
        if self.after is not None:
            ordered = [e for e in ordered if _position_of(e) > _position(self.after)]
        page = ordered[: self.size]
        return page, _token(page[-1]) if len(ordered) > self.size else ""

    def _wanted(self, name: str) -> bool:
        return (
            name.startswith(self.prefix)
            and name >= self.start
            and (not self.end or name < self.end)
            and (self.glob is None or self.glob.fullmatch(name) is not None)
        )


def compile_glob(pattern: str) -> re.Pattern[str]:
    """matchGlob: `*` any characters but `/`, `**` any characters, `?` one
    character but `/`, `[abc]` / `[!abc]` a class, `{a,b}` alternatives."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = pattern.find("]", i + 1)
            if close < 0:
                raise errors.bad_request(f"Invalid matchGlob: {pattern[:100]!r}")
            body = pattern[i + 1 : close]
            negate = body.startswith("!")
            out.append("[" + ("^" if negate else "") + re.escape(body.removeprefix("!")) + "]")
            i = close + 1
            continue
        elif char == "{":
            close = pattern.find("}", i + 1)
            if close < 0:
                raise errors.bad_request(f"Invalid matchGlob: {pattern[:100]!r}")
            out.append("(?:" + "|".join(re.escape(part) for part in pattern[i + 1 : close].split(",")) + ")")
            i = close + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _token(entry: Entry) -> str:
    raw = json.dumps({"after": entry.key, "object": entry.document is not None}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _after(token: str) -> str | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return json.dumps([str(data["after"]), bool(data["object"])])
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request("Invalid pageToken.") from None


def _position_of(entry: Entry) -> tuple[str, bool]:
    return entry.key, entry.document is not None


def _position(after: str) -> tuple[str, bool]:
    key, is_object = json.loads(after)
    return str(key), bool(is_object)
