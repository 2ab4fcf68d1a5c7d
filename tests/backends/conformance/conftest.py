from __future__ import annotations

import pytest

from tests.backends.conformance.surfaces import SURFACES, Surface


@pytest.fixture(params=sorted(SURFACES))
def surface(request: pytest.FixtureRequest) -> Surface:
    """Each backend's Surface in turn; a case it is known to fail is a strict xfail."""
    made = SURFACES[request.param]()
    reason = made.known_failures.get(_case(request)) or made.known_failures.get(request.function.__name__)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    return made


def _case(request: pytest.FixtureRequest) -> str:
    """One parametrized case as `known_failures` may name it: the test function
    and the ids of its other parameters (`test_...[before]`)."""
    ids = request.node.callspec.id.split("-")
    ids.remove(request.param)
    return f"{request.function.__name__}[{'-'.join(ids)}]" if ids else request.function.__name__
