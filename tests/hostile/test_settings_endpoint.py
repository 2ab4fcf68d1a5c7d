"""`endpoint` in reconciler.yaml: https, or http to loopback; no credentials, no path.

A refused endpoint is never repeated in the message: a mistyped one may hold a
password.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.model.settings import endpoint_problem

from .conftest import CountingServer
from .helpers import assert_clear_error, run, write_repo

PASSWORD = "hunter2-s3cret"

# endpoint, what the message says
REFUSED = [
    (f"https://user:{PASSWORD}@generativelanguage.googleapis.com", "must not hold credentials"),
    (f"htps://user:{PASSWORD}@generativelanguage.googleapis.com", "must not hold credentials"),
    (f"https://{PASSWORD}@generativelanguage.googleapis.com", "must not hold credentials"),
    ("https://generativelanguage.googleapis.com/v1beta", "must be a scheme and host only"),
    ("https://generativelanguage.googleapis.com/?key=abc", "must be a scheme and host only"),
    ("https://generativelanguage.googleapis.com#x", "must be a scheme and host only"),
    ("http://generativelanguage.googleapis.com", "must use https"),
    ("http://10.0.0.1:8080", "must use https"),
    ("ftp://generativelanguage.googleapis.com", "must be an https:// URL"),
    ("generativelanguage.googleapis.com", "must be an https:// URL"),
    ("https://", "must be an https:// URL"),
    ("https://host:99999", "must be a URL such as"),
    ("https://host name", "must be a URL without spaces"),
    ("https://host\x00", "must be a URL without spaces or control characters"),
]

ALLOWED = [
    "https://generativelanguage.googleapis.com",
    "https://generativelanguage.googleapis.com/",
    "https://europe-west4-generativelanguage.example.com:8443",
    "http://127.0.0.1:8085",
    "http://127.9.9.9",
    "http://[::1]:8085",
    "http://localhost:8085",
]


@pytest.mark.parametrize(("endpoint", "message"), REFUSED, ids=[r[0].replace(PASSWORD, "PW") for r in REFUSED])
def test_a_bad_endpoint_is_refused(endpoint: str, message: str) -> None:
    problem = endpoint_problem(endpoint)
    assert problem is not None and message in problem
    assert PASSWORD not in problem


@pytest.mark.parametrize("endpoint", ALLOWED)
def test_a_good_endpoint_is_allowed(endpoint: str) -> None:
    assert endpoint_problem(endpoint) is None


@pytest.mark.parametrize("endpoint", [r[0] for r in REFUSED[:2]] + ["http://example.com"])
def test_plan_refuses_it_at_its_line_and_never_prints_the_password(
    tmp_path: Path, api: CountingServer, endpoint: str
) -> None:
    repo = write_repo(tmp_path, settings={"endpoint": endpoint})
    result = run(repo, "plan", GEMINI_API_KEY="AIza-test-key-never-sent")
    assert_clear_error(result, "reconciler.yaml:1: endpoint: must")
    assert PASSWORD not in result.text
    assert api.requests_seen == 0


def test_plain_http_to_a_loopback_server_is_used(tmp_path: Path, api: CountingServer) -> None:
    repo = write_repo(tmp_path, settings={"endpoint": f"http://{api.host_port}"})
    result = run(repo, "plan", GEMINI_API_KEY="AIza-test-key")
    assert "endpoint" not in result.err  # accepted: the failure is the server's 403
    assert api.requests_seen >= 1
