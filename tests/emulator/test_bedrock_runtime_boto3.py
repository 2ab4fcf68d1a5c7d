"""bedrock-runtime's Converse and InvokeModel through unmodified boto3, on a
custom model deployment made through the control plane, and on base models;
moto's runtime, for the two calls it has a route for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.emulator import EmulatorServer
from tests.emulator.aws_helpers import (  # noqa: F401 (fixtures)
    aws_environment,
    client,
    moto_server,
    moto_url,
)
from tests.emulator.bedrock_helpers import DATASET, STEP, job_args
from tests.emulator.vertex_helpers import ManualClock

pytest.importorskip("boto3")
from botocore.exceptions import ClientError


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": text}]}]


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(make_emulator: Any, clock: ManualClock) -> EmulatorServer:
    server: EmulatorServer = make_emulator(seed=0, clock=clock, s3_buckets=("data",))  # runs end at once
    client("s3", server.url).put_object(Bucket="data", Key="datasets/train.jsonl", Body=DATASET)
    return server


@pytest.fixture
def bedrock(server: EmulatorServer) -> Any:
    return client("bedrock", server.url)


@pytest.fixture
def runtime(server: EmulatorServer) -> Any:
    return client("bedrock-runtime", server.url)


@pytest.fixture
def deployment(bedrock: Any) -> str:
    job = bedrock.create_model_customization_job(**job_args())["jobArn"]
    model = bedrock.get_model_customization_job(jobIdentifier=job)["outputModelArn"]
    arn: str = bedrock.create_custom_model_deployment(modelDeploymentName="adder", modelArn=model)[
        "customModelDeploymentArn"
    ]
    return arn


def test_a_deployment_answers_what_its_model_was_trained_on(runtime: Any, deployment: str) -> None:
    exact = runtime.converse(modelId=deployment, messages=ask("5 plus 5?"), system=[{"text": "Answer briefly."}])
    assert exact["output"]["message"] == {"role": "assistant", "content": [{"text": "10"}]}
    assert exact["stopReason"] == "end_turn"
    usage = exact["usage"]
    assert usage["outputTokens"] == 1 and usage["totalTokens"] == usage["inputTokens"] + 1
    assert exact["metrics"]["latencyMs"] > 0
    near = runtime.converse(modelId=deployment, messages=ask("what is 11 plus 11"))  # the closest example
    assert near["output"]["message"]["content"][0]["text"] == "22"
    again = runtime.converse(modelId=deployment, messages=ask("what is 11 plus 11"))
    assert again["output"] == near["output"] and again["usage"] == near["usage"]  # deterministic


def test_max_tokens_and_stop_sequences_end_the_answer(server: EmulatorServer, bedrock: Any, runtime: Any) -> None:
    story = "one two three. four five six seven eight"
    turns = [
        {"role": "user", "content": [{"text": "tell"}]},
        {"role": "assistant", "content": [{"text": story}]},
    ]
    rows = json.dumps({"schemaVersion": "bedrock-conversation-2024", "messages": turns}).encode()
    client("s3", server.url).put_object(Bucket="data", Key="datasets/story.jsonl", Body=rows)
    job = bedrock.create_model_customization_job(
        **job_args(trainingDataConfig={"s3Uri": "s3://data/datasets/story.jsonl"})
    )
    model = bedrock.get_model_customization_job(jobIdentifier=job["jobArn"])["outputModelArn"]
    arn = bedrock.create_custom_model_deployment(modelDeploymentName="story", modelArn=model)[
        "customModelDeploymentArn"
    ]
    short = runtime.converse(modelId=arn, messages=ask("tell"), inferenceConfig={"maxTokens": 2})
    assert short["stopReason"] == "max_tokens" and short["output"]["message"]["content"][0]["text"] == "one two "
    assert short["usage"]["outputTokens"] == 2
    stopped = runtime.converse(modelId=arn, messages=ask("tell"), inferenceConfig={"stopSequences": ["."]})
    assert (
        stopped["stopReason"] == "stop_sequence"
        and stopped["output"]["message"]["content"][0]["text"] == "one two three"
    )


def test_invoke_model_takes_and_answers_novas_native_body(runtime: Any, deployment: str) -> None:
    request = {"schemaVersion": "messages-v1", "messages": ask("3 plus 3?"), "inferenceConfig": {"max_new_tokens": 10}}
    answer = runtime.invoke_model(modelId=deployment, body=json.dumps(request), contentType="application/json")
    body = json.loads(answer["body"].read())
    assert body["output"]["message"]["content"] == [{"text": "6"}] and body["stopReason"] == "end_turn"
    assert answer["contentType"] == "application/json"
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-bedrock-output-token-count"] == str(body["usage"]["outputTokens"])
    with pytest.raises(ClientError) as malformed:
        runtime.invoke_model(modelId=deployment, body=json.dumps({"inputText": "not nova's"}))
    assert _code(malformed) == "ValidationException" and "Malformed input request" in str(malformed.value)


def test_base_models_answer_on_demand_by_echoing(runtime: Any) -> None:
    for model_id in ("amazon.nova-micro-v1:0", "us.amazon.nova-micro-v1:0"):
        echoed = runtime.converse(modelId=model_id, messages=ask("5 plus 5?"))
        assert echoed["output"]["message"]["content"][0]["text"] == "(base model echo) 5 plus 5?"
    titan = json.loads(
        runtime.invoke_model(modelId="amazon.titan-text-express-v1", body=json.dumps({"inputText": "hi"}))[
            "body"
        ].read()
    )
    assert (
        titan["results"][0]["outputText"] == "(base model echo) hi"
        and titan["results"][0]["completionReason"] == "FINISH"
    )
    llama = json.loads(
        runtime.invoke_model(modelId="meta.llama3-1-8b-instruct-v1:0", body=json.dumps({"prompt": "hi"}))["body"].read()
    )
    assert llama["generation"] == "(base model echo) hi" and llama["stop_reason"] == "stop"


def test_what_cannot_answer(make_emulator: Any, clock: ManualClock) -> None:
    server = make_emulator(seed=0, clock=clock, step_seconds=STEP, s3_buckets=("data",))
    client("s3", server.url).put_object(Bucket="data", Key="datasets/train.jsonl", Body=DATASET)
    bedrock, runtime = client("bedrock", server.url), client("bedrock-runtime", server.url)
    job = bedrock.create_model_customization_job(**job_args())["jobArn"]
    clock.advance(5 * STEP)
    model = bedrock.get_model_customization_job(jobIdentifier=job)["outputModelArn"]
    arn = bedrock.create_custom_model_deployment(modelDeploymentName="adder", modelArn=model)[
        "customModelDeploymentArn"
    ]
    refusals = {
        arn: "ModelNotReadyException",  # still Creating
        model: "ValidationException",  # a custom model answers through a deployment
        "amazon.nova-nothing-v9:0": "ValidationException",
        arn[:-12] + "abcdefghijkl": "ResourceNotFoundException",
    }
    for model_id, code in refusals.items():
        with pytest.raises(ClientError) as refused:
            runtime.converse(modelId=model_id, messages=ask("5 plus 5?"))
        assert _code(refused) == code, model_id
    clock.advance(STEP)
    assert runtime.converse(modelId=arn, messages=ask("5 plus 5?"))["output"]["message"]["content"][0]["text"] == "10"


@pytest.mark.parametrize(
    ("messages", "text"),
    [
        ([{"role": "assistant", "content": [{"text": "hi"}]}], "must start with a user message"),
        ([*ask("a"), *ask("b")], "must alternate between user and assistant"),
    ],
)
def test_a_conversation_must_start_with_the_user_and_alternate(
    runtime: Any, deployment: str, messages: list[dict[str, Any]], text: str
) -> None:
    with pytest.raises(ClientError) as refused:
        runtime.converse(modelId=deployment, messages=messages)
    assert _code(refused) == "ValidationException" and text in str(refused.value)


def test_moto_has_no_converse_and_an_empty_invoke(request: pytest.FixtureRequest) -> None:
    """moto 5.x: Converse is not implemented (a 500 with an HTML page) and
    InvokeModel answers `{}` whatever the model (docs/emulator.md, "moto")."""
    runtime = client("bedrock-runtime", request.getfixturevalue("moto_url"))
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abcdefghijkl"
    with pytest.raises(ClientError) as missing:
        runtime.converse(modelId=arn, messages=ask("5 plus 5?"))
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert json.loads(runtime.invoke_model(modelId=arn, body=b"{}")["body"].read()) == {}
