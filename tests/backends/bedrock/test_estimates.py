"""A plan's estimate under Bedrock's rules takes the defaults of the manifest's
own base model (catalogue.json): Amazon Nova's 2 epochs and no batch size to
set, Cohere Command's 1 epoch of batches of 8; a model tuned from another
manifest's, those of the base model at the root of its chain. `validate`'s
summary and its footnote say the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.backends.bedrock.catalogue import CATALOGUE
from reconciler.backends.bedrock.rules import RULES, TUNING_DEFAULTS, tuning_defaults
from reconciler.cli.main import main
from reconciler.model.live import Observed
from reconciler.plan import Plan, PlanOptions, plan
from reconciler.render import render_json, render_text
from tests.backends.bedrock.helpers import BLOCK, NOVA, load_repo, manifest, pairs, write_repo

COHERE = "cohere.command-text-v14:7:4k"
EXAMPLES = 20


def planned(tmp_path: Path, *manifests: dict[str, Any]) -> Plan:
    data = {document["metadata"]["name"]: pairs(EXAMPLES) for document in manifests}
    result = load_repo(write_repo(tmp_path, manifests, data))
    assert result.desired is not None, [str(p) for p in result.errors]
    return plan(result.desired, Observed(models=()), RULES, PlanOptions())


def estimates(result: Plan) -> dict[str, dict[str, Any]]:
    return {change["model_id"]: change["estimate"] for change in json.loads(render_json(result))["changes"]}


@pytest.mark.parametrize(
    ("base_model", "epochs", "batch_size", "batch_size_is_setting"),
    [
        (NOVA, 2, 1, False),  # no batch size to set: counted as batches of one
        ("amazon.titan-text-express-v1:0:8k", 5, 1, True),
        ("anthropic.claude-3-haiku-20240307-v1:0:200k", 2, 32, True),
        (COHERE, 1, 8, True),
    ],
)
def test_each_catalogue_model_has_its_documented_defaults(
    base_model: str, epochs: int, batch_size: int, batch_size_is_setting: bool
) -> None:
    defaults = tuning_defaults(CATALOGUE[base_model])
    assert (defaults.epoch_count, defaults.batch_size, defaults.batch_size_is_setting) == (
        epochs,
        batch_size,
        batch_size_is_setting,
    )
    assert RULES.tuning_for(base_model) == defaults
    assert RULES.tuning_for(f"arn:aws:bedrock:us-east-1::foundation-model/{base_model}") == defaults


def test_a_nova_run_without_epoch_count_is_estimated_with_novas_two_epochs_and_no_batch_size(tmp_path: Path) -> None:
    result = planned(tmp_path, manifest("numbers"))
    estimate = estimates(result)["numbers"]
    assert (estimate["epochs"], estimate["batch_size"], estimate["total_steps"]) == (2, None, EXAMPLES * 2)
    assert estimate["tokens"] == estimate["tokens_per_pass"] * 2
    text = render_text(result)
    assert f"{EXAMPLES * 2} steps (2 epochs)" in text, text
    assert "batch size" not in text


def test_a_model_with_a_batch_size_default_shows_it(tmp_path: Path) -> None:
    result = planned(tmp_path, manifest("numbers", baseModel=COHERE))
    estimate = estimates(result)["numbers"]
    # Cohere Command: 1 epoch of batches of 8.
    assert (estimate["epochs"], estimate["batch_size"], estimate["total_steps"]) == (1, 8, -(-EXAMPLES // 8))
    assert "3 steps (1 epoch, batch size 8)" in render_text(result)


def test_a_model_tuned_from_another_takes_the_defaults_of_the_base_model_at_the_root_of_its_chain(
    tmp_path: Path,
) -> None:
    dependent = manifest("roman", sourceModel="numbers")
    del dependent["spec"]["baseModel"]
    result = planned(tmp_path, manifest("numbers"), dependent)
    estimate = estimates(result)["roman"]
    assert (estimate["epochs"], estimate["batch_size"]) == (2, None)


def test_a_base_model_not_in_the_shipped_catalogue_takes_the_larger_step_count() -> None:
    assert RULES.tuning_for("amazon.nova-9-pro-v1:0") == TUNING_DEFAULTS
    assert RULES.tuning_for(None) == TUNING_DEFAULTS


def run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Nova and Cohere Command, neither with hyperparameters, under `backend: bedrock`."""
    root = write_repo(
        tmp_path,
        [manifest("numbers"), manifest("words", baseModel=COHERE)],
        {"numbers": pairs(EXAMPLES), "words": pairs(EXAMPLES)},
    )
    settings = {"backend": "bedrock", "bedrock": BLOCK, "manifests": "manifests"}
    (root / "reconciler.yaml").write_text(yaml.safe_dump(settings), "utf-8")
    return root


def test_validate_counts_each_models_steps_with_its_own_defaults(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("-C", str(repo), "validate", "--output", "json") == 0
    models = {m["model_id"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert models["numbers"]["total_steps"] == EXAMPLES * 2
    assert models["numbers"]["training_tokens"] == 2 * models["words"]["training_tokens"]  # the same data
    assert models["words"]["total_steps"] == -(-EXAMPLES // 8)


def test_validates_footnote_says_what_each_model_assumes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-C", str(repo), "validate") == 0
    out = capsys.readouterr().out
    assert "* numbers: epochCount not set: 2 epochs assumed (the service chooses)" in out, out
    assert "* words: epochCount or batchSize not set: the API's defaults (1 and 8) assumed" in out, out
