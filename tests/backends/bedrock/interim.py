"""INTERIM: stand-ins for the Bedrock modules another helper writes at the same
time (settings.py, catalogue.py, rules.py, datasets.py, issue 24). The lead
deletes this file, and the lines of conftest.py that install it, at merge.

Each stand-in has exactly the names and signatures the backend imports, and no
more: the backend is written against these, so the real modules must provide
them (see the report of the bedrock-backend helper):

- settings.BedrockSettings: region, role_arn, datasets, outputs (s3:// URIs);
  `.bucket`, `.prefix` (of `datasets`: "" or "a/b/").
- catalogue.entry(base_model, overrides) -> ModelEntry | None (overrides:
  settings.base_models; the entry is passed to datasets only).
- rules.RULES (PlanRules: create-first, `bedrock/{key}`, mutable fields
  spec.displayName and spec.description), rules.checks(block) -> BackendChecks.
- datasets.canonical_jsonl(model, entry, *, validation=False) -> bytes;
  datasets.object_name(prefix, data) -> str.
"""

from __future__ import annotations

import hashlib
import json
import sys
import types
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

import reconciler.backends
from reconciler.loader import read_examples
from reconciler.loader.checks import BackendChecks
from reconciler.loader.limits import DatasetLimits
from reconciler.model.desired import DesiredModel
from reconciler.model.manifest import Strict, TunedModelManifest
from reconciler.model.tuning import TuningDefaults
from reconciler.plan.rules import MutableField, PlanRules, ReplaceOrder


class BedrockSettings(Strict):
    """The `bedrock:` block (stand-in)."""

    region: str = Field(description="The AWS region.")
    role_arn: str = Field(description="The role Bedrock assumes to read the data.")
    datasets: str = Field(description="s3://bucket/prefix of the datasets.")
    outputs: str = Field(description="s3://bucket/prefix of the job outputs.")
    base_models: dict[str, dict[str, object]] = Field(default_factory=dict, description="Catalogue overrides.")

    @property
    def bucket(self) -> str:
        return self.datasets.removeprefix("s3://").split("/", 1)[0]

    @property
    def prefix(self) -> str:
        rest = self.datasets.removeprefix("s3://").partition("/")[2].strip("/")
        return f"{rest}/" if rest else ""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    dataset_format: str = "prompt-completion"
    inference: tuple[str, ...] = ("customModelDeployment", "provisionedThroughput")


def entry(base_model: str, overrides: object = None) -> ModelEntry | None:
    if base_model.startswith("unknown."):
        return None
    if base_model.startswith("provisioned."):  # a base model served through Provisioned Throughput only
        return ModelEntry(base_model, inference=("provisionedThroughput",))
    return ModelEntry(base_model, "conversation" if ".nova-" in base_model else "prompt-completion")


RULES = PlanRules(
    mutable_fields=(
        MutableField("spec.displayName", "displayName"),
        MutableField("spec.description", "description"),
    ),
    marker_mask="tags",
    no_marker="it carries no reconciler tags",
    tuning=TuningDefaults(epoch_count=2, batch_size=1),
    replace_order=ReplaceOrder.CREATE_FIRST,
    address_template="bedrock/{key}",
    backend="bedrock",
    records_scores=True,
)
LIMITS = DatasetLimits(service="Amazon Bedrock", min_examples=1)


def _manifest_problems(manifest: TunedModelManifest) -> Iterable[tuple[tuple[str, ...], str]]:
    return ()


def checks(block: BedrockSettings | None) -> BackendChecks:
    return BackendChecks(_manifest_problems, LIMITS)


def canonical_jsonl(model: DesiredModel, entry: ModelEntry, *, validation: bool = False) -> bytes:
    lines = sorted(
        json.dumps({"prompt": e.text_input, "completion": e.output}, sort_keys=True, separators=(",", ":")) + "\n"
        for e in read_examples(model, validation=validation)
    )
    return "".join(lines).encode("utf-8")


def object_name(prefix: str, data: bytes) -> str:
    return f"{prefix}{hashlib.sha256(data).hexdigest()}.jsonl"


_MODULES = {
    "settings": {"BedrockSettings": BedrockSettings},
    "catalogue": {"ModelEntry": ModelEntry, "entry": entry},
    "rules": {"RULES": RULES, "checks": checks, "LIMITS": LIMITS},
    "datasets": {"canonical_jsonl": canonical_jsonl, "object_name": object_name},
}


def install() -> None:
    """Put each stand-in under its real name, where the real module is not there yet."""
    folder = Path(reconciler.backends.__file__).parent / "bedrock"
    for name, members in _MODULES.items():
        if (folder / f"{name}.py").exists():
            continue
        module = types.ModuleType(f"reconciler.backends.bedrock.{name}", f"INTERIM stand-in: {name}")
        module.__dict__.update(members)
        sys.modules[module.__name__] = module
