"""catalogue.json: the base models Amazon Bedrock customizes, each well formed
and sourced, found by id, alias or ARN, and changed by bedrock.baseModels."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from reconciler.backends.bedrock import catalogue as catalogue_module
from reconciler.backends.bedrock.catalogue import (
    CATALOGUE,
    CONVERSATION,
    CUSTOM_MODEL_DEPLOYMENT,
    INPUT_TEXT,
    PROMPT_COMPLETION,
    PROVISIONED_THROUGHPUT,
    canonical_id,
    catalogue,
    entry,
)
from reconciler.model.manifest import Customization, Hyperparameters
from tests.backends.bedrock.helpers import NOVA, settings

ROOT = Path(__file__).resolve().parents[3]
ENTRIES = sorted(CATALOGUE.values(), key=lambda model: model.id)
FORMATS = {CONVERSATION, PROMPT_COMPLETION, "anthropic-messages"}
HYPERPARAMETERS = {field.alias or name for name, field in Hyperparameters.model_fields.items()}


def raw() -> dict[str, object]:
    data: dict[str, object] = json.loads(
        resources.files(catalogue_module.__package__).joinpath("catalogue.json").read_text()
    )
    return data


def test_the_catalogue_holds_the_models_the_issue_names() -> None:
    names = {model.name for model in ENTRIES}
    for wanted in ("Amazon Nova Micro", "Amazon Nova Lite", "Amazon Nova Pro", "Amazon Titan Text G1 - Express",
                   "Meta Llama 3.1 8B Instruct", "Meta Llama 3.2 3B Instruct", "Anthropic Claude 3 Haiku",
                   "Cohere Command"):  # fmt: skip
        assert wanted in names


@pytest.mark.parametrize("model", ENTRIES, ids=[model.id for model in ENTRIES])
def test_each_entry_is_well_formed(model: catalogue_module.ModelEntry) -> None:
    assert model.customizations and Customization.FINE_TUNING in model.customizations
    assert (Customization.DISTILLATION in model.customizations) == bool(model.teachers)
    assert model.format in FORMATS
    assert model.multi_turn == (model.format != PROMPT_COMPLETION)
    assert set(model.inference) <= {CUSTOM_MODEL_DEPLOYMENT, PROVISIONED_THROUGHPUT} and model.inference
    assert model.regions and all(re.fullmatch(r"[a-z]{2}-[a-z]+-[0-9]", region) for region in model.regions)
    assert model.sources and all(source.startswith("https://") for source in model.sources)
    for name, known in model.hyperparameters:
        assert name in HYPERPARAMETERS, f"{name}: the manifest cannot set it"
        assert known.kind in ("integer", "float") and known.minimum <= known.maximum
        assert known.default is None or known.holds(known.default), f"{name}: default outside its range"
    assert model.training_price is None or (model.training_price.estimate and model.training_price.usd > 0)
    assert model.min_examples >= 1 and (model.max_examples is None or model.max_examples >= model.min_examples)


def test_every_entry_cites_sources_and_names_what_it_inferred() -> None:
    data = raw()
    assert "infer" in str(data["about"]) and set(data["formats"]) == FORMATS | {INPUT_TEXT}  # type: ignore[arg-type]
    for model_id, value in data["models"].items():  # type: ignore[attr-defined]
        assert value["sources"], model_id
        assert isinstance(value["infer"], list), model_id


def test_amazon_nova_models_read_the_conversation_schema_and_serve_on_demand() -> None:
    nova = CATALOGUE[NOVA]
    assert (nova.format, nova.reserved_keywords, nova.default_epochs) == (CONVERSATION, True, 2)
    assert CUSTOM_MODEL_DEPLOYMENT in nova.inference
    assert [name for name, _ in nova.hyperparameters] == ["epochCount", "learningRate", "learningRateWarmupSteps"]


def test_each_customization_has_its_format() -> None:
    titan = CATALOGUE["amazon.titan-text-express-v1:0:8k"]
    assert titan.format_for(Customization.FINE_TUNING) == PROMPT_COMPLETION
    assert titan.format_for(Customization.CONTINUED_PRE_TRAINING) == INPUT_TEXT
    llama = CATALOGUE["meta.llama3-1-8b-instruct-v1:0:128k"]
    assert llama.format_for(Customization.DISTILLATION) == CONVERSATION
    assert not llama.multi_turn and CATALOGUE[NOVA].multi_turn
    assert llama.ranges_for(Customization.DISTILLATION) == {}


def test_ids_aliases_and_arns_name_one_entry() -> None:
    assert canonical_id("amazon.nova-micro-v1:0") == NOVA
    assert canonical_id(f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}") == NOVA
    assert canonical_id("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0") == NOVA
    assert canonical_id("vendor.unknown-v1:0") == "vendor.unknown-v1:0"
    assert entry("amazon.nova-micro-v1:0") is CATALOGUE[NOVA]
    assert entry("vendor.unknown-v1:0") is None
    aliases = [alias for model in ENTRIES for alias in model.aliases]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(CATALOGUE)


def test_a_teacher_is_named_by_id_arn_or_cross_region_profile() -> None:
    micro = CATALOGUE[NOVA]
    assert micro.teaches("amazon.nova-pro-v1:0")
    assert micro.teaches("us.amazon.nova-premier-v1:0")
    assert micro.teaches("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0")
    assert not micro.teaches("anthropic.claude-3-5-sonnet-20241022-v2:0")
    assert not micro.teaches("xx.amazon.nova-pro-v1:0")


def test_bedrock_base_models_adds_a_model_like_one_it_has_and_overrides_facts() -> None:
    block = settings(
        baseModels={
            "amazon.nova-9-micro-v1:0": {"like": "amazon.nova-micro-v1:0", "regions": ["us-west-2"]},
            "amazon.nova-micro-v1:0": {"customizations": ["fineTuning"], "teachers": []},
        }
    )
    models = catalogue(block.base_models)
    added = models["amazon.nova-9-micro-v1:0"]
    assert (added.format, added.hyperparameters, added.regions) == (
        CONVERSATION,
        CATALOGUE[NOVA].hyperparameters,
        ("us-west-2",),
    )
    assert (models[NOVA].customizations, models[NOVA].teachers) == ((Customization.FINE_TUNING,), ())
    assert entry("amazon.nova-9-micro-v1:0", block.base_models) == added
    assert entry("amazon.nova-9-micro-v1:0") is None
    assert CATALOGUE[NOVA].customizations != models[NOVA].customizations  # the shipped catalogue is left alone


def test_the_catalogue_ships_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert "catalogue.json" in pyproject["tool"]["setuptools"]["package-data"]["reconciler.backends.bedrock"]


def test_every_id_is_one_botocore_s_service_model_accepts() -> None:
    session = pytest.importorskip("botocore.session")
    model = session.get_session().get_service_model("bedrock")
    pattern = model.shape_for("BaseModelIdentifier").metadata["pattern"]
    teachers = {teacher for model_entry in ENTRIES for teacher in model_entry.teachers}
    for name in [*CATALOGUE, *teachers]:
        assert re.fullmatch(pattern, name), name
