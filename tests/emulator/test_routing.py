"""The route tables: each surface's own, joined into one by the app."""

from __future__ import annotations

import pytest

from reconciler.emulator import EmulatorOptions, EmulatorServer
from reconciler.emulator.calls import Call, Reply
from reconciler.emulator.routing import RouteTable, api


def _health(call: Call) -> Reply:
    return 200, {}


def _other(call: Call) -> Reply:
    return 200, {"other": True}


def test_a_verb_and_path_served_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="routes served twice: GET /v1/thing"):
        RouteTable((api("GET", "/v1/thing", _health), api("GET", "/v1/thing", _other)))


def test_the_app_serves_each_surface_table_and_the_control_routes() -> None:
    server = EmulatorServer(EmulatorOptions())
    app = server.app
    tables = (
        app.gemini.routes(),
        app.vertex.routes(),
        app.gcs.routes(),
        app.control.routes(),
        app.bedrock.control_routes(),
    )
    server.stop()
    assert app.routes.routes == tuple(route for table in tables for route in table)
    # The AWS surfaces have a table each, chosen by the credential scope's service.
    assert {service: table.routes for service, (_, table) in app.aws.items()} == {
        "bedrock": app.bedrock.routes(),
        "s3": app.s3.routes(),
    }
    # Handlers are the services' own bound methods, one surface's each.
    assert {route.endpoint.handler.__self__ for route in app.gcs.routes()} == {app.gcs.service}
    assert {route.endpoint.handler.__self__ for route in app.vertex.routes() if not route.endpoint.control} == {
        app.vertex.jobs,
        app.vertex.registry,
    }
