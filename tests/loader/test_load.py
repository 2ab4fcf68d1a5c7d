"""Loading a repository: layouts, settings, cross-manifest rules, digest, re-reading examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.backends.gemini.rules import CHECKS as GEMINI_CHECKS
from reconciler.loader import LoadResult, load, read_examples
from reconciler.loader import datasets as datasets_module
from reconciler.model.errors import UserError

REPO = Path(__file__).resolve().parent.parent.parent

MANIFEST = """apiVersion: reconciler/v1
kind: TunedModel
metadata:
  name: {name}
spec:
  baseModel: models/gemini-1.5-flash-001-tuning
  trainingData:
    file: {file}
"""


def examples_jsonl(count: int = 20, start: int = 0) -> str:
    return "".join(json.dumps({"text_input": str(i), "output": str(i + 1)}) + "\n" for i in range(start, start + count))


def make_repo(root: Path, manifests: dict[str, str], data: dict[str, str], settings: str | None = None) -> Path:
    for name, text in {**manifests, **data}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if settings is not None:
        (root / "reconciler.yaml").write_text(settings)
    return root


def simple_repo(root: Path) -> Path:
    return make_repo(
        root,
        {"manifests/a.yaml": MANIFEST.format(name="model-a", file="../datasets/a.jsonl")},
        {"datasets/a.jsonl": examples_jsonl()},
    )


def errors(result: LoadResult) -> list[str]:
    return [str(p) for p in result.errors]


def test_the_example_repository_is_valid() -> None:
    result = load(REPO, cwd=REPO)
    assert errors(result) == []
    assert result.desired is not None
    models = result.desired.by_id()
    assert set(models) == {"number-generator", "roman-numerals"}
    assert models["number-generator"].dataset.examples >= 25
    assert models["roman-numerals"].dataset.examples >= 20
    assert models["roman-numerals"].manifest.spec.source_model == "tunedModels/number-generator"


def test_smoke_tests_of_the_examples_ask_what_the_datasets_teach() -> None:
    result = load(REPO / "manifests", cwd=REPO)
    assert result.desired is not None
    for model in result.desired.models:
        taught = {(e.text_input, e.output) for e in read_examples(model)}
        for test in model.manifest.spec.smoke_tests:
            answer = next(output for text_input, output in taught if text_input == test.input)
            assert test.expect.matches(answer), (model.id, test.input)


def test_a_manifests_folder_finds_reconciler_yaml_above_it(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {"config/models/a.yaml": MANIFEST.format(name="model-a", file="../../datasets/a.jsonl")},
        {"datasets/a.jsonl": examples_jsonl()},
        settings="manifests: config/models\nconcurrency: 2\n",
    )
    (tmp_path / ".git").mkdir()
    for target in (
        tmp_path,
        tmp_path / "config" / "models",
        tmp_path / "config" / "models" / "a.yaml",
    ):
        result = load(target, cwd=tmp_path)
        assert result.desired is not None, errors(result)
        assert result.desired.root == str(tmp_path.resolve())
        assert result.desired.settings.concurrency == 2
        assert result.desired.models[0].file == "config/models/a.yaml"


def test_without_reconciler_yaml_the_root_is_the_manifests_parent(tmp_path: Path) -> None:
    simple_repo(tmp_path)
    result = load(tmp_path / "manifests", cwd=tmp_path / "manifests")
    assert result.desired is not None
    assert result.desired.root == str(tmp_path.resolve())
    assert result.desired.settings.max_deletions == 5


def test_problems_are_shown_relative_to_the_current_folder(tmp_path: Path) -> None:
    simple_repo(tmp_path)
    (tmp_path / "manifests" / "a.yaml").write_text(
        MANIFEST.format(name="model-a", file="../datasets/a.jsonl") + "  displayName: 7\n"
    )
    assert errors(load(tmp_path, cwd=tmp_path)) == ["manifests/a.yaml:9: spec.displayName: must be a string"]
    assert errors(load(tmp_path, cwd=tmp_path / "manifests")) == ["a.yaml:9: spec.displayName: must be a string"]


def test_a_missing_path_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    result = load(tmp_path / "nowhere")
    assert not result.ok
    assert "no such file or folder" in errors(result)[0]


def test_several_documents_in_one_file_and_a_shared_dataset(tmp_path: Path) -> None:
    two = MANIFEST.format(name="model-a", file="../datasets/a.jsonl") + "---\n"
    two += MANIFEST.format(name="model-b", file="../datasets/a.jsonl")
    make_repo(tmp_path, {"manifests/all.yml": two}, {"datasets/a.jsonl": examples_jsonl()})
    result = load(tmp_path, cwd=tmp_path)
    assert result.desired is not None
    assert [(m.id, m.line) for m in result.desired.models] == [("model-a", 1), ("model-b", 10)]


def test_a_dataset_shared_by_two_manifests_reports_its_problems_once(tmp_path: Path) -> None:
    two = MANIFEST.format(name="model-a", file="../datasets/a.jsonl") + "---\n"
    two += MANIFEST.format(name="model-b", file="../datasets/a.jsonl")
    data = examples_jsonl() + '{"text_input": "x", "output": ""}\n'
    make_repo(tmp_path, {"manifests/all.yaml": two}, {"datasets/a.jsonl": data})
    assert errors(load(tmp_path, cwd=tmp_path)) == ["datasets/a.jsonl:21: output: must not be empty"]


def test_a_long_source_chain_is_valid_and_a_self_reference_is_a_cycle(tmp_path: Path) -> None:
    chain = MANIFEST.format(name="model-a", file="../datasets/a.jsonl")
    for name, source in (("model-b", "model-a"), ("model-c", "model-b")):
        manifest = MANIFEST.format(name=name, file="../datasets/a.jsonl")
        chain += "---\n" + manifest.replace(
            "baseModel: models/gemini-1.5-flash-001-tuning", f"sourceModel: tunedModels/{source}"
        )
    make_repo(tmp_path, {"manifests/chain.yaml": chain}, {"datasets/a.jsonl": examples_jsonl()})
    assert errors(load(tmp_path, cwd=tmp_path)) == []

    selfish = MANIFEST.format(name="model-a", file="../datasets/a.jsonl").replace(
        "baseModel: models/gemini-1.5-flash-001-tuning", "sourceModel: tunedModels/model-a"
    )
    (tmp_path / "manifests" / "chain.yaml").write_text(selfish)
    assert errors(load(tmp_path, cwd=tmp_path)) == [
        "manifests/chain.yaml:6: spec.sourceModel: sourceModel cycle: model-a -> model-a"
    ]


def test_inline_examples_are_loaded_and_read_back(tmp_path: Path) -> None:
    examples = "".join(f"      - {{textInput: '{i}', output: '{i + 1}'}}\n" for i in range(20))
    manifest = MANIFEST.format(name="model-a", file="x").replace("    file: x\n", "    examples:\n" + examples)
    make_repo(tmp_path, {"manifests/a.yaml": manifest}, {})
    result = load(tmp_path, cwd=tmp_path)
    assert result.desired is not None, errors(result)
    model = result.desired.models[0]
    assert model.dataset_source.path is None
    assert [(e.text_input, e.output) for e in read_examples(model)][:2] == [("0", "1"), ("1", "2")]


def test_read_examples_streams_a_file_again_and_fails_clearly_if_it_broke(tmp_path: Path) -> None:
    simple_repo(tmp_path)
    result = load(tmp_path)
    assert result.desired is not None
    model = result.desired.models[0]
    assert len(list(read_examples(model))) == 20
    (tmp_path / "datasets" / "a.jsonl").write_text("{broken\n")
    with pytest.raises(UserError, match="changed since it was validated"):
        list(read_examples(model))


def test_the_digest_covers_settings_manifests_and_dataset_bytes(tmp_path: Path) -> None:
    simple_repo(tmp_path)
    (tmp_path / "reconciler.yaml").write_text("prune: false\n")

    def digest() -> str:
        result = load(tmp_path)
        assert result.desired is not None, errors(result)
        return result.desired.digest

    seen = {digest()}
    (tmp_path / "datasets" / "a.jsonl").write_text(examples_jsonl().replace('"1"', '"1" '))  # syntax only
    seen.add(digest())
    (tmp_path / "reconciler.yaml").write_text("prune: false  # a comment\n")
    seen.add(digest())
    manifest = tmp_path / "manifests" / "a.yaml"
    manifest.write_text(manifest.read_text() + "# trailing comment\n")
    seen.add(digest())
    assert len(seen) == 4
    assert digest() in seen  # and it is stable


def test_the_dataset_fingerprint_ignores_syntax_but_not_text(tmp_path: Path) -> None:
    simple_repo(tmp_path)

    def fingerprint() -> str:
        result = load(tmp_path)
        assert result.desired is not None, errors(result)
        return result.desired.models[0].dataset.digest

    original = fingerprint()
    lines = examples_jsonl().splitlines()
    (tmp_path / "datasets" / "a.jsonl").write_text("\n".join(reversed(lines)).replace(": ", ":") + "\n")
    assert fingerprint() == original
    (tmp_path / "datasets" / "a.jsonl").write_text(examples_jsonl().replace('"output": "2"', '"output": "2 "'))
    assert fingerprint() != original


def test_a_dataset_over_4_mb_is_a_warning_not_an_error(tmp_path: Path) -> None:
    big = "".join(json.dumps({"text_input": f"{i} " + "x" * 4000, "output": str(i)}) + "\n" for i in range(1100))
    make_repo(
        tmp_path,
        {"manifests/a.yaml": MANIFEST.format(name="model-a", file="../datasets/a.jsonl")},
        {"datasets/a.jsonl": big},
    )
    result = load(tmp_path, cwd=tmp_path, checks_for=lambda _settings: GEMINI_CHECKS)
    assert result.ok
    assert [str(p) for p in result.warnings] == [
        "manifests/a.yaml:8: spec.trainingData.file: is 4.2 MB, above the API's 4 MB reference limit"
    ]


def test_hidden_folders_and_other_files_are_not_manifests(tmp_path: Path) -> None:
    simple_repo(tmp_path)
    (tmp_path / "manifests" / ".drafts").mkdir()
    (tmp_path / "manifests" / ".drafts" / "x.yaml").write_text("not: a manifest\n")
    (tmp_path / "manifests" / "notes.txt").write_text("hello\n")
    assert errors(load(tmp_path)) == []


def test_a_dataset_symlink_loop_is_a_problem(tmp_path: Path) -> None:
    simple_repo(tmp_path)
    (tmp_path / "datasets" / "a.jsonl").unlink()
    (tmp_path / "datasets" / "a.jsonl").symlink_to(tmp_path / "datasets" / "a.jsonl")
    result = load(tmp_path, cwd=tmp_path)
    assert errors(result)[0].startswith("manifests/a.yaml:8: spec.trainingData.file: cannot be resolved")


def test_a_dataset_that_cannot_be_read_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    simple_repo(tmp_path)

    def refuse(path: Path, *_: object) -> object:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(datasets_module, "read_batches", refuse)
    result = load(tmp_path, cwd=tmp_path)
    assert errors(result) == ["datasets/a.jsonl: cannot be read: Permission denied"]
