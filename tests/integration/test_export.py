"""`reconciler export`: an account moves into git, and the first plan neither
re-tunes nor loses any model (managed ones are unchanged, unmanaged ones imported)."""

from __future__ import annotations

from pathlib import Path

import yaml

from reconciler.emulator.server import EmulatorServer
from tests.integration.helpers_apply import live_models, manifest, run_cli, write_repo, write_settings
from tests.integration.helpers_plan import seed_unmanaged


def exported_repo(tmp_path: Path, emulator: EmulatorServer) -> Path:
    """An account with two managed models and one made by hand, exported to a new repository."""
    source = write_repo(tmp_path / "source", [manifest("alpha", reader="analyst@example.com"), manifest("beta")])
    assert run_cli(source, emulator, "apply", "--yes").code == 0
    seed_unmanaged(emulator, "by-hand")
    target = tmp_path / "target"
    target.mkdir()
    write_settings(target)
    result = run_cli(target, emulator, "export", "--out", "manifests")
    assert result.code == 0, result.text
    assert "Exported 3 manifests" in result.out
    return target


def test_exported_manifests_describe_the_live_models(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = exported_repo(tmp_path, emulator)
    alpha = yaml.safe_load((repo / "manifests" / "alpha.yaml").read_text())
    assert alpha["spec"]["trainingData"] == {"unknown": True}
    assert alpha["spec"]["displayName"] == "alpha"
    assert alpha["spec"]["description"] == "The alpha model."  # the trailer is not part of it
    assert alpha["spec"]["hyperparameters"] == {"epochCount": 2, "batchSize": 4, "learningRate": 0.001}
    assert alpha["spec"]["permissions"] == [
        {"role": "READER", "granteeType": "USER", "emailAddress": "analyst@example.com"}
    ]
    assert run_cli(repo, emulator, "validate").code == 0


def test_first_plan_imports_unmanaged_and_keeps_managed(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = exported_repo(tmp_path, emulator)
    planned = run_cli(repo, emulator, "plan", "--detailed-exitcode", "--output", "json")
    assert planned.code == 2, planned.text
    actions = {(c["model_id"], c["action"]) for c in yaml.safe_load(planned.out)["changes"]}
    assert actions == {("alpha", "noop"), ("beta", "noop"), ("by-hand", "import")}

    before = live_models(emulator)
    applied = run_cli(repo, emulator, "apply", "--yes")
    assert applied.code == 0, applied.text
    after = live_models(emulator)
    assert set(after) == set(before)  # nothing created, nothing lost
    assert after["by-hand"]["description"].startswith("Not ours.\n\n[managed-by: reconciler")
    assert after["by-hand"]["createTime"] == before["by-hand"]["createTime"]  # not re-tuned

    again = run_cli(repo, emulator, "plan", "--detailed-exitcode")
    assert again.code == 0, again.text


def test_an_exported_model_is_never_retuned(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = exported_repo(tmp_path, emulator)
    path = repo / "manifests" / "alpha.yaml"
    document = yaml.safe_load(path.read_text())
    document["spec"]["hyperparameters"]["epochCount"] = 9
    path.write_text(yaml.safe_dump(document))
    result = run_cli(repo, emulator, "plan")
    assert result.code == 1
    assert "spec.hyperparameters.epochCount: manifest 9, live 2" in result.text
    assert "training data is unknown" in result.text


def test_export_refuses_to_overwrite(tmp_path: Path, emulator: EmulatorServer) -> None:
    repo = exported_repo(tmp_path, emulator)
    result = run_cli(repo, emulator, "export", "--out", "manifests")
    assert result.code == 1
    assert "pass --force" in result.err
    assert run_cli(repo, emulator, "export", "--out", "manifests", "--force").code == 0


def test_the_schema_line_points_at_the_schema_from_wherever_the_file_lands(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    source = write_repo(tmp_path / "source", [manifest("alpha")])
    assert run_cli(source, emulator, "apply", "--yes").code == 0
    written = run_cli(source, emulator, "schema")
    (source / "schema").mkdir()
    (source / "schema" / "tunedmodel.schema.json").write_text(written.out, encoding="utf-8")
    for out in ("manifests", "a/b/c", str(tmp_path / "elsewhere")):
        result = run_cli(source, emulator, "export", "--out", out, "--force")
        assert result.code == 0, result.text
        assert "reconciler schema" not in result.err
        folder = source / out
        first = (folder / "alpha.yaml").read_text().splitlines()[0]
        relative = first.removeprefix("# yaml-language-server: $schema=")
        assert (folder / relative).resolve() == (source / "schema" / "tunedmodel.schema.json").resolve()
    assert (
        (source / "manifests" / "alpha.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=../schema/tunedmodel.schema.json\n")
    )


def test_without_a_committed_schema_no_line_points_nowhere_and_a_hint_says_how(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    source = write_repo(tmp_path / "source", [manifest("alpha")])
    assert run_cli(source, emulator, "apply", "--yes").code == 0
    result = run_cli(source, emulator, "export", "--out", "manifests", "--force")
    assert result.code == 0, result.text
    assert "$schema" not in (source / "manifests" / "alpha.yaml").read_text()
    assert "`reconciler schema > schema/tunedmodel.schema.json` writes it" in result.err


def test_status_works_on_a_folder_with_only_reconciler_yaml(tmp_path: Path, emulator: EmulatorServer) -> None:
    # Where a migration begins: the settings, no manifests folder yet, and models made by hand.
    seed_unmanaged(emulator, "by-hand")
    repo = tmp_path / "new"
    repo.mkdir()
    write_settings(repo)
    result = run_cli(repo, emulator, "status")
    assert result.code == 0, result.text
    assert "no manifests folder (treated as empty)" in result.err
    (row,) = [line.split() for line in result.out.splitlines() if line.startswith("by-hand")]
    assert row[:2] == ["by-hand", "no"]
    assert row[-1] == "unmanaged"
