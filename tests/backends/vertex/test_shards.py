"""Shards on Vertex AI: a project and location each, planned and applied on their own.

A repository with `targets:` has a shard a target; `--shard KEY` touches that
target alone, so pruning one shard never reaches another's models, and the
plans of the shards add up to the plan of the whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from reconciler.emulator import EmulatorServer
from tests.backends.vertex.helpers import PROJECT, manifest, vertex_cli, write_repo
from tests.integration.helpers_apply import finish, remove_manifest, start_cli

OTHER_PROJECT, OTHER_LOCATION = "team-b-project", "europe-west4"
HOME = f"{PROJECT}.us-central1"
AWAY = f"{OTHER_PROJECT}.{OTHER_LOCATION}"
TARGETS = [{"project": OTHER_PROJECT, "location": OTHER_LOCATION}]
ELSEWHERE = {"project": OTHER_PROJECT, "location": OTHER_LOCATION}


def sharded_repo(root: Path) -> Path:
    """Two models at the default target, one at the other."""
    documents = [manifest("alpha"), manifest("beta"), manifest("gamma", target=ELSEWHERE)]
    return write_repo(root, documents, targets=TARGETS)


def models_at(emulator: EmulatorServer, project: str, location: str) -> set[str]:
    url = f"{emulator.url}/v1/projects/{project}/locations/{location}/models"
    body = requests.get(url, params={"pageSize": 1000}, timeout=10).json()
    return {m["labels"]["reconciler-id"] for m in body.get("models") or () if "reconciler-id" in m.get("labels", {})}


def jobs_at(emulator: EmulatorServer, project: str, location: str) -> list[str]:
    url = f"{emulator.url}/v1/projects/{project}/locations/{location}/tuningJobs"
    body = requests.get(url, params={"pageSize": 1000}, timeout=10).json()
    return [j["labels"]["reconciler-id"] for j in body.get("tuningJobs") or ()]


def changes(plan: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["model_id"], c["action"]) for c in plan["changes"]}


def test_the_shards_are_a_matrix_of_the_targets(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = sharded_repo(tmp_path)
    result = vertex_cli(repo, emulator, "shards", "--output", "json")
    assert result.code == 0, result.text
    assert json.loads(result.out) == {
        "include": [
            {"shard": HOME, "label": f"Vertex AI project {PROJECT}, us-central1"},
            {"shard": AWAY, "label": f"Vertex AI project {OTHER_PROJECT}, {OTHER_LOCATION}"},
        ]
    }
    single = write_repo(tmp_path / "single", [manifest("alpha")])
    assert json.loads(vertex_cli(single, emulator, "shards", "--output", "json").out) == {
        "include": [{"shard": HOME, "label": f"Vertex AI project {PROJECT}, us-central1"}]
    }


def test_more_shards_than_a_matrix_holds_are_refused(tmp_path: Path, emulator: EmulatorServer) -> None:
    many = [{"project": f"team-{n:04d}", "location": "us-central1"} for n in range(256)]
    repo = write_repo(tmp_path, [manifest("alpha")], targets=many)
    result = vertex_cli(repo, emulator, "shards", "--output", "json")
    assert result.code == 1
    assert "257 shards" in result.err and "at most 256" in result.err
    assert result.out == ""
    fits = write_repo(tmp_path / "fits", [manifest("alpha")], targets=many[:255])
    assert len(json.loads(vertex_cli(fits, emulator, "shards", "--output", "json").out)["include"]) == 256


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"project": "nobody-s-project", "location": "us-central1"}, "is not among reconciler.yaml's targets"),
        ({"location": OTHER_LOCATION}, f"project {PROJECT}, location {OTHER_LOCATION} is not among"),
        ({"region": "us-east-1"}, "region: not a target key (this backend's are project, location)"),
    ],
)
def test_a_target_reconciler_yaml_does_not_allow_is_refused_at_its_line(
    tmp_path: Path, emulator: EmulatorServer, target: dict[str, str], message: str
) -> None:
    repo = write_repo(tmp_path, [manifest("alpha", target=target)], targets=TARGETS)
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    line = next(
        n for n, text in enumerate((repo / "manifests/alpha.yaml").read_text().splitlines(), 1) if "target:" in text
    )
    assert f"manifests/alpha.yaml:{line}: spec.target: " in result.err
    assert message in result.err


def test_a_model_is_tuned_where_its_source_lives(tmp_path: Path, emulator: EmulatorServer) -> None:
    documents = [manifest("alpha"), manifest("beta", source_model="alpha", target=ELSEWHERE)]
    result = vertex_cli(write_repo(tmp_path, documents, targets=TARGETS), emulator, "validate")
    assert result.code == 1
    assert "spec.sourceModel: alpha lives at another target" in result.err


def test_a_target_listed_twice_is_refused(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = write_repo(tmp_path, [manifest("alpha")], targets=[*TARGETS, *TARGETS])
    result = vertex_cli(repo, emulator, "validate")
    assert result.code == 1
    assert f"targets: {AWAY} is listed twice" in result.err


def test_the_shard_plans_add_up_to_the_whole_plan(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = sharded_repo(tmp_path)
    whole = json.loads(vertex_cli(repo, emulator, "plan", "--output", "json").out)
    assert [s["shard"]["key"] for s in whole["shards"]] == [HOME, AWAY]
    assert whole["has_changes"] is True and whole["in_sync"] is False
    parts = [
        json.loads(vertex_cli(repo, emulator, "plan", "--shard", key, "--output", "json").out) for key in (HOME, AWAY)
    ]
    assert parts == whole["shards"]
    home, away = (changes(part) for part in parts)
    assert home == {("alpha", "create"), ("beta", "create")} and away == {("gamma", "create")}
    assert not home & away
    text = vertex_cli(repo, emulator, "plan")
    assert f"Shard {HOME} (Vertex AI project {PROJECT}, us-central1)" in text.out
    assert f"Shard {AWAY} (Vertex AI project {OTHER_PROJECT}, {OTHER_LOCATION})" in text.out
    markdown = tmp_path / "plan.md"
    vertex_cli(repo, emulator, "plan", "--shard", AWAY, "--markdown-out", str(markdown))
    assert markdown.read_text().startswith(
        f"**Shard:** `{AWAY}` (Vertex AI project {OTHER_PROJECT}, {OTHER_LOCATION})\n"
    )


def test_an_unknown_shard_is_refused_with_the_keys(tmp_path: Path, emulator: EmulatorServer) -> None:
    result = vertex_cli(sharded_repo(tmp_path), emulator, "plan", "--shard", "nowhere.us-east1")
    assert result.code == 1
    assert f"--shard nowhere.us-east1: no such shard (this repository's: {HOME}, {AWAY})" in result.err


def test_applying_one_shard_touches_only_its_target(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = sharded_repo(tmp_path)
    result = vertex_cli(repo, emulator, "apply", "--yes", "--shard", AWAY)
    assert result.code == 0, result.text
    assert models_at(emulator, OTHER_PROJECT, OTHER_LOCATION) == {"gamma"}
    assert models_at(emulator, PROJECT, "us-central1") == set()
    assert vertex_cli(repo, emulator, "plan", "--shard", AWAY, "--detailed-exitcode").code == 0
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 2  # the other shard is still to do


def test_pruning_a_shard_whose_manifests_are_gone_deletes_nothing_elsewhere(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    repo = sharded_repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    assert models_at(emulator, PROJECT, "us-central1") == {"alpha", "beta"}
    remove_manifest(repo, "alpha")
    remove_manifest(repo, "beta")
    # Every manifest of the home shard is gone: the empty-set case, refused.
    refused = vertex_cli(repo, emulator, "apply", "--yes", "--prune", "--shard", HOME)
    assert refused.code == 1
    assert f"no manifests for shard {HOME}, and prune would delete every managed model there" in refused.err
    assert models_at(emulator, PROJECT, "us-central1") == {"alpha", "beta"}
    # Allowed, it prunes that shard's models and nothing of the other's.
    allowed = vertex_cli(repo, emulator, "apply", "--yes", "--prune", "--allow-empty", "--shard", HOME)
    assert allowed.code == 0, allowed.text
    assert models_at(emulator, PROJECT, "us-central1") == set()
    assert models_at(emulator, OTHER_PROJECT, OTHER_LOCATION) == {"gamma"}
    # And pruning the other shard, whose manifest is still there, deletes nothing.
    assert vertex_cli(repo, emulator, "apply", "--yes", "--prune", "--shard", AWAY).code == 0
    assert models_at(emulator, OTHER_PROJECT, OTHER_LOCATION) == {"gamma"}


def test_max_deletions_counts_the_shards_deletes_alone(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = sharded_repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    remove_manifest(repo, "alpha")
    result = vertex_cli(repo, emulator, "apply", "--yes", "--prune", "--max-deletions", "1", "--shard", HOME)
    assert result.code == 0, result.text
    assert models_at(emulator, PROJECT, "us-central1") == {"beta"}


def test_a_saved_plan_is_refused_for_another_shard(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = sharded_repo(tmp_path)
    saved = tmp_path / "away.plan.json"
    assert vertex_cli(repo, emulator, "plan", "--shard", AWAY, "--out", str(saved)).code == 0
    assert json.loads(saved.read_text())["shard"]["key"] == AWAY
    refused = vertex_cli(repo, emulator, "apply", str(saved), "--yes", "--shard", HOME)
    assert refused.code == 1
    assert f"is of shard {AWAY}, not of shard {HOME}; nothing was applied" in refused.err
    assert jobs_at(emulator, PROJECT, "us-central1") == [] and jobs_at(emulator, OTHER_PROJECT, OTHER_LOCATION) == []
    # Applied without --shard, the plan goes to its own shard.
    applied = vertex_cli(repo, emulator, "apply", str(saved), "--yes")
    assert applied.code == 0, applied.text
    assert models_at(emulator, OTHER_PROJECT, OTHER_LOCATION) == {"gamma"}
    assert models_at(emulator, PROJECT, "us-central1") == set()


def test_a_whole_repository_plan_cannot_be_saved(tmp_path: Path, emulator: EmulatorServer) -> None:
    result = vertex_cli(sharded_repo(tmp_path), emulator, "plan", "--out", str(tmp_path / "all.json"))
    assert result.code == 1
    assert "--out saves the plan of one shard" in result.err
    assert not (tmp_path / "all.json").exists()


def test_two_shards_applied_at_once_both_finish_with_no_duplicate(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = sharded_repo(tmp_path)
    env = {"AIPLATFORM_EMULATOR_HOST": emulator.host_port, "STORAGE_EMULATOR_HOST": emulator.url}
    processes = [start_cli(repo, emulator, "apply", "--yes", "--shard", key, **env) for key in (HOME, AWAY)]
    results = [finish(process) for process in processes]
    assert [r.code for r in results] == [0, 0], [r.text for r in results]
    assert sorted(jobs_at(emulator, PROJECT, "us-central1")) == ["alpha", "beta"]
    assert jobs_at(emulator, OTHER_PROJECT, OTHER_LOCATION) == ["gamma"]
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0


def test_status_and_promote_reach_every_shard(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = sharded_repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    status = json.loads(vertex_cli(repo, emulator, "status", "--output", "json").out)
    assert sorted(m["model_id"] for m in status["models"]) == ["alpha", "beta", "gamma"]
    # promote finds the model's shard by its manifest: gamma holds no candidate there.
    promoted = vertex_cli(repo, emulator, "promote", "gamma")
    assert "name one with --shard" not in promoted.err
    assert f"shard {AWAY}" in promoted.err


def test_export_from_a_shard_writes_manifests_that_stay_there(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = sharded_repo(tmp_path)
    assert vertex_cli(repo, emulator, "apply", "--yes", "--shard", AWAY).code == 0
    out = tmp_path / "exported"
    result = vertex_cli(repo, emulator, "export", "--out", str(out), "--shard", AWAY)
    assert result.code == 0, result.text
    exported = yaml.safe_load((out / "gamma.yaml").read_text())
    assert exported["spec"]["target"] == ELSEWHERE
    home = vertex_cli(repo, emulator, "export", "--out", str(tmp_path / "home"))
    assert home.code == 0 and not list((tmp_path / "home").glob("*.yaml"))  # nothing live at the default target
