"""Bedrock model customization through unmodified boto3 (endpoint_url and the
AWS_ENDPOINT_URL_* variables), over the emulator's clock (never a real
sleep); the calls moto also covers run against moto too, and where it differs
from the service model the difference is asserted (docs/emulator.md, "moto")."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from reconciler.emulator import EmulatorServer
from tests.emulator.aws_helpers import (  # noqa: F401 (fixtures)
    ACCOUNT,
    aws_environment,
    client,
    moto_server,
    moto_url,
    signed,
)
from tests.emulator.bedrock_helpers import DATASET, NOVA, ROLE, STEP, job_args
from tests.emulator.vertex_helpers import ManualClock

pytest.importorskip("boto3")
from botocore.exceptions import ClientError


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _status(error: pytest.ExceptionInfo[ClientError]) -> int:
    return int(error.value.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(make_emulator: Any, clock: ManualClock) -> EmulatorServer:
    """Jobs take a step of 10 s per stage and epoch; the dataset is in S3."""
    server: EmulatorServer = make_emulator(seed=0, clock=clock, step_seconds=STEP, s3_buckets=("data",))
    client("s3", server.url).put_object(Bucket="data", Key="datasets/train.jsonl", Body=DATASET)
    return server


@pytest.fixture
def bedrock(server: EmulatorServer) -> Any:
    return client("bedrock", server.url)


def _completed_model(bedrock: Any, clock: ManualClock, **more: Any) -> dict[str, Any]:
    arn = bedrock.create_model_customization_job(**job_args(**more))["jobArn"]
    clock.advance(5 * STEP)  # validation, processing, two epochs
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Completed"
    return dict(bedrock.get_custom_model(modelIdentifier=job["outputModelArn"]))


# --- the flow -----------------------------------------------------------------------------


def test_a_job_through_the_endpoint_variables_to_a_deployment_and_back(
    server: EmulatorServer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for service in ("S3", "BEDROCK", "BEDROCK_RUNTIME"):
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", server.url)
    # No endpoint_url from here on: botocore reads the variables.
    client("s3").put_object(Bucket="data", Key="datasets/adder.jsonl", Body=DATASET, IfNoneMatch="*")
    bedrock, runtime = client("bedrock"), client("bedrock-runtime")
    tags = [{"key": "managed-by", "value": "reconciler"}, {"key": "reconciler-id", "value": "adder"}]
    training = {"s3Uri": "s3://data/datasets/adder.jsonl"}
    arn = bedrock.create_model_customization_job(
        **job_args(customModelTags=tags, jobTags=tags[:1], trainingDataConfig=training)
    )["jobArn"]
    assert arn.startswith(f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-customization-job/{NOVA}/")
    seen = []
    while (job := bedrock.get_model_customization_job(jobIdentifier=arn))["status"] == "InProgress":
        seen.append(job.get("trainingMetrics", {}).get("trainingLoss"))
        clock.advance(STEP)
    assert job["status"] == "Completed" and seen == [None, None, None, 1.1]  # the loss once an epoch is done
    assert job["trainingMetrics"]["trainingLoss"] < seen[-1]
    model = bedrock.get_custom_model(modelIdentifier=job["outputModelArn"])
    assert (model["modelName"], model["modelStatus"], model["jobArn"]) == ("model-1", "Active", arn)
    assert bedrock.list_tags_for_resource(resourceARN=model["modelArn"])["tags"] == tags
    assert bedrock.list_tags_for_resource(resourceARN=arn)["tags"] == tags[:1]
    deployment = bedrock.create_custom_model_deployment(modelDeploymentName="adder", modelArn=model["modelArn"])
    name = deployment["customModelDeploymentArn"]
    assert bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=name)["status"] == "Creating"
    clock.advance(STEP)
    assert bedrock.get_custom_model_deployment(customModelDeploymentIdentifier="adder")["status"] == "Active"
    answer = runtime.converse(modelId=name, messages=[{"role": "user", "content": [{"text": "7 plus 7?"}]}])
    assert answer["output"]["message"]["content"] == [{"text": "14"}] and answer["stopReason"] == "end_turn"
    bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=name)
    with pytest.raises(ClientError) as undeployed:
        runtime.converse(modelId=name, messages=[{"role": "user", "content": [{"text": "7 plus 7?"}]}])
    assert _code(undeployed) == "ResourceNotFoundException"
    bedrock.delete_custom_model(modelIdentifier=model["modelArn"])
    with pytest.raises(ClientError) as gone:
        bedrock.get_custom_model(modelIdentifier="model-1")
    assert (_status(gone), _code(gone)) == (404, "ResourceNotFoundException")
    # Jobs cannot be deleted: the job stays, a tombstone.
    summaries = bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]
    assert [(s["jobName"], s["status"]) for s in summaries] == [("job-1", "Completed")]


def test_the_custom_model_exists_only_once_the_job_has_completed(bedrock: Any, clock: ManualClock) -> None:
    arn = bedrock.create_model_customization_job(**job_args())["jobArn"]
    clock.advance(4 * STEP - 1)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "InProgress" and "outputModelArn" not in job
    assert job["statusDetails"]["trainingDetails"]["status"] == "InProgress"
    assert bedrock.list_custom_models()["modelSummaries"] == []
    with pytest.raises(ClientError) as missing:
        bedrock.get_custom_model(modelIdentifier="model-1")
    assert _code(missing) == "ResourceNotFoundException"
    clock.advance(1)
    assert [m["modelName"] for m in bedrock.list_custom_models()["modelSummaries"]] == ["model-1"]


def test_stage_by_stage_status_details(bedrock: Any, clock: ManualClock) -> None:
    arn = bedrock.create_model_customization_job(**job_args())["jobArn"]
    stages = []
    for _ in range(5):
        details = bedrock.get_model_customization_job(jobIdentifier=arn)["statusDetails"]
        stages.append(
            tuple(details[name]["status"] for name in ("validationDetails", "dataProcessingDetails", "trainingDetails"))
        )
        clock.advance(STEP)
    assert stages == [
        ("InProgress", "NotStarted", "NotStarted"),
        ("Completed", "InProgress", "NotStarted"),
        ("Completed", "Completed", "InProgress"),
        ("Completed", "Completed", "InProgress"),
        ("Completed", "Completed", "Completed"),
    ]


# --- idempotency and names ---------------------------------------------------------------


def test_the_same_token_answers_the_same_job_whatever_else_it_says(bedrock: Any) -> None:
    first = bedrock.create_model_customization_job(**job_args(clientRequestToken="attempt-1"))["jobArn"]
    again = bedrock.create_model_customization_job(**job_args("job-2", "model-2", clientRequestToken="attempt-1"))
    assert again["jobArn"] == first
    assert [s["jobName"] for s in bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]] == [
        "job-1"
    ]


def test_another_token_with_a_taken_name_is_a_conflict(bedrock: Any) -> None:
    bedrock.create_model_customization_job(**job_args(clientRequestToken="attempt-1"))
    with pytest.raises(ClientError) as taken:
        bedrock.create_model_customization_job(**job_args(clientRequestToken="attempt-2"))
    assert (_status(taken), _code(taken)) == (400, "ConflictException")  # 400: the service model's code
    with pytest.raises(ClientError) as model_taken:  # a running job will make a model of that name
        bedrock.create_model_customization_job(**job_args("job-2", clientRequestToken="attempt-3"))
    assert _code(model_taken) == "ConflictException"


def test_botocores_retry_of_an_ambiguous_create_finds_the_same_job(server: EmulatorServer, bedrock: Any) -> None:
    requests.post(f"{server.url}/_internal/bedrock/faults", json={"create_errors_after_commit": 1}, timeout=5)
    retrying = client("bedrock", server.url, retries={"total_max_attempts": 3, "mode": "standard"})
    # botocore fills in clientRequestToken (idempotencyToken in the model) once, and retries the 500 with it.
    arn = retrying.create_model_customization_job(**job_args())["jobArn"]
    jobs = bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]
    assert [job["jobArn"] for job in jobs] == [arn]
    counts = requests.get(f"{server.url}/_internal/requests", timeout=5).json()["counts"]
    assert counts["POST /model-customization-jobs"] == 2


def test_a_create_whose_answer_is_lost_is_found_by_its_token(server: EmulatorServer, bedrock: Any) -> None:
    requests.post(f"{server.url}/_internal/bedrock/faults", json={"create_answers_lost": 1}, timeout=5)
    with pytest.raises(Exception, match="Connection"):
        bedrock.create_model_customization_job(**job_args(clientRequestToken="attempt-7"))
    arn = bedrock.create_model_customization_job(**job_args(clientRequestToken="attempt-7"))["jobArn"]
    assert [j["jobArn"] for j in bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]] == [arn]


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("create_throttles", 429, "ThrottlingException"),
        ("create_quota_refusals", 400, "ServiceQuotaExceededException"),
        ("create_errors", 500, "InternalServerException"),
    ],
)
def test_a_refused_create_creates_nothing(
    server: EmulatorServer, bedrock: Any, fault: str, status: int, code: str
) -> None:
    requests.post(f"{server.url}/_internal/bedrock/faults", json={fault: 1}, timeout=5)
    with pytest.raises(ClientError) as refused:
        bedrock.create_model_customization_job(**job_args(clientRequestToken="attempt-1"))
    assert (_status(refused), _code(refused)) == (status, code)
    assert bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []
    # Retried with the same token, it is a first create.
    assert bedrock.create_model_customization_job(**job_args(clientRequestToken="attempt-1"))["jobArn"]


# --- failures and stops ------------------------------------------------------------------


def test_a_job_chosen_to_fail_fails_in_training_and_makes_no_model(
    server: EmulatorServer, bedrock: Any, clock: ManualClock
) -> None:
    requests.post(f"{server.url}/_internal/tuning", json={"fail_ids": ["adder"]}, timeout=5)
    tags = [{"key": "reconciler-id", "value": "adder"}]
    arn = bedrock.create_model_customization_job(**job_args(customModelTags=tags))["jobArn"]
    clock.advance(10 * STEP)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and "Training failed" in job["failureMessage"]
    assert job["statusDetails"]["trainingDetails"]["status"] == "Failed" and "outputModelArn" not in job
    assert bedrock.list_custom_models()["modelSummaries"] == []
    statuses = bedrock.list_model_customization_jobs(statusEquals="Failed")["modelCustomizationJobSummaries"]
    assert [s["jobName"] for s in statuses] == ["job-1"]


def test_the_job_failures_fault(server: EmulatorServer, bedrock: Any, clock: ManualClock) -> None:
    requests.post(f"{server.url}/_internal/bedrock/faults", json={"job_failures": 1}, timeout=5)
    failing = bedrock.create_model_customization_job(**job_args())["jobArn"]
    passing = bedrock.create_model_customization_job(**job_args("job-2", "model-2"))["jobArn"]
    clock.advance(10 * STEP)
    assert bedrock.get_model_customization_job(jobIdentifier=failing)["status"] == "Failed"
    assert bedrock.get_model_customization_job(jobIdentifier=passing)["status"] == "Completed"


@pytest.mark.parametrize(
    ("key", "body", "message"),
    [
        ("datasets/none.jsonl", None, "was not found"),
        ("datasets/bad.jsonl", b'{"prompt": "no conversation here"}\n', "Line 1: schemaVersion"),
        ("datasets/bad.jsonl", b"not json\n", "Line 1 of the training data is not valid JSON"),
    ],
)
def test_data_that_does_not_validate_fails_the_job_at_validation(
    server: EmulatorServer, bedrock: Any, clock: ManualClock, key: str, body: bytes | None, message: str
) -> None:
    if body is not None:
        client("s3", server.url).put_object(Bucket="data", Key=key, Body=body)
    arn = bedrock.create_model_customization_job(**job_args(trainingDataConfig={"s3Uri": f"s3://data/{key}"}))["jobArn"]
    clock.advance(STEP)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Failed" and message in job["failureMessage"]
    assert job["statusDetails"]["validationDetails"]["status"] == "Failed"
    assert job["statusDetails"]["trainingDetails"]["status"] == "NotStarted"


def test_a_stopped_job_stops_after_a_step_and_makes_no_model(bedrock: Any, clock: ManualClock) -> None:
    arn = bedrock.create_model_customization_job(**job_args())["jobArn"]
    clock.advance(2 * STEP)
    bedrock.stop_model_customization_job(jobIdentifier=arn)
    assert bedrock.get_model_customization_job(jobIdentifier=arn)["status"] == "Stopping"
    bedrock.stop_model_customization_job(jobIdentifier=arn)  # again: nothing changes
    clock.advance(10 * STEP)
    job = bedrock.get_model_customization_job(jobIdentifier=arn)
    assert job["status"] == "Stopped" and job["statusDetails"]["trainingDetails"]["status"] == "Stopped"
    assert bedrock.list_custom_models()["modelSummaries"] == []


def test_an_ended_job_cannot_be_stopped(bedrock: Any, clock: ManualClock) -> None:
    _completed_model(bedrock, clock)
    with pytest.raises(ClientError) as ended:
        bedrock.stop_model_customization_job(jobIdentifier="job-1")
    assert _code(ended) == "ConflictException"


# --- what a create is checked against -----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"jobName": "-starts-with-a-dash"}, "at 'jobName' failed to satisfy constraint"),
        ({"roleArn": "not-a-role"}, "at 'roleArn' failed to satisfy constraint"),
        ({"trainingDataConfig": {"s3Uri": "gs://wrong/place"}}, "at 'trainingDataConfig.s3Uri'"),
        ({"baseModelIdentifier": "amazon.nova-micro-v1:0"}, "can't be customized"),
        ({"customizationType": "CONTINUED_PRE_TRAINING"}, "doesn't support customization type"),
        ({"hyperParameters": {"epochCount": "9"}}, "epochCount must be an integer from 1 to 5"),
        ({"hyperParameters": {"batchSize": "8"}}, "batchSize isn't supported"),
        ({"customizationType": "DISTILLATION"}, "needs customizationConfig.distillationConfig"),
    ],
)
def test_a_create_that_breaks_a_rule_is_a_validation_error_and_creates_nothing(
    bedrock: Any, change: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ClientError) as refused:
        bedrock.create_model_customization_job(**job_args(**change))
    assert (_status(refused), _code(refused)) == (400, "ValidationException")
    assert fragment in refused.value.response["Error"]["Message"]
    assert bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []


def test_more_than_50_tags_are_refused(bedrock: Any) -> None:
    tags = [{"key": f"k{n}", "value": "v"} for n in range(51)]
    with pytest.raises(ClientError) as many:
        bedrock.create_model_customization_job(**job_args(jobTags=tags))
    assert _code(many) == "TooManyTagsException"


# --- lists --------------------------------------------------------------------------------


def test_lists_page_with_next_token_newest_first_and_filter(bedrock: Any, clock: ManualClock) -> None:
    for n in range(5):
        bedrock.create_model_customization_job(**job_args(f"job-{n}", f"model-{n}"))
        clock.advance(1)
    pages = bedrock.get_paginator("list_model_customization_jobs").paginate(PaginationConfig={"PageSize": 2})
    listed = [[s["jobName"] for s in page["modelCustomizationJobSummaries"]] for page in pages]
    assert listed == [["job-4", "job-3"], ["job-2", "job-1"], ["job-0"]]
    oldest = bedrock.list_model_customization_jobs(sortOrder="Ascending", maxResults=1)
    assert oldest["modelCustomizationJobSummaries"][0]["jobName"] == "job-0"
    with pytest.raises(ClientError) as other_query:
        bedrock.list_model_customization_jobs(nextToken=oldest["nextToken"])  # issued for another order
    assert _code(other_query) == "ValidationException"
    named = bedrock.list_model_customization_jobs(nameContains="job-3")["modelCustomizationJobSummaries"]
    assert [s["jobName"] for s in named] == ["job-3"]
    clock.advance(5 * STEP)
    completed = bedrock.list_model_customization_jobs(statusEquals="Completed")["modelCustomizationJobSummaries"]
    assert len(completed) == 5 and all(s["customModelArn"] for s in completed)
    models = bedrock.get_paginator("list_custom_models").paginate(PaginationConfig={"PageSize": 3})
    assert sum(len(page["modelSummaries"]) for page in models) == 5
    assert bedrock.list_custom_models(nameContains="model-2")["modelSummaries"][0]["baseModelName"] == "Nova Micro"


# --- deployments --------------------------------------------------------------------------


def test_deployments_are_idempotent_by_token_and_keep_their_model(bedrock: Any, clock: ManualClock) -> None:
    model = _completed_model(bedrock, clock)
    first = bedrock.create_custom_model_deployment(
        modelDeploymentName="d1", modelArn=model["modelArn"], clientRequestToken="t1"
    )
    again = bedrock.create_custom_model_deployment(
        modelDeploymentName="d1", modelArn=model["modelArn"], clientRequestToken="t1"
    )
    assert first["customModelDeploymentArn"] == again["customModelDeploymentArn"]
    with pytest.raises(ClientError) as taken:
        bedrock.create_custom_model_deployment(modelDeploymentName="d1", modelArn=model["modelArn"])
    assert _code(taken) == "ValidationException"
    with pytest.raises(ClientError) as in_use:
        bedrock.delete_custom_model(modelIdentifier="model-1")
    assert _code(in_use) == "ConflictException"
    listed = bedrock.list_custom_model_deployments(modelArnEquals=model["modelArn"])["modelDeploymentSummaries"]
    assert [d["customModelDeploymentName"] for d in listed] == ["d1"]
    bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier="d1")
    with pytest.raises(ClientError) as gone:
        bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=first["customModelDeploymentArn"])
    assert (_status(gone), _code(gone)) == (404, "ResourceNotFoundException")


def test_only_models_that_allow_it_are_deployed_on_demand(
    server: EmulatorServer, bedrock: Any, clock: ManualClock
) -> None:
    rows = b'{"prompt": "2+2", "completion": "4"}\n'
    client("s3", server.url).put_object(Bucket="data", Key="datasets/titan.jsonl", Body=rows)
    titan = job_args(
        baseModelIdentifier="amazon.titan-text-express-v1:0:8k",
        trainingDataConfig={"s3Uri": "s3://data/datasets/titan.jsonl"},
    )
    titan["hyperParameters"] = {"epochCount": "1"}
    arn = bedrock.create_model_customization_job(**titan)["jobArn"]
    clock.advance(3 * STEP)
    model = bedrock.get_model_customization_job(jobIdentifier=arn)["outputModelArn"]
    with pytest.raises(ClientError) as refused:
        bedrock.create_custom_model_deployment(modelDeploymentName="titan", modelArn=model)
    assert (
        _code(refused) == "ValidationException"
        and "Provisioned Throughput" in refused.value.response["Error"]["Message"]
    )


def test_a_deployment_can_be_made_to_fail(server: EmulatorServer, bedrock: Any, clock: ManualClock) -> None:
    model = _completed_model(bedrock, clock)
    requests.post(f"{server.url}/_internal/bedrock/faults", json={"deployment_failures": 1}, timeout=5)
    arn = bedrock.create_custom_model_deployment(modelDeploymentName="d1", modelArn=model["modelArn"])[
        "customModelDeploymentArn"
    ]
    clock.advance(STEP)
    found = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
    assert found["status"] == "Failed" and found["failureMessage"]
    assert [
        d["status"] for d in bedrock.list_custom_model_deployments(statusEquals="Failed")["modelDeploymentSummaries"]
    ] == ["Failed"]


# --- tags ---------------------------------------------------------------------------------


def test_tag_untag_and_list_on_every_kind(bedrock: Any, clock: ManualClock) -> None:
    model = _completed_model(bedrock, clock, customModelTags=[{"key": "managed-by", "value": "reconciler"}])
    job = model["jobArn"]
    deployment = bedrock.create_custom_model_deployment(modelDeploymentName="d1", modelArn=model["modelArn"])
    for arn in (job, model["modelArn"], deployment["customModelDeploymentArn"]):
        bedrock.tag_resource(
            resourceARN=arn, tags=[{"key": "reconciler-id", "value": "adder"}, {"key": "x", "value": "1"}]
        )
        bedrock.tag_resource(resourceARN=arn, tags=[{"key": "x", "value": "2"}])
        bedrock.untag_resource(resourceARN=arn, tagKeys=["reconciler-id"])
        assert {"key": "x", "value": "2"} in bedrock.list_tags_for_resource(resourceARN=arn)["tags"]
    assert bedrock.list_tags_for_resource(resourceARN=model["modelArn"])["tags"] == [
        {"key": "managed-by", "value": "reconciler"},
        {"key": "x", "value": "2"},
    ]
    with pytest.raises(ClientError) as many:
        bedrock.tag_resource(resourceARN=job, tags=[{"key": f"k{n}", "value": "v"} for n in range(50)])
    assert _code(many) == "TooManyTagsException"
    unknown = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model-deployment/abcdefghijkl"
    with pytest.raises(ClientError) as missing:
        bedrock.list_tags_for_resource(resourceARN=unknown)
    assert _code(missing) == "ResourceNotFoundException"


def test_resources_belong_to_the_region_the_request_is_signed_for(server: EmulatorServer, bedrock: Any) -> None:
    arn = bedrock.create_model_customization_job(**job_args())["jobArn"]
    west = client("bedrock", server.url, region="us-west-2")
    with pytest.raises(ClientError) as elsewhere:
        west.get_model_customization_job(jobIdentifier=arn)
    assert _code(elsewhere) == "ResourceNotFoundException"
    assert west.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []


# --- the wire: errors, signatures, faults -------------------------------------------------


def test_errors_are_awss_json_with_the_type_in_header_and_body(server: EmulatorServer) -> None:
    response = signed("GET", f"{server.url}/custom-models/nothing-here", "bedrock")
    assert response.status_code == 404
    assert response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert response.json()["__type"] == "ResourceNotFoundException" and response.json()["message"]
    assert response.headers["x-amzn-RequestId"]
    bad_json = signed("POST", f"{server.url}/model-customization-jobs", "bedrock", b"{not json")
    assert (bad_json.status_code, bad_json.headers["x-amzn-ErrorType"]) == (400, "SerializationException")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda h: h.pop("Authorization"), "MissingAuthenticationTokenException"),
        (lambda h: h.update(Authorization="AWS4-HMAC-SHA256 Credential=only"), "IncompleteSignatureException"),
        (lambda h: h.pop("X-Amz-Date"), "IncompleteSignatureException"),
        (lambda h: h.update(Authorization=h["Authorization"][:-2]), "InvalidSignatureException"),
        (
            lambda h: h.update(Authorization=h["Authorization"].replace("/bedrock/", "/sqs/")),
            "InvalidSignatureException",
        ),
    ],
    ids=["unsigned", "incomplete", "no-date", "short-signature", "other-service"],
)
def test_a_badly_signed_request_is_refused_403_and_creates_nothing(
    server: EmulatorServer, bedrock: Any, change: Any, code: str
) -> None:
    body = json.dumps(job_args()).encode()
    response = signed("POST", f"{server.url}/model-customization-jobs", "bedrock", body, change=change)
    assert (response.status_code, response.headers["x-amzn-ErrorType"]) == (403, code)
    assert bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []


def test_shared_faults_answer_as_bedrock_does(server: EmulatorServer, bedrock: Any) -> None:
    requests.post(f"{server.url}/_internal/faults", json={"rate_429": 1.0}, timeout=5)
    with pytest.raises(ClientError) as throttled:
        bedrock.list_custom_models()
    assert (_status(throttled), _code(throttled)) == (429, "ThrottlingException")
    requests.post(f"{server.url}/_internal/faults", json={"rate_503": 1.0}, timeout=5)
    with pytest.raises(ClientError) as unavailable:
        bedrock.list_custom_models()
    assert (_status(unavailable), _code(unavailable)) == (503, "ServiceUnavailableException")


def test_reset_forgets_jobs_and_disarms_bedrock_faults(server: EmulatorServer, bedrock: Any) -> None:
    requests.post(f"{server.url}/_internal/bedrock/faults", json={"job_failures": 3}, timeout=5)
    bedrock.create_model_customization_job(**job_args())
    requests.post(f"{server.url}/_internal/reset", timeout=5)
    assert requests.get(f"{server.url}/_internal/bedrock/faults", timeout=5).json()["job_failures"] == 0
    assert bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []


# --- moto, for the calls it covers --------------------------------------------------------


@pytest.fixture
def moto_bedrock(request: pytest.FixtureRequest) -> Any:
    return client("bedrock", request.getfixturevalue("moto_url"))


def test_moto_covers_the_job_calls_but_answers_otherwise(moto_bedrock: Any) -> None:
    """The same calls as above, against moto 5.x: the shapes it answers agree, and
    where it departs from the service model the departure is pinned here (and
    listed in docs/emulator.md), so that a moto that changes says so."""
    tags = [{"key": "reconciler-id", "value": "adder"}]
    arn = moto_bedrock.create_model_customization_job(**job_args(customModelTags=tags, clientRequestToken="t1"))[
        "jobArn"
    ]
    job = moto_bedrock.get_model_customization_job(jobIdentifier="job-1")
    assert (job["jobName"], job["roleArn"], job["hyperParameters"]) == ("job-1", ROLE, {"epochCount": "2"})
    assert [
        s["jobName"]
        for s in moto_bedrock.list_model_customization_jobs(nameContains="job")["modelCustomizationJobSummaries"]
    ] == ["job-1"]
    # Departures from the service model:
    assert arn.endswith(":model-customization-job/job-1")  # no base model, no 12-character id
    with pytest.raises(ClientError) as retried:  # the same token does not answer the same job
        moto_bedrock.create_model_customization_job(**job_args(customModelTags=tags, clientRequestToken="t1"))
    assert _code(retried) == "ResourceInUseException"
    model = moto_bedrock.get_custom_model(modelIdentifier="model-1")  # exists while the job is InProgress
    assert job["status"] == "InProgress" and "modelStatus" not in model
    assert job["trainingMetrics"] == {"trainingLoss": 0.0}  # hard-coded
    with pytest.raises(ClientError) as by_arn:
        moto_bedrock.get_model_customization_job(jobIdentifier=arn)
    assert (_status(by_arn), _code(by_arn)) == (400, "ResourceNotFoundException")  # 404 in the service model


def test_two_creates_at_once_with_one_token_make_one_job(server: EmulatorServer, bedrock: Any) -> None:
    import threading

    hold = server.hold("POST", r"^/model-customization-jobs$", times=2)
    answers: list[str] = []

    def create() -> None:
        answers.append(bedrock.create_model_customization_job(**job_args(clientRequestToken="once"))["jobArn"])

    threads = [threading.Thread(target=create) for _ in range(2)]
    for thread in threads:
        thread.start()
    hold.wait_arrived(2, timeout=5)  # both are in, neither has run: now let them race
    hold.release()
    for thread in threads:
        thread.join(timeout=10)
    assert len(answers) == 2 and answers[0] == answers[1]
    assert len(bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]) == 1
