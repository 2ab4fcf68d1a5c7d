"""A backend test's emulator holds the Vertex datasets bucket, as a real project
does before its first apply: the backend never makes it. `make_emulator` (and
so `emulator`) here seeds it through `EmulatorOptions.buckets`; a test of a
missing bucket passes `buckets=()`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import BUCKET


@pytest.fixture
def make_emulator(make_emulator: Callable[..., EmulatorServer]) -> Callable[..., EmulatorServer]:
    def make(clock: Callable[[], float] | None = None, **options: Any) -> EmulatorServer:
        return make_emulator(clock, **{"buckets": (BUCKET,), **options})

    return make
