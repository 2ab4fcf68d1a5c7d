"""Prune safety: nothing is deleted when the desired set could not be read whole,
past the deletion cap, under preventDestroy, or without prune."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.emulator import EmulatorServer

from .helpers_apply import (
    DELETE_KEY,
    live_models,
    manifest,
    remove_manifest,
    request_counts,
    run_cli,
    write_manifest,
    write_repo,
)

IDS = [f"model-{n}" for n in range(4)]


@pytest.fixture
def server(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    return make_emulator(seed=6)


@pytest.fixture
def repo(server: EmulatorServer, tmp_path: Path) -> Path:
    """Four managed models, live and in sync, prune on."""
    root = write_repo(tmp_path, [manifest(i) for i in IDS], prune=True, maxDeletions=2)
    result = run_cli(root, server, "apply", "--yes")
    assert result.code == 0, result.text
    return root


def assert_nothing_deleted(server: EmulatorServer) -> None:
    assert sorted(live_models(server)) == IDS
    assert DELETE_KEY not in request_counts(server)


def test_an_empty_manifests_folder_deletes_nothing(server: EmulatorServer, repo: Path) -> None:
    for model_id in IDS:
        remove_manifest(repo, model_id)
    result = run_cli(repo, server, "apply", "--yes")
    assert result.code == 1
    assert "no manifests" in result.err
    assert_nothing_deleted(server)


def test_allow_empty_prunes_an_emptied_folder_within_the_cap(server: EmulatorServer, repo: Path) -> None:
    for model_id in IDS[2:]:
        remove_manifest(repo, model_id)
    assert run_cli(repo, server, "apply", "--yes").code == 0  # two deletes: at the cap
    for model_id in IDS[:2]:
        remove_manifest(repo, model_id)
    refused = run_cli(repo, server, "apply", "--yes")
    assert refused.code == 1 and "--allow-empty" in refused.err
    result = run_cli(repo, server, "apply", "--yes", "--allow-empty")
    assert result.code == 0, result.text
    assert live_models(server) == {}


def test_a_missing_manifests_folder_deletes_nothing(server: EmulatorServer, repo: Path) -> None:
    shutil.rmtree(repo / "manifests")
    result = run_cli(repo, server, "reconcile", "--yes")
    assert result.code == 1
    assert "no manifests folder (treated as empty)" in result.err and "--allow-empty" in result.err
    assert_nothing_deleted(server)


def test_a_manifest_that_fails_to_load_stops_everything(server: EmulatorServer, repo: Path) -> None:
    remove_manifest(repo, "model-0")  # would be pruned
    (repo / "manifests" / "model-1.yaml").write_text(
        (repo / "manifests" / "model-1.yaml").read_text().replace("epochCount: 2", "epochCount: two")
    )
    result = run_cli(repo, server, "apply", "--yes")
    assert result.code == 1
    assert "manifests/model-1.yaml:" in result.err and "epochCount" in result.err
    assert "nothing was planned or changed" in result.err
    assert_nothing_deleted(server)


def test_a_plan_over_the_deletion_cap_stops_before_the_first_deletion(server: EmulatorServer, repo: Path) -> None:
    for model_id in IDS[:3]:
        remove_manifest(repo, model_id)
    result = run_cli(repo, server, "apply", "--yes")
    assert result.code == 1
    assert "deletes 3 models, over the cap of 2" in result.err
    assert_nothing_deleted(server)

    raised = run_cli(repo, server, "apply", "--yes", "--max-deletions", "3")
    assert raised.code == 0, raised.text
    assert sorted(live_models(server)) == ["model-3"]


def test_prevent_destroy_is_honoured(server: EmulatorServer, repo: Path) -> None:
    write_manifest(repo, manifest("model-0", prevent_destroy=True))
    assert run_cli(repo, server, "apply", "--yes").code == 0  # records preventDestroy in the trailer
    remove_manifest(repo, "model-0")
    removed = run_cli(repo, server, "apply", "--yes")
    assert removed.code == 1
    assert "preventDestroy" in removed.out + removed.err

    write_manifest(repo, manifest("model-1", prevent_destroy=True))
    assert run_cli(repo, server, "apply", "--yes", "--no-prune").code == 0
    write_manifest(repo, manifest("model-1", prevent_destroy=True), shift=1)  # would need a replace
    replaced = run_cli(repo, server, "apply", "--yes", "--no-prune")
    assert replaced.code == 1
    assert "preventDestroy" in replaced.out + replaced.err
    assert_nothing_deleted(server)


def test_without_prune_nothing_is_deleted(server: EmulatorServer, repo: Path) -> None:
    remove_manifest(repo, "model-0")
    result = run_cli(repo, server, "apply", "--yes", "--no-prune")
    assert result.code == 0, result.text
    assert_nothing_deleted(server)
