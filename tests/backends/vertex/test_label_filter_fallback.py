"""Lists answered 400 INVALID_ARGUMENT for a `labels.` filter (the v1 reference
does not promise one on ListTuningJobs): the backend lists everything and
filters on the client, and says so once at debug level."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import requests

from reconciler.backends.vertex.client import VertexClient
from reconciler.client.errors import InvalidArgument
from tests.backends.vertex.helpers import (
    LOCATION,
    PROJECT,
    counts,
    jobs_of,
    listed,
    manifest,
    vertex_cli,
    vertex_faults,
    write_repo,
)

ALWAYS = 1_000_000


def test_apply_and_plan_work_when_every_label_filter_is_refused(tmp_path: Path, make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    vertex_faults(emulator, label_filter_refusals=ALWAYS)
    repo = write_repo(tmp_path, [manifest("numbers"), manifest("letters")])
    result = vertex_cli(repo, emulator, "apply", "--yes")
    assert result.code == 0, result.text
    assert len(jobs_of(emulator, "numbers")) == len(jobs_of(emulator, "letters")) == 1
    assert vertex_cli(repo, emulator, "plan", "--detailed-exitcode").code == 0
    (repo / "manifests" / "letters.yaml").unlink()
    assert vertex_cli(repo, emulator, "apply", "--yes").code == 0
    assert len(listed(emulator, "models")) == 1
    assert requests_left(emulator) < ALWAYS  # the refusals were met


def requests_left(emulator: Any) -> int:
    faults = requests.get(f"{emulator.url}/_internal/vertex/faults", timeout=10).json()
    return int(faults["label_filter_refusals"])


def test_the_fallback_filters_on_the_client_and_says_so_once(
    make_emulator: Any, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    client = VertexClient(emulator.url, emulator.url, PROJECT, LOCATION)
    vertex_faults(emulator, label_filter_refusals=ALWAYS)
    with caplog.at_level(logging.DEBUG, logger="reconciler.backends.vertex"):
        for _ in range(3):
            assert client.list_tuning_jobs("labels.managed-by=reconciler") == []
    said = [r for r in caplog.records if "refused the filter" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.DEBUG
    before = counts(emulator)
    assert sum(v for k, v in before.items() if "tuningJobs" in k) == 4  # refused once, then unfiltered
    client.close()


def test_a_refused_filter_that_is_not_only_labels_is_an_error(make_emulator: Any) -> None:
    emulator = make_emulator(seed=0, step_seconds=0)
    client = VertexClient(emulator.url, emulator.url, PROJECT, LOCATION)
    vertex_faults(emulator, label_filter_refusals=ALWAYS)
    with pytest.raises(InvalidArgument):
        client.list_tuning_jobs('labels.a=b AND display_name="x"')
    client.close()
