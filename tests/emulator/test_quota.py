"""The submission quota (reconciler/emulator/quota.py): off by default; asked
for, at most N tuning-job submissions in any 60 s of the emulator's clock, per
project and location on Vertex AI (429 RESOURCE_EXHAUSTED) and per account and
region on Bedrock (429 ThrottlingException)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from reconciler.emulator.quota import SubmissionQuota
from tests.emulator.aws_helpers import aws_environment, client  # noqa: F401 (fixture)
from tests.emulator.bedrock_helpers import DATASET, job_args
from tests.emulator.vertex_helpers import PARENT, ManualClock, job_body, upload, vertex

pytest.importorskip("boto3")
from botocore.exceptions import ClientError


def _vertex_create(url: str, parent: str = PARENT) -> requests.Response:
    return vertex(url, "POST", f"{parent}/tuningJobs", job_body())


def _quota(url: str, **body: Any) -> requests.Response:
    return requests.post(f"{url}/_internal/quota", json=body, timeout=10)


def test_off_by_default(make_emulator: Any) -> None:
    emulator = make_emulator(seed=0)
    upload(emulator.url)
    for _ in range(10):
        assert _vertex_create(emulator.url).status_code == 200
    assert requests.get(f"{emulator.url}/_internal/quota", timeout=10).json() == {
        "tuning_submissions_per_minute": 0,
        "refused": 0,
    }


def test_vertex_answers_429_resource_exhausted_over_the_quota_per_project_and_location(make_emulator: Any) -> None:
    clock = ManualClock()
    emulator = make_emulator(seed=0, clock=clock, tuning_submissions_per_minute=2)
    upload(emulator.url)
    assert [_vertex_create(emulator.url).status_code for _ in range(2)] == [200, 200]
    refused = _vertex_create(emulator.url)
    assert refused.status_code == 429
    error = refused.json()["error"]
    # The google.rpc.Status envelope every Vertex error of the emulator answers in.
    assert set(error) == {"code", "message", "status", "details"}
    assert error["code"] == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith("Quota exceeded for quota metric")
    (info,) = error["details"]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" and info["reason"] == "RATE_LIMIT_EXCEEDED"
    assert info["metadata"]["quota_limit_value"] == "2"
    # Another project, another location: quotas of their own.
    assert _vertex_create(emulator.url, "v1/projects/other-project/locations/us-central1").status_code == 200
    assert _vertex_create(emulator.url, "v1/projects/my-project/locations/europe-west4").status_code == 200
    # A sliding minute of the emulator's clock: 59.9 s later still refused, 60 s later admitted.
    clock.advance(59.9)
    assert _vertex_create(emulator.url).status_code == 429
    clock.advance(0.1)
    assert _vertex_create(emulator.url).status_code == 200
    jobs = vertex(emulator.url, "GET", f"{PARENT}/tuningJobs").json()["tuningJobs"]
    assert len(jobs) == 3  # a refused create made nothing
    assert requests.get(f"{emulator.url}/_internal/quota", timeout=10).json()["refused"] == 2


def test_bedrock_answers_throttling_per_account_and_region(make_emulator: Any) -> None:
    clock = ManualClock()
    emulator = make_emulator(seed=0, clock=clock, s3_buckets=("data",), tuning_submissions_per_minute=1)
    client("s3", emulator.url).put_object(Bucket="data", Key="datasets/train.jsonl", Body=DATASET)
    bedrock = client("bedrock", emulator.url)
    bedrock.create_model_customization_job(**job_args("job-1", "model-1"))
    with pytest.raises(ClientError) as raised:
        bedrock.create_model_customization_job(**job_args("job-2", "model-2"))
    response = raised.value.response
    assert response["Error"]["Code"] == "ThrottlingException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"]["Message"] == "Too many requests, please wait before trying again."
    # Another region is another quota: whatever it answers, it is not throttled.
    with pytest.raises(ClientError) as elsewhere:
        client("bedrock", emulator.url, region="us-west-2").create_model_customization_job(
            **job_args("job-3", "model-3", baseModelIdentifier="no-such-model")
        )
    assert elsewhere.value.response["Error"]["Code"] != "ThrottlingException"
    clock.advance(60)
    bedrock.create_model_customization_job(**job_args("job-2", "model-2"))
    names = {j["jobName"] for j in bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]}
    assert names == {"job-1", "job-2"}


def test_the_control_endpoint_sets_checks_and_resets_it(make_emulator: Any) -> None:
    emulator: EmulatorServer = make_emulator(seed=0, tuning_submissions_per_minute=5)
    assert _quota(emulator.url, tuning_submissions_per_minute=1).json()["tuning_submissions_per_minute"] == 1
    upload(emulator.url)
    assert _vertex_create(emulator.url).status_code == 200
    assert _vertex_create(emulator.url).status_code == 429
    for bad in ({"tuning_submissions_per_minute": -1}, {"tuning_submissions_per_minute": 1.5}, {"other": 1}, [1]):
        response = requests.post(f"{emulator.url}/_internal/quota", json=bad, timeout=10)
        assert response.status_code == 400, bad
        assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert _quota(emulator.url, tuning_submissions_per_minute=0).status_code == 200
    assert _vertex_create(emulator.url).status_code == 200
    requests.post(f"{emulator.url}/_internal/reset", timeout=10).raise_for_status()
    assert requests.get(f"{emulator.url}/_internal/quota", timeout=10).json() == {
        "tuning_submissions_per_minute": 5,
        "refused": 0,
    }


def test_the_window_counts_only_what_it_admitted() -> None:
    quota = SubmissionQuota(2)
    assert quota.admit(("s",), 0.0) is None and quota.admit(("s",), 10.0) is None
    assert quota.admit(("s",), 20.0) == 40.0  # the one at 0 leaves the window at 60
    assert quota.admit(("s",), 60.0) is None  # refusals were not counted
    assert quota.admit(("s",), 65.0) == 5.0


def test_reconciler_emulator_takes_the_quota_as_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.cli import emulator_cmd
    from reconciler.cli.main import main

    chosen: list[Any] = []

    class Chosen(Exception):
        pass

    def server(options: Any) -> Any:
        chosen.append(options)
        raise Chosen

    monkeypatch.setattr(emulator_cmd, "_server", server)
    with pytest.raises(SystemExit):  # the server it would start, stopped at its options
        main(["emulator", "--state", ":memory:", "--tuning-quota", "60"])
    assert chosen[0].tuning_submissions_per_minute == 60
