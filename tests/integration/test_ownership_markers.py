"""Ownership markers that cannot be copied, edited, replayed onto a model made
again at the same id, or (with a key) forged, and the migration of markers
written before check values or before the createTime binding, through the CLI."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply.progress import RecordingReporter
from reconciler.apply.waiting import Waiter
from reconciler.backends.gemini import GeminiBackend
from reconciler.backends.gemini.client import GeminiClient
from reconciler.backends.gemini.trailer import UNKEYED, Marker, canonical_time
from reconciler.emulator import EmulatorServer

from .helpers_apply import (
    CREATE_KEY,
    client_for,
    live_models,
    load_repo,
    manifest,
    request_counts,
    run_cli,
    write_dataset,
    write_manifest,
    write_repo,
)

KEY = "first-secret-key-value"


@pytest.fixture
def server(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    return make_emulator(seed=1, step_seconds=0.001)


def set_description(server: EmulatorServer, model_id: str, description: str) -> None:
    with client_for(server) as client:
        client.update_tuned_model(model_id, {"description": description}, ["description"])


def hand_made(server: EmulatorServer, model_id: str, description: str) -> None:
    body = {
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "description": description,
        "tuningTask": {"trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"}] * 20}}},
    }
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


def test_markers_from_before_check_values_migrate_in_the_first_plan(server: EmulatorServer, tmp_path: Path) -> None:
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


# --- the createTime binding, and unsigned markers under a key (issue 27, item 8) ----------


class Clock:
    """The emulator's time: the wall clock, moved on an hour whenever a test
    needs the runs it has just made by hand finished (no waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def finish_runs(self) -> None:
        self.offset += 3600


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(make_emulator: Callable[..., EmulatorServer], clock: Clock) -> EmulatorServer:
    return make_emulator(seed=1, step_seconds=0.001, clock=clock)


def made_again(server: EmulatorServer, clock: Clock, model_id: str, description: str) -> dict[str, Any]:
    """Delete a model and make one by hand at its id, with every input the API
    shows equal (other training data) and `description`; returns it, finished."""
    live = live_models(server)[model_id]
    body = {
        "baseModel": live["baseModel"],
        "displayName": live["displayName"],
        "description": description,
        "temperature": live["temperature"],
        "tuningTask": {
            "hyperparameters": live["tuningTask"]["hyperparameters"],
            "trainingData": {"examples": {"examples": [{"textInput": "1", "output": "x"}] * 20}},
        },
    }
    with client_for(server) as client:
        client.delete_tuned_model(model_id)
        client.create_tuned_model(body, tuned_model_id=model_id)
    clock.finish_runs()
    made = live_models(server)[model_id]
    assert made["state"] == "ACTIVE" and made["createTime"] != live["createTime"]
    return made


def marker_for(key: str | None) -> Marker:
    return Marker([key.encode()]) if key else UNKEYED


def rewrite_unbound(server: EmulatorServer, repo: Path, key: str | None) -> None:
    """Give every live model the marker an older reconciler wrote: no createTime binding."""
    for model in load_repo(repo).models:
        set_description(server, model.id, marker_for(key).description(model, f"tunedModels/{model.id}"))


def key_env(key: str | None) -> dict[str, str]:
    return {"RECONCILER_OWNERSHIP_KEY": key} if key else {}


def unchanged(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return all(before[field] == after[field] for field in ("createTime", "description", "updateTime"))


@pytest.mark.parametrize("key", [None, KEY], ids=["chk", "sig"])
def test_a_marker_copied_onto_a_model_made_again_at_its_id_is_never_trusted(
    timed: EmulatorServer, clock: Clock, tmp_path: Path, key: str | None
) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, timed, "apply", "--yes", **key_env(key)).code == 0
    stranger = made_again(timed, clock, "alpha", live_models(timed)["alpha"]["description"])

    planned = run_cli(repo, timed, "plan", "--detailed-exitcode", **key_env(key))
    assert planned.code == 2, planned.text  # not "in sync"
    assert "it was copied onto a model made again at this id" in planned.out
    assert "1 blocked" in planned.out
    assert "no reconciler trailer" not in planned.out  # the blocked line gives the real reason
    write_dataset(repo, "alpha", shift=1)  # a manifest that would replace it
    applied = run_cli(repo, timed, "apply", "--yes", "--prune", **key_env(key))
    assert applied.code == 1, applied.text  # a model blocked
    assert unchanged(stranger, live_models(timed)["alpha"])  # neither replaced nor signed


def test_every_marker_the_apply_writes_is_bound_to_its_model(
    timed: EmulatorServer, clock: Clock, tmp_path: Path
) -> None:
    """Bound at create, and again after a replace (destroy first; then, with
    smoke tests, their patch): always to the createTime of the model it is on."""
    repo = write_repo(tmp_path, [])
    for shift in (0, 1):  # created, then replaced
        write_manifest(repo, manifest("plain"), shift=shift)
        write_manifest(repo, manifest("smoked", smoke=(("3", str(4 + shift)),)), shift=shift)
        applied = run_cli(repo, timed, "apply", "--yes", RECONCILER_OWNERSHIP_KEY=KEY)
        assert applied.code == 0, applied.text
        for live in live_models(timed).values():
            assert f" at={canonical_time(live['createTime'])} sig=" in live["description"]
            assert " untested" not in live["description"]
        assert run_cli(repo, timed, "plan", "--detailed-exitcode", RECONCILER_OWNERSHIP_KEY=KEY).code == 0
    assert request_counts(timed)[CREATE_KEY] == 4


def test_with_a_key_a_forged_unsigned_marker_never_replaces_or_prunes(
    timed: EmulatorServer, clock: Clock, tmp_path: Path
) -> None:
    """A perfect `chk=` (the algorithm is public), bound to the hand-made model's
    own createTime: with a key configured, still nothing destructive on its word."""
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("beta")])
    assert run_cli(repo, timed, "apply", "--yes").code == 0
    desired = {model.id: model for model in load_repo(repo).models}
    forged = {}
    for model_id in ("alpha", "beta"):
        made = made_again(timed, clock, model_id, "")
        description = UNKEYED.description(desired[model_id], made["name"], created=made["createTime"])
        set_description(timed, model_id, description)
        forged[model_id] = live_models(timed)[model_id]
    write_dataset(repo, "alpha", shift=1)  # alpha would be replaced,
    (repo / "manifests" / "beta.yaml").unlink()  # beta pruned
    creates = request_counts(timed)[CREATE_KEY]

    planned = run_cli(repo, timed, "plan", "--prune", "--detailed-exitcode", RECONCILER_OWNERSHIP_KEY=KEY)
    assert planned.code == 2, planned.text
    blocked = next(line for line in planned.out.splitlines() if "x tunedModels/alpha" in line)
    assert "unsigned (chk=, not sig=) although RECONCILER_OWNERSHIP_KEY is set" in blocked
    assert "nothing is replaced or deleted on its word" in blocked
    assert "if it is yours, adopt it with: reconciler import alpha --manifest manifests/alpha.yaml" in planned.out
    assert "tunedModels/beta is treated as unmanaged (never deleted): its ownership marker is unsigned" in planned.out
    assert "0 to replace, 0 to delete" in planned.out

    applied = run_cli(repo, timed, "apply", "--yes", "--prune", RECONCILER_OWNERSHIP_KEY=KEY)
    assert applied.code == 1, applied.text  # a model blocked
    live = live_models(timed)
    assert all(unchanged(forged[model_id], live[model_id]) for model_id in forged)
    assert request_counts(timed)[CREATE_KEY] == creates


