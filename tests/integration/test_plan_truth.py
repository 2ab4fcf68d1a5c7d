"""What the plan says is true (issue 12), each defect through the CLI against
the emulator: drift is never "in sync", a failed plan never says "No changes",
a removed field goes back to its default, a saved plan refuses planning
options, concurrent applies count only what they did, and a changed dataset is
described as far as the counts and hashes show."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

from reconciler.emulator import EmulatorOptions, EmulatorServer

from .helpers_apply import (
    finish,
    live_models,
    manifest,
    remove_manifest,
    rows,
    run_cli,
    start_cli,
    write_manifest,
    write_repo,
)
from .helpers_plan import seed_unmanaged


def without_generation(model_id: str) -> dict[str, object]:
    document = manifest(model_id)
    del document["spec"]["generation"]  # type: ignore[index]
    return document


# --- 1. a managed model with no manifest is out of sync -----------------------------------


def test_a_model_that_would_be_pruned_is_out_of_sync_everywhere(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("kept"), manifest("gone")])  # prune: false
    assert run_cli(repo, emulator, "apply", "--yes").code == 0
    remove_manifest(repo, "gone")

    planned = run_cli(repo, emulator, "plan", "--detailed-exitcode", "--markdown-out", "drift.md")
    assert planned.code == 2, planned.text  # the drift workflow's "drift" exit
    assert "No changes" not in planned.out
    assert planned.out.startswith("Out of sync: 1 managed model without a manifest (requires pruning)")
    assert "Out of sync, would delete with --prune: gone" in planned.out
    drift = (repo / "drift.md").read_text()  # the drift issue's body
    assert "No changes" not in drift and "Out of sync" in drift and "`tunedModels/gone` (would delete)" in drift

    as_json = json.loads(run_cli(repo, emulator, "plan", "--output", "json").out)
    assert as_json["in_sync"] is False and as_json["has_changes"] is False
    assert as_json["would_delete"] == ["gone"]

    status = json.loads(run_cli(repo, emulator, "status", "--output", "json").out)
    gone = next(m for m in status["models"] if m["model_id"] == "gone")
    assert (gone["sync"], gone["sync_reasons"]) == ("out_of_sync", ["requires_pruning"])
    assert status["in_sync"] is False
    text = run_cli(repo, emulator, "status").out
    assert "out of sync: requires pruning" in next(line for line in text.splitlines() if line.startswith("gone"))
    applied = run_cli(repo, emulator, "apply", "--yes")
    assert applied.code == 0, applied.text
    assert "No changes" not in applied.text
    assert "Nothing to apply, but out of sync: 1 managed model without a manifest require pruning" in applied.err
    assert "gone" in live_models(emulator)  # prune is off: still nothing deleted


# --- 2. a plan with errors says it failed -------------------------------------------------


def test_a_plan_with_errors_never_says_no_changes(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, emulator, "apply", "--yes").code == 0

    planned = run_cli(repo, emulator, "plan", "--target", "ghost", "--markdown-out", "plan.md")

    assert planned.code == 1
    lines = planned.out.splitlines()
    assert lines[0] == lines[-1] == "Plan failed: 1 error; nothing can be applied."
    markdown = (repo / "plan.md").read_text()
    assert markdown.startswith("### Plan failed: 1 error; nothing can be applied.\n")
    assert "No changes" not in planned.out + markdown and "Plan: 0 to create" not in markdown


def test_plan_json_with_invalid_manifests_is_a_document_of_diagnostics(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    path = repo / "manifests" / "alpha.yaml"
    path.write_text(path.read_text().replace("epochCount: 2", "epochCount: two"), encoding="utf-8")

    planned = run_cli(repo, emulator, "plan", "--output", "json")

    assert planned.code == 1
    document = json.loads(planned.out)
    assert (document["has_errors"], document["in_sync"], document["changes"]) == (True, False, [])
    (diagnostic,) = document["diagnostics"]
    assert diagnostic["file"] == "manifests/alpha.yaml" and diagnostic["severity"] == "error"
    assert diagnostic["field"] == "spec.hyperparameters.epochCount" and isinstance(diagnostic["line"], int)


# --- 3. a removed generation field goes back to the base model's default ------------------


def test_removing_a_generation_field_reverts_it_to_the_base_model_default(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    repo = write_repo(tmp_path, [manifest("alpha", temperature=0.6)])
    assert run_cli(repo, emulator, "apply", "--yes").code == 0
    assert live_models(emulator)["alpha"]["temperature"] == 0.6
    write_manifest(repo, without_generation("alpha"))

    planned = run_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert planned.code == 2, planned.text
    # gemini-1.5-flash-001-tuning's temperature, read from the base model by observe
    assert "~ spec.generation.temperature: 0.6 -> 1.0 (base model default)" in planned.out
    assert "updateMask: temperature" in planned.out

    applied = run_cli(repo, emulator, "apply", "--yes")
    assert applied.code == 0, applied.text
    assert "1 updated" in applied.out
    assert live_models(emulator)["alpha"]["temperature"] == 1.0
    assert run_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0  # and it stays there


# --- 5. a saved plan refuses options that change what is planned ---------------------------


def test_apply_planfile_refuses_planning_options(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha"), manifest("other")])
    assert run_cli(repo, emulator, "plan", "--target", "alpha", "--out", "plan.json").code == 0

    for options in (["--target", "other"], ["--no-prune"], ["--prune"], ["--allow-empty"]):
        refused = run_cli(repo, emulator, "apply", "plan.json", *options)
        assert refused.code == 1, options
        assert "cannot be used with a saved plan" in refused.err and options[0] in refused.err
    assert live_models(emulator) == {}  # nothing was applied

    applied = run_cli(repo, emulator, "apply", "plan.json")
    assert applied.code == 0, applied.text
    assert sorted(live_models(emulator)) == ["alpha"]  # exactly the saved plan


# --- 7. concurrent applies count what each did --------------------------------------------


class CreatesAfterEveryList:
    """WSGI middleware: every create waits until `runs` runs have listed the models.

    Each apply lists once (its plan) before it creates anything, so all of
    them plan from the same empty account and each plans every create: the
    runs really overlap, however the processes are scheduled. Without this a
    run that starts late plans after the others created everything and says
    "No changes". A condition wait, bounded: if the lists never come, the
    creates go on and the test fails on `timed_out`.
    """

    def __init__(self, app: Any, runs: int, timeout: float = 60.0) -> None:
        self.app, self.runs, self.timeout = app, runs, timeout
        self.lists = 0
        self.timed_out = False
        self.changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/v1beta/tunedModels":
            if environ["REQUEST_METHOD"] == "GET":
                with self.changed:
                    self.lists += 1
                    self.changed.notify_all()
            elif environ["REQUEST_METHOD"] == "POST":
                with self.changed:
                    if not self.changed.wait_for(lambda: self.lists >= self.runs, timeout=self.timeout):
                        self.timed_out = True
        return self.app(environ, start_response)


def test_concurrent_applies_count_each_model_created_once(tmp_path: Path) -> None:
    runs = 3
    emulator = EmulatorServer(EmulatorOptions(seed=7, step_seconds=0.02))
    barrier = CreatesAfterEveryList(emulator.app, runs)
    emulator.app = barrier  # type: ignore[assignment]
    emulator.start()
    try:
        ids = [f"model-{n:02d}" for n in range(12)]
        repo = write_repo(tmp_path, [manifest(model_id) for model_id in ids], concurrency=6)
        processes = [start_cli(repo, emulator, "apply", "--yes") for _ in range(runs)]
        results = [finish(process, timeout=120) for process in processes]

        assert not barrier.timed_out
        created = waited = 0
        for result in results:
            assert result.code == 0, result.text
            summary = re.search(
                r"Apply complete: (\d+) created(?:, (\d+) created by another run and waited for)?, 0 updated",
                result.out,
            )
            assert summary is not None, result.out
            made, found = int(summary.group(1)), int(summary.group(2) or 0)
            assert made + found == len(ids), result.out  # every run planned, and saw through, every model
            created += made
            waited += found
        assert created == len(ids)  # each model created by exactly one of the runs
        assert waited == (runs - 1) * len(ids)  # and only waited for by the others
        assert sorted(live_models(emulator)) == ids
        assert {body["state"] for body in live_models(emulator).values()} == {"ACTIVE"}
    finally:
        emulator.app = barrier.app  # stop() releases the app's holds
        emulator.stop()


# --- 8. a changed dataset is described as far as counts and hashes show -------------------


def test_a_changed_dataset_says_only_what_the_counts_show(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    assert run_cli(repo, emulator, "apply", "--yes").code == 0
    examples = rows()
    examples[0] = {"text_input": "0", "output": "changed"}  # one changed
    del examples[1]  # one removed
    examples += [{"text_input": "x", "output": "y"}, {"text_input": "z", "output": "w"}]  # two added
    (repo / "datasets" / "alpha.jsonl").write_text("".join(json.dumps(r) + "\n" for r in examples))

    planned = run_cli(repo, emulator, "plan")

    assert planned.code == 0, planned.text
    assert "20 -> 21 examples: a net 1 more;" in planned.out
    assert ": the examples differ)" in planned.out
    assert "1 example added" not in planned.out


# --- where the tool is pointed, and hints that keep the context ----------------------------


def test_every_api_command_says_where_it_points(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")])
    for command in (["plan"], ["status"], ["apply", "--yes"]):
        result = run_cli(repo, emulator, *command)
        targets = [line for line in result.err.splitlines() if line.startswith("Target: ")]
        assert targets == [f"Target: the emulator at {emulator.host_port} (GENERATIVELANGUAGE_EMULATOR_HOST)"]


def test_global_flags_after_the_subcommand_and_hints_that_keep_them(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", [manifest("alpha")])
    # In the parent folder, pointing at the repository with -C; the flag after the subcommand.
    planned = run_cli(tmp_path, emulator, "plan", "-C", "repo", "--emulator", "--out", "plan.json")
    assert planned.code == 0, planned.text
    assert "Target: the embedded emulator (--emulator), state in repo/.reconciler/emulator.sqlite" in planned.err
    assert "run `reconciler --emulator apply -C repo plan.json` to apply it" in planned.err
    assert (repo / ".reconciler" / "emulator.sqlite").exists()
    assert not (tmp_path / ".reconciler").exists()  # never in the parent folder

    applied = run_cli(tmp_path, emulator, "--emulator", "apply", "-C", "repo", "plan.json")
    assert applied.code == 0, applied.text  # the copied hint reaches the same emulator
    assert "Apply complete: 1 created" in applied.out
    assert live_models(emulator) == {}  # and never the other API


def test_imports_are_counted_and_not_also_left_alone(emulator: EmulatorServer, tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [])
    seed_unmanaged(emulator, "legacy")
    assert run_cli(repo, emulator, "export", "--out", "manifests", "--force").code == 0

    planned = run_cli(repo, emulator, "plan")

    assert "Plan: 1 to import, 0 to create, 0 to update, 0 to replace, 0 to delete." in planned.out
    assert "unmanaged left alone" not in planned.out
    applied = run_cli(repo, emulator, "apply", "--yes")
    assert "1 imported" in applied.out, applied.text
