"""Optimistic concurrency: a Model PATCH carrying a stale etag is refused 400
FAILED_PRECONDITION (AIP-154), as the emulator does; the backend reads the
Model again and retries once, and reports a clear conflict after a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from tests.backends.vertex.helpers import listed, manifest, vertex_cli, vertex_faults, write_repo
from tests.emulator.vertex_helpers import create_job, short, upload


def test_the_emulator_refuses_a_stale_etag_and_accepts_the_current_one(make_emulator: Any) -> None:
    server = make_emulator(seed=0, step_seconds=0)
    upload(server.url)
    create_job(server.url)
    model = listed(server, "models")[0]
    endpoint = listed(server, "endpoints")[0]
    url = f"{server.url}/{short(model['name'])}"
    changed = requests.patch(
        url, params={"updateMask": "description"}, timeout=10, json={"description": "one", "etag": model["etag"]}
    )
    assert changed.status_code == 200, changed.text
    stale = requests.patch(
        url, params={"updateMask": "description"}, timeout=10, json={"description": "two", "etag": model["etag"]}
    )
    assert stale.status_code == 400
    assert stale.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert requests.get(url, timeout=10).json()["description"] == "one"
    endpoint_url = f"{server.url}/{short(endpoint['name'])}"
    requests.patch(endpoint_url, params={"updateMask": "labels"}, json={"labels": {"a": "b"}}, timeout=10)
    refused = requests.patch(
        endpoint_url, params={"updateMask": "labels"}, timeout=10, json={"labels": {"a": "c"}, "etag": endpoint["etag"]}
    )
    assert refused.status_code == 400 and refused.json()["error"]["status"] == "FAILED_PRECONDITION"


def test_a_stale_etag_is_read_again_and_retried_once(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, model_changes_before_patch=1)
    repo = write_repo(tmp_path, [manifest("numbers", display_name="Numbers")])
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    model = listed(emulator, "models")[0]
    assert model["displayName"] == "Numbers" and model["labels"]["managed-by"] == "reconciler"
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_two_stale_etags_in_a_row_are_a_clear_conflict(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, model_changes_before_patch=2)
    repo = write_repo(tmp_path, [manifest("numbers", display_name="Numbers")])
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code != 0
    assert "was changed by someone else while it was being updated" in result.text
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0  # no one in the way now
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0
