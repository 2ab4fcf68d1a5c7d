"""The whole life of managed models through the CLI, against the emulator:
create, converge, update, replace, prune, orphan, import."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.backends.gemini.trailer import UNKEYED
from reconciler.emulator import EmulatorServer

from .helpers_apply import (
    BASE_MODEL,
    CREATE_KEY,
    client_for,
    live_models,
    manifest,
    remove_manifest,
    request_counts,
    rows,
    run_cli,
    write_dataset,
    write_manifest,
    write_repo,
)


@pytest.fixture
def server(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    return make_emulator(seed=1, step_seconds=0.001)


def test_create_then_converge_then_update_then_replace(server: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha", smoke=(("3", "4"),)), manifest("beta", source_model="alpha")])

    created = run_cli(repo, server, "apply", "--yes")
    assert created.code == 0, created.text
    assert "Apply complete: 2 created, 0 updated, 0 replaced, 0 deleted; smoke tests 1/1 passed." in created.out
    live = live_models(server)
    assert {m: body["state"] for m, body in live.items()} == {"alpha": "ACTIVE", "beta": "ACTIVE"}
    assert live["beta"]["tunedModelSource"]["tunedModel"] == "tunedModels/alpha"

    again = run_cli(repo, server, "plan", "--detailed-exitcode")
    assert again.code == 0, again.text
    converged = run_cli(repo, server, "apply", "--yes")
    assert converged.text.count("No changes") == 1 and "No changes" in converged.out

    write_manifest(repo, manifest("alpha", display_name="Alpha v2", temperature=0.9, smoke=(("3", "4"),)))
    updated = run_cli(repo, server, "apply", "--yes")
    assert "Apply complete: 0 created, 1 updated, 0 replaced, 0 deleted" in updated.out, updated.text
    alpha = live_models(server)["alpha"]
    assert (alpha["displayName"], alpha["temperature"]) == ("Alpha v2", 0.9)
    assert alpha["createTime"] == live["alpha"]["createTime"]  # patched, not re-created

    write_dataset(repo, "alpha", shift=1)  # new training data: alpha and its dependent are re-created
    replaced = run_cli(repo, server, "apply", "--yes", "--skip-smoke-tests")
    assert replaced.code == 0, replaced.text
    assert "Apply complete: 0 created, 0 updated, 2 replaced, 0 deleted; smoke tests skipped." in replaced.out
    after = live_models(server)
    assert sorted(after) == ["alpha", "beta"]
    assert all(after[m]["createTime"] > live[m]["createTime"] for m in after)

    # The skipped smoke tests are remembered (the marker says untested) until they pass.
    pending = run_cli(repo, server, "plan", "--detailed-exitcode")
    assert pending.code == 2, pending.text
    assert "tunedModels/alpha will be smoke-tested again (not re-tuned)" in pending.out
    # Tuned on data shifted by one, alpha now answers 5: the failure is remembered too.
    failed = run_cli(repo, server, "apply", "--yes")
    assert failed.code == 1 and "smoke tests 0/1 passed" in failed.out, failed.text
    assert run_cli(repo, server, "plan", "--detailed-exitcode").code == 2
    write_manifest(repo, manifest("alpha", display_name="Alpha v2", temperature=0.9, smoke=(("3", "5"),)), shift=1)
    verified = run_cli(repo, server, "apply", "--yes")
    assert verified.code == 0 and "smoke tests 1/1 passed" in verified.out, verified.text
    assert live_models(server)["alpha"]["createTime"] == after["alpha"]["createTime"]  # nothing re-tuned
    assert run_cli(repo, server, "plan", "--detailed-exitcode").code == 0


def test_prune_deletes_and_orphan_forgets(server: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("keep"), manifest("gone"), manifest("orphan", deletion_policy="Orphan")])
    assert run_cli(repo, server, "apply", "--yes").code == 0
    remove_manifest(repo, "gone")
    remove_manifest(repo, "orphan")

    without_prune = run_cli(repo, server, "apply", "--yes")
    assert without_prune.code == 0, without_prune.text
    assert sorted(live_models(server)) == ["gone", "keep", "orphan"]  # prune off: nothing touched

    pruned = run_cli(repo, server, "apply", "--yes", "--prune")
    assert pruned.code == 0, pruned.text
    assert "0 created, 0 updated, 0 replaced, 1 deleted" in pruned.out
    live = live_models(server)
    assert sorted(live) == ["keep", "orphan"]
    # Forgotten: the trailer is gone, the model is live.
    assert UNKEYED.read(live["orphan"]["description"], "tunedModels/orphan").ownership is None
    assert live["orphan"]["description"] == "The orphan model."
    assert run_cli(repo, server, "plan", "--prune", "--detailed-exitcode").code == 0


def test_unmanaged_models_are_never_touched(server: EmulatorServer, tmp_path: Path) -> None:
    create_unmanaged(server, "stranger")
    repo = write_repo(tmp_path, [manifest("mine")], prune=True)
    result = run_cli(repo, server, "apply", "--yes")
    assert result.code == 0, result.text
    assert sorted(live_models(server)) == ["mine", "stranger"]


def test_import_adopts_a_live_model_and_the_next_plan_keeps_it(server: EmulatorServer, tmp_path: Path) -> None:
    create_unmanaged(server, "legacy")
    repo = write_repo(tmp_path, [manifest("legacy")])
    blocked = run_cli(repo, server, "plan", "--detailed-exitcode")
    assert blocked.code == 2
    assert "1 blocked: left as they are" in blocked.out
    assert "reconciler import legacy" in blocked.text

    imported = run_cli(repo, server, "import", "legacy", "--manifest", "manifests/legacy.yaml")
    assert imported.code == 0, imported.text
    assert "training data cannot be verified" in imported.err
    live = live_models(server)["legacy"]
    assert UNKEYED.read(live["description"], live["name"], live["createTime"]).ownership is not None

    planned = run_cli(repo, server, "plan", "--detailed-exitcode")
    assert planned.code == 0, planned.text  # no replace, no change at all
    creates = request_counts(server)[CREATE_KEY]
    assert run_cli(repo, server, "apply", "--yes").code == 0
    assert request_counts(server)[CREATE_KEY] == creates  # adopted, never re-created


def test_status_lists_managed_and_unmanaged_models(server: EmulatorServer, tmp_path: Path) -> None:
    create_unmanaged(server, "stranger")
    repo = write_repo(tmp_path, [manifest("mine")])
    run_cli(repo, server, "apply", "--yes")
    write_manifest(repo, manifest("mine", temperature=0.1))
    status = run_cli(repo, server, "status")
    assert status.code == 0, status.text
    lines = {line.split()[0]: line for line in status.out.splitlines()[1:]}
    assert "yes" in lines["mine"] and "out of sync: update" in lines["mine"]
    assert "unmanaged" in lines["stranger"]


def test_a_saved_plan_is_applied_exactly(server: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, server, "plan", "--out", "plan.json").code == 0
    applied = run_cli(repo, server, "apply", "plan.json")
    assert applied.code == 0, applied.text
    assert sorted(live_models(server)) == ["alpha"]
    stale = run_cli(repo, server, "apply", "plan.json")
    assert stale.code == 1
    assert "live model tunedModels/alpha appeared" in stale.err


def create_unmanaged(server: EmulatorServer, model_id: str) -> None:
    """A model made outside the reconciler, with the data the test manifests declare."""
    body = {
        "displayName": model_id,
        "description": f"The {model_id} model.",
        "baseModel": BASE_MODEL,
        "temperature": 0.5,
        "tuningTask": {
            "hyperparameters": {"epochCount": 2, "batchSize": 4, "learningRate": 0.001},
            "trainingData": {
                "examples": {"examples": [{"textInput": row["text_input"], "output": row["output"]} for row in rows()]}
            },
        },
    }
    with client_for(server) as client:
        client.create_tuned_model(body, tuned_model_id=model_id)
