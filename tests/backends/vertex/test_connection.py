"""Where the Vertex backend connects and how: the host follows the location,
ADC with the cloud-platform scope and the quota project, or an emulator with
no credentials; and the canonical JSONL its datasets become."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from reconciler.backends.vertex import VertexBackend
from reconciler.backends.vertex.datasets import canonical_jsonl, example_line, object_name
from reconciler.backends.vertex.names import host_for
from reconciler.client.auth import Anonymous, GoogleCredentials
from reconciler.model.settings import parse_settings
from tests.backends.vertex.helpers import SETTINGS, manifest, write_manifest, write_repo
from tests.integration.helpers_apply import load_repo


@pytest.mark.parametrize(
    "location, host",
    [
        ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
        ("global", "https://aiplatform.googleapis.com"),
        ("us", "https://aiplatform.us.rep.googleapis.com"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com"),
    ],
)
def test_the_host_follows_the_location(location: str, host: str) -> None:
    assert host_for(location) == host


class FakeAdc:
    token, valid, quota_project_id = "secret-token", True, "adc-project"

    def refresh(self, request: object) -> None:
        raise AssertionError("never refreshed while valid")


def test_adc_with_the_cloud_platform_scope_and_the_quota_project() -> None:
    asked: list[Sequence[str]] = []

    def load_adc(scopes: Sequence[str]) -> tuple[Any, str | None]:
        asked.append(scopes)
        return FakeAdc(), "adc-project"

    settings = parse_settings({**SETTINGS, "quotaProject": "billing-project"})
    backend = VertexBackend.connect(settings, env={}, load_adc=load_adc)
    assert asked == [("https://www.googleapis.com/auth/cloud-platform",)]
    assert isinstance(backend.client.credentials, GoogleCredentials)
    assert backend.client.quota_project == "billing-project"
    assert backend.client.endpoint == "https://us-central1-aiplatform.googleapis.com"
    assert backend.client.storage_endpoint == "https://storage.googleapis.com"
    assert "secret-token" not in backend.describe_target()


def test_emulator_hosts_mean_no_credentials() -> None:
    settings = parse_settings(SETTINGS)
    env = {"AIPLATFORM_EMULATOR_HOST": "127.0.0.1:9", "STORAGE_EMULATOR_HOST": "http://127.0.0.1:10"}

    def no_adc(scopes: Sequence[str]) -> tuple[Any, str | None]:
        raise AssertionError("ADC must not be loaded for an emulator")

    backend = VertexBackend.connect(settings, env=env, load_adc=no_adc)
    assert isinstance(backend.client.credentials, Anonymous)
    assert backend.client.endpoint == "http://127.0.0.1:9"
    assert backend.client.storage_endpoint == "http://127.0.0.1:10"


def test_a_dataset_becomes_canonical_contents_jsonl(tmp_path: Path) -> None:
    repo = write_repo(tmp_path, [manifest("numbers")])
    first = canonical_jsonl(load_repo(repo).models[0])
    write_manifest(repo, manifest("numbers"), reverse=True)
    assert canonical_jsonl(load_repo(repo).models[0]) == first  # the order of the source does not count
    lines = first.decode("utf-8").splitlines()
    assert len(lines) == 20
    assert json.loads(lines[0])["contents"][0]["role"] == "user"
    assert (
        example_line("é", "ü")
        == ('{"contents":[{"role":"user","parts":[{"text":"é"}]},{"role":"model","parts":[{"text":"ü"}]}]}\n').encode()
    )
    assert object_name("p/", first).startswith("p/") and object_name("p/", first).endswith(".jsonl")
