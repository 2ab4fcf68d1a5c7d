"""The JSON Schema of a manifest, so editors (yaml-language-server) check YAML as it is typed."""

from __future__ import annotations

from typing import Any

from reconciler.model.manifest import TunedModelManifest

# Rules pydantic checks in model validators, which it cannot export itself:
# "exactly one of" pairs, written as JSON Schema `oneOf` with `required`.
_ONE_OF = {
    "Spec": ("baseModel", "sourceModel"),
    "TrainingData": ("file", "examples", "unknown"),
}


def manifest_json_schema() -> dict[str, Any]:
    """The schema of one `kind: TunedModel` document (camelCase, as written in YAML)."""
    schema = TunedModelManifest.model_json_schema(by_alias=True, mode="validation")
    for name, fields in _ONE_OF.items():
        definition = schema.get("$defs", {}).get(name)
        if definition is not None:
            definition["oneOf"] = [{"required": [field]} for field in fields]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "reconciler TunedModel manifest",
    }
