"""What Amazon Bedrock cannot honour is refused before anything is sent: a
base model not customizable in the chosen way, a teacher it does not learn
from, a hyperparameter unknown or out of range, and dataset rows in the wrong
format or over the model's limits, each at its file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.backends.bedrock.catalogue import CATALOGUE
from reconciler.backends.bedrock.rules import (
    DATASET_LIMITS,
    RULES,
    canonical_manifest,
    checks,
    dataset_limits,
    manifest_problems,
)
from reconciler.model.manifest import Customization, TunedModelManifest
from reconciler.plan.rules import ReplaceOrder
from tests.backends.bedrock.helpers import (
    NOVA,
    errors,
    line_of,
    load_repo,
    manifest,
    pairs,
    settings,
    turns,
    write_repo,
)

TITAN = "amazon.titan-text-express-v1:0:8k"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0:200k"
LLAMA = "meta.llama3-1-8b-instruct-v1:0:128k"


def problems(region: str | None = None, **spec: Any) -> list[tuple[str, str]]:
    document = TunedModelManifest.model_validate(manifest("numbers", **spec))
    return [(".".join(path), message) for path, message in manifest_problems(document, CATALOGUE, region)]


def test_a_manifest_bedrock_honours_has_no_problem() -> None:
    assert problems("us-east-1", hyperparameters={"epochCount": 2, "learningRate": 0.00001}) == []
    assert problems("us-west-2", baseModel=HAIKU, hyperparameters={"batchSize": 8, "learningRateMultiplier": 1.5}) == []
    assert problems(baseModel=TITAN, customization="continuedPreTraining", hyperparameters={"batchSize": 64}) == []
    assert problems(customization="distillation", teacherModel="us.amazon.nova-premier-v1:0") == []


CASES = [
    ({"baseModel": "amazon.nova-mikro-v1:0"}, "spec.baseModel", "is not a base model Amazon Bedrock customizes"),
    ({"baseModel": LLAMA}, "spec.baseModel", "customizes Meta Llama 3.1 8B Instruct in us-west-2, not in us-east-1"),
    (
        {"customization": "continuedPreTraining"},
        "spec.customization",
        "cannot customize Amazon Nova Micro by continuedPreTraining; it allows fineTuning, distillation",
    ),
    (
        {"customization": "distillation", "teacherModel": "anthropic.claude-3-5-sonnet-20241022-v2:0"},
        "spec.teacherModel",
        "is not a teacher Amazon Bedrock distils Amazon Nova Micro from; it takes amazon.nova-pro-v1:0",
    ),
    (
        {"hyperparameters": {"batchSize": 4}},
        "spec.hyperparameters.batchSize",
        "Amazon Nova Micro takes no batchSize for fineTuning; it takes epochCount, learningRate",
    ),
    (
        {"hyperparameters": {"epochCount": 6}},
        "spec.hyperparameters.epochCount",
        "must be from 1 to 5 for Amazon Nova Micro (Amazon Bedrock's range; default 2)",
    ),
    (
        {"hyperparameters": {"learningRate": 0.001}},
        "spec.hyperparameters.learningRate",
        "must be from 1e-06 to 0.0001 for Amazon Nova Micro",
    ),
    (
        {"hyperparameters": {"learningRateWarmupSteps": 101}},
        "spec.hyperparameters.learningRateWarmupSteps",
        "must be from 0 to 100",
    ),
    (
        {"customization": "distillation", "teacherModel": "amazon.nova-pro-v1:0", "hyperparameters": {"epochCount": 2}},
        "spec.hyperparameters.epochCount",
        "takes no epochCount for distillation; Amazon Bedrock chooses them itself",
    ),
    (
        {
            "customization": "distillation",
            "teacherModel": "amazon.nova-pro-v1:0",
            "validationData": {"file": "v.jsonl"},
        },
        "spec.validationData",
        "takes no validation data for a distillation",
    ),
    ({"baseModel": TITAN, "systemInstruction": "Be brief."}, "spec.systemInstruction", "hold no system instruction"),
    ({"systemInstruction": "System: be brief."}, "spec.systemInstruction", "holds 'System:', a keyword"),
    ({"permissions": [{"role": "READER", "granteeType": "EVERYONE"}]}, "spec.permissions", "no per-model grants"),
    ({"baseModel": None, "sourceModel": "models/other"}, "spec.sourceModel", "must be the id (metadata.name)"),
]


@pytest.mark.parametrize("spec, field, message", CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_what_bedrock_cannot_honour_is_refused(spec: dict[str, Any], field: str, message: str) -> None:
    found = problems("us-east-1", **spec)
    assert [path for path, _ in found] == [field], found
    assert message in found[0][1]


def test_batch_sizes_and_multipliers_are_checked_against_each_model_s_range() -> None:
    assert problems(baseModel=HAIKU, hyperparameters={"batchSize": 2}) == [
        (
            "spec.hyperparameters.batchSize",
            "must be from 4 to 256 for Anthropic Claude 3 Haiku (Amazon Bedrock's range; default 32)",
        )
    ]
    assert problems(baseModel=LLAMA, hyperparameters={"batchSize": 2})[0][1].startswith("must be 1 (the only value)")
    assert problems(baseModel=HAIKU, hyperparameters={"learningRateMultiplier": 3.0})[0][0].endswith("Multiplier")


def test_a_catalogue_override_changes_what_is_refused() -> None:
    block = settings(region="us-west-2", baseModels={"amazon.nova-micro-v1:0": {"regions": ["us-west-2"]}})
    document = TunedModelManifest.model_validate(manifest("numbers"))
    assert list(checks(block).manifest(document)) == []
    assert [path for path, _ in checks(settings(region="us-west-2")).manifest(document)] == [("spec", "baseModel")]


def test_an_alias_or_arn_is_read_as_the_catalogue_s_id() -> None:
    for name in ("amazon.nova-micro-v1:0", f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}"):
        document = TunedModelManifest.model_validate(manifest("numbers", baseModel=name))
        assert canonical_manifest(document).spec.base_model == NOVA
    document = TunedModelManifest.model_validate(manifest("numbers"))
    assert canonical_manifest(document) is document


def test_the_plan_rules() -> None:
    assert RULES.address("numbers") == "bedrock/numbers"
    assert RULES.replace_order is ReplaceOrder.CREATE_FIRST
    assert RULES.backend == "bedrock" and RULES.marker_mask == "tags"
    assert [field.path for field in RULES.mutable_fields] == ["spec.displayName", "spec.description"]


def test_each_manifest_s_data_is_held_to_its_base_model_s_limits_and_format() -> None:
    nova = dataset_limits(CATALOGUE[NOVA], Customization.FINE_TUNING)
    assert (nova.min_examples, nova.max_examples, nova.service) == (8, 20_000, "Amazon Nova Micro on Amazon Bedrock")
    titan = CATALOGUE[TITAN]
    assert dataset_limits(titan, Customization.FINE_TUNING).max_file_bytes == 2**30
    assert dataset_limits(titan, Customization.CONTINUED_PRE_TRAINING).max_file_bytes == 10 * 2**30
    assert dataset_limits(titan, Customization.FINE_TUNING).max_example_tokens == 4096
    chosen = checks(settings())
    assert chosen.limits_for is not None
    source = TunedModelManifest.model_validate(manifest("numbers", baseModel=None, sourceModel="other"))
    assert chosen.limits_for(source) is DATASET_LIMITS
    assert chosen.limits_for(TunedModelManifest.model_validate(manifest("numbers"))) == nova


# ------------------------------------------------------------------ through the loader: file, line, field


def test_validate_reports_a_manifest_problem_at_its_file_line_and_field(tmp_path: Path) -> None:
    root = write_repo(tmp_path, [manifest("numbers", hyperparameters={"epochCount": 9})], {"numbers": pairs(10)})
    line = line_of(root, "numbers", "epochCount")
    assert errors(load_repo(root)) == [
        f"manifests/numbers.yaml:{line}: spec.hyperparameters.epochCount: "
        "must be from 1 to 5 for Amazon Nova Micro (Amazon Bedrock's range; default 2)"
    ]


def test_validate_reports_rows_the_model_s_format_cannot_hold(tmp_path: Path) -> None:
    rows = [*pairs(10), {"text_input": "Bot: hello", "output": "hi"}]
    conversation = [turns("a", "b"), turns("c", "d", "e", "f")]
    documents = [manifest("nova"), manifest("llama", baseModel=LLAMA)]
    root = write_repo(tmp_path, documents, {"nova": rows, "llama": conversation})
    assert errors(load_repo(root, settings(baseModels={LLAMA: {"regions": ["us-east-1"]}}))) == [
        "datasets/llama.jsonl:2: contents: Meta Llama 3.1 8B Instruct takes one exchange an example here "
        "(a user turn, then the answer), not a conversation of 4 turns",
        "datasets/nova.jsonl:11: text_input: holds 'Bot:', a keyword Amazon Nova Micro reserves (User:, Bot:, "
        "Assistant:, System:, <image>, <video>, [EOS]): its training job fails on a user or system prompt holding "
        "one; write it otherwise",
    ]


def test_validate_holds_each_model_to_its_own_example_count(tmp_path: Path) -> None:
    root = write_repo(tmp_path, [manifest("numbers")], {"numbers": pairs(7)})
    line = line_of(root, "numbers", "trainingData:")
    assert errors(load_repo(root)) == [
        f"manifests/numbers.yaml:{line}: spec.trainingData: datasets/numbers.jsonl has 7 examples, "
        "Amazon Nova Micro on Amazon Bedrock needs at least 8"
    ]


def test_continued_pre_training_reads_outputs_only(tmp_path: Path) -> None:
    text = [{"text_input": "", "output": f"A passage of domain text, number {i}."} for i in range(3)]
    documents = [manifest("corpus", baseModel=TITAN, customization="continuedPreTraining")]
    assert errors(load_repo(write_repo(tmp_path, documents, {"corpus": text}))) == []
    (tmp_path / "datasets" / "corpus.jsonl").write_text('{"text_input": "a prompt", "output": "text"}\n')
    assert errors(load_repo(tmp_path)) == [
        "datasets/corpus.jsonl:1: text_input: continued pre-training learns from unlabelled text: "
        "put each text in output and leave text_input empty (or out)"
    ]
