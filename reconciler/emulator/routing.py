"""The words of the route tables. A `Route` is a verb, a werkzeug path and an
`Endpoint` whose handler is the bound method that serves it. Each surface
(`gemini/`, `vertex/`, `gcs/`) and the control endpoints (`control.py`) give a
tuple of routes; `RouteTable` joins them and finds the one a request names.

werkzeug compiles a map's rules once (some 25 ms for the emulator's 80), and a
test makes a server of its own; so the compiled map is shared by every table
with the same verbs and paths, and each table keeps its own handlers."""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.routing import BaseConverter, Map, Rule

from reconciler.emulator.calls import Reply
from reconciler.emulator.fields import Shape

PAGED = ("pageSize", "pageToken")


class IdConverter(BaseConverter):
    """One path segment up to a `:verb` suffix."""

    regex = r"[^/:]+"


@dataclass(frozen=True)
class Endpoint:
    handler: Callable[..., Reply]  # called with the `Call` and the path's arguments
    query: tuple[str, ...] = ()  # the API query parameters it accepts (camelCase)
    control: bool = False  # /_internal/: no faults, auth or counting
    raw_body: bool = False  # the body is media bytes (uploads), not JSON
    anonymous: bool = False  # served without credentials (Cloud Storage emulator clients)
    response: Shape | None = None  # the answer's message, which a `fields` mask must name fields of
    scoped_rpc: str = ""  # the RPC of a method that needs the tuning scope (see auth.py)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # a werkzeug rule: `/<any(v1,v1beta):version>/tunedModels/<id:model_id>`
    endpoint: Endpoint
    # `/{version}/tunedModels/{model_id}`: how `/_internal/requests` counts it
    template: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "template", re.sub(r"<(?:[^:>]*:)?([^>]+)>", r"{\1}", self.path))


def api(
    method: str,
    path: str,
    handler: Callable[..., Reply],
    *query: str,
    response: Shape | None = None,
    scoped_rpc: str = "",
) -> Route:
    """A method of a Google API: counted, subject to faults, holds and auth."""
    return Route(method, path, Endpoint(handler, tuple(query), response=response, scoped_rpc=scoped_rpc))


def storage(method: str, path: str, handler: Callable[..., Reply], *query: str, raw: bool = False) -> Route:
    """A Cloud Storage method: as `api`, but served without credentials, as its emulators are."""
    return Route(method, path, Endpoint(handler, tuple(query), raw_body=raw, anonymous=True))


def control(method: str, path: str, handler: Callable[..., Reply], *query: str) -> Route:
    """An /_internal/ endpoint: no faults, holds, auth or counting."""
    return Route(method, path, Endpoint(handler, tuple(query), control=True))


class RouteTable:
    """Routes joined into one table. A verb and path served twice is refused:
    werkzeug would answer with one of them and never call the other."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)
        paths = tuple((route.method, route.path) for route in self.routes)
        twice = sorted(f"{method} {path}" for (method, path), seen in Counter(paths).items() if seen > 1)
        if twice:
            raise ValueError(f"routes served twice: {', '.join(twice)}")
        self._map = _compiled(paths)

    def match(self, environ: dict[str, Any]) -> tuple[Route, dict[str, str]]:
        """The route and the path's arguments; werkzeug's NotFound or
        MethodNotAllowed when none matches."""
        position, args = self._map.bind_to_environ(environ).match()
        return self.routes[position], dict(args)


@functools.lru_cache(maxsize=4)
def _compiled(paths: tuple[tuple[str, str], ...]) -> Map:
    """A werkzeug map of these verbs and paths whose endpoints are their positions."""
    rules = [Rule(path, methods=[method], endpoint=position) for position, (method, path) in enumerate(paths)]
    return Map(rules, converters={"id": IdConverter}, strict_slashes=False, merge_slashes=False)


def aws(method: str, path: str, handler: Callable[..., Reply]) -> Route:
    """A method of an AWS surface: counted, subject to faults and holds, its
    SigV4 signature checked; the body raw (each service parses its own) and the
    query taken as sent (AWS ignores parameters it does not know)."""
    return Route(method, path, Endpoint(handler, raw_body=True))
