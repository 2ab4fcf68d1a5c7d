"""Options for the plan and render tests.

`pytest tests/plan --update-golden` rewrites the golden files under
tests/golden/ from the current renderers (review the diff before committing).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/* from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    # The option exists only when this conftest is loaded at start-up (pytest
    # tests/plan ...); from the repository root it is simply off.
    return bool(request.config.getoption("--update-golden", default=False))
