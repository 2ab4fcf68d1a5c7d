"""`reconciler plan` (and `apply PLANFILE`) against the emulator, end to end.

Each test writes a repository in tmp_path, points the CLI at an emulator with
GENERATIVELANGUAGE_EMULATOR_HOST and runs it in this process. The emulator's
own request counts show what observe sent: one list call a 1,000 models, the
permissions of only the models that declare permissions, no per-model GET.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.backends.gemini import client as gemini_client
from reconciler.backends.gemini.client import GeminiClient
from reconciler.client.auth import Anonymous
from reconciler.client.retry import RetryPolicy
from reconciler.emulator import EmulatorOptions, EmulatorServer
from tests.integration.helpers_plan import (
    BASE_MODEL_KEY,
    LIST_KEY,
    PERMISSIONS_KEY,
    READER,
    Result,
    example_rows,
    live_models,
    load_desired,
    request_counts,
    reset_request_counts,
    run_cli,
    seed,
    seed_unmanaged,
    write_dataset,
    write_manifest,
    write_repo,
)

PAGE_SIZE = 1000  # what the client asks for, the API's maximum


@pytest.fixture
def at_emulator(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """The test emulator, which every CLI run of the test talks to."""
    monkeypatch.setenv("GENERATIVELANGUAGE_EMULATOR_HOST", emulator.host_port)
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    return emulator


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    def run(*args: str) -> Result:
        return run_cli(list(args), capsys)

    return run


@pytest.fixture
def client(at_emulator: EmulatorServer) -> Iterator[GeminiClient]:
    """Changes made behind the reconciler's back, as another tool would make them."""
    with GeminiClient(endpoint=at_emulator.url, credentials=Anonymous()) as made:
        yield made


def plan_json(result: Result) -> dict[str, Any]:
    plan: dict[str, Any] = json.loads(result.out)
    return plan


def actions(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(change["action"], change["model_id"]) for change in plan["changes"]]


def converged_repo(root: Path, server: EmulatorServer, ids: list[str], with_permissions: tuple[str, ...] = ()) -> Path:
    """A repository whose models are all live and up to date (grants left to the caller)."""
    write_repo(root, ids, with_permissions=with_permissions)
    seed(server, load_desired(root).models)
    return root


# --- plan ----------------------------------------------------------------------------------


