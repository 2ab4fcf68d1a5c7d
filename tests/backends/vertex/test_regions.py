"""Only the regions where Vertex AI runs tuning jobs: refused in reconciler.yaml
with the list in the message, and by the emulator with the service's error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.backends.vertex.settings import TUNING_REGIONS
from reconciler.emulator.vertex.names import TUNING_REGIONS as EMULATED_REGIONS
from tests.backends.vertex.helpers import listed, manifest, vertex_cli, write_repo


def test_the_emulator_and_the_settings_know_the_same_regions() -> None:
    assert set(TUNING_REGIONS) == EMULATED_REGIONS


@pytest.mark.parametrize("location", ["antarctica-south1", "global", "us", "eu"])
def test_a_region_without_tuning_is_refused_with_the_list(tmp_path: Path, make_emulator: Any, location: str) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    settings = repo / "reconciler.yaml"
    settings.write_text(settings.read_text("utf-8").replace("us-central1", location), "utf-8")
    result = vertex_cli(repo, emulator, "plan")
    assert result.code == 1
    assert "reconciler.yaml" in result.text and "location" in result.text
    assert (
        "must be a region where Vertex AI runs tuning jobs, a location such as us-central1: asia-east1," in result.text
    )
    assert "us-central1" in result.text
    assert listed(emulator, "tuningJobs") == []


@pytest.mark.parametrize("project", ["My-Project", "proj", "1project", "my-project-", "a" * 31, "my_project"])
def test_a_project_id_that_breaks_googles_rules_is_refused_in_words(
    tmp_path: Path, make_emulator: Any, project: str
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    repo = write_repo(tmp_path, [manifest("numbers")])
    settings = repo / "reconciler.yaml"
    settings.write_text(settings.read_text("utf-8").replace("my-project", project), "utf-8")
    result = vertex_cli(repo, emulator, "plan")
    assert result.code == 1
    assert "must be a Google Cloud project id: 6 to 30 characters" in result.text
    assert "pattern" not in result.text


def test_the_emulator_answers_an_unknown_location_as_the_service(make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    answer = requests.get(f"{emulator.url}/v1/projects/my-project/locations/antarctica-south1/tuningJobs", timeout=10)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("List of found errors:\t1.Field: parent; Message: The provided location ID")
    assert error["details"][0]["fieldViolations"][0]["field"] == "parent"
    fine = requests.get(f"{emulator.url}/v1/projects/my-project/locations/europe-west4/tuningJobs", timeout=10)
    assert fine.status_code == 200
