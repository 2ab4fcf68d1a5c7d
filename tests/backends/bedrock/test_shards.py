"""Shards on Amazon Bedrock: an account and region each (its quotas' boundary).

A target in another region is checked against that region's base models, and
`--shard` applies and prunes in that account and region alone."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from reconciler.backends.bedrock import names
from reconciler.emulator import EmulatorServer
from tests.backends.bedrock import flows
from tests.integration.helpers_apply import finish, remove_manifest, run_cli, start_cli

BUCKET = "my-bucket"
WEST_MODEL = "meta.llama3-1-8b-instruct-v1:0:128k"  # customized in us-west-2 only
HOME, WEST = "123456789012.us-east-1", "123456789012.us-west-2"
OTHER_ROLE = "arn:aws:iam::210987654321:role/reconciler-customization"


def _cli(repo: Path, server: EmulatorServer, *args: str) -> tuple[int, str, str]:
    result = run_cli(repo, server, *args, **flows.cli_env(server.url))
    return result.code, result.out, result.err


def _models(server: EmulatorServer, region: str) -> list[str]:
    """The manifest ids of the custom models in `region`."""
    bedrock = boto3.client(
        "bedrock", endpoint_url=server.url, region_name=region, aws_access_key_id="t", aws_secret_access_key="t"
    )
    listed = bedrock.list_custom_models()["modelSummaries"]
    return sorted(key for key in ("alpha", "beta") for m in listed if names.made_for(m["modelName"], key))


def _repo(root: Path) -> Path:
    documents = [flows.manifest("alpha"), flows.manifest("beta", baseModel=WEST_MODEL, target={"region": "us-west-2"})]
    return flows.write_repo(root, documents, targets=[{"region": "us-west-2"}], pollIntervalSeconds=0.01)


def test_the_shards_are_the_accounts_and_regions(tmp_path: Path, server: EmulatorServer) -> None:
    repo = flows.write_repo(
        tmp_path,
        [flows.manifest("alpha")],
        targets=[{"region": "us-west-2"}, {"region": "us-east-1", "roleArn": OTHER_ROLE}],
    )
    code, out, err = _cli(repo, server, "shards", "--output", "json")
    assert code == 0, err
    assert json.loads(out)["include"] == [
        {"shard": HOME, "label": "Amazon Bedrock account 123456789012, us-east-1"},
        {"shard": WEST, "label": "Amazon Bedrock account 123456789012, us-west-2"},
        {"shard": "210987654321.us-east-1", "label": "Amazon Bedrock account 210987654321, us-east-1"},
    ]


def test_a_target_is_checked_against_its_own_regions_base_models(tmp_path: Path, server: EmulatorServer) -> None:
    assert _cli(_repo(tmp_path), server, "validate")[0] == 0
    home = flows.write_repo(tmp_path / "home", [flows.manifest("beta", baseModel=WEST_MODEL)])
    code, _, err = _cli(home, server, "validate")
    assert code == 1 and "us-east-1" in err


def test_applying_and_pruning_one_shard_stays_in_its_region(tmp_path: Path, server: EmulatorServer) -> None:
    repo = _repo(tmp_path)
    code, _, err = _cli(repo, server, "apply", "--yes", "--shard", WEST)
    assert code == 0, err
    assert _models(server, "us-west-2") == ["beta"] and _models(server, "us-east-1") == []
    code, _, err = _cli(repo, server, "apply", "--yes")
    assert code == 0, err
    assert _models(server, "us-east-1") == ["alpha"]
    remove_manifest(repo, "beta")
    code, _, err = _cli(repo, server, "apply", "--yes", "--prune", "--shard", WEST)
    assert code == 1 and f"no manifests for shard {WEST}" in err
    code, _, err = _cli(repo, server, "apply", "--yes", "--prune", "--allow-empty", "--shard", WEST)
    assert code == 0, err
    assert _models(server, "us-west-2") == [] and _models(server, "us-east-1") == ["alpha"]
    assert _cli(repo, server, "plan", "--detailed-exitcode", "--shard", HOME)[0] == 0


def test_the_shard_plans_add_up_and_two_shards_apply_at_once(tmp_path: Path, server: EmulatorServer) -> None:
    repo = _repo(tmp_path)
    whole = json.loads(_cli(repo, server, "plan", "--output", "json")[1])
    parts = [json.loads(_cli(repo, server, "plan", "--shard", key, "--output", "json")[1]) for key in (HOME, WEST)]
    assert parts == whole["shards"]
    assert [[c["model_id"] for c in part["changes"]] for part in parts] == [["alpha"], ["beta"]]
    processes = [
        start_cli(repo, server, "apply", "--yes", "--shard", key, **flows.cli_env(server.url)) for key in (HOME, WEST)
    ]
    results = [finish(process) for process in processes]
    assert [r.code for r in results] == [0, 0], [r.text for r in results]
    assert _models(server, "us-east-1") == ["alpha"] and _models(server, "us-west-2") == ["beta"]
    assert _cli(repo, server, "plan", "--detailed-exitcode")[0] == 0
