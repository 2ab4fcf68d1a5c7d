"""In GitHub Actions, apply and reconcile run only on the ref allowed to write
(reconciler/cli/ref_guard.py): on another ref they exit 1 and send nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.emulator import EmulatorServer

from .helpers_apply import live_models, manifest, request_counts, run_cli, write_repo, write_settings


@pytest.fixture
def server(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    return make_emulator(seed=3)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write_repo(tmp_path / "repo", [manifest("guarded")])


def github_env(tmp_path: Path, ref: str, default_branch: str | None = "main") -> dict[str, str]:
    """What the runner sets: GITHUB_ACTIONS, GITHUB_REF and the event payload's path."""
    event = tmp_path / "event.json"
    repository = {"full_name": "acme/models"} | ({"default_branch": default_branch} if default_branch else {})
    event.write_text(json.dumps({"repository": repository}), encoding="utf-8")
    return {"GITHUB_ACTIONS": "true", "GITHUB_REF": ref, "GITHUB_EVENT_PATH": str(event)}


@pytest.mark.parametrize("command", ["apply", "reconcile"])
def test_a_branch_other_than_the_default_is_refused_and_nothing_is_sent(
    server: EmulatorServer, repo: Path, tmp_path: Path, command: str
) -> None:
    result = run_cli(repo, server, command, "--yes", **github_env(tmp_path, "refs/heads/feature"))
    assert result.code == 1
    assert (
        f"refusing to {command} in GitHub Actions on refs/heads/feature: only refs/heads/main may "
        f"{command} (the default branch); nothing was sent"
    ) in result.err
    assert request_counts(server) == {}
    assert live_models(server) == {}


def test_the_default_branch_applies(server: EmulatorServer, repo: Path, tmp_path: Path) -> None:
    result = run_cli(repo, server, "apply", "--yes", **github_env(tmp_path, "refs/heads/main"))
    assert result.code == 0, result.text
    assert list(live_models(server)) == ["guarded"]


def test_a_pull_request_ref_is_refused(server: EmulatorServer, repo: Path, tmp_path: Path) -> None:
    result = run_cli(repo, server, "apply", "--yes", **github_env(tmp_path, "refs/pull/7/merge"))
    assert result.code == 1
    assert "on refs/pull/7/merge" in result.err
    assert request_counts(server) == {}


def test_without_a_default_branch_in_the_event_it_refuses(server: EmulatorServer, repo: Path, tmp_path: Path) -> None:
    result = run_cli(repo, server, "apply", "--yes", **github_env(tmp_path, "refs/heads/main", None))
    assert result.code == 1
    assert "the repository's default branch is not in the event payload" in result.err
    assert request_counts(server) == {}


def test_apply_ref_in_reconciler_yaml_names_another_branch(server: EmulatorServer, repo: Path, tmp_path: Path) -> None:
    write_settings(repo, applyRef="release")
    refused = run_cli(repo, server, "apply", "--yes", **github_env(tmp_path, "refs/heads/main"))
    assert refused.code == 1
    assert "only refs/heads/release may apply;" in refused.err
    assert request_counts(server) == {}
    allowed = run_cli(repo, server, "apply", "--yes", **github_env(tmp_path, "refs/heads/release"))
    assert allowed.code == 0, allowed.text


def test_the_flag_names_a_ref_or_allows_any(server: EmulatorServer, repo: Path, tmp_path: Path) -> None:
    env = github_env(tmp_path, "refs/tags/v1")
    assert run_cli(repo, server, "apply", "--yes", "--apply-ref", "main", **env).code == 1
    assert run_cli(repo, server, "apply", "--yes", "--apply-ref", "refs/tags/v1", **env).code == 0
    write_settings(repo, applyRef="main")  # the flag wins over reconciler.yaml
    result = run_cli(repo, server, "reconcile", "--yes", "--apply-ref", "*", **env)
    assert result.code == 0, result.text


def test_outside_github_actions_any_ref_applies(server: EmulatorServer, repo: Path, tmp_path: Path) -> None:
    env = github_env(tmp_path, "refs/heads/feature") | {"GITHUB_ACTIONS": "false"}
    assert run_cli(repo, server, "apply", "--yes", **env).code == 0


def test_the_embedded_emulator_is_not_refused(server: EmulatorServer, repo: Path, tmp_path: Path) -> None:
    # --emulator writes to no account: CI runs it on every pull request.
    result = run_cli(repo, server, "--emulator", "apply", "--yes", **github_env(tmp_path, "refs/pull/7/merge"))
    assert result.code == 0, result.text