@pytest.mark.parametrize("key", [None, KEY], ids=["chk", "sig"])
def test_markers_from_before_the_binding_are_bound_in_place_and_nothing_is_re_tuned(
    timed: EmulatorServer, tmp_path: Path, key: str | None
) -> None:
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("beta")])
    assert run_cli(repo, timed, "apply", "--yes", **key_env(key)).code == 0
    rewrite_unbound(timed, repo, key)
    creates = request_counts(timed)[CREATE_KEY]

    planned = run_cli(repo, timed, "plan", "--detailed-exitcode", **key_env(key))
    assert planned.code == 2, planned.text
    assert planned.out.count("its ownership marker is not bound to this model's createTime") == 2
    assert "Plan: 0 to create, 2 to update, 0 to replace, 0 to delete." in planned.out
    assert run_cli(repo, timed, "apply", "--yes", **key_env(key)).code == 0
    for body in live_models(timed).values():
        assert f" at={canonical_time(body['createTime'])} " in body["description"]
    assert run_cli(repo, timed, "plan", "--detailed-exitcode", **key_env(key)).code == 0
    assert request_counts(timed)[CREATE_KEY] == creates


def test_a_marker_from_before_the_binding_never_replaces_or_prunes(timed: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("beta")])
    assert run_cli(repo, timed, "apply", "--yes").code == 0
    rewrite_unbound(timed, repo, None)
    before = live_models(timed)
    write_dataset(repo, "alpha", shift=1)  # alpha would be replaced,
    (repo / "manifests" / "beta.yaml").unlink()  # beta pruned

    applied = run_cli(repo, timed, "apply", "--yes", "--prune")
    assert applied.code == 1, applied.text  # a model blocked
    assert (
        "tunedModels/alpha (declared in manifests/alpha.yaml:1) does not match its manifest, and its "
        "ownership marker is not bound to this model's createTime" in applied.out
    )
    assert "tunedModels/beta is treated as unmanaged (never deleted)" in applied.out
    live = live_models(timed)
    assert all(unchanged(before[model_id], live[model_id]) for model_id in before)