def test_plan_on_an_empty_account_creates_every_model(
    tmp_path: Path, at_emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    repo = write_repo(tmp_path / "repo", ["alpha", "beta", "gamma"], with_permissions=["beta"])

    result = cli("plan", "-C", str(repo), "--output", "json", "--detailed-exitcode")

    assert result.code == 2, result.err
    plan = plan_json(result)
    assert sorted(actions(plan)) == [
        ("create", "alpha"),
        ("create", "beta"),
        ("create", "gamma"),
        ("permission_add", "beta"),
    ]
    assert plan["errors"] == [] and plan["unmanaged_count"] == 0
    # One list call; no permissions to read, since nothing is live yet.
    assert request_counts(at_emulator) == {LIST_KEY: 1}
    assert live_models(at_emulator) == {}


def test_plan_on_a_converged_account_has_no_changes(
    tmp_path: Path, at_emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    repo = write_repo(tmp_path / "repo", ["alpha", "beta"], with_permissions=["alpha"])
    assert cli("apply", "-C", str(repo), "--yes").code == 0
    reset_request_counts(at_emulator)

    result = cli("plan", "-C", str(repo), "--detailed-exitcode")

    assert result.code == 0, result.err
    assert "No changes. The live models match the manifests." in result.out
    # One list, the declared grants, and the one base model's defaults.
    assert request_counts(at_emulator) == {LIST_KEY: 1, PERMISSIONS_KEY: 1, BASE_MODEL_KEY: 1}


def test_a_manifest_whose_id_is_taken_by_an_unmanaged_model_is_blocked_and_the_rest_planned(
    tmp_path: Path, at_emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    repo = write_repo(tmp_path / "repo", ["alpha", "taken"])
    seed_unmanaged(at_emulator, "taken")
    before = live_models(at_emulator)
    plan_file = tmp_path / "plan.json"

    result = cli("plan", "-C", str(repo), "--detailed-exitcode", "--out", str(plan_file))

    assert result.code == 2  # out of sync, not an error: the other models still plan and apply
    assert "tunedModels/alpha will be created" in result.out
    assert "1 blocked" in result.out
    assert f"reconciler import -C {repo} taken --manifest manifests/taken.yaml" in result.out + result.err
    assert plan_file.exists()
    assert live_models(at_emulator) == before
    assert {key.split()[0] for key in request_counts(at_emulator)} == {"GET"}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [((), 0), (("--detailed-exitcode",), 2)],
    ids=["plain", "detailed"],
)
def test_changes_exit_2_only_with_detailed_exitcode(
    tmp_path: Path,
    at_emulator: EmulatorServer,
    cli: Callable[..., Result],
    flags: tuple[str, ...],
    expected: int,
) -> None:
    repo = converged_repo(tmp_path / "repo", at_emulator, ["alpha"])
    write_manifest(repo, "alpha", display_name="Renamed")

    result = cli("plan", "-C", str(repo), *flags)

    assert result.code == expected, result.err
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in result.out


def test_target_plans_only_the_named_models_and_their_sources(
    tmp_path: Path, at_emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    repo = write_repo(tmp_path / "repo", ["alpha", "beta", "gamma"])
    write_manifest(repo, "derived", source_model="tunedModels/alpha")

    result = cli("plan", "-C", str(repo), "--output", "json", "--target", "derived")

    assert result.code == 0, result.err
    plan = plan_json(result)
    assert actions(plan) == [("create", "alpha"), ("create", "derived")]
    assert plan["options"]["targets"] == ["derived"]


def test_plan_of_2000_models_lists_them_in_two_pages_and_reads_only_declared_permissions(
    tmp_path: Path, at_emulator: EmulatorServer, client: GeminiClient, cli: Callable[..., Result]
) -> None:
    count = 2000
    ids = [f"model-{n:04d}" for n in range(count)]
    granted = ("model-0007", "model-1000", "model-1999")
    repo = converged_repo(tmp_path / "repo", at_emulator, ids, with_permissions=granted)
    for model_id in granted:
        client.create_permission(model_id, {"granteeType": "USER", "emailAddress": READER, "role": "READER"})
    reset_request_counts(at_emulator)

    result = cli("plan", "-C", str(repo), "--output", "json", "--detailed-exitcode")

    assert result.code == 0, result.err
    plan = plan_json(result)
    assert plan["has_changes"] is False and plan["errors"] == []
    assert len(plan["changes"]) == count and {c["action"] for c in plan["changes"]} == {"noop"}
    assert request_counts(at_emulator) == {
        LIST_KEY: math.ceil(count / PAGE_SIZE),
        PERMISSIONS_KEY: len(granted),
        BASE_MODEL_KEY: 1,  # one list, whatever the number of models tuned from them
    }


# --- a list that fails midway --------------------------------------------------------------


@pytest.fixture
def no_retry_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries as configured, without waiting between them."""
    policy = functools.partial(RetryPolicy, sleep=lambda _seconds: None)
    monkeypatch.setattr(gemini_client, "RetryPolicy", policy)


def failing_from_second_list_page(monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """An emulator that answers the first list page, then 503 on every list call.

    Its injected `sleep` runs at the start of each API request (the latency step,
    which comes before faults are picked), so it switches the fault on through
    the control endpoint exactly between the first and the second page.
    """
    holder: list[EmulatorServer] = []
    calls = 0

    def before_request(_seconds: float) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            faults = {"rate_503": 1.0, "path_regex": r"/tunedModels$"}
            requests.post(f"{holder[0].url}/_internal/faults", json=faults, timeout=10).raise_for_status()

    server = EmulatorServer(EmulatorOptions(latency_seconds=0.001), sleep=before_request)
    holder.append(server)
    monkeypatch.setenv("GENERATIVELANGUAGE_EMULATOR_HOST", server.host_port)
    return server.start()


@pytest.mark.usefixtures("no_retry_pauses")
def test_a_list_failing_midway_fails_the_plan_and_nothing_is_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Result]
) -> None:
    server = failing_from_second_list_page(monkeypatch)
    try:
        ids = [f"model-{n:04d}" for n in range(PAGE_SIZE + 1)]
        # Prune on and one manifest missing: a partial list must not turn into deletes
        # (nor into creates of models on the unread page).
        repo = write_repo(tmp_path / "repo", ids, prune=True)
        seed(server, load_desired(repo).models)
        (repo / "manifests" / f"{ids[0]}.yaml").unlink()
        plan_file = tmp_path / "plan.json"

        result = cli("plan", "-C", str(repo), "--detailed-exitcode", "--out", str(plan_file))

        assert result.code == 1
        assert "503" in result.err or "UNAVAILABLE" in result.err, result.err
        assert "Plan:" not in result.out
        assert not plan_file.exists()
        attempts = RetryPolicy().max_attempts
        # The first page, then every attempt at the second; nothing else was sent.
        assert request_counts(server) == {LIST_KEY: 1 + attempts}
    finally:
        server.stop()


# --- saved plans ---------------------------------------------------------------------------


def test_apply_of_a_saved_plan_executes_exactly_that_plan(
    tmp_path: Path, at_emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    repo = write_repo(tmp_path / "repo", ["alpha", "beta"])
    plan_file = tmp_path / "alpha.plan.json"
    saved = cli("plan", "-C", str(repo), "--target", "alpha", "--out", str(plan_file))
    assert saved.code == 0, saved.err

    applied = cli("apply", str(plan_file), "-C", str(repo))

    assert applied.code == 0, applied.err
    # Only what the saved plan held, although a fresh plan would create beta too.
    assert list(live_models(at_emulator)) == ["alpha"]
    assert live_models(at_emulator)["alpha"]["state"] == "ACTIVE"
    again = plan_json(cli("plan", "-C", str(repo), "--output", "json"))
    assert sorted(actions(again)) == [("create", "beta"), ("noop", "alpha")]


def patch_display_name(client: GeminiClient) -> None:
    client.update_tuned_model("alpha", {"displayName": "Changed by hand"}, ["displayName"])


def delete_model(client: GeminiClient) -> None:
    client.delete_tuned_model("beta")


def grant_reader(client: GeminiClient) -> None:
    client.create_permission("alpha", {"granteeType": "USER", "emailAddress": "other@example.com", "role": "READER"})


@pytest.mark.parametrize(
    ("change_live", "expected"),
    [
        (patch_display_name, "live model tunedModels/alpha changed (updateTime"),
        (delete_model, "live model tunedModels/beta disappeared"),
        (grant_reader, "the permissions of live model tunedModels/alpha changed"),
    ],
    ids=["patched", "deleted", "permission-granted"],
)
def test_apply_refuses_a_saved_plan_after_a_live_change(
    tmp_path: Path,
    at_emulator: EmulatorServer,
    client: GeminiClient,
    cli: Callable[..., Result],
    change_live: Callable[[GeminiClient], None],
    expected: str,
) -> None:
    repo = converged_repo(tmp_path / "repo", at_emulator, ["alpha", "beta"], with_permissions=("alpha",))
    write_manifest(repo, "beta", display_name="Renamed in git")
    plan_file = tmp_path / "plan.json"
    assert cli("plan", "-C", str(repo), "--out", str(plan_file)).code == 0
    change_live(client)
    before = live_models(at_emulator)
    reset_request_counts(at_emulator)

    result = cli("apply", str(plan_file), "-C", str(repo))

    assert result.code == 1
    assert f"the saved plan {plan_file} is stale, nothing was applied" in result.err
    assert expected in result.err
    assert live_models(at_emulator) == before
    assert {key.split()[0] for key in request_counts(at_emulator)} == {"GET"}


def test_apply_refuses_a_saved_plan_after_a_manifest_edit(
    tmp_path: Path, at_emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    repo = write_repo(tmp_path / "repo", ["alpha"])
    plan_file = tmp_path / "plan.json"
    assert cli("plan", "-C", str(repo), "--out", str(plan_file)).code == 0
    write_manifest(repo, "alpha", display_name="Edited after the plan")

    result = cli("apply", str(plan_file), "-C", str(repo))

    assert result.code == 1
    assert "manifests or datasets changed since the plan was made" in result.err
    assert live_models(at_emulator) == {}


def test_apply_refuses_a_saved_plan_after_a_dataset_edit(
    tmp_path: Path, at_emulator: EmulatorServer, cli: Callable[..., Result]
) -> None:
    repo = write_repo(tmp_path / "repo", [])
    rows = example_rows("alpha")
    write_manifest(repo, "alpha", dataset_file=write_dataset(repo, "alpha", rows))
    plan_file = tmp_path / "plan.json"
    assert cli("plan", "-C", str(repo), "--out", str(plan_file)).code == 0
    write_dataset(repo, "alpha", [*rows, {"textInput": "one more", "output": "example"}])

    result = cli("apply", str(plan_file), "-C", str(repo))

    assert result.code == 1
    assert "manifests or datasets changed since the plan was made" in result.err
    assert live_models(at_emulator) == {}
