"""The JSON Schemas, checked the way users' editors and hooks check files: with check-jsonschema.

The schema catches what JSON Schema can say. The corpus cases it claims to
cover are listed here; every other bad case (datasets, references across
files) must pass it, so the list stays exact and `reconciler validate` is
known to be needed for the rest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli.schema import SCHEMAS, schema_text

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "bad"
MANIFEST_SCHEMA = ROOT / "schema" / "tunedmodel.schema.json"
SETTINGS_SCHEMA = ROOT / "schema" / "reconciler.schema.json"

# Bad manifests the manifest schema rejects (YAML that does not parse included).
# Not bad-base-model: which names a base model may take is the backend's rule
# (`models/...` on Gemini), checked by `validate`, not by the shared schema.
MANIFEST_CASES = {
    "bad-id",
    "base-and-source",
    "batch-size-zero",
    "both-learning-rates",
    "dataset-bad-suffix",
    "display-name-too-long",
    "distillation-without-teacher",
    "duplicate-key",
    "epoch-not-integer",
    "evaluation-unknown-metric",
    "file-and-examples",
    "id-too-long",
    "inline-empty-output",
    "inline-with-keys",
    "manifest-not-utf8",
    "many-problems",
    "missing-spec",
    "missing-training-data",
    "not-a-mapping",
    "permission-no-email",
    "permission-owner-role",
    "smoke-test-bad-regex",
    "source-invalid",
    "teacher-without-distillation",
    "temperature-too-high",
    "unknown-field",
    "wrong-api-version",
    "wrong-kind",
    "yaml-syntax",
}
# Bad reconciler.yaml files the settings schema rejects.
SETTINGS_CASES = {"settings-invalid"}


def check_jsonschema(schema: Path, files: list[Path]) -> set[Path]:
    """The files check-jsonschema rejects (failing the schema, or not parsing)."""
    found = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert found, "check-jsonschema is in the test extra"
    result = subprocess.run(
        [found, "-o", "json", "--schemafile", str(schema), *map(str, files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    assert (result.returncode == 0) == (report["status"] == "ok"), result.stderr
    return {(ROOT / e["filename"]).resolve() for e in [*report.get("errors", []), *report.get("parse_errors", [])]}


def corpus_files(pattern: str) -> dict[Path, str]:
    return {path.resolve(): path.relative_to(CORPUS).parts[0] for path in sorted(CORPUS.glob(pattern))}


def test_the_committed_schemas_are_up_to_date() -> None:
    for kind, (path, _) in SCHEMAS.items():
        assert (ROOT / path).read_text(encoding="utf-8") == schema_text(kind), f"run: reconciler schema {kind} > {path}"


def test_the_examples_pass_their_schemas() -> None:
    assert check_jsonschema(MANIFEST_SCHEMA, sorted((ROOT / "manifests").glob("*.yaml"))) == set()
    assert check_jsonschema(SETTINGS_SCHEMA, [ROOT / "reconciler.yaml"]) == set()


def test_the_manifest_schema_rejects_exactly_the_cases_it_claims() -> None:
    files = corpus_files("*/manifests/**/*.y*ml")
    rejected = {files[path] for path in check_jsonschema(MANIFEST_SCHEMA, list(files))}
    assert rejected == MANIFEST_CASES


def test_the_settings_schema_rejects_exactly_the_cases_it_claims() -> None:
    files = corpus_files("*/reconciler.yaml")
    rejected = {files[path] for path in check_jsonschema(SETTINGS_SCHEMA, list(files))}
    assert rejected == SETTINGS_CASES


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_every_field_has_a_description_for_hover_text(kind: str) -> None:
    schema = json.loads(schema_text(kind))
    missing = [
        f"{name}.{field}"
        for name, definition in [("(top)", schema), *schema.get("$defs", {}).items()]
        for field, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []


def test_files_point_editors_at_their_schema() -> None:
    assert (
        (ROOT / "reconciler.yaml")
        .read_text()
        .startswith("# yaml-language-server: $schema=schema/reconciler.schema.json\n")
    )
    for manifest in (ROOT / "manifests").glob("*.yaml"):
        assert manifest.read_text().startswith("# yaml-language-server: $schema=../schema/tunedmodel.schema.json\n")