def test_a_marker_signed_with_another_key_is_blocked_for_that_reason(server: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, server, "apply", "--yes", RECONCILER_OWNERSHIP_KEY=KEY).code == 0
    planned = run_cli(repo, server, "plan", RECONCILER_OWNERSHIP_KEY="another-key")
    blocked = next(line for line in planned.out.splitlines() if "x tunedModels/alpha" in line)
    assert (
        "not managed by the reconciler (its ownership marker is not signed by any "
        "RECONCILER_OWNERSHIP_KEY given" in blocked
    )
    assert "no reconciler trailer" not in planned.out


def test_a_model_made_again_during_an_apply_never_gets_a_marker_that_verifies(
    timed: EmulatorServer, clock: Clock, tmp_path: Path
) -> None:
    """The plan trusted (and binds) the model it observed; one made in its place
    between the observe and the patch is not signed for."""
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, timed, "apply", "--yes").code == 0
    rewrite_unbound(timed, repo, None)
    desired = load_repo(repo)
    with client_for(timed) as client:
        backend = GeminiBackend(client)
        observed = backend.observe(desired)
        assert observed.models[0].ownership is not None and observed.models[0].ownership.legacy
        stranger = made_again(timed, clock, "alpha", live_models(timed)["alpha"]["description"])
        backend.update(desired.models[0], ("description",))
    live = live_models(timed)["alpha"]
    assert live["createTime"] == stranger["createTime"]
    assert UNKEYED.read(live["description"], live["name"], live["createTime"]).ownership is None


def test_passing_smoke_tests_never_binds_a_marker_the_plan_did_not_trust(timed: EmulatorServer, tmp_path: Path) -> None:
    """A run the apply only waited for may carry a copied unbound marker: its
    smoke tests passing drops `untested` and leaves the binding to the next plan."""
    repo = write_repo(tmp_path, [manifest("alpha", smoke=(("3", "4"),))])
    assert run_cli(repo, timed, "apply", "--yes").code == 0
    desired = load_repo(repo)
    set_description(timed, "alpha", UNKEYED.description(desired.models[0], "tunedModels/alpha", untested=True))
    with client_for(timed) as client:
        backend = GeminiBackend(client)
        backend.observe(desired)
        backend.mark_tested(desired.models[0])
    description = live_models(timed)["alpha"]["description"]
    assert " untested" not in description
    assert " at=" not in description


def test_a_create_taken_over_from_a_concurrent_run_binds_to_the_model_it_found(
    timed: EmulatorServer, tmp_path: Path
) -> None:
    """This backend observed one model; a concurrent run replaced it, so this
    run's create answers ALREADY_EXISTS: the smoke tests' patch binds to the
    model found, not to the one observed."""
    repo = write_repo(tmp_path, [manifest("alpha", smoke=(("3", "4"),))])
    assert run_cli(repo, timed, "apply", "--yes").code == 0
    desired = load_repo(repo)
    with client_for(timed) as client:
        backend = GeminiBackend(client)
        backend.observe(desired)
        client.delete_tuned_model("alpha")
        assert run_cli(repo, timed, "apply", "--yes").code == 0  # the concurrent run
        waiter = Waiter(interval=0.01, timeout=10, reporter=RecordingReporter())
        assert backend.create(desired.models[0], waiter).found
        backend.mark_tested(desired.models[0])
    live = live_models(timed)["alpha"]
    assert UNKEYED.read(live["description"], live["name"], live["createTime"]).ownership is not None


def test_a_create_taken_over_from_a_model_with_an_unbound_marker_leaves_it_unbound(
    timed: EmulatorServer, clock: Clock, tmp_path: Path
) -> None:
    """What the create finds may carry a copied unbound marker: taking it over
    and passing its smoke tests never binds it (the next plan decides)."""
    repo = write_repo(tmp_path, [manifest("alpha", smoke=(("3", "4"),))])
    assert run_cli(repo, timed, "apply", "--yes").code == 0
    desired = load_repo(repo)
    unbound = UNKEYED.description(desired.models[0], "tunedModels/alpha", untested=True)
    made_again(timed, clock, "alpha", unbound)
    with client_for(timed) as client:
        backend = GeminiBackend(client)
        waiter = Waiter(interval=0.01, timeout=10, reporter=RecordingReporter())
        assert backend.create(desired.models[0], waiter).found
        backend.mark_tested(desired.models[0])
    description = live_models(timed)["alpha"]["description"]
    assert " untested" not in description and " at=" not in description
