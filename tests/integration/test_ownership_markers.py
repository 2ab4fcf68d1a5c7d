"""Ownership markers that cannot be copied, edited or (with a key) forged, and
the migration of markers written before check values, through the CLI."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.backends.gemini.client import GeminiClient
from reconciler.emulator import EmulatorServer

from .helpers_apply import CREATE_KEY, client_for, live_models, manifest, request_counts, run_cli, write_repo

KEY = "first-secret-key-value"


@pytest.fixture
def server(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    return make_emulator(seed=1, step_seconds=0.001)


def set_description(server: EmulatorServer, model_id: str, description: str) -> None:
    with client_for(server) as client:
        client.update_tuned_model(model_id, {"description": description}, ["description"])


def hand_made(server: EmulatorServer, model_id: str, description: str) -> None:
    body = {"baseModel": "models/gemini-1.5-flash-001-tuning", "description": description,
            "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}] * 20}}}}
    with GeminiClient(endpoint=server.url) as client:
        client.create_tuned_model(body, tuned_model_id=model_id)


def test_a_copied_marker_never_gets_a_hand_made_model_pruned(server: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, server, "apply", "--yes").code == 0
    copied = live_models(server)["alpha"]["description"]
    hand_made(server, "stranger", copied)  # someone copies a managed model's description

    planned = run_cli(repo, server, "plan", "--prune")
    assert "tunedModels/stranger is treated as unmanaged: its ownership marker does not verify" in planned.out
    assert run_cli(repo, server, "apply", "--prune", "--yes").code == 0
    assert "stranger" in live_models(server)


def test_an_edited_protect_flag_blocks_nothing_else(server: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("beta")])
    assert run_cli(repo, server, "apply", "--yes").code == 0
    description = live_models(server)["beta"]["description"]
    set_description(server, "beta", description.replace(" chk=", " protect chk="))  # a forged protect
    write_repo(tmp_path, [manifest("alpha", display_name="Alpha, renamed")])
    (tmp_path / "manifests" / "beta.yaml").unlink()

    applied = run_cli(repo, server, "apply", "--prune", "--yes")
    assert applied.code == 0, applied.text
    assert "1 updated" in applied.out
    assert live_models(server)["alpha"]["displayName"] == "Alpha, renamed"
    assert "beta" in live_models(server)  # unverified: unmanaged, so never deleted


def test_signed_markers_need_one_of_the_keys(server: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    signed = run_cli(repo, server, "apply", "--yes", RECONCILER_OWNERSHIP_KEY=KEY)
    assert signed.code == 0, signed.text
    assert KEY not in signed.text
    assert re.search(r" sig=[0-9a-f]{16}\]$", live_models(server)["alpha"]["description"])

    rotated = run_cli(repo, server, "plan", "--detailed-exitcode", RECONCILER_OWNERSHIP_KEY=f"new-key,{KEY}")
    assert rotated.code == 0, rotated.text
    unkeyed = run_cli(repo, server, "plan", "--detailed-exitcode")
    assert unkeyed.code == 2
    assert "no RECONCILER_OWNERSHIP_KEY is set to verify it" in unkeyed.out
    assert "1 blocked" in unkeyed.out  # never replaced or deleted on an unverifiable marker


def test_markers_from_before_check_values_migrate_in_the_first_plan(
    server: EmulatorServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("beta")])
    assert run_cli(repo, server, "apply", "--yes").code == 0
    for model_id, body in live_models(server).items():  # what an older reconciler wrote
        set_description(server, model_id, re.sub(r" chk=[0-9a-f]{16}\]$", "]", body["description"]))
    creates = request_counts(server)[CREATE_KEY]

    planned = run_cli(repo, server, "plan", "--detailed-exitcode")
    assert planned.code == 2
    assert planned.out.count("its ownership marker predates check values: it is rewritten with one") == 2
    assert "Plan: 0 to create, 2 to update, 0 to replace, 0 to delete." in planned.out
    assert run_cli(repo, server, "apply", "--yes").code == 0
    assert all(" chk=" in body["description"] for body in live_models(server).values())
    assert run_cli(repo, server, "plan", "--detailed-exitcode").code == 0
    assert request_counts(server)[CREATE_KEY] == creates  # nothing re-tuned


def test_the_import_hint_reaches_the_same_repository(server: EmulatorServer, tmp_path: Path) -> None:
    write_repo(tmp_path / "repo", [manifest("alpha")])
    hand_made(server, "alpha", "Made by hand.")
    planned = run_cli(tmp_path, server, "plan", "-C", "repo")
    assert "adopt it with: reconciler import -C repo alpha --manifest manifests/alpha.yaml" in planned.out
